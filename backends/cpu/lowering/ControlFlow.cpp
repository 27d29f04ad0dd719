// The CPU lowering's values whose shapes their values decide (runTimeShapedValues) and its
// control flow: If, Loop and Scan steps whose branches or body are plans of their own
// (Step::bodies), shared with the CUDA backend's host steps for them (controlFlowBodies).
#include "backends/cpu/lowering/Lowerer.h"

#include "backends/reference/AttrValues.h"
#include "ir/OpRoles.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseSet.h"

#include <functional>

using namespace mlir;

namespace plumb::cpu {

llvm::DenseSet<Value> runTimeShapedValues(func::FuncOp fn) {
  return runTimeShapedValues(fn.getBody().front());
}

llvm::DenseSet<Value> runTimeShapedValues(Block &top, const llvm::DenseSet<Value> &seeds) {
  llvm::DenseSet<Value> found = seeds;
  std::function<void(Block &)> visit = [&](Block &block) {
    for (Operation &op : block) {
      if (auto fusion = dyn_cast<FusionOp>(op)) {
        Block &body = fusion.getBody().front();
        for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs()))
          if (found.count(v))
            found.insert(arg);
        visit(body);
        auto yield = cast<YieldOp>(body.getTerminator());
        for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
          if (found.count(v))
            found.insert(r);
        continue;
      }
      std::string t = onnxOpType(&op).str();
      bool byNature = t == "NonZero" || t == "Unique" || t == "Compress" || t == "NonMaxSuppression";
      // Operand 0 is the data, except for ops whose first operand is a shape or a size.
      // (An If's condition picks the branch; a Loop's every operand may decide its count.)
      bool sizeFirst = firstOperandIsASize(t) || t == "If" || t == "Loop";
      // A Scan's operands are all data: its shapes follow theirs.
      bool dataOnly = t == "Scan";
      bool steered = false;
      for (auto [i, v] : llvm::enumerate(op.getOperands()))
        steered = steered || found.count(v) ||
                  ((i > 0 || sizeFirst) && !dataOnly && !isa<NoneType>(v.getType()) &&
                   !definedByConstant(v));
      // What a body reads from here counts as its operands: a Loop's may decide when its
      // condition stops it.
      if (op.getNumRegions() != 0)
        for (Value v : valuesCapturedBy(&op))
          steered = steered || found.count(v) || (t == "Loop" && !definedByConstant(v));
      for (Value r : op.getResults()) {
        auto type = dyn_cast<TensorType>(r.getType());
        if (type && !type.hasStaticShape() && (byNature || steered))
          found.insert(r);
      }
    }
  };
  visit(top);
  return found;
}

bool touchesRunTimeShape(Operation *op, const llvm::DenseSet<Value> &values) {
  if (values.empty())
    return false;
  bool touches = false;
  op->walk([&](Operation *o) {
    for (Value v : o->getOperands())
      touches = touches || values.count(v);
    for (Value v : o->getResults())
      touches = touches || values.count(v);
  });
  return touches;
}

// An If branch or a Loop body as a plan of its own: the block's arguments (a Loop's iteration,
// condition and carried values), then `captures` (what the body reads from the enclosing
// graph, stored there as `from`) are its inputs, what it yields its outputs.
Plan Lowerer::runBody(Block &block, llvm::ArrayRef<Value> captures,
                      const std::vector<Buffer> &from, const BodyArgs &args) {
  Operation *owner = block.getParentOp();
  llvm::DenseSet<Value> seeds; // arguments and captures whose shapes vary: Input runTimeShape
  for (BlockArgument a : block.getArguments())
    if (a.getArgNumber() < args.runTime.size() && args.runTime[a.getArgNumber()])
      seeds.insert(a);
  for (auto [v, b] : llvm::zip(captures, from))
    if (b.runTimeShape)
      seeds.insert(v);
  runTime_ = runTimeShapedValues(block, seeds);
  for (BlockArgument a : block.getArguments()) {
    auto t = dyn_cast<TensorType>(a.getType());
    std::optional<DType> dt = t ? dtypeOf(t.getElementType()) : std::nullopt;
    size_t i = a.getArgNumber();
    // A type the IR leaves open (a Loop's carried value) takes the shape it enters with.
    std::optional<Shape> shape;
    if (t && t.hasStaticShape())
      shape = Shape(t.getShape().begin(), t.getShape().end());
    else if (t && i < args.shapes.size() &&
             (!t.hasRank() || t.getRank() == int64_t(args.shapes[i].size())))
      shape = args.shapes[i];
    if (!shape || !dt)
      throw Error("node '" + nodeNameOf(owner) + "' (" + onnxOpType(owner).str() + ", opset " +
                  std::to_string(opset_) + "): body input " + std::to_string(i) +
                  " has no tensor type of a known shape; the backends take such bodies only");
    ids_[a] = plan_.addInput(*dt, *shape, nodeNameOf(owner) + ".body_input_" + std::to_string(i));
    plan_.buffers[size_t(ids_[a])].runTimeShape = seeds.count(a);
  }
  for (auto [v, b] : llvm::zip(captures, from)) {
    ids_[v] = plan_.addInput(b.dtype, b.shape, b.name);
    plan_.buffers[size_t(ids_[v])].runTimeShape = b.runTimeShape;
  }
  for (Operation &op : block.without_terminator())
    lowerOp(&op);
  Operation *yield = block.getTerminator();
  std::vector<std::string> names;
  for (Value v : yield->getOperands())
    names.push_back(plan_.buffers[size_t(operand(v))].name);
  finish(yield->getOperands(), names);
  return std::move(plan_);
}

std::vector<Value> valuesCapturedBy(Operation *op) {
  std::vector<Value> captures;
  llvm::DenseSet<Value> seen;
  for (Region &r : op->getRegions())
    r.walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (!isa<NoneType>(v.getType()) && !op->isAncestor(v.getParentRegion()->getParentOp()) &&
            seen.insert(v).second)
          captures.push_back(v);
    });
  return captures;
}

// An If whose condition is known only at run time (plumb-shape-refinement inlined the others),
// a Loop or a Scan: one cpu.if / cpu.loop / cpu.scan step whose branches or body are plans of
// their own (Step::bodies) that take the values they read from the enclosing graph as inputs.
void Lowerer::lowerControlFlow(Operation *op) {
  ControlFlowParts parts = controlFlowBodies(
      op, plan_, [&](Value v) { return operand(v); }, "CPU", hints_, opset_);
  std::vector<int> out;
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    out.push_back(bufferFor(op->getResult(i), tensorNameOf(op, i)));
  std::string kernel = isa<IfOp>(op) ? "cpu.if" : isa<LoopOp>(op) ? "cpu.loop" : "cpu.scan";
  Step &s = emit(kernel, op, parts.inputs, out);
  s.bodies = std::move(parts.bodies);
  s.attrs = std::move(parts.attrs);
}

namespace {

// `name`'s entries, or `n` zeros when the op does not have it.
std::vector<int64_t> intsOr(Operation *op, llvm::StringRef name, size_t n) {
  std::vector<int64_t> v(n, 0);
  if (auto a = op->getAttrOfType<ArrayAttr>(name))
    for (auto [i, e] : llvm::enumerate(a))
      if (i < n)
        v[i] = cast<IntegerAttr>(e).getInt();
  return v;
}

// A Scan's step attributes (see cpu.scan in CpuBackend.h) and the shapes its body's arguments
// take: the states, then one slice of each scan input (`shapeOf` gives an operand's planned
// shape). Throws for axes outside the inputs.
ref::Attrs scanAttrs(ScanOp scan, int64_t opset, const std::function<const Buffer &(Value)> &bufferOf,
                     BodyArgs &args) {
  Operation *op = scan;
  bool batched = opset < 9; // opset 8: sequence_lens first, and every input has a batch axis
  auto operands = op->getOperands().drop_front(batched ? 1 : 0);
  size_t m = size_t(scan.getNumScanInputs());
  size_t n = operands.size() - m;
  std::vector<int64_t> inAxes = intsOr(op, "scan_input_axes", m);
  std::vector<int64_t> inDirs = intsOr(op, batched ? "directions" : "scan_input_directions", m);
  for (size_t i = 0; i < n + m; ++i) {
    Shape shape = bufferOf(operands[i]).shape;
    if (batched && !shape.empty())
      shape.erase(shape.begin());
    if (i >= n) {
      int64_t &axis = inAxes[i - n];
      int64_t rank = int64_t(shape.size());
      axis = batched ? 0 : axis < 0 ? axis + rank : axis;
      if (axis < 0 || axis >= rank)
        throw Error("node '" + nodeNameOf(op) + "' (Scan, opset " + std::to_string(opset) +
                    "): scan_input_axes entry for scan input " + std::to_string(i - n) +
                    " is outside its " + std::to_string(rank) + " dims");
      shape.erase(shape.begin() + axis);
    }
    args.shapes.push_back(shape);
    args.runTime.push_back(bufferOf(operands[i]).runTimeShape);
  }
  size_t k = op->getNumResults() - n;
  ref::Attrs attrs;
  attrs.set("states", ref::intAttr(int64_t(n)));
  attrs.set("batched", ref::intAttr(batched ? 1 : 0));
  attrs.set("scan_input_axes", ref::intsAttr(inAxes));
  attrs.set("scan_input_directions", ref::intsAttr(inDirs));
  attrs.set("scan_output_axes", ref::intsAttr(batched ? std::vector<int64_t>(k, 0)
                                                  : intsOr(op, "scan_output_axes", k)));
  attrs.set("scan_output_directions", ref::intsAttr(intsOr(op, "scan_output_directions", k)));
  return attrs;
}

} // namespace

ControlFlowParts controlFlowBodies(Operation *op, const Plan &plan,
                                   const std::function<int(Value)> &operand,
                                   const std::string &backend,
                                   const std::map<std::string, Shape> *shapeHints, int64_t opset) {
  requireTensorValues(op, opset, backend);
  ControlFlowParts parts;
  auto bufferOf = [&](Value v) -> const Buffer & { return plan.buffers[size_t(operand(v))]; };
  std::vector<Value> leading;
  BodyArgs args;
  if (auto ifOp = dyn_cast<IfOp>(op)) {
    leading = {ifOp.getCond()};
  } else if (auto loop = dyn_cast<LoopOp>(op)) {
    leading = {loop.getM(), loop.getCond()};
    leading.insert(leading.end(), loop.getVInitial().begin(), loop.getVInitial().end());
    args.shapes = {Shape{}, Shape{}};
    args.runTime = {false, false};
    // A carried value whose type plumb-shape-refinement left open changes shape between
    // iterations (it grows): its shape is the body's run-time input.
    Block &body = loop.getBody().front();
    for (auto [i, v] : llvm::enumerate(loop.getVInitial())) {
      auto type = dyn_cast<TensorType>(body.getArgument(unsigned(2 + i)).getType());
      args.shapes.push_back(bufferOf(v).shape);
      args.runTime.push_back(bufferOf(v).runTimeShape || (type && !type.hasStaticShape()));
    }
    parts.attrs.set("carried", ref::intAttr(int64_t(loop.getVInitial().size())));
  } else if (auto scan = dyn_cast<ScanOp>(op)) {
    leading.assign(op->getOperands().begin(), op->getOperands().end());
    parts.attrs = scanAttrs(scan, opset, bufferOf, args);
  } else {
    requireStraightLineOp(op, opset, backend); // names the op it cannot lower
  }
  for (Value v : leading)
    parts.inputs.push_back(operand(v)); // -1 for an absent one
  std::vector<Value> captures = valuesCapturedBy(op);
  std::vector<Buffer> from;
  for (Value v : captures) {
    parts.inputs.push_back(operand(v));
    Buffer b = plan.buffers[size_t(parts.inputs.back())];
    b.dtype = *dtypeOf(cast<TensorType>(v.getType()).getElementType()); // the bodies' type
    from.push_back(b);
  }
  parts.bodies = lowerBodies(op, captures, from, shapeHints, opset, args);
  return parts;
}

std::vector<Plan> lowerBodies(Operation *op, llvm::ArrayRef<Value> captures,
                              const std::vector<Buffer> &from,
                              const std::map<std::string, Shape> *shapeHints, int64_t opset,
                              const BodyArgs &args) {
  std::vector<Plan> bodies;
  for (Region &r : op->getRegions()) {
    Lowerer body(nullptr, shapeHints, false);
    body.setOpset(opset);
    bodies.push_back(body.runBody(r.front(), captures, from, args));
  }
  // The lowering borrows weights from the IR; a body's constants are copied, so that the CUDA
  // plan, which owns its constants and outlives the IR, may hold such bodies.
  std::function<void(Plan &)> own = [&](Plan &p) {
    for (Buffer &b : p.buffers)
      if (b.kind == BufferKind::Constant)
        b.constant = b.constant.clone();
    for (Step &s : p.steps)
      for (Plan &nested : s.bodies)
        own(nested);
  };
  for (Plan &p : bodies)
    own(p);
  return bodies;
}

void requireTensorValues(Operation *op, int64_t opset, const std::string &backend) {
  auto isTensor = [](Type t) { return isa<TensorType, NoneType>(t); };
  if (!llvm::all_of(op->getOperandTypes(), isTensor) ||
      !llvm::all_of(op->getResultTypes(), isTensor))
    throw Error("node '" + nodeNameOf(op) + "' (" + onnxOpType(op).str() + ", opset " +
                std::to_string(opset) + "): sequence/optional values are not supported by the " +
                backend + " backend; run the model with --backend reference");
}

} // namespace plumb::cpu
