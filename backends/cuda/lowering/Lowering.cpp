// lowerToCudaPlan: walks @main like the CPU lowering. A plumb.fusion becomes one generated
// kernel when its body allows (attention, norms, softmax, elementwise chains); a body with
// MatMul/Gemm/Conv is split at them: each becomes a cuBLASLt/cuDNN step absorbing a following
// bias Add and ReLU/GELU(tanh) as its epilogue, and each run of other ops one generated kernel.
// Data-movement ops (Transpose, Slice, Concat, Gather, Expand, Tile, Split) get a movement
// kernel each; reshapes are byte copies; what is left runs on the host (cuda.host).
// With an f16/bf16 storage type (CudaLoweringOptions::dtype) f32 buffers and weights take that
// type and the graph's f32 inputs and outputs pass through one cast kernel each.
#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/runtime/CudaBackend.h"
#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/Common.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace plumb::cuda {
namespace {

bool isCopyOp(const std::string &t) {
  return t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" || t == "Identity";
}

bool isGeneratable(Operation *op) {
  std::string t = onnxOpType(op).str();
  // LayerNormalization's Mean/InvStdDev results may exist, unused.
  bool oneResult = op->getNumResults() == 1 ||
                   llvm::all_of(op->getResults().drop_front(), [](Value r) { return r.use_empty(); });
  return oneResult && (isSupportedElementwise(t) || isRowOp(t));
}

bool deviceFloat(Type t) {
  auto tt = dyn_cast<TensorType>(t);
  if (!tt)
    return true;
  Type e = tt.getElementType();
  return e.isF32() || e.isF16() || e.isBF16();
}

bool allDeviceFloat(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), deviceFloat) &&
         llvm::all_of(op->getResultTypes(), deviceFloat);
}

class Lowerer {
public:
  Lowerer(const CudaLoweringOptions &o, CudaLoweringStats *s,
          const std::map<std::string, Shape> *hints)
      : opts_(o), stats_(s ? s : &ownStats_), hints_(hints) {}
  Plan run(func::FuncOp fn);

private:
  // How a tensor of type `t` is stored in this plan: f32 becomes opts_.dtype.
  DType stored(DType t) const { return t == DType::F32 ? opts_.dtype : t; }
  // How `v` is stored: stored(its type), except f32 results of nodes kept in f32, and the
  // results of reshapes and movement ops, which take their data operand's buffer type.
  DType storedType(Value v) const;
  // Whether `op` is one of the nodes opts_.keepF32 names / `v` is read by one (through
  // fusion bodies).
  bool kept(Operation *op) const;
  bool feedsKept(Value v) const;
  // Buffer `id` as type `t` for a library step: itself, or a copy through a cast kernel
  // (constants: a second constant, cast once here). Memoized.
  int asType(int id, DType t);
  // Whether every buffer in `ids` (-1: absent) is stored as `t`.
  bool allStoredAs(const std::vector<int> &ids, DType t) const;
  Shape shapeOf(Value v);
  int bufferFor(Value v);
  int operand(Value v);
  void recordDtype(Step &s) const { s.attrs.set("plumb.dtype", strAttr(dtypeName(opts_.dtype))); }
  Step &addStep(const std::string &kernel, std::vector<int> in, std::vector<int> out,
                const std::string &nodes);
  Step &emit(const std::string &kernel, const std::string &nodes, std::vector<int> in,
             std::vector<Value> outs);
  void setKernel(Step &s, const KernelGraph &g, const GeneratedKernel &k,
                 const CompiledKernel &bin);
  void castStep(int src, int dst, const std::string &nodes, const std::string &outputName);
  int padStep(int src, const std::vector<int64_t> &begin, const std::vector<int64_t> &end,
              const std::string &nodes);
  void cropStep(int src, const std::vector<int64_t> &begin, Value out, const std::string &nodes);
  void lowerOp(Operation *op);
  void lowerFusion(FusionOp fusion);
  void lowerHost(Operation *op);
  void lowerAlone(Operation *op);
  bool lowerGenerated(ArrayRef<Operation *> ops, StringRef kind, Operation *outTranspose = nullptr);
  Operation *attentionTranspose(Operation *op) const;
  void materializeViews(Block &body);
  void lowerGroup(ArrayRef<Operation *> ops, StringRef kind);
  size_t lowerMatMul(ArrayRef<Operation *> ops, size_t i);
  size_t lowerConv(ArrayRef<Operation *> ops, size_t i);

  const CudaLoweringOptions &opts_;
  CudaLoweringStats ownStats_;
  CudaLoweringStats *stats_;
  const std::map<std::string, Shape> *hints_;
  Plan plan_;
  llvm::DenseMap<Value, int> ids_;
  // Head transposes an attention kernel reads through (its Q/K/V) or writes through (its
  // output) instead of a movement kernel each: the deferred Transpose per result, the view
  // (logical shape, strides over the source buffer) per attention body argument, and the
  // output transposes the attention step already wrote.
  struct View {
    Shape shape;                  // the transposed (logical) shape
    std::vector<int64_t> strides; // over the transpose's source buffer
    Operation *transpose = nullptr;
  };
  llvm::DenseMap<Value, Operation *> deferred_;
  llvm::DenseMap<Value, View> views_;
  llvm::SmallPtrSet<Operation *, 16> absorbed_;
  std::map<std::pair<int, DType>, int> converted_;
  int64_t opset_ = 17;
};

Shape Lowerer::shapeOf(Value v) {
  if (auto it = views_.find(v); it != views_.end()) // read through a deferred transpose
    return it->second.shape;
  if (auto it = ids_.find(v); it != ids_.end()) // block arguments: their fusion operand's buffer
    return plan_.buffers[size_t(it->second)].shape;
  auto ranked = dyn_cast<RankedTensorType>(v.getType());
  if (ranked && ranked.hasStaticShape())
    return Shape(ranked.getShape().begin(), ranked.getShape().end());
  std::string name;
  if (Operation *def = v.getDefiningOp())
    name = tensorNameOf(def, cast<OpResult>(v).getResultNumber());
  if (hints_ && hints_->count(name))
    return hints_->at(name);
  throw Error("value '" + name + "' has no static shape: the CUDA backend needs static shapes; "
              "pin graph inputs with --input-shape");
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

int Lowerer::bufferFor(Value v) {
  Operation *def = v.getDefiningOp();
  std::string name = tensorNameOf(def, cast<OpResult>(v).getResultNumber());
  int id = plan_.addBuffer(BufferKind::Intermediate, storedType(v), shapeOf(v), name);
  ids_[v] = id;
  return id;
}

int Lowerer::operand(Value v) {
  if (isa<NoneType>(v.getType()))
    return -1;
  auto it = ids_.find(v);
  if (it == ids_.end())
    throw Error("internal: a value is used before the CUDA lowering defined it");
  return it->second;
}

Step &Lowerer::addStep(const std::string &kernel, std::vector<int> in, std::vector<int> out,
                       const std::string &nodes) {
  Step &s = plan_.addStep(kernel, std::move(in), std::move(out), nodes);
  s.opset = opset_;
  recordDtype(s);
  (kernel == "cuda.host" ? stats_->hostSteps : stats_->deviceSteps)++;
  return s;
}

Step &Lowerer::emit(const std::string &kernel, const std::string &nodes, std::vector<int> in,
                    std::vector<Value> outs) {
  std::vector<int> out;
  std::vector<std::string> names;
  for (Value v : outs) {
    out.push_back(bufferFor(v));
    names.push_back(plan_.buffers[size_t(out.back())].name);
  }
  Step &s = addStep(kernel, std::move(in), std::move(out), nodes);
  s.outputNames = names;
  return s;
}

void Lowerer::setKernel(Step &s, const KernelGraph &g, const GeneratedKernel &k,
                        const CompiledKernel &bin) {
  (bin.fromCache ? stats_->kernelsFromCache : stats_->kernelsCompiled)++;
  setGeneratedAttrs(s, g.kind, k, bin, opts_.nvrtc);
  stats_->byKernel["cuda.generated:" + (g.kind == "cast" ? g.kind : k.style)]++;
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

void Lowerer::lowerHost(Operation *op) {
  // A host step runs one reference kernel on tensors: say so at compile time otherwise.
  cpu::requireStraightLineOp(op, opset_, "CUDA");
  std::vector<int> in;
  for (Value v : op->getOperands())
    in.push_back(operand(v));
  std::vector<Value> outs;
  for (Value r : op->getResults())
    outs.push_back(r);
  std::string t = onnxOpType(op).str();
  std::string kernel = "cuda.host";
  // A byte copy needs both sides stored alike (a constant kept f32 in an f16 plan is not).
  if (isCopyOp(t) && op->getNumResults() == 1 &&
      allStoredAs({in.at(0)}, storedType(op->getResult(0)))) {
    kernel = "cuda.copy";
    in.resize(1); // the data; shape operands are not read
  }
  Step &s = emit(kernel, joinedNodeNames(op), in, outs);
  // A reshape whose input dies here takes the input's memory (the planner aliases them) and
  // the copy becomes a no-op: the runtime skips a copy onto itself.
  if (kernel == "cuda.copy")
    s.inPlaceInput = 0;
  // Unused secondary results (Dropout's mask...) still get buffers: the reference kernel
  // produces them anyway.
  s.attrs = ref::attrsOf(op);
  recordDtype(s);
  if (kernel == "cuda.host")
    s.attrs.set("plumb.op", strAttr(t));
  // Host steps by op, so `--stats` says which ops still leave the device.
  stats_->byKernel[kernel == "cuda.host" ? kernel + ":" + t : kernel]++;
}

// One generated kernel for `ops`; false (with the reason recorded) when the generator or
// NVRTC refuses it.
bool Lowerer::lowerGenerated(ArrayRef<Operation *> ops, StringRef kind,
                             Operation *outTranspose) {
  GroupGraph gg;
  GeneratedKernel k;
  CompiledKernel bin;
  try {
    gg = buildGroupGraph(ops, kind, opset_, [&](Value v) { return shapeOf(v); });
    if (gg.outputs.empty())
      return true; // dead code
    // Storage as in the plan: inputs as their buffers are, f32 results in the storage type.
    // Arithmetic is float for f32, f16 and bf16 alike, so only loads and stores change.
    for (KValue &v : gg.graph.values)
      v.dtype = stored(v.dtype);
    for (size_t i = 0; i < gg.inputs.size(); ++i)
      gg.graph.values[size_t(gg.graph.inputs[i])].dtype =
          plan_.buffers[size_t(operand(gg.inputs[i]))].dtype;
    for (size_t i = 0; i < gg.outputs.size(); ++i) // f32 where a kept node makes them
      gg.graph.values[size_t(gg.graph.outputs[i])].dtype = storedType(gg.outputs[i]);
    for (size_t i = 0; i < gg.inputs.size(); ++i)
      if (auto it = views_.find(gg.inputs[i]); it != views_.end())
        gg.graph.strides[gg.graph.inputs[i]] = it->second.strides;
    if (outTranspose) {
      // The result lands transposed: logical dim perm[j] is the buffer's dim j.
      std::vector<int64_t> perm = ref::attrsOf(outTranspose).getInts("perm");
      std::vector<int64_t> st = ref::stridesOf(shapeOf(outTranspose->getResult(0))),
                           view(perm.size());
      for (size_t j = 0; j < perm.size(); ++j)
        view[size_t(perm[j])] = st[j];
      gg.graph.strides[gg.graph.outputs.at(0)] = view;
    }
    k = generateKernel(gg.graph);
    bin = compileKernel(k.source, "[" + gg.graph.label + "]", opts_.nvrtc);
  } catch (const Error &e) {
    stats_->fallbacks.push_back(e.what());
    return false;
  }
  std::vector<int> in;
  for (Value v : gg.inputs)
    in.push_back(operand(v));
  std::vector<Value> outs = gg.outputs;
  std::string label = gg.graph.label;
  if (outTranspose) { // the step writes the transpose's result; the body value maps to it
    outs = {outTranspose->getResult(0)};
    label += ", " + joinedNodeNames(outTranspose);
    absorbed_.insert(outTranspose);
  }
  Step &s = emit("cuda.generated", label, in, outs);
  if (outTranspose)
    ids_[gg.outputs[0]] = s.outputs[0];
  setKernel(s, gg.graph, k, bin);
  return true;
}

// `op` (a Transpose) if an attention kernel can read or write through it instead: its data
// has one use, across a fusion boundary into (or out of) an attention body, and the
// transpose keeps the storage type. Else null.
Operation *Lowerer::attentionTranspose(Operation *op) const {
  if (!op || !isa<TransposeOp>(op) || !op->getResult(0).hasOneUse() ||
      ref::attrsOf(op).getInts("perm").empty())
    return nullptr;
  auto intoAttention = [](Operation *user) {
    auto f = dyn_cast<FusionOp>(user);
    return f && f.getKind() == "attention";
  };
  Value data = op->getOperand(0);
  if (intoAttention(*op->getResult(0).user_begin()) && ids_.count(data))
    return op; // Q, K or V
  auto f = data.getDefiningOp<FusionOp>();
  if (f && f.getKind() == "attention" && data.hasOneUse() && f->getNumResults() == 1)
    return op; // the output
  return nullptr;
}

// The views of `body`'s arguments become real transposes (a movement kernel each), for a
// body that is not one attention kernel after all.
void Lowerer::materializeViews(Block &body) {
  for (BlockArgument arg : body.getArguments()) {
    auto it = views_.find(arg);
    if (it == views_.end())
      continue;
    Operation *t = it->second.transpose;
    views_.erase(it);
    deferred_.erase(t->getResult(0));
    lowerAlone(t);
    ids_[arg] = operand(t->getResult(0));
  }
}

// An op outside any generated group: a movement kernel for a data-movement op (Transpose,
// Slice, Concat, Gather...), a window kernel for a pool or CumSum, else a byte copy or the host.
void Lowerer::lowerAlone(Operation *op) {
  std::string t = onnxOpType(op).str();
  if ((isMovement(t) || isWindowOp(t)) && lowerGenerated({op}, t))
    return;
  lowerHost(op);
}

// A run of generatable ops: one kernel, else one per op, else the host.
void Lowerer::lowerGroup(ArrayRef<Operation *> ops, StringRef kind) {
  if (ops.empty() || lowerGenerated(ops, kind))
    return;
  for (Operation *op : ops)
    if (ops.size() == 1 || !lowerGenerated({op}, onnxOpType(op)))
      lowerHost(op);
}

// MatMul/Gemm at ops[i] with a following bias Add and ReLU / tanh-GELU as the epilogue;
// returns the index after the last op absorbed.
size_t Lowerer::lowerMatMul(ArrayRef<Operation *> ops, size_t i) {
  Operation *mm = ops[i];
  bool gemm = isa<GemmOp>(mm);
  ref::Attrs a = gemm ? ref::attrsOf(mm) : ref::Attrs();
  bool ta = a.getInt("transA", 0), tb = a.getInt("transB", 0);
  MatMulGeometry geo;
  // One type for A, B, C/D and the bias: the result's (f32 when the node is kept).
  DType t = storedType(mm->getResult(0));
  try {
    if (!allDeviceFloat(mm))
      throw Error("cuda.matmul takes f32, f16 and bf16");
    geo = matmulGeometry(shapeOf(mm->getOperand(0)), shapeOf(mm->getOperand(1)), ta, tb);
  } catch (const Error &e) {
    stats_->fallbacks.push_back(joinedNodeNames(mm) + ": " + e.what());
    lowerHost(mm);
    return i + 1;
  }
  std::vector<int> in = {asType(operand(mm->getOperand(0)), t),
                         asType(operand(mm->getOperand(1)), t)};
  Value cur = mm->getResult(0);
  bool bias = false;
  double beta = a.getFloat("beta", 1.0);
  if (gemm && !isa<NoneType>(mm->getOperand(2).getType())) {
    Shape c = shapeOf(mm->getOperand(2));
    if (numElements(c) == geo.n && c.back() == geo.n && beta == 1.0)
      bias = true;
    else if (c != shapeOf(cur)) {
      stats_->fallbacks.push_back(joinedNodeNames(mm) + ": Gemm's C broadcasts partially");
      lowerHost(mm);
      return i + 1;
    }
    in.push_back(asType(operand(mm->getOperand(2)), t));
  }
  size_t next = i + 1;
  std::string nodes = joinedNodeNames(mm);
  // An epilogue op joins the step only when it is kept in f32 exactly when the MatMul is.
  if (!gemm && next < ops.size() && isa<AddOp>(ops[next]) && cur.hasOneUse() &&
      *cur.user_begin() == ops[next] && kept(ops[next]) == kept(mm)) {
    Value b = ops[next]->getOperand(0) == cur ? ops[next]->getOperand(1) : ops[next]->getOperand(0);
    Shape bs = shapeOf(b);
    if (!bs.empty() && bs.back() == geo.n && numElements(bs) == geo.n &&
        b.getType() != cur.getType() && isFloat(plan_.buffers[size_t(operand(b))].dtype)) {
      in.push_back(asType(operand(b), t));
      bias = true;
      cur = ops[next]->getResult(0);
      nodes += ", " + joinedNodeNames(ops[next]);
      ++next;
    }
  }
  std::string epilogue = "none";
  if (next < ops.size() && cur.hasOneUse() && *cur.user_begin() == ops[next] &&
      kept(ops[next]) == kept(mm)) {
    Operation *act = ops[next];
    auto approx = act->getAttrOfType<StringAttr>("approximate");
    if (isa<ReluOp>(act))
      epilogue = "relu";
    else if (isa<GeluOp>(act) && approx && approx.getValue() == "tanh")
      epilogue = "gelu_tanh";
    if (epilogue != "none") {
      cur = act->getResult(0);
      nodes += ", " + joinedNodeNames(act);
      ++next;
    }
  }
  Step &s = emit("cuda.matmul", nodes, in, {cur});
  s.attrs.set("m", intAttr(geo.m));
  s.attrs.set("n", intAttr(geo.n));
  s.attrs.set("k", intAttr(geo.k));
  s.attrs.set("batch", intAttr(geo.batch));
  s.attrs.set("stride_a", intAttr(geo.strideA));
  s.attrs.set("stride_b", intAttr(geo.strideB));
  s.attrs.set("stride_c", intAttr(geo.strideC));
  s.attrs.set("trans_a", intAttr(ta));
  s.attrs.set("trans_b", intAttr(tb));
  s.attrs.set("alpha", floatAttr(a.getFloat("alpha", 1.0)));
  s.attrs.set("beta", floatAttr(beta));
  s.attrs.set("bias", intAttr(bias));
  s.attrs.set("epilogue", strAttr(epilogue));
  s.attrs.set("tf32", intAttr(opts_.tf32));
  stats_->byKernel["cuda.matmul"]++;
  return next;
}

// Zero padding of buffer `src` by `begin`/`end` elements per dim into a new buffer: one
// generated Pad kernel (a conv whose pads cuDNN cannot take pads its input first).
int Lowerer::padStep(int src, const std::vector<int64_t> &begin, const std::vector<int64_t> &end,
                     const std::string &nodes) {
  Buffer b = plan_.buffers[size_t(src)]; // a copy: adding a buffer may move the vector
  Shape padded = b.shape;
  std::vector<int64_t> pads = begin;
  pads.insert(pads.end(), end.begin(), end.end());
  for (size_t d = 0; d < padded.size(); ++d)
    padded[d] += begin[d] + end[d];
  KernelGraph g = movementGraph("Pad", b.dtype, b.shape, padded, {pads}, nodes, opset_);
  GeneratedKernel k = generateKernel(g);
  CompiledKernel bin = compileKernel(k.source, "[" + nodes + "]", opts_.nvrtc);
  int dst = plan_.addBuffer(BufferKind::Intermediate, b.dtype, padded, b.name + ".padded");
  Step &s = addStep("cuda.generated", {src}, {dst}, nodes);
  s.outputNames = {""};
  setKernel(s, g, k, bin);
  return dst;
}

// `out` as the part of buffer `src` starting at `begin` (one per dim): one generated Slice
// kernel (a ConvTranspose with more padding on one side crops cuDNN's result).
void Lowerer::cropStep(int src, const std::vector<int64_t> &begin, Value out,
                       const std::string &nodes) {
  Buffer b = plan_.buffers[size_t(src)];
  Shape shape = shapeOf(out);
  std::vector<int64_t> ends = begin, axes;
  for (size_t d = 0; d < shape.size(); ++d) {
    ends[d] += shape[d];
    axes.push_back(int64_t(d));
  }
  KernelGraph g = movementGraph("Slice", b.dtype, b.shape, shape, {begin, ends, axes}, nodes, opset_);
  GeneratedKernel k = generateKernel(g);
  CompiledKernel bin = compileKernel(k.source, "[" + nodes + "]", opts_.nvrtc);
  Step &s = emit("cuda.generated", nodes, {src}, {out});
  setKernel(s, g, k, bin);
}

size_t Lowerer::lowerConv(ArrayRef<Operation *> ops, size_t i) {
  Operation *conv = ops[i];
  ref::Attrs a = ref::attrsOf(conv);
  Shape w = shapeOf(conv->getOperand(1)), x = shapeOf(conv->getOperand(0)),
        y = shapeOf(conv->getResult(0));
  size_t spatial = w.size() - 2;
  bool transposed = isa<ConvTransposeOp>(conv);
  std::vector<int64_t> outPad = a.getInts("output_padding", std::vector<int64_t>(spatial, 0));
  // cuDNN pads symmetrically. A conv with more padding on one side (explicit asymmetric
  // pads, an odd SAME total) pads its input by the difference first; a ConvTranspose runs
  // with the smaller pads and crops the difference off its result.
  std::optional<std::vector<int64_t>> resolved =
      transposed ? transposedPads(a, x, w, y) : convPads(a, x, w, y);
  bool ok = allDeviceFloat(conv) && spatial >= 1 && spatial <= 3 && resolved;
  std::vector<int64_t> pads = resolved ? *resolved : std::vector<int64_t>();
  std::vector<int64_t> extraBegin(spatial + 2, 0), extraEnd(spatial + 2, 0);
  bool extra = false;
  for (size_t d = 0; ok && d < spatial; ++d) {
    int64_t common = std::min(pads[d], pads[d + spatial]);
    ok = common >= 0;
    extraBegin[d + 2] = pads[d] - common;
    extraEnd[d + 2] = pads[d + spatial] - common;
    extra = extra || extraBegin[d + 2] || extraEnd[d + 2];
    pads[d] = pads[d + spatial] = common;
  }
  Shape cudnnOut = y; // what cuDNN writes: the result, or more of it to crop
  if (ok && transposed) {
    // cuDNN derives the result's size from its descriptor: the full size less the symmetric
    // pads, which output_padding may extend by less than a stride (or dilation).
    std::vector<int64_t> st = a.getInts("strides", std::vector<int64_t>(spatial, 1)),
                         dil = a.getInts("dilations", std::vector<int64_t>(spatial, 1));
    for (size_t d = 0; ok && d < spatial; ++d) {
      cudnnOut[d + 2] += extraBegin[d + 2] + extraEnd[d + 2];
      ok = outPad[d] >= 0 && outPad[d] < std::max(st[d], dil[d]) &&
           cudnnOut[d + 2] ==
               st[d] * (x[d + 2] - 1) + outPad[d] + (w[d + 2] - 1) * dil[d] + 1 - 2 * pads[d];
    }
  }
  if (!ok) {
    stats_->fallbacks.push_back(joinedNodeNames(conv) + ": " +
                                (transposed ? "cuda.convtranspose" : "cuda.conv") +
                                " takes 1-D/2-D/3-D f32/f16/bf16 convs with non-negative pads "
                                "or auto_pad");
    lowerHost(conv);
    return i + 1;
  }
  // One value per cuDNN spatial dim: a 1-D conv runs as 2-D with H = 1 (pad 0, stride and
  // dilation 1 on H); pads are the begin pads (checked symmetric above).
  auto perDimOf = [&](std::vector<int64_t> v, int64_t h) {
    if (spatial == 1)
      v.insert(v.begin(), h);
    return v;
  };
  auto perDim = [&](const char *name, int64_t def) {
    return perDimOf(a.getInts(name, std::vector<int64_t>(spatial, def)), def == 0 ? 0 : 1);
  };
  std::vector<int64_t> begins =
      perDimOf(std::vector<int64_t>(pads.begin(), pads.begin() + int64_t(spatial)), 0);
  // x, w, bias and y in one type: the result's (f32 when the node is kept).
  DType t = storedType(conv->getResult(0));
  std::vector<int> in;
  for (Value v : conv->getOperands())
    in.push_back(asType(operand(v), t));
  if (extra && !transposed)
    in[0] = padStep(in[0], extraBegin, extraEnd, "pad " + joinedNodeNames(conv));
  Value cur = conv->getResult(0);
  std::string nodes = joinedNodeNames(conv), activation = "none";
  size_t next = i + 1;
  auto onlyUser = [&](Value v, size_t at) {
    return at < ops.size() && v.hasOneUse() && *v.user_begin() == ops[at] &&
           kept(ops[at]) == kept(conv);
  };
  // A residual Add of a tensor shaped like the result (ResNet's skip connection) joins the
  // cuDNN call as its z input: cudnnConvolutionBiasActivationForward computes
  // act(conv + z + bias) with alpha2 = 1, the ReLU (if one follows) after the sum, as ONNX
  // does. That call always reads a bias, so a conv without one keeps its Add separate.
  if (!transposed && in.size() == 3 && in[2] >= 0 && onlyUser(cur, next) && isa<AddOp>(ops[next])) {
    Operation *add = ops[next];
    Value z = add->getOperand(0) == cur ? add->getOperand(1) : add->getOperand(0);
    if (z != cur && ids_.count(z) && deviceFloat(z.getType()) && shapeOf(z) == shapeOf(cur)) {
      in.push_back(asType(operand(z), t));
      cur = add->getResult(0);
      nodes += ", " + joinedNodeNames(add);
      ++next;
    }
  }
  if (onlyUser(cur, next) && isa<ReluOp>(ops[next])) {
    activation = "relu";
    cur = ops[next]->getResult(0);
    nodes += ", " + joinedNodeNames(ops[next]);
    ++next;
  }
  std::string kernel = transposed ? "cuda.convtranspose" : "cuda.conv";
  Step *sp = nullptr;
  if (extra && transposed) { // cuDNN's result into a larger buffer, then the crop
    int full = plan_.addBuffer(BufferKind::Intermediate, storedType(cur), cudnnOut,
                               joinedNodeNames(conv) + ".uncropped");
    sp = &addStep(kernel, in, {full}, nodes);
    sp->outputNames = {""};
  } else {
    sp = &emit(kernel, nodes, in, {cur});
  }
  Step &s = *sp;
  if (transposed)
    s.attrs.set("output_padding", intsAttr(perDimOf(outPad, 0)));
  s.attrs.set("pads", intsAttr(begins));
  s.attrs.set("strides", intsAttr(perDim("strides", 1)));
  s.attrs.set("dilations", intsAttr(perDim("dilations", 1)));
  s.attrs.set("group", intAttr(a.getInt("group", 1)));
  s.attrs.set("activation", strAttr(activation));
  s.attrs.set("tf32", intAttr(opts_.tf32));
  stats_->byKernel[s.kernel]++;
  if (extra && transposed)
    cropStep(s.outputs[0], extraBegin, cur, nodes);
  return next;
}

void Lowerer::lowerFusion(FusionOp fusion) {
  Block &body = fusion.getBody().front();
  for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs())) {
    auto d = deferred_.find(v);
    if (d == deferred_.end()) {
      ids_[arg] = operand(v);
      continue;
    }
    // Read through the head transpose: logical dim k is the source's dim perm[k].
    Operation *t = d->second;
    std::vector<int64_t> perm = ref::attrsOf(t).getInts("perm");
    std::vector<int64_t> src = ref::stridesOf(shapeOf(t->getOperand(0))), st;
    for (int64_t k : perm)
      st.push_back(src.at(size_t(k)));
    ids_[arg] = operand(t->getOperand(0));
    views_[arg] = View{shapeOf(v), st, t};
  }
  std::vector<Operation *> ops = fusionBodyOps(fusion, [&](Operation *op) { lowerOp(op); });
  bool attention = fusion.getKind() == "attention";
  bool whole = attention || llvm::none_of(ops, [](Operation *op) {
                 return isa<MatMulOp, GemmOp, ConvOp, ConvTransposeOp>(op);
               });
  auto yield = cast<YieldOp>(body.getTerminator());
  Operation *outTranspose = nullptr;
  if (attention && fusion->getNumResults() == 1 && fusion->getResult(0).hasOneUse()) {
    Operation *t = attentionTranspose(*fusion->getResult(0).user_begin());
    if (t && storedType(t->getResult(0)) == storedType(yield.getValues()[0]))
      outTranspose = t;
  }
  if (!(whole && lowerGenerated(ops, fusion.getKind(), outTranspose))) {
    materializeViews(body);
    std::vector<Operation *> group;
    for (size_t i = 0; i < ops.size();) {
      Operation *op = ops[i];
      if (isGeneratable(op)) {
        group.push_back(op);
        ++i;
        continue;
      }
      lowerGroup(group, fusion.getKind());
      group.clear();
      if (isa<MatMulOp, GemmOp>(op))
        i = lowerMatMul(ops, i);
      else if (isa<ConvOp, ConvTransposeOp>(op))
        i = lowerConv(ops, i);
      else {
        lowerAlone(op);
        ++i;
      }
    }
    lowerGroup(group, fusion.getKind());
  }
  for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
    ids_[r] = operand(v);
}

void Lowerer::lowerOp(Operation *op) {
  if (isa<NoneOp>(op))
    return;
  if (auto c = dyn_cast<ConstantOp>(op)) {
    Tensor v = ref::evaluateOp(op, {})[0];
    // Weights in the storage type, rounded once here (to nearest even, Tensor::cast).
    if (stored(v.dtype()) != v.dtype() && !decidesShape(c.getResult()) && !feedsKept(c.getResult()))
      v = v.cast(stored(v.dtype()));
    ids_[c.getResult()] = plan_.addConstant(tensorNameOf(op, 0), v);
    return;
  }
  if (auto fusion = dyn_cast<FusionOp>(op))
    return lowerFusion(fusion);
  if (absorbed_.count(op)) // an attention step wrote this transpose's result
    return;
  if (attentionTranspose(op) && isa<FusionOp>(*op->getResult(0).user_begin())) {
    deferred_[op->getResult(0)] = op; // the attention kernel reads through it
    return;
  }
  std::vector<Operation *> one = {op};
  if (isa<MatMulOp, GemmOp>(op))
    lowerMatMul(one, 0);
  else if (isa<ConvOp, ConvTransposeOp>(op))
    lowerConv(one, 0);
  else if (isGeneratable(op))
    lowerGroup(one, onnxOpType(op));
  else
    lowerAlone(op);
}

Plan Lowerer::run(func::FuncOp fn) {
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto a = module->getAttrOfType<IntegerAttr>(kOpsetAttr))
      opset_ = a.getInt();
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto name = fn.getArgAttrOfType<StringAttr>(i, kNameAttr);
    std::string n = name ? name.str() : "input_" + std::to_string(i);
    auto type = dyn_cast<RankedTensorType>(fn.getArgument(i).getType());
    if (!type || !type.hasStaticShape())
      throw Error("input '" + n + "' has dynamic dims: the CUDA backend needs static shapes; "
                  "pin them with --input-shape " + n + "=...");
    DType dt = *dtypeOf(type.getElementType());
    Shape shape(type.getShape().begin(), type.getShape().end());
    int id = plan_.addInput(dt, shape, n);
    // A graph input read by a kept node stays f32 (for every reader: less rounding).
    if (stored(dt) != dt && !feedsKept(fn.getArgument(i))) {
      int low = plan_.addBuffer(BufferKind::Intermediate, stored(dt), shape,
                                n + "." + dtypeName(stored(dt)));
      castStep(id, low, "input " + n, "");
      id = low;
    }
    ids_[fn.getArgument(i)] = id;
  }
  for (Operation &op : fn.getBody().front().without_terminator())
    lowerOp(&op);
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  for (unsigned i = 0; i < ret.getNumOperands(); ++i) {
    auto name = fn.getResultAttrOfType<StringAttr>(i, kNameAttr);
    std::string n = name ? name.str() : "output_" + std::to_string(i);
    int src = operand(ret.getOperand(i));
    Shape shape = plan_.buffers[size_t(src)].shape;
    // The graph's own type: f32 outputs of an f16/bf16 plan are cast back.
    auto type = dyn_cast<TensorType>(fn.getResultTypes()[i]);
    std::optional<DType> declared = type ? dtypeOf(type.getElementType()) : std::nullopt;
    DType dt = declared ? *declared : plan_.buffers[size_t(src)].dtype;
    int dst = plan_.addOutput(dt, shape, n);
    if (plan_.buffers[size_t(src)].dtype != dt) {
      castStep(src, dst, "output " + n, n);
      continue;
    }
    Step &s = addStep("cuda.copy", {src}, {dst}, "output " + n);
    s.outputNames = {n};
    stats_->byKernel["cuda.copy"]++;
  }
  validatePlan(plan_);
  return std::move(plan_);
}

} // namespace

Plan lowerToCudaPlan(ModuleOp module, const CudaLoweringOptions &opts, CudaLoweringStats *stats,
                     const std::map<std::string, Shape> *shapeHints) {
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn)
    throw Error("the module has no @main function");
  Lowerer l(opts, stats, shapeHints);
  return l.run(fn);
}

} // namespace plumb::cuda
