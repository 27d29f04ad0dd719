// Reduced-precision cuda plans (`--dtype f16|bf16`): the storage type's name, the cast
// kernels at the graph boundaries, and which float constants must stay f32; and the attrs
// every generated step carries.
#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "ir/PlumbDialect.h"
#include "runtime/Error.h"

using namespace mlir;

namespace plumb::cuda {

DType cudaStorageType(const std::string &name) {
  if (name.empty() || name == "f32")
    return DType::F32;
  if (name == "f16")
    return DType::F16;
  if (name == "bf16")
    return DType::BF16;
  throw Error("--dtype must be f32, f16 or bf16, got '" + name + "'");
}

DType planStorageType(const Plan &plan) {
  for (const Step &s : plan.steps)
    if (s.attrs.has("plumb.dtype"))
      return cudaStorageType(s.attrs.getString("plumb.dtype", "f32"));
  return DType::F32;
}

KernelGraph castGraph(DType from, DType to, const Shape &shape, const std::string &label) {
  KernelGraph g;
  g.kind = "cast";
  g.label = label;
  int x = g.addValue(from, shape), y = g.addValue(to, shape);
  g.inputs = {x};
  g.outputs = {y};
  // Identity computes in float; the generator loads `from` and stores `to` (round to nearest
  // even: __float2half_rn / __float2bfloat16_rn).
  g.nodes.push_back({"Identity", {}, {x}, {y}, label});
  return g;
}

bool decidesShape(Value v) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto fusion = dyn_cast<FusionOp>(user)) {
      if (decidesShape(fusion.getBody().front().getArgument(use.getOperandNumber())))
        return true;
      continue;
    }
    StringRef t = onnxOpType(user);
    if (((t == "Resize" || t == "Upsample") && use.getOperandNumber() >= 1) || t == "Range")
      return true;
  }
  return false;
}

void setGeneratedAttrs(Step &s, const std::string &kind, const GeneratedKernel &k,
                       const CompiledKernel &bin, const NvrtcOptions &nvrtc) {
  s.attrs.set("style", strAttr(k.style));
  s.attrs.set("kind", strAttr(kind));
  s.attrs.set("source", strAttr(k.source));
  s.attrs.set("entry", strAttr(k.entry));
  s.attrs.set("grid", intsAttr({k.grid[0], k.grid[1], k.grid[2]}));
  s.attrs.set("block", intsAttr({k.block[0], k.block[1], k.block[2]}));
  s.attrs.set("shared", intAttr(k.sharedBytes));
  if (k.indexChecks)
    s.attrs.set("index_checks", intAttr(1));
  s.attrs.set("ptx", strAttr(bin.ptx));
  s.attrs.set("ptx_arch", strAttr(nvrtc.ptxArch));
  s.attrs.set("cubin_arch", strAttr(nvrtc.cubinArch));
  s.attrs.set("cubin", attrWith(ref::AttrValue::Kind::Tensor, &ref::AttrValue::t,
                                Tensor::copyOf(DType::U8, {int64_t(bin.cubin.size())},
                                               bin.cubin.data())));
}

} // namespace plumb::cuda
