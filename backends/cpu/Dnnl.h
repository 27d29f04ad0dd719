// Internal to backends/cpu: the oneDNN (v2 API) plumbing every CPU kernel shares. Only this
// folder includes oneDNN, so a move to oneDNN 3.x stays inside it.
#pragma once

#include "backends/cpu/CpuBackend.h"
#include "runtime/Error.h"
#include "runtime/RuntimeKernel.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <string>
#include <vector>

namespace plumb::cpu {

using Dims = dnnl::memory::dims;
using Desc = dnnl::memory::desc;

// One CPU engine for the process; one stream per thread (a oneDNN stream is not meant to be
// shared between threads that execute at the same time).
dnnl::engine &engine();
dnnl::stream &stream();

// Shape -> oneDNN dims; a rank-0 tensor is a 1-element 1-D one (oneDNN has no scalars).
Dims toDims(const Shape &shape);
// f32, dense row-major (ONNX's layout), described by strides so that any rank works.
Desc plainDesc(const Dims &dims);
// Row-major strides of `dims` (what plainDesc uses).
Dims rowMajorStrides(const Dims &dims);

// The layout a tensor of `dims` has in memory when stored as `layout` (plain row-major, or
// channel-blocked with channelBlock(); rank 3 to 5).
Desc storageDesc(const Dims &dims, Layout layout);
inline Desc storageDesc(const BufferInfo &b) { return storageDesc(toDims(b.shape), b.layout); }
// A plain copy of a tensor stored as `layout` (the executor's observers compare plain tensors).
Tensor toPlainTensor(const Tensor &stored, Layout layout);

// A memory object without storage; kernels point it at a tensor before every execution.
dnnl::memory handleMemory(const Desc &desc);
inline void bind(const dnnl::memory &m, const void *data) {
  m.set_data_handle(const_cast<void *>(data)); // oneDNN's API is not const-correct
}

// Runs a product primitive (conv, matmul) on `src`, `weights` and `dst`, plus `bias` when
// it is non-null (pointed at `runtimeBias` first, for a bias that is not a constant), and waits.
void executeProduct(const dnnl::primitive &prim, const dnnl::memory &src,
                    const dnnl::memory &weights, const dnnl::memory &dst,
                    const dnnl::memory *bias = nullptr, const void *runtimeBias = nullptr);

// `data` (laid out as `plain`) copied into fresh oneDNN-owned memory of layout `wanted`: how
// constant weights are reordered once, at prepare time.
dnnl::memory reorderedCopy(const void *data, const Desc &plain, const Desc &wanted);

// One primitive argument whose preferred layout (`inner`) may differ from the plain
// row-major layout of our tensors. When they match the primitive works on the tensor's
// memory directly; otherwise on scratch memory, with a reorder at the boundary.
class Bridge {
public:
  void init(const Desc &plain, const Desc &inner);
  bool reorders() const { return !same_; }
  // A primitive input: memory holding `data` in the inner layout.
  const dnnl::memory &in(const void *data);
  // A primitive output: the memory to pass to the primitive; then call store(data).
  const dnnl::memory &out(void *data);
  void store(void *data);
  // For a sum post-op: put `residual` (plain) where the primitive will accumulate into, before
  // it runs; `data` is the output tensor that out() will get.
  void load(const void *residual, void *data);

private:
  bool same_ = true;
  dnnl::memory plain_, inner_;
  dnnl::reorder toInner_, toPlain_;
};

// numpy broadcast of a dense f32 tensor `src` of shape `from` into `dst` of shape `to` (the
// ranks may differ: shapes are right-aligned).
void broadcastCopy(const float *src, const Shape &from, float *dst, const Shape &to);
// Whether `from` broadcasts to `to` under numpy's rules (right-aligned, dims equal or 1).
bool broadcastsTo(const Shape &from, const Shape &to);
// `shape` right-aligned to `rank` with leading 1s (fails if it has more than `rank` dims).
Shape rightAlign(const Shape &shape, size_t rank);

// The one layout that the given buffers (absent ones skipped) are all stored in; fails naming
// `what` when they differ. Elementwise kernels read any layout so long as every operand of the
// output's shape is stored alike (see cpu::chooseLayouts).
Layout sameLayout(const std::vector<const BufferInfo *> &buffers, const std::string &what);

// Everything a kernel factory gets, with the checks most kernels need.
struct KernelArgs {
  const Step &step;
  const std::vector<BufferInfo> &in;
  const std::vector<BufferInfo> &out;
  const std::vector<const Tensor *> &constants;
  // Inputs the kernel read in their packed layout (constantWeights sets these). The factory
  // refuses a step that leaves a packed constant unread this way.
  mutable std::vector<bool> packedRead = {};

  [[noreturn]] void fail(const std::string &msg) const { throw Error(msg); }
  const ref::Attrs &attrs() const { return step.attrs; }
  bool has(size_t i) const { return i < in.size() && in[i].present; }
  const BufferInfo &input(size_t i) const; // a required input (fails when absent)
  const BufferInfo &output(size_t i) const;
  const Tensor *constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
  // Fails unless every present input below `count` and every present output is f32.
  void requireF32(size_t count) const;
  // A string attribute ("op" of cpu.eltwise/binary/pool) that must be present.
  std::string requireString(const std::string &name) const;
  // The opset-independent float of an attribute that may be stored as an int.
  double number(const std::string &name, double def) const;
  // The integers of constant input i (how constant starts, pads, axes... reach a kernel);
  // empty when the optional input is absent. Fails when it is present but not a constant:
  // `kernel` then names the ref.* kernel to lower the op to.
  std::vector<int64_t> constantInts(size_t i, const std::string &kernel) const;
  // Fails unless output i is planned as `dtype` `shape` (what the op computes from its inputs).
  void requireOutput(size_t i, DType dtype, const Shape &shape) const;
  // ONNX axis `axis` of a rank-`rank` tensor as 0..rank-1 (negative counts from the end).
  int64_t axis(int64_t axis, int64_t rank) const;
};

// Runs oneDNN's primitive-descriptor creation, turning "no implementation" into a one-line
// plumb::Error that tells the lowering to use the reference kernel instead.
template <typename F> auto createPd(const KernelArgs &a, const char *what, F &&make) {
  try {
    return make();
  } catch (const dnnl::error &e) {
    a.fail(std::string("oneDNN cannot run this ") + what + " (" + e.what() +
           "); lower it to the ref.* kernel instead");
  }
}

} // namespace plumb::cpu
