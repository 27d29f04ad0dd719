// cpu.gather (any dtype) and cpu.cumsum (f32): plain C++ loops, as oneDNN has no gather or
// scan primitive; on OpenMP threads when the work is large enough to pay for them.
#include "backends/cpu/Kernels.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace plumb::cpu {

namespace {

// Threads for `tasks` independent pieces moving `bytes` in all: one below ~64 KiB, where a
// parallel region's start-up (microseconds) costs more than the copy.
int threadsFor(int64_t bytes, int64_t tasks) {
  if (bytes < (int64_t(1) << 16))
    return 1;
  return int(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), tasks)));
}

// Gather: for each index j (and each combination of the dims before the axis), one row of
// the dims after the axis, copied whole. Indices are checked, negative ones wrapped, once at
// prepare time when they are a constant, else on every run before anything is copied.
class GatherKernel final : public RuntimeKernel {
public:
  explicit GatherKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0), &ind = a.input(1);
    if (ind.dtype != DType::I64 && ind.dtype != DType::I32)
      a.fail(std::string("cpu.gather: indices are ") + dtypeName(ind.dtype) +
             ", not int32 or int64");
    int64_t r = int64_t(x.shape.size());
    if (r == 0)
      a.fail("cpu.gather: cannot gather from a scalar");
    size_t axis = size_t(a.axis(a.attrs().getInt("axis", 0), r));
    Shape before(x.shape.begin(), x.shape.begin() + long(axis));
    Shape after(x.shape.begin() + long(axis) + 1, x.shape.end());
    Shape want = before;
    want.insert(want.end(), ind.shape.begin(), ind.shape.end());
    want.insert(want.end(), after.begin(), after.end());
    a.requireOutput(0, x.dtype, want);
    axis_ = axis;
    dim_ = x.shape[axis];
    outer_ = numElements(before);
    rowBytes_ = numElements(after) * int64_t(dtypeSize(x.dtype));
    count_ = numElements(ind.shape);
    data_ = x.shape;
    if (const Tensor *c = a.constant(1)) {
      constant_ = true;
      check(*c);
    }
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    if (!constant_)
      check(*in[1]);
    int64_t tasks = outer_ * count_;
    if (tasks == 0 || rowBytes_ == 0)
      return;
    const char *src = static_cast<const char *>(in[0]->raw());
    char *dst = static_cast<char *>(out[0]->mutableRaw());
    int threads = threadsFor(tasks * rowBytes_, tasks);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < tasks; ++t) {
      int64_t o = t / count_, j = t % count_;
      std::memcpy(dst + t * rowBytes_, src + (o * dim_ + index_[size_t(j)]) * rowBytes_,
                  size_t(rowBytes_));
    }
  }

private:
  template <typename I> void checkAs(const I *v) {
    for (int64_t j = 0; j < count_; ++j) {
      int64_t i = int64_t(v[j]);
      if (i < -dim_ || i >= dim_)
        throw Error("cpu.gather: index " + std::to_string(i) + " is out of range [" +
                    std::to_string(-dim_) + ", " + std::to_string(dim_ - 1) + "] for axis " +
                    std::to_string(axis_) + " of data " + shapeToString(data_));
      index_[size_t(j)] = i < 0 ? i + dim_ : i;
    }
  }
  void check(const Tensor &indices) {
    index_.resize(size_t(count_));
    if (indices.dtype() == DType::I64)
      checkAs(indices.data<int64_t>());
    else
      checkAs(indices.data<int32_t>());
  }

  std::vector<int64_t> index_; // checked, in [0, dim)
  bool constant_ = false;
  size_t axis_ = 0;
  int64_t dim_ = 0, outer_ = 0, rowBytes_ = 0, count_ = 0;
  Shape data_;
};

// CumSum of f32, adding in the reference's order (so the sums are the reference's, bit for
// bit). Where the dims after the axis hold a vector's worth of lanes or more, each output row
// along the axis is the previous output row plus an input row, vectorised across those dims;
// otherwise (the axis last or nearly) each lane is scanned on its own. Tasks: outer index x
// a chunk of the dims after the axis.
class CumSumKernel final : public RuntimeKernel {
public:
  explicit CumSumKernel(const KernelArgs &a) {
    a.requireF32(1);
    const BufferInfo &x = a.input(0);
    a.requireOutput(0, DType::F32, x.shape);
    std::vector<int64_t> axis = a.constantInts(1, "ref.CumSum");
    if (axis.size() != 1)
      a.fail("cpu.cumsum: the axis must be one constant value");
    int64_t r = int64_t(x.shape.size());
    size_t ax = size_t(a.axis(axis[0], r));
    outer_ = r == 0 ? 1 : numElements(Shape(x.shape.begin(), x.shape.begin() + long(ax)));
    len_ = r == 0 ? 1 : x.shape[ax];
    inner_ = r == 0 ? 1 : numElements(Shape(x.shape.begin() + long(ax) + 1, x.shape.end()));
    exclusive_ = a.attrs().getInt("exclusive", 0) != 0;
    reverse_ = a.attrs().getInt("reverse", 0) != 0;
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    const int64_t chunk = 1024;
    bool narrow = inner_ < 16;
    int64_t chunks = narrow ? 1 : (inner_ + chunk - 1) / chunk, tasks = outer_ * chunks;
    if (tasks == 0 || len_ == 0)
      return;
    const float *x = in[0]->data<float>();
    float *y = out[0]->mutableData<float>();
    int threads = threadsFor(outer_ * len_ * inner_ * 4, tasks);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t t = 0; t < tasks; ++t) {
      int64_t o = t / chunks, i0 = t % chunks * chunk;
      int64_t off = o * len_ * inner_ + i0;
      if (narrow)
        scanLanes(x + off, y + off);
      else
        scanRows(x + off, y + off, std::min(chunk, inner_ - i0));
    }
  }

private:
  // One [len, n] block with rows inner_ apart, a row at a time.
  void scanRows(const float *x, float *y, int64_t n) const {
    int64_t prev = 0;
    for (int64_t s = 0; s < len_; ++s) {
      int64_t k = reverse_ ? len_ - 1 - s : s;
      float *yk = y + k * inner_;
      if (s == 0) {
        const float *xk = x + k * inner_;
        for (int64_t i = 0; i < n; ++i)
          yk[i] = exclusive_ ? 0.f : 0.f + xk[i];
      } else {
        const float *yp = y + prev * inner_, *xs = x + (exclusive_ ? prev : k) * inner_;
        for (int64_t i = 0; i < n; ++i)
          yk[i] = yp[i] + xs[i];
      }
      prev = k;
    }
  }
  // One [len, inner_] block, a lane at a time.
  void scanLanes(const float *x, float *y) const {
    int64_t step = reverse_ ? -inner_ : inner_, first = reverse_ ? (len_ - 1) * inner_ : 0;
    for (int64_t i = 0; i < inner_; ++i) {
      const float *xs = x + first + i;
      float *ys = y + first + i, acc = 0.f;
      for (int64_t s = 0; s < len_; ++s, xs += step, ys += step) {
        float v = *xs;
        *ys = exclusive_ ? acc : acc + v;
        acc += v;
      }
    }
  }

  int64_t outer_ = 0, len_ = 0, inner_ = 0;
  bool exclusive_ = false, reverse_ = false;
};

} // namespace

std::unique_ptr<RuntimeKernel> makeGatherKernel(const KernelArgs &a) {
  return std::make_unique<GatherKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeCumSumKernel(const KernelArgs &a) {
  return std::make_unique<CumSumKernel>(a);
}

} // namespace plumb::cpu
