// The CPU lowering's fused steps (Lowerer, Lowerer.h): an anchored fusion (Conv/MatMul/Gemm
// first) as one oneDNN step with the following activations and residual Add as post-ops, an
// attention fusion as one cpu.attention step, and runs of elementwise ops as one cpu.chain.
#include "backends/cpu/lowering/Lowerer.h"

#include "backends/cpu/lowering/Chain.h"

#include "backends/reference/AttrValues.h"
#include "backends/reference/Interpreter.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <set>

using namespace mlir;

namespace plumb::cpu {

std::optional<std::string> Lowerer::postOpFor(Operation *op, Value prev, Value *residual) {
  std::string t = onnxOpType(op).str();
  if (op->getNumResults() != 1 || !allF32(op) || op->getOperand(0) != prev)
    if (!(t == "Add" && op->getNumOperands() == 2 && op->getOperand(1) == prev))
      return std::nullopt;
  if (t == "Relu")
    return "relu";
  if (t == "Sigmoid")
    return "sigmoid";
  if (t == "Tanh")
    return "tanh";
  if (t == "HardSwish")
    return "hardswish";
  if (t == "Gelu") {
    auto a = op->getAttrOfType<StringAttr>("approximate");
    return a && a.getValue() == "tanh" ? "gelu_tanh" : "gelu_erf";
  }
  if (t == "LeakyRelu") {
    auto a = op->getAttrOfType<FloatAttr>("alpha");
    return fmt::format("leaky_relu:{:.9g}", a ? a.getValueAsDouble() : 0.01);
  }
  if (t == "Clip" && opset_ >= 11) {
    auto lo = isa<NoneType>(op->getOperand(1).getType()) ? std::optional<double>(-3.4e38)
                                                          : constantScalar(op->getOperand(1));
    auto hi = isa<NoneType>(op->getOperand(2).getType()) ? std::optional<double>(3.4e38)
                                                         : constantScalar(op->getOperand(2));
    if (lo && hi)
      return fmt::format("clip:{:.9g}:{:.9g}", *lo, *hi);
    return std::nullopt;
  }
  if (t == "Add" && op->getNumOperands() == 2 && residual && !*residual) {
    Value other = op->getOperand(0) == prev ? op->getOperand(1) : op->getOperand(0);
    if (other.getType() == prev.getType()) {
      *residual = other;
      return "sum";
    }
  }
  return std::nullopt;
}

// The fusion passes name a trailing decomposed activation in the kind ("matmul+bias+gelu",
// "...+gelu_tanh", "...+silu"). When everything left in the body after `next` is that
// decomposition (single-use ops ending in the fusion's only result), it becomes one post-op.
void absorbDecomposedActivation(FusionOp fusion, const std::vector<Operation *> &ops,
                                size_t &next, Value &cur, std::vector<std::string> &postOps) {
  if (next >= ops.size() || fusion.getNumResults() != 1)
    return;
  StringRef kind = fusion.getKind();
  std::string post;
  if (kind.ends_with("+gelu"))
    post = "gelu_erf";
  else if (kind.ends_with("+gelu_tanh"))
    post = "gelu_tanh";
  else if (kind.ends_with("+silu"))
    post = "sigmoid_mul";
  else
    return;
  static const std::set<std::string> allowed = {"Mul", "Add", "Div", "Erf", "Tanh", "Pow",
                                                "Sigmoid", "Sqrt"};
  auto yield = cast<YieldOp>(fusion.getBody().front().getTerminator());
  if (yield.getValues()[0] != ops.back()->getResult(0))
    return;
  for (size_t i = next; i < ops.size(); ++i) {
    if (!allowed.count(onnxOpType(ops[i]).str()) || !allF32(ops[i]))
      return;
    for (Value v : ops[i]->getOperands()) {
      Operation *def = v.getDefiningOp();
      bool insideTail = def && std::find(ops.begin() + long(next), ops.end(), def) != ops.end();
      // Scalars such as 0.5 and sqrt(2) reach the body as operands defined by constants.
      auto arg = dyn_cast<BlockArgument>(v);
      bool constant = (def && isa<ConstantOp>(def)) ||
                      (arg && fusion.getInputs()[arg.getArgNumber()].getDefiningOp<ConstantOp>());
      // Only the activation's input, its own intermediate values and constants may feed it.
      if (!(v == cur || insideTail || constant))
        return;
    }
  }
  postOps.push_back(post);
  cur = ops.back()->getResult(0);
  next = ops.size();
}

// Conv/MatMul/Gemm (+ bias Add for MatMul) + post-ops as one oneDNN step; returns false when
// the body does not start with such an anchor.
bool Lowerer::lowerAnchored(FusionOp fusion) {
  Block &body = fusion.getBody().front();
  std::vector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    if (!isa<NoneOp, ConstantOp>(&op))
      ops.push_back(&op);
  if (ops.empty())
    return false;
  Operation *anchor = ops.front();
  std::string t = onnxOpType(anchor).str();
  if ((t != "Conv" && t != "MatMul" && t != "Gemm") || !allF32(anchor))
    return false;
  if (t == "Gemm" && !gemmFitsMatMul(anchor, ref::attrsOf(anchor)))
    return false; // its ops become steps one by one, the Gemm the reference kernel's

  // Map block arguments to the fusion's operand buffers.
  for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs()))
    ids_[arg] = operand(v);
  for (Operation &op : body.without_terminator())
    if (isa<NoneOp, ConstantOp>(&op))
      lowerOp(&op);
  std::vector<int> in;
  for (Value v : anchor->getOperands())
    in.push_back(operand(v));
  size_t next = 1;
  Value cur = anchor->getResult(0);
  // MatMul + Add(bias) → the matmul's third input.
  if (t == "MatMul" && next < ops.size() && onnxOpType(ops[next]) == "Add" &&
      cur.hasOneUse()) {
    Operation *add = ops[next];
    Value bias = add->getOperand(0) == cur ? add->getOperand(1) : add->getOperand(0);
    auto bt = dyn_cast<RankedTensorType>(bias.getType());
    if (bt && bt.getRank() == 1) {
      in.push_back(operand(bias));
      cur = add->getResult(0);
      ++next;
    }
  }
  std::vector<std::string> postOps;
  Value residual;
  for (; next < ops.size() && cur.hasOneUse(); ++next) {
    std::optional<std::string> p = postOpFor(ops[next], cur, &residual);
    if (!p)
      break;
    postOps.push_back(*p);
    cur = ops[next]->getResult(0);
  }
  absorbDecomposedActivation(fusion, ops, next, cur, postOps);
  if (residual) {
    while (in.size() < 3u)
      in.push_back(-1);
    in.push_back(operand(residual));
  }
  // The step's result carries the ONNX name of the last absorbed op.
  Operation *last = cur.getDefiningOp();
  int out = bufferFor(cur, tensorNameOf(last, 0));
  Step &s = emit(t == "Conv" ? "cpu.conv" : "cpu.matmul", last, in, {out});
  s.attrs = ref::attrsOf(anchor);
  s.nodeNames = joinedNodeNames(anchor);
  for (size_t i = 1; i < next; ++i)
    s.nodeNames += ", " + joinedNodeNames(ops[i]);
  if (!postOps.empty())
    s.attrs.set("post_ops", ref::stringsAttr(postOps));
  // The sum post-op accumulates into the output: when the residual dies here, the planner
  // lets the output take its memory and the kernel skips copying it in.
  if (residual)
    s.inPlaceInput = int(s.inputs.size()) - 1;
  lowerOps(llvm::ArrayRef<Operation *>(ops).drop_front(next));
  auto yield = cast<YieldOp>(body.getTerminator());
  for (auto [r, v] : llvm::zip(fusion.getResults(), yield.getValues()))
    ids_[r] = operand(v);
  return true;
}

// An attention fusion planned by planAttentions as one cpu.attention step.
bool Lowerer::lowerAttention(FusionOp fusion) {
  auto it = attention_.fusions.find(fusion);
  if (it == attention_.fusions.end())
    return false;
  const AttentionLowering &l = it->second;
  Block &body = fusion.getBody().front();
  for (auto [arg, v] : llvm::zip(body.getArguments(), fusion.getInputs()))
    if (ids_.count(v))
      ids_[arg] = ids_[v]; // Q/K/V may come from skipped view ops: they are read as views
  for (Operation &op : body.without_terminator())
    if (isa<NoneOp, ConstantOp>(&op))
      lowerOp(&op);
  std::vector<int> in = {operand(l.q.base), operand(l.kt.base), operand(l.v.base)};
  if (l.mask != "none")
    in.push_back(operand(l.maskValue));
  if (l.fill)
    in.push_back(operand(l.fill));
  Operation *last = l.result.getDefiningOp();
  std::string name = tensorNameOf(last, cast<OpResult>(l.result).getResultNumber());
  int out = bufferFor(l.result, name);
  Step &s = emit("cpu.attention", fusion, in, {out});
  s.outputNames = {name};
  if (last != fusion)
    for (Operation *u = *fusion->getUsers().begin();; u = *u->getUsers().begin()) {
      s.nodeNames += ", " + joinedNodeNames(u);
      if (u == last)
        break;
    }
  s.attrs.set("dims", ref::intsAttr(l.dims));
  s.attrs.set("q_view", ref::intsAttr(l.q.view));
  s.attrs.set("kt_view", ref::intsAttr(l.kt.view));
  s.attrs.set("v_view", ref::intsAttr(l.v.view));
  s.attrs.set("o_view", ref::intsAttr(l.outView));
  s.attrs.set("scale_op", ref::stringAttr(l.scaleOp));
  s.attrs.set("scale", ref::floatAttr(l.scale));
  s.attrs.set("mask", ref::stringAttr(l.mask));
  if (l.result == fusion.getResult(0))
    ids_[fusion.getResult(0)] = out;
  return true;
}

bool Lowerer::lowerChain(llvm::ArrayRef<Operation *> ops) {
  llvm::DenseMap<Value, int> reg;
  std::vector<Value> inputs, outputs;
  std::vector<ChainInstr> prog;
  llvm::SmallPtrSet<Operation *, 16> inside(ops.begin(), ops.end());
  std::vector<std::optional<Shape>> shapes;
  for (Operation *op : ops) {
    prog.push_back(*chainInstrFor(op, opset_));
    for (Value v : prog.back().args)
      if (!reg.count(v) && !llvm::is_contained(inputs, v))
        inputs.push_back(v);
    Value r = op->getResult(0);
    shapes.push_back(staticShape(r));
    if (!shapes.back())
      return false;
    if (llvm::any_of(r.getUsers(), [&](Operation *u) { return !inside.count(u); }))
      outputs.push_back(r);
    reg[r] = -1; // numbered below, once the inputs are known
  }
  if (outputs.empty())
    return false;
  Shape s = *shapes[0];
  for (const std::optional<Shape> &k : shapes)
    if (numElements(*k) > numElements(s) || (numElements(*k) == numElements(s) && k->size() > s.size()))
      s = *k;
  Shape row = s;
  if (!row.empty())
    row.back() = 1;
  for (size_t k = 0; k < ops.size(); ++k) {
    if (*shapes[k] != s && *shapes[k] != row)
      return false;
    if (prog[k].reduces && (*shapes[k] != row || staticShape(prog[k].args[0]) != s))
      return false;
  }
  for (Value v : inputs) {
    std::optional<Shape> is = staticShape(v);
    if (!is || is->size() > s.size())
      return false;
    for (size_t d = 0; d < is->size(); ++d) // numpy broadcasting, right-aligned
      if ((*is)[d] != 1 && (*is)[d] != s[s.size() - is->size() + d])
        return false;
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    reg[inputs[i]] = int(i);
  for (size_t k = 0; k < ops.size(); ++k)
    reg[ops[k]->getResult(0)] = int(inputs.size() + k);
  ref::AttrValue names, args, params, outs, shape;
  names.kind = ref::AttrValue::Kind::Strings;
  args.kind = outs.kind = shape.kind = ref::AttrValue::Kind::Ints;
  params.kind = ref::AttrValue::Kind::Floats;
  for (const ChainInstr &c : prog) {
    names.strings.push_back(c.name);
    for (size_t j = 0; j < 3; ++j)
      args.ints.push_back(j < c.args.size() ? reg[c.args[j]] : -1);
    params.floats.insert(params.floats.end(), {c.params[0], c.params[1]});
  }
  std::vector<int> in, out;
  for (Value v : inputs)
    in.push_back(operand(v));
  std::vector<std::string> outNames;
  for (Value v : outputs) {
    outs.ints.push_back(reg[v]);
    outNames.push_back(tensorNameOf(v.getDefiningOp(), 0));
    out.push_back(bufferFor(v, outNames.back()));
  }
  shape.ints.assign(s.begin(), s.end());
  Step &st = emit("cpu.chain", ops.back(), in, out);
  st.outputNames = outNames;
  st.nodeNames.clear();
  for (Operation *op : ops)
    st.nodeNames += (st.nodeNames.empty() ? "" : ", ") + joinedNodeNames(op);
  st.attrs.set("shape", shape);
  st.attrs.set("ops", names);
  st.attrs.set("args", args);
  st.attrs.set("params", params);
  st.attrs.set("outs", outs);
  return true;
}

} // namespace plumb::cpu
