// Reduced-precision cuda plans (`--dtype f16|bf16`): the storage type's name, the cast
// kernels at the graph boundaries, which float constants must stay f32, the type each value
// is stored in (--keep-f32 included) and the casts between them; and the attrs every
// generated step carries.
#include "backends/cuda/lowering/Lowerer.h"
#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
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
  s.attrs.set("style", stringAttr(k.style));
  s.attrs.set("kind", stringAttr(kind));
  s.attrs.set("source", stringAttr(k.source));
  s.attrs.set("entry", stringAttr(k.entry));
  s.attrs.set("grid", intsAttr({k.grid[0], k.grid[1], k.grid[2]}));
  s.attrs.set("block", intsAttr({k.block[0], k.block[1], k.block[2]}));
  s.attrs.set("shared", intAttr(k.sharedBytes));
  if (k.indexChecks)
    s.attrs.set("index_checks", intAttr(1));
  s.attrs.set("ptx", stringAttr(bin.ptx));
  s.attrs.set("ptx_arch", stringAttr(nvrtc.ptxArch));
  s.attrs.set("cubin_arch", stringAttr(nvrtc.cubinArch));
  s.attrs.set("cubin", tensorAttr(Tensor::copyOf(DType::U8, {int64_t(bin.cubin.size())},
                                                  bin.cubin.data())));
}

DType Lowerer::storedType(Value v) const {
  std::optional<DType> dt = dtypeOf(cast<TensorType>(v.getType()).getElementType());
  if (!dt) {
    std::string name;
    if (Operation *def = v.getDefiningOp())
      name = tensorNameOf(def, cast<OpResult>(v).getResultNumber());
    throw Error("value '" + name + "' has an element type the CUDA backend does not support");
  }
  if (*dt != DType::F32 || opts_.keepF32.empty())
    return stored(*dt);
  Operation *def = v.getDefiningOp();
  if (!def)
    return stored(*dt);
  std::string t = onnxOpType(def).str();
  if (isCopyOp(t) || isMovement(t)) {
    // No arithmetic: the data keeps its type, f32 if any float operand's buffer is f32 (a
    // plan holds one half type besides f32).
    std::optional<DType> data;
    for (Value o : def->getOperands())
      if (auto it = ids_.find(o); it != ids_.end() && it->second >= 0 &&
                                  isFloat(plan_.buffers[size_t(it->second)].dtype))
        if (!data || *data != DType::F32)
          data = plan_.buffers[size_t(it->second)].dtype;
    if (data)
      return *data;
  }
  return kept(def) ? DType::F32 : stored(*dt);
}

bool Lowerer::kept(Operation *op) const {
  if (opts_.keepF32.empty())
    return false;
  for (const std::string &n : nodeNamesOf(op))
    if (opts_.keepF32.count(n))
      return true;
  return false;
}

bool Lowerer::feedsKept(Value v) const {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto fusion = dyn_cast<FusionOp>(user)) {
      if (feedsKept(fusion.getBody().front().getArgument(use.getOperandNumber())))
        return true;
    } else if (kept(user)) {
      return true;
    }
  }
  return false;
}

int Lowerer::asType(int id, DType t) {
  if (id < 0 || plan_.buffers[size_t(id)].dtype == t || !isFloat(plan_.buffers[size_t(id)].dtype))
    return id;
  if (auto it = converted_.find({id, t}); it != converted_.end())
    return it->second;
  Buffer b = plan_.buffers[size_t(id)]; // a copy: adding a buffer may move the vector
  std::string name = b.name + "." + dtypeName(t);
  int to = b.kind == BufferKind::Constant
               ? plan_.addConstant(name, b.constant.cast(t))
               : plan_.addBuffer(BufferKind::Intermediate, t, b.shape, name);
  if (b.kind != BufferKind::Constant)
    castStep(id, to, "cast " + b.name, "");
  converted_[{id, t}] = to;
  return to;
}

bool Lowerer::allStoredAs(const std::vector<int> &ids, DType t) const {
  return llvm::all_of(ids, [&](int id) { return id < 0 || plan_.buffers[size_t(id)].dtype == t; });
}

// A boundary cast (graph input to the storage type, or back to a graph output's type).
// `outputName` empty: the step's tensor is not compared (the input is the same tensor).
void Lowerer::castStep(int src, int dst, const std::string &nodes, const std::string &outputName) {
  const Buffer &from = plan_.buffers[size_t(src)], &to = plan_.buffers[size_t(dst)];
  KernelGraph g = castGraph(from.dtype, to.dtype, from.shape, nodes);
  GeneratedKernel k = generateKernel(g);
  CompiledKernel bin = compileKernel(k.source, "[" + nodes + "]", opts_.nvrtc);
  Step &s = addStep("cuda.generated", {src}, {dst}, nodes);
  s.outputNames = {outputName};
  setKernel(s, g, k, bin);
}

} // namespace plumb::cuda
