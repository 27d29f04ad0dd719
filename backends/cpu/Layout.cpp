// Data-movement kernels: cpu.copy (Reshape, Flatten, Squeeze, Unsqueeze, Identity: the bytes
// do not change, only the shape) and cpu.transpose (oneDNN reorder between the input's
// row-major layout and the same tensor seen through permuted strides).
#include "backends/cpu/Kernels.h"

#include <cstring>
#include <numeric>

namespace plumb::cpu {

namespace {

// Any dtype: the planned output has the input's element count and type; extra inputs (a
// Reshape's shape, Unsqueeze's axes) only decided that shape at compile time.
class CopyKernel final : public RuntimeKernel {
public:
  explicit CopyKernel(const KernelArgs &a) {
    const BufferInfo &x = a.input(0), &y = a.output(0);
    if (x.dtype != y.dtype || numElements(x.shape) != numElements(y.shape))
      a.fail(std::string("cpu.copy: input ") + dtypeName(x.dtype) + " " + shapeToString(x.shape) +
             " and output " + dtypeName(y.dtype) + " " + shapeToString(y.shape) +
             " differ in type or element count");
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    if (in[0]->raw() != out[0]->raw())
      std::memcpy(out[0]->mutableRaw(), in[0]->raw(), out[0]->nbytes());
  }
};

class TransposeKernel final : public RuntimeKernel {
public:
  explicit TransposeKernel(const KernelArgs &a) {
    a.requireF32(1);
    const Shape &x = a.input(0).shape;
    size_t r = x.size();
    std::vector<int64_t> perm = a.attrs().getInts("perm");
    if (perm.empty()) { // ONNX default: reverse the dims
      perm.resize(r);
      std::iota(perm.rbegin(), perm.rend(), 0);
    }
    Shape want(r);
    std::vector<bool> seen(r, false);
    for (size_t i = 0; i < perm.size(); ++i) {
      if (perm.size() != r || perm[i] < 0 || perm[i] >= int64_t(r) || seen[size_t(perm[i])])
        a.fail("cpu.transpose: perm is not a permutation of the " + std::to_string(r) + " dims");
      seen[size_t(perm[i])] = true;
      want[i] = x[size_t(perm[i])];
    }
    if (want != a.output(0).shape)
      a.fail("cpu.transpose: planned output " + shapeToString(a.output(0).shape) +
             " is not the transposed " + shapeToString(want));
    // Output dim i walks input dim perm[i]: describe the input through the output's dims.
    Dims inStrides = rowMajorStrides(toDims(x)), viewStrides(r);
    for (size_t i = 0; i < r; ++i)
      viewStrides[i] = inStrides[size_t(perm[i])];
    Dims outDims = toDims(want);
    Desc src = r == 0 ? plainDesc(outDims) : Desc(outDims, dnnl::memory::data_type::f32, viewStrides);
    Desc dst = plainDesc(outDims);
    src_ = handleMemory(src);
    dst_ = handleMemory(dst);
    prim_ = dnnl::reorder(src_, dst_);
  }
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    bind(src_, in[0]->raw());
    bind(dst_, out[0]->mutableRaw());
    prim_.execute(stream(), src_, dst_);
    stream().wait();
  }

private:
  dnnl::memory src_, dst_;
  dnnl::reorder prim_;
};

} // namespace

std::unique_ptr<RuntimeKernel> makeCopyKernel(const KernelArgs &a) {
  return std::make_unique<CopyKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeTransposeKernel(const KernelArgs &a) {
  return std::make_unique<TransposeKernel>(a);
}

} // namespace plumb::cpu
