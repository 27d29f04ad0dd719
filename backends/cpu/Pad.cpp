// cpu.pad: Pad of any dtype in every mode, as copies between strided views (oneDNN reorders)
// set up once from the constant pads: the input (cropped where a pad is negative) into the
// output's interior, then the borders: the constant, or slabs copied from inside the output.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/StridedCopy.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace plumb::cpu {

namespace {

template <typename T> void fillWith(void *dst, size_t n, const std::vector<char> &value) {
  T v;
  std::memcpy(&v, value.data(), sizeof(T));
  std::fill_n(static_cast<T *>(dst), n, v);
}

// `n` copies of the element `value` (1, 2, 4 or 8 bytes).
void fillElements(void *dst, size_t n, const std::vector<char> &value) {
  if (value.size() == 1)
    fillWith<uint8_t>(dst, n, value);
  else if (value.size() == 2)
    fillWith<uint16_t>(dst, n, value);
  else if (value.size() == 4)
    fillWith<uint32_t>(dst, n, value);
  else
    fillWith<uint64_t>(dst, n, value);
}

// Pad's operands, per axis of the data: constant inputs from opset 11, attributes before.
struct PadSpec {
  std::string mode;
  std::vector<int64_t> before, after;
  std::vector<char> value; // one element of the data's dtype (constant mode)
};

PadSpec padSpec(const KernelArgs &a, const BufferInfo &x) {
  PadSpec p;
  p.mode = a.attrs().getString("mode", "constant");
  int64_t r = int64_t(x.shape.size());
  std::vector<int64_t> pads, axes;
  Tensor value = Tensor::zeros(DType::F64, {});
  if (a.step.opset >= 11) {
    pads = a.constantInts(1, "ref.Pad");
    axes = a.constantInts(3, "ref.Pad");
    const Tensor *v = a.constant(2);
    if (a.has(2) && (!v || v->numel() > 1))
      a.fail("cpu.pad: constant_value must be a constant scalar; lower to ref.Pad");
    if (v && v->numel() == 1)
      value = *v;
  } else {
    pads = a.attrs().getInts(a.step.opset >= 2 ? "pads" : "paddings");
    value.mutableData<double>()[0] = a.number("value", 0.0);
  }
  value = value.dtype() == x.dtype ? value : value.cast(x.dtype);
  const char *bytes = static_cast<const char *>(value.raw());
  p.value.assign(bytes, bytes + dtypeSize(x.dtype));
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i)
      axes.push_back(i);
  size_t n = axes.size();
  if (pads.size() != 2 * n)
    a.fail("cpu.pad: " + std::to_string(pads.size()) + " pads for " + std::to_string(n) + " axes");
  p.before.assign(size_t(r), 0);
  p.after.assign(size_t(r), 0);
  for (size_t i = 0; i < n; ++i) {
    size_t ax = size_t(a.axis(axes[i], r));
    const int64_t limit = int64_t(1) << 40;
    if (std::abs(pads[i]) > limit || std::abs(pads[n + i]) > limit)
      a.fail("cpu.pad: pad out of range on axis " + std::to_string(ax));
    p.before[ax] = pads[i], p.after[ax] = pads[n + i];
  }
  return p;
}

class PadKernel final : public RuntimeKernel {
public:
  explicit PadKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0);
    PadSpec p = padSpec(a, x);
    if (p.mode != "constant" && p.mode != "edge" && p.mode != "reflect" && p.mode != "wrap")
      a.fail("cpu.pad: unknown mode '" + p.mode + "'");
    size_t r = x.shape.size();
    Shape interior = x.shape, want = x.shape, padB(r);
    View src = dense(x.shape);
    for (size_t d = 0; d < r; ++d) {
      int64_t cropB = std::max<int64_t>(0, -p.before[d]);
      interior[d] = x.shape[d] - cropB - std::max<int64_t>(0, -p.after[d]);
      if (interior[d] < 0)
        a.fail("cpu.pad: negative pads crop more than axis " + std::to_string(d) + " holds");
      padB[d] = std::max<int64_t>(0, p.before[d]);
      want[d] = interior[d] + padB[d] + std::max<int64_t>(0, p.after[d]);
      src.offset += cropB * src.strides[d];
    }
    a.requireOutput(0, x.dtype, want);
    View dst = dense(want);
    for (size_t d = 0; d < r; ++d)
      dst.offset += padB[d] * dst.strides[d];
    interior_.init(x.dtype, interior, src, dst);
    if (p.mode == "constant") {
      value_ = p.value;
      size_ = numElements(interior) == numElements(want) ? 0 : size_t(numElements(want));
      return;
    }
    // Innermost axis first: when axis d's borders are copied, every position inside the
    // interior along the axes before d is filled along the axes after it.
    for (size_t d = r; d-- > 0;) {
      int64_t len = interior[d];
      if (len == 0 && want[d] > 0)
        a.fail("cpu.pad: cannot pad an empty axis in mode '" + p.mode + "'");
      Shape slab = want;
      int64_t base = 0;
      for (size_t e = 0; e < d; ++e)
        slab[e] = interior[e], base += padB[e] * dst.strides[e];
      slab[d] = 1;
      for (int64_t at = 0; at < want[d]; ++at) {
        if (at >= padB[d] && at < padB[d] + len)
          continue;
        int64_t from = padB[d] + ref::padSourceIndex(p.mode, at - padB[d], len);
        borders_.emplace_back();
        borders_.back().init(x.dtype, slab, {dst.strides, base + from * dst.strides[d]},
                             {dst.strides, base + at * dst.strides[d]});
      }
    }
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    void *y = out[0]->mutableRaw();
    if (size_ > 0)
      fillElements(y, size_, value_);
    interior_.run(in[0]->raw(), y);
    for (BoxCopy &b : borders_)
      b.run(y, y);
  }

private:
  std::vector<char> value_; // constant mode: the element the output is filled with first
  size_t size_ = 0;         // elements to fill (0: none, or not constant mode)
  BoxCopy interior_;
  std::vector<BoxCopy> borders_; // the other modes: border slabs copied from the output
};

} // namespace

std::unique_ptr<RuntimeKernel> makePadKernel(const KernelArgs &a) {
  return std::make_unique<PadKernel>(a);
}

} // namespace plumb::cpu
