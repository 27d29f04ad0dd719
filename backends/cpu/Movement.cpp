// Data-movement kernels on oneDNN's reorder and concat: cpu.slice, cpu.split, cpu.pad
// (constant mode) and cpu.concat, for tensors of any dtype. Each is a copy between strided
// views of row-major tensors, set up once from the static shapes and constant operands.
#include "backends/cpu/Kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace plumb::cpu {

namespace {

using dnnl::memory;

// A same-type reorder or concat copies bits, so any dtype can travel as oneDNN elements: an
// element of 4k bytes as k s32 units, any other size as its bytes in u8 units.
struct Units {
  memory::data_type type;
  int64_t perElement;
};

Units unitsOf(DType t) {
  int64_t size = int64_t(dtypeSize(t));
  if (size % 4 == 0)
    return {memory::data_type::s32, size / 4};
  return {memory::data_type::u8, size};
}

// Where a box of elements lies in a tensor: element strides (negative for Slice's steps < 0)
// and the offset of its first element.
struct View {
  Dims strides;
  int64_t offset = 0;
};

View dense(const Shape &shape) { return {rowMajorStrides(shape), 0}; }

// A strided box of n units copied row by row: for what a oneDNN memory descriptor cannot
// describe (negative strides, more than DNNL_MAX_NDIMS dims).
template <typename U>
void copyRows(const U *src, U *dst, const Dims &dims, const Dims &ss, const Dims &ds) {
  size_t r = dims.size() - 1;
  int64_t n = dims[r], sIn = ss[r], dIn = ds[r];
  Dims idx(r, 0);
  int64_t so = 0, dof = 0;
  for (;;) {
    for (int64_t j = 0; j < n; ++j)
      dst[dof + j * dIn] = src[so + j * sIn];
    size_t d = r;
    for (; d-- > 0;) {
      so += ss[d], dof += ds[d];
      if (++idx[d] < dims[d])
        break;
      so -= ss[d] * dims[d], dof -= ds[d] * dims[d];
      idx[d] = 0;
    }
    if (d == size_t(-1))
      return;
  }
}

// A copy of a box of `dims` elements from a view of one tensor into a view of another. Dims
// both views walk contiguously are merged first, so oneDNN (or the row loop) sees the fewest,
// longest runs.
class BoxCopy {
public:
  void init(DType t, const Shape &dims, const View &src, const View &dst) {
    u_ = unitsOf(t);
    int64_t es = int64_t(dtypeSize(t));
    srcOff_ = src.offset * es;
    dstOff_ = dst.offset * es;
    Dims d, s, o;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == 0) {
        empty_ = true;
        return;
      }
      if (dims[i] != 1) {
        d.push_back(dims[i]);
        s.push_back(src.strides[i] * u_.perElement);
        o.push_back(dst.strides[i] * u_.perElement);
      }
    }
    d.push_back(u_.perElement); // the units of one element
    s.push_back(1);
    o.push_back(1);
    for (size_t i = 0; i < d.size(); ++i) {
      if (!dims_.empty() && ss_.back() == s[i] * d[i] && ds_.back() == o[i] * d[i]) {
        dims_.back() *= d[i];
        ss_.back() = s[i], ds_.back() = o[i];
      } else {
        dims_.push_back(d[i]), ss_.push_back(s[i]), ds_.push_back(o[i]);
      }
    }
    auto nonNegative = [](const Dims &v) {
      return std::all_of(v.begin(), v.end(), [](int64_t x) { return x >= 0; });
    };
    dnnl_ = dims_.size() <= DNNL_MAX_NDIMS && nonNegative(ss_) && nonNegative(ds_);
    if (!dnnl_)
      return;
    src_ = handleMemory(Desc(dims_, u_.type, ss_));
    dst_ = handleMemory(Desc(dims_, u_.type, ds_));
    prim_ = dnnl::reorder(src_, dst_);
  }

  void run(const void *src, void *dst) {
    if (empty_)
      return;
    const char *s = static_cast<const char *>(src) + srcOff_;
    char *d = static_cast<char *>(dst) + dstOff_;
    if (!dnnl_) {
      if (u_.type == memory::data_type::s32)
        copyRows(reinterpret_cast<const int32_t *>(s), reinterpret_cast<int32_t *>(d), dims_, ss_,
                 ds_);
      else
        copyRows(reinterpret_cast<const uint8_t *>(s), reinterpret_cast<uint8_t *>(d), dims_, ss_,
                 ds_);
      return;
    }
    bind(src_, s);
    bind(dst_, d);
    prim_.execute(stream(), src_, dst_);
    stream().wait();
  }

private:
  Units u_{};
  Dims dims_, ss_, ds_;             // in units, merged
  int64_t srcOff_ = 0, dstOff_ = 0; // bytes
  bool empty_ = false, dnnl_ = false;
  memory src_, dst_;
  dnnl::reorder prim_;
};

// Slice, any steps: the output is the input seen with strides scaled by the steps.
class SliceKernel final : public RuntimeKernel {
public:
  explicit SliceKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0);
    int64_t r = int64_t(x.shape.size());
    if (r == 0)
      a.fail("cpu.slice: cannot slice a scalar");
    std::vector<int64_t> starts, ends, axes, steps;
    if (a.step.opset >= 10) {
      starts = a.constantInts(1, "ref.Slice"), ends = a.constantInts(2, "ref.Slice");
      axes = a.constantInts(3, "ref.Slice"), steps = a.constantInts(4, "ref.Slice");
    } else {
      starts = a.attrs().getInts("starts"), ends = a.attrs().getInts("ends");
      axes = a.attrs().getInts("axes");
    }
    size_t n = starts.size();
    if (axes.empty())
      for (size_t i = 0; i < n; ++i)
        axes.push_back(int64_t(i));
    if (steps.empty())
      steps.assign(n, 1);
    if (ends.size() != n || axes.size() != n || steps.size() != n)
      a.fail("cpu.slice: starts, ends, axes and steps differ in length");
    Shape want = x.shape;
    View src = dense(x.shape);
    std::vector<bool> seen(size_t(r), false);
    for (size_t i = 0; i < n; ++i) {
      size_t ax = size_t(a.axis(axes[i], r));
      if (seen[ax] || steps[i] == 0)
        a.fail("cpu.slice: axis " + std::to_string(ax) + " repeated or with step 0");
      seen[ax] = true;
      int64_t start = starts[i], step = steps[i];
      want[ax] = ref::sliceAxis(x.shape[ax], start, ends[i], step);
      if (want[ax] > 0)
        src.offset += start * src.strides[ax];
      src.strides[ax] *= step;
    }
    a.requireOutput(0, x.dtype, want);
    copy_.init(x.dtype, want, src, dense(want));
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    copy_.run(in[0]->raw(), out[0]->mutableRaw());
  }

private:
  BoxCopy copy_;
};

// Split: output i is the input's slab [offset_i, offset_i + size_i) along the axis. The
// planned outputs' shapes say the sizes; a constant `split` input or attribute must agree.
class SplitKernel final : public RuntimeKernel {
public:
  explicit SplitKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0);
    int64_t r = int64_t(x.shape.size());
    if (r == 0)
      a.fail("cpu.split: cannot split a scalar");
    size_t axis = size_t(a.axis(a.attrs().getInt("axis", 0), r));
    std::vector<int64_t> given =
        a.step.opset >= 13 ? a.constantInts(1, "ref.Split") : a.attrs().getInts("split");
    if (!given.empty() && given.size() != a.out.size())
      a.fail("cpu.split: split has " + std::to_string(given.size()) + " sizes for " +
             std::to_string(a.out.size()) + " outputs");
    copies_.resize(a.out.size());
    int64_t taken = 0;
    for (size_t i = 0; i < a.out.size(); ++i) {
      const BufferInfo &y = a.output(i);
      Shape want = x.shape;
      want[axis] = !given.empty() ? given[i] : y.shape.size() == size_t(r) ? y.shape[axis] : 0;
      if (want[axis] < 0 || want[axis] > x.shape[axis] - taken)
        a.fail("cpu.split: output " + std::to_string(i) + " " + shapeToString(y.shape) +
               " does not fit in the rest of the input " + shapeToString(x.shape));
      a.requireOutput(i, x.dtype, want);
      View src = dense(x.shape);
      src.offset = taken * src.strides[axis];
      copies_[i].init(x.dtype, want, src, dense(want));
      taken += want[axis];
    }
    if (taken != x.shape[axis])
      a.fail("cpu.split: the outputs cover " + std::to_string(taken) + " of the " +
             std::to_string(x.shape[axis]) + " entries of axis " + std::to_string(axis));
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    for (size_t i = 0; i < copies_.size(); ++i)
      copies_[i].run(in[0]->raw(), out[i]->mutableRaw());
  }

private:
  std::vector<BoxCopy> copies_;
};

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

// Pad, constant mode: the output filled with the value, then the input (cropped where a pad
// is negative) copied into its interior.
class PadKernel final : public RuntimeKernel {
public:
  explicit PadKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0);
    if (a.attrs().getString("mode", "constant") != "constant")
      a.fail("cpu.pad: mode '" + a.attrs().getString("mode", "") + "' is not constant; lower "
             "to ref.Pad");
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
    value_.assign(bytes, bytes + dtypeSize(x.dtype));
    if (axes.empty())
      for (int64_t i = 0; i < r; ++i)
        axes.push_back(i);
    size_t n = axes.size();
    if (pads.size() != 2 * n)
      a.fail("cpu.pad: " + std::to_string(pads.size()) + " pads for " + std::to_string(n) +
             " axes");
    std::vector<int64_t> before(size_t(r), 0), after(size_t(r), 0);
    for (size_t i = 0; i < n; ++i) {
      size_t ax = size_t(a.axis(axes[i], r));
      before[ax] = pads[i], after[ax] = pads[n + i];
    }
    Shape interior = x.shape, want = x.shape;
    View src = dense(x.shape);
    for (size_t d = 0; d < size_t(r); ++d) {
      const int64_t limit = int64_t(1) << 40;
      if (std::abs(before[d]) > limit || std::abs(after[d]) > limit)
        a.fail("cpu.pad: pad out of range on axis " + std::to_string(d));
      int64_t cropB = std::max<int64_t>(0, -before[d]), cropE = std::max<int64_t>(0, -after[d]);
      interior[d] = x.shape[d] - cropB - cropE;
      if (interior[d] < 0)
        a.fail("cpu.pad: negative pads crop more than axis " + std::to_string(d) + " holds");
      want[d] = interior[d] + std::max<int64_t>(0, before[d]) + std::max<int64_t>(0, after[d]);
      src.offset += cropB * src.strides[d];
    }
    a.requireOutput(0, x.dtype, want);
    View dst = dense(want);
    for (size_t d = 0; d < size_t(r); ++d)
      dst.offset += std::max<int64_t>(0, before[d]) * dst.strides[d];
    size_ = size_t(numElements(want));
    fill_ = numElements(interior) != numElements(want);
    copy_.init(x.dtype, interior, src, dst);
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    if (fill_)
      fillElements(out[0]->mutableRaw(), size_, value_);
    copy_.run(in[0]->raw(), out[0]->mutableRaw());
  }

private:
  std::vector<char> value_; // one element of the output's dtype
  size_t size_ = 0;
  bool fill_ = false;
  BoxCopy copy_;
};

// Concat: oneDNN's concat with input i seen as [outer, rows_i] units (outer: the dims before
// the axis; rows_i: the axis and the dims after it), empty inputs left out.
class ConcatKernel final : public RuntimeKernel {
public:
  explicit ConcatKernel(const KernelArgs &a) {
    const BufferInfo &y = a.output(0);
    size_t r = y.shape.size();
    if (r == 0)
      a.fail("cpu.concat: cannot concatenate scalars");
    int64_t attr = a.step.opset < 4 ? a.attrs().getInt("axis", 1) : a.attrs().requireInt("axis");
    size_t axis = size_t(a.axis(attr, int64_t(r)));
    Units u = unitsOf(y.dtype);
    int64_t outer = numElements(Shape(y.shape.begin(), y.shape.begin() + long(axis)));
    int64_t inner = numElements(Shape(y.shape.begin() + long(axis) + 1, y.shape.end()));
    inner *= u.perElement;
    int64_t total = 0;
    std::vector<Desc> srcs;
    for (size_t i = 0; i < a.in.size(); ++i) {
      const BufferInfo &x = a.input(i);
      Shape want = y.shape;
      want[axis] = x.shape.size() == r ? x.shape[axis] : -1;
      if (want != x.shape || x.dtype != y.dtype)
        a.fail("cpu.concat: input " + std::to_string(i) + " " + shapeToString(x.shape) +
               " does not match the output " + shapeToString(y.shape) + " off axis " +
               std::to_string(axis) + " or in type");
      total += x.shape[axis];
      int64_t rows = x.shape[axis] * inner;
      if (rows == 0 || outer == 0)
        continue;
      inputs_.push_back(i);
      srcs.push_back(Desc({outer, rows}, u.type, Dims{rows, 1}));
    }
    if (total != y.shape[axis])
      a.fail("cpu.concat: the inputs give axis " + std::to_string(axis) + " " +
             std::to_string(total) + " entries, the output " + std::to_string(y.shape[axis]));
    if (srcs.empty())
      return;
    Desc dst({outer, total * inner}, u.type, Dims{total * inner, 1});
    auto pd =
        createPd(a, "concat", [&] { return dnnl::concat::primitive_desc(dst, 1, srcs, engine()); });
    prim_ = dnnl::concat(pd);
    for (size_t k = 0; k < srcs.size(); ++k) {
      srcMem_.push_back(handleMemory(srcs[k]));
      args_[DNNL_ARG_MULTIPLE_SRC + int(k)] = srcMem_.back();
    }
    dst_ = handleMemory(dst);
    args_[DNNL_ARG_DST] = dst_;
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    if (inputs_.empty())
      return;
    for (size_t k = 0; k < inputs_.size(); ++k)
      bind(srcMem_[k], in[inputs_[k]]->raw());
    bind(dst_, out[0]->mutableRaw());
    prim_.execute(stream(), args_);
    stream().wait();
  }

private:
  std::vector<size_t> inputs_; // the non-empty inputs, in order
  std::vector<memory> srcMem_;
  memory dst_;
  dnnl::concat prim_;
  std::unordered_map<int, memory> args_;
};

} // namespace

std::unique_ptr<RuntimeKernel> makeSliceKernel(const KernelArgs &a) {
  return std::make_unique<SliceKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeSplitKernel(const KernelArgs &a) {
  return std::make_unique<SplitKernel>(a);
}
std::unique_ptr<RuntimeKernel> makePadKernel(const KernelArgs &a) {
  return std::make_unique<PadKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeConcatKernel(const KernelArgs &a) {
  return std::make_unique<ConcatKernel>(a);
}

} // namespace plumb::cpu
