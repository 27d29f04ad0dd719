// Data-movement kernels on oneDNN's reorder and concat: cpu.slice, cpu.split and cpu.concat,
// for tensors of any dtype, set up once from the static shapes and constant operands.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/StridedCopy.h"

#include <unordered_map>

namespace plumb::cpu {

namespace {

using dnnl::memory;

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
std::unique_ptr<RuntimeKernel> makeConcatKernel(const KernelArgs &a) {
  return std::make_unique<ConcatKernel>(a);
}

} // namespace plumb::cpu
