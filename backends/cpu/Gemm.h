// Internal to backends/cpu: an AVX2+FMA f32 GEMM for a constant right-hand side, packed once
// at prepare time into 16-column panels (GotoBLAS-style blocking, 6x16 register tile). Used by
// cpu.matmul for A[M, K] x W[K, N] (+ bias) where oneDNN 2.6's sgemm repacks W on every call.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace plumb::cpu {

class PackedGemm {
public:
  // An activation applied to each finished tile while it is in registers.
  enum class Act { None, Relu, GeluErf, GeluTanh };
  // The Act for a post-op string of CpuBackend.h ("relu", "gelu_erf", "gelu_tanh"), if any.
  static bool actFor(const std::string &postOp, Act &act);
  void setAct(Act act) { act_ = act; }
  // Whether this CPU runs it (AVX2 and FMA).
  static bool available();
  // `w` is K x N, row-major with row stride `ldw` (or, with `transposed`, N x K with row
  // stride `ldw`); `bias` (nullptr or N values) is added to every row.
  void pack(const float *w, int64_t k, int64_t n, int64_t ldw, bool transposed,
            const float *bias);
  // C[M, N] (row stride ldc) = act(A[M, K] (row stride lda) x W + bias, plus C's previous
  // contents when `accumulate`).
  void run(const float *a, int64_t m, int64_t lda, float *c, int64_t ldc, bool accumulate) const;
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }

private:
  // Rows [m0, mEnd) x panels [j0, j1) x the K block at k0.
  void block(const float *a, int64_t lda, float *c, int64_t ldc, bool accumulate, int64_t m0,
             int64_t mEnd, int64_t j0, int64_t j1, int64_t k0, int threads) const;
  int64_t k_ = 0, n_ = 0, panels_ = 0;
  Act act_ = Act::None;
  // [kc x 16] panels, zero-padded, in the order run() reads them; 64-byte aligned so that no
  // 32-byte load of a panel row straddles two cache lines.
  std::unique_ptr<float[], void (*)(void *)> packed_{nullptr, std::free};
  std::vector<float> bias_;   // panels_ * 16, zero-padded (empty: no bias)
};

} // namespace plumb::cpu
