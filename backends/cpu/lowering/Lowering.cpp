// Lowering to a CPU Plan. A plumb.fusion whose body starts with Conv/MatMul/Gemm becomes one
// oneDNN step with the following activations and residual Add as post-ops, as far as oneDNN
// can express them; the rest of such a body, and every other fusion, is lowered op by op. An
// "attention" fusion that planAttentions accepts is one cpu.attention step instead. Runs of
// elementwise ops (a fusion's body, or what follows its anchor) become one cpu.chain step.
#include "backends/cpu/lowering/Lowerer.h"

#include "backends/cpu/lowering/Attention.h"
#include "backends/cpu/lowering/Chain.h"

#include "backends/cpu/CpuBackend.h"

#include "backends/reference/AttrValues.h"
#include "backends/reference/Interpreter.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"

#include <fmt/format.h>

#include <functional>
#include <set>

using namespace mlir;

namespace plumb::cpu {
namespace {

// Softplus stays on the reference kernel: oneDNN 2.6's soft_relu measured 19x the f32 noise
// floor in relative L2 on mamba2_tiny (plumb check --backend cpu), beyond the default rule.
// Log and Mish are cpu.chain's: oneDNN's eltwise_log is 1.4e-6 off at x = 1 (log(1) != 0,
// thousands of ulps around it) and its mish 0.4% off at x = -12; the chain's are within an
// ulp or two (cpu_chain_test's MathWithinUlpsOfDouble).
const std::set<std::string> &eltwiseOps() {
  static const std::set<std::string> s = {"Relu", "Tanh", "Sigmoid", "Exp", "Sqrt",
                                          "Abs", "Gelu", "Elu", "LeakyRelu", "HardSigmoid",
                                          "HardSwish", "Neg"};
  return s;
}

const std::set<std::string> &binaryOps() {
  static const std::set<std::string> s = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  return s;
}

// The cpu.* data-movement kernel for `op` (any dtype), or "" when it has none. The operands
// after the data that decide what moves (starts, split sizes, pads, axes) must be constants:
// those kernels read them once, at prepare time.
std::string movementKernel(Operation *op, const std::string &t, const ref::Attrs &attrs) {
  auto restConstant = [&] {
    for (Value v : op->getOperands().drop_front())
      if (!isa<NoneType>(v.getType()) && !definedByConstant(v))
        return false;
    return true;
  };
  if (t == "Slice" && restConstant())
    return "cpu.slice";
  if (t == "Split" && restConstant())
    return "cpu.split";
  static const std::set<std::string> padModes = {"constant", "edge", "reflect", "wrap"};
  if (t == "Pad" && padModes.count(attrs.getString("mode", "constant")) && restConstant())
    return "cpu.pad";
  if (t == "Concat")
    return "cpu.concat";
  auto elementType = [](Value v) { return cast<TensorType>(v.getType()).getElementType(); };
  if (t == "Gather" && op->getNumOperands() == 2 &&
      (elementType(op->getOperand(1)).isInteger(64) ||
       elementType(op->getOperand(1)).isInteger(32)))
    return "cpu.gather";
  if (t == "CumSum" && op->getNumOperands() == 2 && elementType(op->getOperand(0)).isF32() &&
      elementType(op->getResult(0)).isF32() && restConstant())
    return "cpu.cumsum";
  return "";
}

bool onlyFirstResultUsed(Operation *op) {
  for (unsigned i = 1; i < op->getNumResults(); ++i)
    if (!op->getResult(i).use_empty())
      return false;
  return true;
}

} // namespace

// Whether cpu.matmul takes this Gemm (MatMulKernel's rules): an alpha other than 1 folds into
// a constant B, or (not 0) into a constant C; a beta other than 1 into a constant C. Otherwise
// the reference kernel runs it (it failed when the plan was prepared).
// Inside a fusion body an operand is constant when the fusion's input for it is.
bool gemmFitsMatMul(Operation *op, const ref::Attrs &attrs) {
  auto constant = [&](Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      if (auto fusion = dyn_cast<FusionOp>(arg.getOwner()->getParentOp()))
        v = fusion.getInputs()[arg.getArgNumber()];
    return v.getDefiningOp<ConstantOp>() != nullptr;
  };
  double alpha = attrs.getFloat("alpha", 1.0), beta = attrs.getFloat("beta", 1.0);
  bool hasC = op->getNumOperands() > 2 && !isa<NoneType>(op->getOperand(2).getType());
  bool constB = constant(op->getOperand(1));
  bool constC = hasC && constant(op->getOperand(2));
  if (alpha != 1.0 && !constB && hasC && (alpha == 0.0 || !constC))
    return false;
  return !(hasC && !constC && beta != 1.0);
}

bool allF32(Operation *op) {
  auto isF32OrOther = [](Type t) {
    auto tt = dyn_cast<TensorType>(t);
    return !tt || tt.getElementType().isF32();
  };
  for (Type t : op->getOperandTypes())
    if (!isF32OrOther(t))
      return false;
  for (Type t : op->getResultTypes())
    if (!isF32OrOther(t))
      return false;
  return true;
}

int Lowerer::bufferFor(Value v, const std::string &name) {
  auto type = cast<TensorType>(v.getType());
  Shape shape;
  bool runTime = false;
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (ranked && ranked.hasStaticShape()) {
    shape.assign(ranked.getShape().begin(), ranked.getShape().end());
  } else if (hints_ && hints_->count(name)) {
    // When its values decide it, the compile-time run's shape is a sample and the steps around
    // it take their shapes at run time.
    shape = hints_->at(name);
    runTime = runTime_.count(v);
  } else if (runTime_.count(v)) {
    // Values decide it and the compile-time run has no sample (a body it did not run, or ran
    // in another iteration): each run allocates it anyway; the plan records the known dims.
    if (ranked)
      for (int64_t d : ranked.getShape())
        shape.push_back(d < 0 ? 0 : d);
    runTime = true;
  } else {
    throw Error("value '" + name + "' has no static shape (" +
                (ranked ? std::to_string(ranked.getRank()) + "-d, dynamic" : std::string("unranked")) +
                "): the CPU backend needs static shapes; pin graph inputs with --input-shape");
  }
  std::optional<DType> dt = dtypeOf(type.getElementType());
  if (!dt)
    throw Error("value '" + name + "' has an element type the CPU backend does not support");
  int id = plan_.addBuffer(BufferKind::Intermediate, *dt, shape, name);
  plan_.buffers[size_t(id)].runTimeShape = runTime;
  if (stats_)
    stats_->runTimeShapeBuffers += runTime;
  ids_[v] = id;
  return id;
}

int Lowerer::operand(Value v) {
  if (isa<NoneType>(v.getType()))
    return -1;
  auto it = ids_.find(v);
  if (it == ids_.end())
    throw Error("internal: a value is used before the CPU lowering defined it");
  return it->second;
}

Step &Lowerer::emit(const std::string &kernel, Operation *op, std::vector<int> in,
                    std::vector<int> out) {
  Step &s = plan_.addStep(kernel, std::move(in), std::move(out), joinedNodeNames(op));
  s.opset = opset_;
  for (unsigned i = 0; i < op->getNumResults() && i < s.outputs.size(); ++i)
    s.outputNames.push_back(tensorNameOf(op, i));
  if (stats_) {
    (kernel.rfind("cpu.", 0) == 0 ? stats_->cpuSteps : stats_->refSteps)++;
    stats_->byKernel[kernel]++;
  }
  return s;
}

// The cpu.* kernel for a single op (setting its extra attrs), or "ref.<Op>".
std::string Lowerer::kernelFor(Operation *op, ref::Attrs &attrs) {
  std::string t = onnxOpType(op).str();
  auto setOp = [&](const std::string &name) { attrs.set("op", ref::stringAttr(name)); };
  if (touchesRunTimeShape(op, runTime_)) // cpu.* kernels are prepared for one shape
    return "ref." + t;
  if ((t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" ||
       t == "Identity") && op->getNumResults() == 1)
    return "cpu.copy";
  if (std::string k = movementKernel(op, t, attrs); !k.empty())
    return k;
  if (!allF32(op))
    return "ref." + t;
  if (t == "Transpose")
    return "cpu.transpose";
  if (t == "Einsum" && einsumSupported(attrs.getString("equation", "")))
    return "cpu.einsum";
  if (t == "Conv")
    return "cpu.conv";
  if (t == "MatMul" || (t == "Gemm" && gemmFitsMatMul(op, attrs)))
    return "cpu.matmul";
  if ((t == "Softmax" || t == "LogSoftmax") && opset_ >= 13) {
    setOp(t);
    return "cpu.softmax";
  }
  if (t == "LayerNormalization" && onlyFirstResultUsed(op))
    return "cpu.layer_norm";
  if (t == "BatchNormalization" && onlyFirstResultUsed(op) && !attrs.getInt("training_mode", 0))
    return "cpu.batch_norm";
  if ((t == "MaxPool" && onlyFirstResultUsed(op)) || t == "AveragePool" ||
      t == "GlobalMaxPool" || t == "GlobalAveragePool") {
    setOp(t);
    return "cpu.pool";
  }
  if (eltwiseOps().count(t)) {
    setOp(t);
    return "cpu.eltwise";
  }
  if (binaryOps().count(t) && op->getNumOperands() == 2) {
    setOp(t);
    return "cpu.binary";
  }
  return "ref." + t;
}

void Lowerer::lowerOp(Operation *op) {
  if (isa<NoneOp>(op) || attention_.absorbed.count(op))
    return;
  if (auto c = dyn_cast<ConstantOp>(op)) {
    // Weights (resource blobs) are borrowed, not copied: a clone doubled the compile's peak
    // memory (BERT-base: 436 MB more). The context owns the blobs and outlives the plan.
    Tensor t = c.getValueAttr() ? tensorFromAttr(c.getValueAttr()) : ref::evaluateOp(op, {})[0];
    if (releasable_ && c.getValueAttr())
      if (std::shared_ptr<const void> h = blobReleaseHandle(c.getValueAttr(), blobHandles_))
        t = Tensor::borrow(t.dtype(), t.shape(), t.raw(), std::move(h));
    ids_[c.getResult()] = plan_.addConstant(tensorNameOf(op, 0), t);
    return;
  }
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    lowerFusion(fusion);
    return;
  }
  if (isa<IfOp, LoopOp, ScanOp>(op))
    return lowerControlFlow(op);
  requireStraightLineOp(op, opset_, "CPU");
  ref::Attrs attrs = ref::attrsOf(op);
  std::string kernel = kernelFor(op, attrs);
  if (kernel.rfind("ref.", 0) == 0 && !touchesRunTimeShape(op, runTime_) &&
      chainInstrFor(op, opset_) && lowerChain({op}))
    return;
  bool split = kernel == "cpu.split"; // writes every output, so each needs a buffer
  std::vector<int> in, out;
  for (Value v : op->getOperands())
    in.push_back(operand(v));
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    out.push_back(op->getResult(i).use_empty() && i > 0 && !split
                      ? -1
                      : bufferFor(op->getResult(i), tensorNameOf(op, i)));
  if (kernel.rfind("cpu.", 0) == 0 && !split)
    out.resize(1); // other cpu.* kernels produce the first result only (checked above)
  Step &s = emit(kernel, op, in, out);
  s.attrs = attrs;
}

// The post-op string for `op` applied to `prev`, or nullopt when oneDNN cannot absorb it.
// A residual Add of another value of the same shape becomes "sum" with *residual set.
std::optional<Shape> Lowerer::staticShape(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (t && t.hasStaticShape())
    return Shape(t.getShape().begin(), t.getShape().end());
  if (Operation *def = v.getDefiningOp(); def && hints_) {
    auto it = hints_->find(tensorNameOf(def, cast<OpResult>(v).getResultNumber()));
    if (it != hints_->end())
      return it->second;
  }
  return std::nullopt;
}

// Lowers `ops` in order: each run of ops that cpu.chain holds becomes one step when it has
// two ops or more (a lone op keeps its oneDNN kernel; lowerOp chains lone reference ops).
void Lowerer::lowerOps(llvm::ArrayRef<Operation *> ops) {
  for (size_t i = 0; i < ops.size();) {
    size_t j = i;
    while (j < ops.size() && !touchesRunTimeShape(ops[j], runTime_) &&
           chainInstrFor(ops[j], opset_))
      ++j;
    if (j - i < 2 || !lowerChain(ops.slice(i, j - i))) {
      lowerOp(ops[i++]);
      continue;
    }
    i = j;
  }
}

// One cpu.chain step for `ops` (each one chainInstrFor accepts), reading the values they use
// from outside and writing those used after them. Every result must have the chain's shape S
// (the largest output) or S with the last dim 1 (a reduction's, or what is computed from
// those); returns false, emitting nothing, otherwise.
void Lowerer::lowerFusion(FusionOp fusion) {
  if (!touchesRunTimeShape(fusion, runTime_) && (lowerAttention(fusion) || lowerAnchored(fusion)))
    return;
  Block &body = fusion.getBody().front();
  for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs()))
    ids_[arg] = operand(v);
  std::vector<Operation *> ops = fusionBodyOps(fusion, [&](Operation *op) { lowerOp(op); });
  lowerOps(ops);
  auto yield = cast<YieldOp>(body.getTerminator());
  for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
    ids_[r] = operand(v);
}

Plan Lowerer::run(func::FuncOp fn) {
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto a = module->getAttrOfType<IntegerAttr>(kOpsetAttr))
      opset_ = a.getInt();
  attention_ = planAttentions(fn);
  runTime_ = runTimeShapedValues(fn);
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto name = fn.getArgAttrOfType<StringAttr>(i, kNameAttr);
    std::string n = name ? name.str() : "input_" + std::to_string(i);
    Value arg = fn.getArgument(i);
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || !type.hasStaticShape())
      throw Error("input '" + n + "' has dynamic dims: the CPU backend needs static shapes; "
                  "pin them with --input-shape " + n + "=...");
    ids_[arg] = plan_.addInput(*dtypeOf(type.getElementType()),
                               Shape(type.getShape().begin(), type.getShape().end()), n);
  }
  for (Operation &op : fn.getBody().front().without_terminator())
    lowerOp(&op);
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  std::vector<std::string> names;
  for (unsigned i = 0; i < ret.getNumOperands(); ++i) {
    auto name = fn.getResultAttrOfType<StringAttr>(i, kNameAttr);
    names.push_back(name ? name.str() : "output_" + std::to_string(i));
  }
  finish(ret.getOperands(), names);
  return std::move(plan_);
}

// The plan's outputs, named `names`: the step that computes a returned value writes straight
// into the Output buffer (no copy). A value returned twice, or one that is an input or a
// constant, is copied into its own Output buffer instead. Then layouts, and validation.
void Lowerer::finish(ValueRange values, const std::vector<std::string> &names) {
  std::set<int> promoted;
  for (unsigned i = 0; i < values.size(); ++i) {
    const std::string &n = names[i];
    int src = operand(values[i]);
    Buffer &b = plan_.buffers[size_t(src)];
    if (b.kind == BufferKind::Intermediate && !promoted.count(src)) {
      b.kind = BufferKind::Output;
      b.name = n;
      plan_.outputs.push_back(src);
      promoted.insert(src);
      continue;
    }
    int dst = plan_.addOutput(b.dtype, b.shape, n);
    plan_.buffers[size_t(dst)].runTimeShape = plan_.buffers[size_t(src)].runTimeShape;
    Step &s = plan_.addStep("ref.Identity", {src}, {dst}, "output " + n);
    s.outputNames = {n};
  }
  int64_t blocked = chooseLayouts(plan_);
  if (stats_) {
    stats_->blockedBuffers = blocked;
    for (const Buffer &b : plan_.buffers)
      stats_->blockedBytes += b.layout == Layout::ChannelBlocked ? int64_t(b.bytes()) : 0;
  }
  validatePlan(plan_);
}

Plan lowerToCpuPlan(ModuleOp module, LoweringStats *stats,
                    const std::map<std::string, Shape> *shapeHints, bool releasableWeights) {
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn)
    throw Error("the module has no @main function");
  Lowerer l(stats, shapeHints, releasableWeights);
  return l.run(fn);
}

void requireStraightLineOp(Operation *op, int64_t opset, const std::string &backend) {
  // Bodies that run a data-dependent number of times, and sequence/optional values, have no
  // place in a plan.
  auto isTensor = [](Type t) { return isa<TensorType, NoneType>(t); };
  if (op->getNumRegions() != 0 || !llvm::all_of(op->getOperandTypes(), isTensor) ||
      !llvm::all_of(op->getResultTypes(), isTensor))
    throw Error("node '" + nodeNameOf(op) + "' (" + onnxOpType(op).str() + ", opset " +
                std::to_string(opset) + "): control flow and sequence/optional values are not "
                "supported by the " + backend + " backend; run the model with --backend reference");
}

} // namespace plumb::cpu
