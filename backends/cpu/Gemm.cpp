// PackedGemm: W packed once into [kc x 16] panels per block of K; C computed in
// 6x16 tiles of FMA accumulators that broadcast A straight from its rows. Loop
// order per block of MC rows: K blocks, then 16-column panels (one panel, 16
// KiB, stays in L1 across the row tiles).
#include "backends/cpu/Gemm.h"

#include "backends/cpu/VecMath.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backends/cpu/Avx2Math.h"

namespace plumb::cpu {

namespace {

constexpr int64_t kNR = 16;  // panel width: two 8-float vectors
constexpr int64_t kMR = 6;   // rows per register tile (12 accumulators + 2 of W + 1 of A)
constexpr int64_t kKC = 256; // K block: a panel is 256 x 16 floats = 16 KiB
constexpr int64_t kMC = 144; // rows per block of A (144 x 256 floats = 144 KiB, in L2)
constexpr int64_t kNP = 16;  // panels per block of columns: C's 144 x 256 block stays in L2

// Where panel j of the K block starting at k0 lies: column blocks of kNP
// panels, each holding its K blocks in order, each K block its panels in order
// (the order run() reads them in).
int64_t panelOffset(int64_t k, int64_t panels, int64_t k0, int64_t kc, int64_t j) {
  int64_t nb = j / kNP, inBlock = std::min(kNP, panels - nb * kNP);
  return nb * kNP * k * kNR + k0 * inBlock * kNR + (j - nb * kNP) * kc * kNR;
}

#ifdef PLUMB_X86
PLUMB_AVX2 inline __m256 activate(__m256 v, PackedGemm::Act act) {
  switch (act) {
  case PackedGemm::Act::Relu:
    return _mm256_max_ps(v, _mm256_setzero_ps());
  case PackedGemm::Act::GeluErf:
    return vec::geluErf256(v);
  case PackedGemm::Act::GeluTanh:
    return vec::geluTanh256(v);
  case PackedGemm::Act::None:
    break;
  }
  return v;
}

// C[6 x 16] (row stride ldc) = (load ? C : 0) + (bias ? bias : 0) + A x B[kc x
// 16], where row i of A starts at a[i]. Written out register by register: GCC
// spills arrays of vectors.
PLUMB_AVX2 void tile(int64_t kc, const float *const *a, const float *b, float *c, int64_t ldc,
                     bool load, const float *bias, PackedGemm::Act act) {
  const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
#define PLUMB_INIT(r)                                                                              \
  c##r##0 = load ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();                             \
  c##r##1 = load ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  PLUMB_INIT(0)
  PLUMB_INIT(1)
  PLUMB_INIT(2) PLUMB_INIT(3) PLUMB_INIT(4) PLUMB_INIT(5)
#undef PLUMB_INIT
      if (bias) {
    __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
#define PLUMB_BIAS(r)                                                                              \
  c##r##0 = _mm256_add_ps(c##r##0, b0);                                                            \
  c##r##1 = _mm256_add_ps(c##r##1, b1);
    PLUMB_BIAS(0)
    PLUMB_BIAS(1) PLUMB_BIAS(2) PLUMB_BIAS(3) PLUMB_BIAS(4) PLUMB_BIAS(5)
#undef PLUMB_BIAS
  }
  for (int64_t k = 0; k < kc; ++k, b += kNR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), av;
#define PLUMB_FMA(r)                                                                               \
  av = _mm256_broadcast_ss(a##r + k);                                                              \
  c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                                                      \
  c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);
    PLUMB_FMA(0) PLUMB_FMA(1) PLUMB_FMA(2) PLUMB_FMA(3) PLUMB_FMA(4) PLUMB_FMA(5)
#undef PLUMB_FMA
  }
#define PLUMB_STORE(r)                                                                             \
  _mm256_storeu_ps(c + r * ldc, activate(c##r##0, act));                                           \
  _mm256_storeu_ps(c + r * ldc + 8, activate(c##r##1, act));
  PLUMB_STORE(0)
  PLUMB_STORE(1) PLUMB_STORE(2) PLUMB_STORE(3) PLUMB_STORE(4) PLUMB_STORE(5)
#undef PLUMB_STORE
}
#endif

} // namespace

bool PackedGemm::available() { return vec::hasAvx2(); }

bool PackedGemm::actFor(const std::string &postOp, Act &act) {
  if (postOp == "relu")
    act = Act::Relu;
  else if (postOp == "gelu_erf")
    act = Act::GeluErf;
  else if (postOp == "gelu_tanh")
    act = Act::GeluTanh;
  else
    return false;
  return true;
}

void PackedGemm::pack(const float *w, int64_t k, int64_t n, int64_t ldw, bool transposed,
                      const float *bias) {
  k_ = k, n_ = n, panels_ = (n + kNR - 1) / kNR;
  size_t bytes = size_t(k * panels_ * kNR) * sizeof(float);
  packed_.reset(static_cast<float *>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
  if (!packed_)
    throw std::bad_alloc();
  std::memset(packed_.get(), 0, bytes);
  for (int64_t k0 = 0; k0 < k; k0 += kKC) {
    int64_t kc = std::min(kKC, k - k0);
    for (int64_t j = 0; j < panels_; ++j) {
      float *dst = packed_.get() + panelOffset(k, panels_, k0, kc, j);
      int64_t cols = std::min(kNR, n - j * kNR);
      for (int64_t kk = 0; kk < kc; ++kk)
        for (int64_t col = 0; col < cols; ++col) {
          int64_t row = k0 + kk, nn = j * kNR + col;
          dst[kk * kNR + col] = transposed ? w[nn * ldw + row] : w[row * ldw + nn];
        }
    }
  }
  bias_.clear();
  if (bias) {
    bias_.assign(size_t(panels_ * kNR), 0.f);
    std::copy(bias, bias + n, bias_.begin());
  }
}

void PackedGemm::run(const float *a, int64_t m, int64_t lda, float *c, int64_t ldc,
                     bool accumulate) const {
#ifdef PLUMB_X86
  int threads = panels_ > 1 ? omp_get_max_threads() : 1;
  // Column blocks outermost: W comes from memory once per run and a column block of it
  // (K x 256 floats) stays in L3 while every row block of A (hot: just computed) passes.
  for (int64_t j0 = 0; j0 < panels_; j0 += kNP)
    for (int64_t m0 = 0; m0 < m; m0 += kMC)
      for (int64_t k0 = 0; k0 < k_; k0 += kKC)
        block(a, lda, c, ldc, accumulate, m0, std::min(m, m0 + kMC), j0,
              std::min(panels_, j0 + kNP), k0, threads);
#else
  (void)a, (void)m, (void)lda, (void)c, (void)ldc, (void)accumulate;
#endif
}

void PackedGemm::block(const float *a, int64_t lda, float *c, int64_t ldc, bool accumulate,
                       int64_t m0, int64_t mEnd, int64_t j0, int64_t j1, int64_t k0,
                       int threads) const {
#ifdef PLUMB_X86
  int64_t kc = std::min(kKC, k_ - k0);
  bool load = accumulate || k0 > 0;
  Act act = k0 + kc == k_ ? act_ : Act::None;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t j = j0; j < j1; ++j) {
    const float *panel = packed_.get() + panelOffset(k_, panels_, k0, kc, j);
    const float *bias = k0 == 0 && !bias_.empty() ? bias_.data() + j * kNR : nullptr;
    int64_t cols = std::min(kNR, n_ - j * kNR);
    // W is read once per run, from memory: the row tiles of this panel each
    // prefetch a share of the next one (the packed layout is one sequential
    // stream).
    const char *next = reinterpret_cast<const char *>(panel + kc * kNR);
    int64_t tiles = (mEnd - m0 + kMR - 1) / kMR, share = (kc + tiles - 1) / tiles;
    for (int64_t r = m0; r < mEnd; r += kMR) {
      int64_t first = (r - m0) / kMR * share;
      for (int64_t l = first; l < std::min(kc, first + share); ++l)
        _mm_prefetch(next + l * 64, _MM_HINT_T0);
      int rows = int(std::min(kMR, mEnd - r));
      // And the C lines of the next row tile, which a wide C (GPT-2's LM head: 25 MiB)
      // would otherwise fetch from memory one store at a time.
      for (int64_t i = r + kMR; i < std::min(mEnd, r + 2 * kMR); ++i)
        __builtin_prefetch(c + i * ldc + j * kNR, 1, 3);
      const float *ar[kMR];
      for (int i = 0; i < kMR; ++i) // rows past the end recompute the first one
        ar[i] = a + (r + (i < rows ? i : 0)) * lda + k0;
      float *cr = c + r * ldc + j * kNR;
      if (cols == kNR && rows == kMR) {
        tile(kc, ar, panel, cr, ldc, load, bias, act);
        continue;
      }
      // A partial tile goes through a full-size scratch tile.
      float t[kMR * kNR] = {};
      if (load)
        for (int i = 0; i < rows; ++i)
          std::memcpy(t + i * kNR, cr + i * ldc, size_t(cols) * sizeof(float));
      tile(kc, ar, panel, t, kNR, load, bias, act);
      for (int i = 0; i < rows; ++i)
        std::memcpy(cr + i * ldc, t + i * kNR, size_t(cols) * sizeof(float));
    }
  }
#else
  (void)a, (void)lda, (void)c, (void)ldc, (void)accumulate, (void)m0, (void)mEnd, (void)j0,
      (void)j1, (void)k0, (void)threads;
#endif
}

} // namespace plumb::cpu
