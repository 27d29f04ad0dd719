// lowerToCudaPlan: walks @main like the CPU lowering. A plumb.fusion becomes one generated
// kernel when its body allows (attention, norms, softmax, elementwise chains); a body with
// MatMul/Gemm/Conv is split at them: each becomes a cuBLASLt/cuDNN step absorbing a following
// bias Add and ReLU/GELU(tanh) as its epilogue, and each run of other ops one generated kernel.
// Data-movement ops (Transpose, Slice, Concat, Gather, Expand, Tile, Split) get a movement
// kernel each; reshapes are byte copies; what is left runs on the host (cuda.host). The
// cuBLASLt/cuDNN steps are lowered in LibrarySteps.cpp.
// With an f16/bf16 storage type (CudaLoweringOptions::dtype) f32 buffers and weights take that
// type and the graph's f32 inputs and outputs pass through one cast kernel each.
#include "backends/cuda/lowering/Lowerer.h"
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

Shape Lowerer::shapeOf(Value v) {
  v = canonical(v); // an argument standing for a pending value has its shape
  if (auto it = ids_.find(v); it != ids_.end()) // block arguments: their fusion operand's buffer
    return plan_.buffers[size_t(it->second)].shape;
  auto ranked = dyn_cast<RankedTensorType>(v.getType());
  if (ranked && ranked.hasStaticShape())
    return Shape(ranked.getShape().begin(), ranked.getShape().end());
  std::string name, what = "a value";
  if (Operation *def = v.getDefiningOp()) {
    unsigned i = cast<OpResult>(v).getResultNumber();
    name = tensorNameOf(def, i);
    // An output the model does not name (one of several an op has) is named by its node.
    what = !name.empty() ? "value '" + name + "'"
                         : "result " + std::to_string(i) + " of node '" + joinedNodeNames(def) +
                               "' (" + onnxOpType(def).str() + ")";
  }
  if (hints_ && !name.empty() && hints_->count(name))
    return hints_->at(name);
  throw Error(what + " has no static shape: the CUDA backend needs static shapes; "
              "pin graph inputs with --input-shape");
}

int Lowerer::bufferFor(Value v) {
  Operation *def = v.getDefiningOp();
  std::string name = tensorNameOf(def, cast<OpResult>(v).getResultNumber());
  int id = plan_.addBuffer(BufferKind::Intermediate, storedType(v), shapeOf(v), name);
  // Its values decide its shape (shapeOf took the compile-time run's as a sample): it stays
  // on the host, between host steps.
  plan_.buffers[size_t(id)].runTimeShape = runTime_.count(v) != 0;
  stats_->runTimeShapeBuffers += plan_.buffers[size_t(id)].runTimeShape;
  ids_[v] = id;
  return id;
}

int Lowerer::operand(Value v) {
  if (isa<NoneType>(v.getType()))
    return -1;
  v = canonical(v);
  auto it = ids_.find(v);
  if (it == ids_.end()) {
    if (auto c = v.getDefiningOp<ConstantOp>()) { // read before the walk reached it (siblings)
      lowerOp(c);
      it = ids_.find(v);
    } else if (auto p = pending_.find(v); p != pending_.end()) {
      Operation *producer = p->second; // its reader's kernel did not take it in after all
      pending_.erase(v); // (a deferred fusion's body result)
      for (Value r : producer->getResults())
        pending_.erase(r);
      lowerNow(producer);
      it = ids_.find(v);
    }
  }
  if (it == ids_.end()) {
    Operation *def = v.getDefiningOp();
    throw Error("internal: value '" +
                (def ? tensorNameOf(def, cast<OpResult>(v).getResultNumber()) : "(an argument)") +
                "' is used before the CUDA lowering defined it");
  }
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
  // A byte copy needs both sides stored alike (a constant kept f32 in an f16 plan is not), and
  // both on the device.
  if (isCopyOp(t) && op->getNumResults() == 1 && !cpu::touchesRunTimeShape(op, runTime_) &&
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
  if (kernel == "cuda.host") {
    // Ops the interpreter runs itself (sequences, optionals) have no kernel a step can call:
    // refused here rather than when a device prepares the plan.
    if (!ref::KernelRegistry::instance().find(t))
      throw Error("node '" + joinedNodeNames(op) + "' (" + t + ", opset " +
                  std::to_string(opset_) + "): no device kernel and no reference kernel for a "
                  "host step; run the model with --backend reference");
    s.attrs.set("plumb.op", stringAttr(t));
  }
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
  // Only a composite kernel computes what it reads (an attention body's score ops and K
  // transpose are its own).
  std::vector<Operation *> all = kind == "attention" ? ops.vec() : withPending(ops);
  size_t pulled = all.size() - ops.size();
  // A value a row kernel and other readers share (sharedWithRow) is written by the first
  // kernel computing it, if it has that kernel's shape (the last op's result's), so no
  // kernel after computes it again.
  auto shared = [&](Value r) {
    auto p = pending_.find(r);
    return kind != "attention" && p != pending_.end() && sharedWithRow(p->second) &&
           shapeOf(r) == shapeOf(ops.back()->getResult(0));
  };
  try {
    gg = buildGroupGraph(all, kind, opset_, [&](Value v) { return shapeOf(v); },
                         [&](Value v) { return canonical(v); }, pulled, shared);
    if (gg.outputs.empty())
      return true; // dead code
    // Inputs left pending as views (splits, slices, transposes, reshapes, expands of one
    // buffer) are read through them where the kernel honours views; the rest get their
    // steps when operand() asks for their buffers below.
    for (size_t i = 0; i < gg.inputs.size(); ++i) {
      int id = gg.graph.inputs[i];
      if (!pending_.count(gg.inputs[i]) || !readsViews(gg.graph, id))
        continue;
      std::optional<Strided> src = stridedOf(gg.inputs[i]);
      if (!src || src->root == gg.inputs[i])
        continue;
      gg.inputs[i] = src->root;
      gg.graph.strides[id] = src->strides;
      gg.graph.offsets[id] = src->offset;
      if (llvm::any_of(src->divisors, [](int64_t d) { return d != 1; }))
        gg.graph.divisors[id] = src->divisors;
    }
    // Storage as in the plan: inputs as their buffers are, f32 results in the storage type.
    // Arithmetic is float for f32, f16 and bf16 alike, so only loads and stores change.
    for (KValue &v : gg.graph.values)
      v.dtype = stored(v.dtype);
    for (size_t i = 0; i < gg.inputs.size(); ++i)
      gg.graph.values[size_t(gg.graph.inputs[i])].dtype =
          plan_.buffers[size_t(operand(gg.inputs[i]))].dtype;
    for (size_t i = 0; i < gg.outputs.size(); ++i) // f32 where a kept node makes them
      gg.graph.values[size_t(gg.graph.outputs[i])].dtype = storedType(gg.outputs[i]);
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
  // Computed in this kernel: no step of their own, unless something outside it reads them
  // (a view read by several kernels stays pending, and so does what it is computed from).
  // Readers before producers: `all` lists producers first.
  llvm::SmallPtrSet<Operation *, 16> inside(all.begin() + long(pulled), all.end());
  for (size_t i = pulled; i-- > 0;) {
    Value r = all[i]->getResult(0), readers = r;
    if (auto f = dyn_cast<FusionOp>(all[i]->getParentOp())) // a deferred fusion's body op
      if (cast<YieldOp>(f.getBody().front().getTerminator()).getValues()[0] == r)
        readers = f->getResult(0); // read outside as the fusion's result
    bool only = llvm::all_of(readers.getUses(), [&](OpOperand &use) {
      Operation *u = use.getOwner();
      if (auto f = dyn_cast<FusionOp>(u)) // read in a body: by this kernel's ops alone
        return llvm::all_of(f.getBody().front().getArgument(use.getOperandNumber()).getUsers(),
                            [&](Operation *b) { return inside.count(b) != 0; });
      return inside.count(u) != 0;
    });
    if (!only) { // written for the readers outside (shared), or computed again for them
      if (llvm::is_contained(gg.outputs, r))
        pending_.erase(r);
      continue;
    }
    pending_.erase(r);
    inside.insert(all[i]);
    computedInside_.insert(all[i]);
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

// `op` (a Transpose) if an attention kernel can write through it instead: the attention
// body's one result, read once, by it alone. Else null. (Q, K and V are read through their
// transposes as views: viewOnly, stridedOf.)
Operation *Lowerer::attentionTranspose(Operation *op) const {
  if (!op || !isa<TransposeOp>(op) || !op->getResult(0).hasOneUse() ||
      ref::attrsOf(op).getInts("perm").empty())
    return nullptr;
  Value data = op->getOperand(0);
  auto f = data.getDefiningOp<FusionOp>();
  if (f && f.getKind() == "attention" && data.hasOneUse() && f->getNumResults() == 1)
    return op;
  return nullptr;
}

// An op outside any generated group: a movement kernel for a data-movement op (Transpose,
// Slice, Concat, Gather...), a window kernel for a pool or CumSum, else a byte copy or the host.
// When the kernel cannot take the elementwise ops deferred into it (a composite or prologue
// the generator refuses), they get their kernels and it is generated without them.
void Lowerer::lowerAlone(Operation *op) {
  std::string t = onnxOpType(op).str();
  if ((isMovement(t) || isWindowOp(t)) &&
      (lowerGenerated({op}, t) || (lowerPulled(op) && lowerGenerated({op}, t))))
    return;
  lowerHost(op);
}

// A run of generatable ops: one kernel, else one per op (without the deferred producers it
// would compute, if it must: lowerPulled), else the host.
void Lowerer::lowerGroup(ArrayRef<Operation *> ops, StringRef kind) {
  if (ops.empty() || lowerGenerated(ops, kind))
    return;
  for (Operation *op : ops) {
    StringRef t = onnxOpType(op);
    if ((ops.size() == 1 || !lowerGenerated({op}, t)) &&
        !(lowerPulled(op) && lowerGenerated({op}, t)))
      lowerHost(op);
  }
}

void Lowerer::lowerFusion(FusionOp fusion) {
  Block &body = fusion.getBody().front();
  // An argument standing for a pending value (computed inside, or read through a view) is
  // its alias: the body's kernel takes it in, or operand() lowers it when a step needs its
  // buffer. Q, K and V are read through their head transposes, and the splits, slices,
  // gathers, expands and reshapes before them: all strides over one buffer.
  bool reads = fusion.getKind() == "attention" || generatedBody(fusion);
  for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs())) {
    if ((reads || residualArgument(fusion, arg.getArgNumber())) && pending_.count(canonical(v)))
      aliases_[arg] = v;
    else
      ids_[arg] = operand(v);
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
    std::vector<Operation *> group;
    for (size_t i = 0; i < ops.size();) {
      Operation *op = ops[i];
      if (isGeneratable(op)) {
        group.push_back(op);
        ++i;
        continue;
      }
      // A MatMul reading nothing the pending group computes (nor its bias Add) goes first,
      // so the group can take in the ops after it: SwiGLU's silu(gate) and its product with
      // the up projection are one kernel.
      auto readsGroup = [&](Operation *o) {
        return llvm::any_of(o->getOperands(), [&](Value v) {
          Operation *d = v.getDefiningOp();
          return d && llvm::is_contained(group, d);
        });
      };
      if (isa<MatMulOp, GemmOp>(op) && !group.empty() && !readsGroup(op) &&
          !(i + 1 < ops.size() && isa<AddOp>(ops[i + 1]) && readsGroup(ops[i + 1]))) {
        i = lowerMatMul(ops, i);
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
  bindResults(fusion);
}

void Lowerer::bindArguments(FusionOp fusion) {
  for (auto [arg, v] : llvm::zip(fusion.getBody().front().getArguments(), fusion.getInputs())) {
    if (pending_.count(canonical(v)))
      aliases_[arg] = v;
    else
      ids_[arg] = operand(v);
  }
}

void Lowerer::bindResults(FusionOp fusion) {
  auto yield = cast<YieldOp>(fusion.getBody().front().getTerminator());
  for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
    ids_[r] = operand(v);
}

void Lowerer::lowerOp(Operation *op) {
  if (isa<NoneOp>(op) || visitedAhead_.count(op)) // NoneOp: nothing; or lowered ahead
    return;
  if (auto c = dyn_cast<ConstantOp>(op)) {
    if (ids_.count(c.getResult()))
      return; // lowered already, for a sibling group reading it early
    Tensor v = ref::evaluateOp(op, {})[0];
    // Weights in the storage type, rounded once here (to nearest even, Tensor::cast).
    if (stored(v.dtype()) != v.dtype() && !decidesShape(c.getResult()) && !feedsKept(c.getResult()))
      v = v.cast(stored(v.dtype()));
    ids_[c.getResult()] = plan_.addConstant(tensorNameOf(op, 0), v);
    return;
  }
  if (isa<IfOp, LoopOp, ScanOp>(op))
    return lowerControlFlow(op);
  if (cpu::touchesRunTimeShape(op, runTime_)) // shapes each run's values decide: the host runs it
    return lowerRunTimeShaped(op);
  if (auto it = siblingLeader_.find(op); it != siblingLeader_.end()) {
    if (it->second == op) // the leader: one kernel for the group
      lowerSiblings(siblings_[op]);
    return; // a later member: lowered with its leader
  }
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    if (!deferrable(op))
      return lowerFusion(fusion);
    // Its reader's kernel computes the body: the result stands for the body's, and the body
    // reads its operands (pending ones through aliases).
    bindArguments(fusion);
    Value y = cast<YieldOp>(fusion.getBody().front().getTerminator()).getValues()[0];
    aliases_[fusion->getResult(0)] = y;
    pending_[y] = op;
    return;
  }
  if (absorbed_.count(op)) // an attention step wrote this transpose's result
    return;
  if (deferrable(op)) {
    pending_[op->getResult(0)] = op; // its reader's kernel computes it
    return;
  }
  if (viewOnly(op)) {
    for (Value r : op->getResults())
      pending_[r] = op; // its readers' kernels read through it (stridedOf)
    return;
  }
  lowerNow(op);
}

void Lowerer::lowerNow(Operation *op) {
  std::vector<Operation *> one = {op};
  if (auto fusion = dyn_cast<FusionOp>(op))
    lowerFusion(fusion);
  else if (isa<MatMulOp, GemmOp>(op))
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
  runTime_ = cpu::runTimeShapedValues(fn);
  planSiblings(fn);
  for (Operation &op : fn.getBody().front().without_terminator())
    lowerOp(&op);
  // Pending to the end: read only through views, or computed by the kernels reading them.
  llvm::SmallPtrSet<Operation *, 16> viewed;
  for (auto &[v, op] : pending_)
    (viewOnly(op) ? viewed : computedInside_).insert(op);
  stats_->readAsViews = int64_t(viewed.size());
  stats_->computedInReader = int64_t(computedInside_.size());
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
    // A result some step computes into an intermediate of the output's type is the output:
    // that step writes it there (no copy after it; the planner gives it no arena space).
    // Inputs, constants and a value returned twice are copied.
    if (Buffer &b = plan_.buffers[size_t(src)]; b.kind == BufferKind::Intermediate && b.dtype == dt) {
      b.kind = BufferKind::Output;
      b.name = n;
      plan_.outputs.push_back(src);
      continue;
    }
    int dst = plan_.addOutput(dt, shape, n);
    if (plan_.buffers[size_t(src)].runTimeShape) { // on the host: copied (and cast) there
      plan_.buffers[size_t(dst)].runTimeShape = true;
      Step &s = addStep("cuda.host", {src}, {dst}, "output " + n);
      s.outputNames = {n};
      s.attrs.set("plumb.op", stringAttr("Identity"));
      stats_->byKernel["cuda.host:Identity"]++;
      continue;
    }
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

Plan lowerToCudaPlan(ModuleOp module, const CudaLoweringOptions &opts, CudaLoweringStats *stats,
                     const std::map<std::string, Shape> *shapeHints) {
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn)
    throw Error("the module has no @main function");
  Lowerer l(opts, stats, shapeHints);
  return l.run(fn);
}

} // namespace plumb::cuda
