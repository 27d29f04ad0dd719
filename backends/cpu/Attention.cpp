// cpu.attention: softmax(Q·Kᵀ (scaled, masked)) · V for an "attention" fusion in one kernel,
// per batch×head and block of query rows, so the scores never leave the cache. The products
// are oneDNN sgemm calls on strided views (head splits and merges need no transposes), the
// scale, mask and softmax one vectorised pass over each row.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/VecMath.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace plumb::cpu {

namespace {

// A rank-4 strided view [b0, b1, row, col] into a flat buffer.
struct View {
  int64_t offset = 0;
  std::array<int64_t, 4> dims{}, strides{};
  const float *at(const float *base, int64_t b0, int64_t b1) const {
    return base + offset + b0 * strides[0] + b1 * strides[1];
  }
};

const int64_t kRowBlock = 64; // query rows per block: 64 x T scores stay in L1/L2

class AttentionKernel final : public RuntimeKernel {
public:
  explicit AttentionKernel(const KernelArgs &a) {
    const ref::Attrs &at = a.attrs();
    if (const ref::AttrValue *p = at.find("post_ops"); p && !p->strings.empty())
      a.fail("cpu.attention takes no post_ops");
    std::vector<int64_t> d = at.getInts("dims", {});
    if (d.size() != 6)
      a.fail("attrs 'dims' must be [B0, B1, S, T, D, Dv]");
    for (int64_t x : d)
      if (x <= 0)
        a.fail("attrs 'dims' must be positive");
    b0_ = d[0], b1_ = d[1], s_ = d[2], t_ = d[3], d_ = d[4], dv_ = d[5];
    q_ = view(a, "q_view", 0, {b0_, b1_, s_, d_}, false);
    kt_ = view(a, "kt_view", 1, {b0_, b1_, d_, t_}, false);
    v_ = view(a, "v_view", 2, {b0_, b1_, t_, dv_}, false);
    o_ = view(a, "o_view", size_t(-1), {b0_, b1_, s_, dv_}, true);
    if (q_.strides[3] != 1 || o_.strides[3] != 1 || (kt_.strides[2] != 1 && kt_.strides[3] != 1) ||
        (v_.strides[2] != 1 && v_.strides[3] != 1))
      a.fail("views need unit stride along a matrix dim (Q, O: columns)");
    std::string scaleOp = at.getString("scale_op", "none");
    if (scaleOp != "none" && scaleOp != "div" && scaleOp != "mul")
      a.fail("scale_op must be none, div or mul");
    scaleDiv_ = scaleOp == "div";
    scale_ = scaleOp == "none" ? 1.f : float(a.number("scale", 1.0));
    hasScale_ = scaleOp != "none";
    std::string mask = at.getString("mask", "none");
    if (mask == "add")
      mask_ = Mask::Add;
    else if (mask == "where")
      mask_ = Mask::Where;
    else if (mask == "where_not")
      mask_ = Mask::WhereNot;
    else if (mask != "none")
      a.fail("mask must be none, add, where or where_not");
    if (mask_ != Mask::None) {
      const BufferInfo &m = a.input(3);
      if (m.dtype != (mask_ == Mask::Add ? DType::F32 : DType::Bool))
        a.fail(mask_ == Mask::Add ? "an additive mask must be f32" : "a Where condition must be bool");
      maskStrides_ = broadcastStrides(a, m.shape);
    }
    if (mask_ == Mask::Where || mask_ == Mask::WhereNot) {
      const BufferInfo &f = a.input(4);
      if (f.dtype != DType::F32)
        a.fail("the Where fill value must be f32");
      fillStrides_ = broadcastStrides(a, f.shape);
    }
    for (size_t i = 0; i < 3; ++i)
      if (a.input(i).dtype != DType::F32)
        a.fail("Q, K and V must be f32");
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    const float *q = in[0]->data<float>(), *kt = in[1]->data<float>(), *v = in[2]->data<float>();
    const void *m = mask_ != Mask::None ? in[3]->raw() : nullptr;
    const float *fill = in.size() > 4 && in[4] ? in[4]->data<float>() : nullptr;
    float *o = out[0]->mutableData<float>();
    int64_t tasks = b0_ * b1_;
    // The thread count of the calling thread now (setCpuThreads), not at prepare time.
    int threads = int(std::min<int64_t>(std::max(1, omp_get_max_threads()), tasks));
    if (scratch_.size() < size_t(threads))
      scratch_.resize(size_t(threads));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t task = 0; task < tasks; ++task) {
      std::vector<float> &sc = scratch_[size_t(omp_get_thread_num())];
      sc.resize(size_t(std::min(s_, kRowBlock) * t_));
      head(task / b1_, task % b1_, q, kt, v, m, fill, o, sc.data());
    }
  }

private:
  enum class Mask { None, Add, Where, WhereNot };

  // One view attribute [offset, 4 strides] (default: dense row-major), checked against the
  // buffer of input `index` (or output 0) so that no element read or written is outside it.
  static View view(const KernelArgs &a, const std::string &name, size_t index,
                   std::array<int64_t, 4> dims, bool output) {
    View v;
    v.dims = dims;
    std::vector<int64_t> attr = a.attrs().getInts(name, {});
    if (attr.empty()) {
      v.strides = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
    } else if (attr.size() == 5) {
      v.offset = attr[0];
      std::copy(attr.begin() + 1, attr.end(), v.strides.begin());
    } else {
      a.fail("attrs '" + name + "' must be [offset, 4 strides]");
    }
    const BufferInfo &b = output ? a.output(0) : a.input(index);
    int64_t last = v.offset;
    for (size_t i = 0; i < 4; ++i) {
      if (v.strides[i] < 0)
        a.fail("attrs '" + name + "': negative stride");
      last += (dims[i] - 1) * v.strides[i];
    }
    if (v.offset < 0 || last >= numElements(b.shape))
      a.fail("attrs '" + name + "' reaches past its buffer " + shapeToString(b.shape));
    return v;
  }

  // Element strides of a tensor broadcast (numpy rules) to the scores [B0, B1, S, T].
  std::array<int64_t, 4> broadcastStrides(const KernelArgs &a, const Shape &shape) const {
    Shape scores{b0_, b1_, s_, t_};
    if (shape.size() > 4 || !broadcastsTo(shape, scores))
      a.fail("mask " + shapeToString(shape) + " does not broadcast to the scores " +
             shapeToString(scores));
    Shape s = rightAlign(shape, 4);
    std::array<int64_t, 4> st{};
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      st[size_t(i)] = s[size_t(i)] == 1 ? 0 : stride;
      stride *= s[size_t(i)];
    }
    return st;
  }

  // The B operand of a row-major sgemm from a [K, N] view: 'N' with its row stride when
  // columns are contiguous, else 'T' with its column stride.
  static std::pair<char, int64_t> operandB(const View &v) {
    return v.strides[3] == 1 ? std::make_pair('N', std::max<int64_t>(v.strides[2], v.dims[3]))
                             : std::make_pair('T', std::max<int64_t>(v.strides[3], v.dims[2]));
  }

  void head(int64_t b0, int64_t b1, const float *q, const float *kt, const float *v,
            const void *m, const float *fill, float *o, float *sc) const {
    const float *qh = q_.at(q, b0, b1), *kh = kt_.at(kt, b0, b1), *vh = v_.at(v, b0, b1);
    float *oh = o + (o_.at(o, b0, b1) - o);
    auto [tk, ldk] = operandB(kt_);
    auto [tv, ldv] = operandB(v_);
    int64_t ldq = std::max<int64_t>(q_.strides[2], d_), ldo = std::max<int64_t>(o_.strides[2], dv_);
    bool alphaScale = hasScale_ && !scaleDiv_;
    for (int64_t r0 = 0; r0 < s_; r0 += kRowBlock) {
      int64_t rows = std::min(kRowBlock, s_ - r0);
      check(dnnl::sgemm('N', tk, rows, t_, d_, alphaScale ? scale_ : 1.f, qh + r0 * ldq, ldq, kh,
                        ldk, 0.f, sc, t_));
      for (int64_t r = 0; r < rows; ++r) {
        float *row = sc + r * t_;
        if (hasScale_ && scaleDiv_)
          vec::scaleRow(row, t_, scale_, true);
        applyMask(row, b0, b1, r0 + r, m, fill);
        vec::softmaxRow(row, t_);
      }
      check(dnnl::sgemm('N', tv, rows, dv_, t_, 1.f, sc, t_, vh, ldv, 0.f, oh + r0 * ldo, ldo));
    }
  }

  void applyMask(float *row, int64_t b0, int64_t b1, int64_t s, const void *m,
                 const float *fill) const {
    if (mask_ == Mask::None)
      return;
    const std::array<int64_t, 4> &ms = maskStrides_;
    int64_t base = b0 * ms[0] + b1 * ms[1] + s * ms[2];
    if (mask_ == Mask::Add) {
      const float *mr = static_cast<const float *>(m) + base;
      if (ms[3] == 1)
        for (int64_t t = 0; t < t_; ++t)
          row[t] += mr[t];
      else
        for (int64_t t = 0; t < t_; ++t)
          row[t] += mr[0];
      return;
    }
    const uint8_t *cr = static_cast<const uint8_t *>(m) + base;
    const std::array<int64_t, 4> &fs = fillStrides_;
    const float *fr = fill + b0 * fs[0] + b1 * fs[1] + s * fs[2];
    bool keepWhere = mask_ == Mask::Where; // Where(c, scores, fill): scores where c holds
    for (int64_t t = 0; t < t_; ++t)
      if ((cr[t * ms[3]] != 0) != keepWhere)
        row[t] = fr[t * fs[3]];
  }

  static void check(dnnl::status s) {
    if (s != dnnl::status::success)
      throw Error("cpu.attention: oneDNN sgemm failed (status " + std::to_string(int(s)) + ")");
  }

  int64_t b0_, b1_, s_, t_, d_, dv_;
  View q_, kt_, v_, o_;
  bool hasScale_ = false, scaleDiv_ = false;
  float scale_ = 1.f;
  Mask mask_ = Mask::None;
  std::array<int64_t, 4> maskStrides_{}, fillStrides_{};
  mutable std::vector<std::vector<float>> scratch_;
};

} // namespace

std::unique_ptr<RuntimeKernel> makeAttentionKernel(const KernelArgs &a) {
  return std::make_unique<AttentionKernel>(a);
}

} // namespace plumb::cpu
