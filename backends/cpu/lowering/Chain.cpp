// The ONNX ops cpu.chain runs, with the operand types its instructions expect.
#include "backends/cpu/lowering/Chain.h"

#include "backends/reference/Interpreter.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/IR/BuiltinTypes.h"

#include <limits>
#include <set>

using namespace mlir;

namespace plumb::cpu {

namespace {

bool elementIs(Value v, bool wantBool) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return false;
  return wantBool ? t.getElementType().isInteger(1) : t.getElementType().isF32();
}

// All of `op`'s operands and its result have the given element types.
bool typed(Operation *op, std::initializer_list<bool> operandsBool, bool resultBool) {
  if (op->getNumOperands() != operandsBool.size())
    return false;
  size_t i = 0;
  for (bool b : operandsBool)
    if (!elementIs(op->getOperand(unsigned(i++)), b))
      return false;
  return elementIs(op->getResult(0), resultBool);
}

const std::set<std::string> &unaryMath() {
  static const std::set<std::string> s = {
      "Identity", "Neg", "Abs", "Relu", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
      "Exp",      "Sigmoid", "HardSwish", "Log", "Sin", "Cos", "Tanh", "Erf", "Softplus",
      "Mish",     "Sign"};
  return s;
}

std::optional<ChainInstr> reduction(Operation *op, const std::string &t) {
  auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  if (!in || in.getRank() == 0 || !elementIs(op->getResult(0), false) ||
      !elementIs(op->getOperand(0), false))
    return std::nullopt;
  ref::Attrs a = ref::attrsOf(op);
  if (a.getInt("keepdims", 1) != 1)
    return std::nullopt;
  // Axes: an attribute before opset 18 (13 for ReduceSum), else a constant input.
  std::vector<int64_t> axes = a.getInts("axes", {});
  bool axesInput = op->getNumOperands() > 1 && !isa<NoneType>(op->getOperand(1).getType());
  if (axesInput) {
    std::optional<double> axis = constantScalar(op->getOperand(1));
    if (!axis)
      return std::nullopt;
    axes = {int64_t(*axis)};
  }
  if (axes.size() != 1 || (axes[0] != -1 && axes[0] != in.getRank() - 1))
    return std::nullopt;
  ChainInstr c{t, {op->getOperand(0)}};
  c.reduces = true;
  return c;
}

} // namespace

std::optional<ChainInstr> chainInstrFor(Operation *op, int64_t opset) {
  if (op->getNumResults() != 1 || op->getNumRegions() != 0 ||
      !isa<RankedTensorType>(op->getResult(0).getType()))
    return std::nullopt;
  std::string t = onnxOpType(op).str();
  ref::Attrs a = ref::attrsOf(op);
  ChainInstr c{t, {}};
  auto with = [&](std::vector<Value> args) -> std::optional<ChainInstr> {
    c.args = std::move(args);
    return c;
  };
  if (unaryMath().count(t) && typed(op, {false}, false))
    return with({op->getOperand(0)});
  if (t == "Gelu" && typed(op, {false}, false)) {
    std::string approx = a.getString("approximate", "none");
    if (approx != "none" && approx != "tanh")
      return std::nullopt;
    c.name = approx == "tanh" ? "GeluTanh" : "Gelu";
    return with({op->getOperand(0)});
  }
  if ((t == "LeakyRelu" || t == "Elu" || t == "HardSigmoid") && typed(op, {false}, false)) {
    double alpha = t == "LeakyRelu" ? 0.01 : t == "Elu" ? 1.0 : 0.2;
    c.params[0] = float(a.getFloat("alpha", alpha));
    c.params[1] = float(a.getFloat("beta", 0.5));
    return with({op->getOperand(0)});
  }
  if (t == "Clip" && elementIs(op->getOperand(0), false) && elementIs(op->getResult(0), false)) {
    // Bounds: attributes before opset 11, else optional constant inputs; absent ones do not clip.
    float inf = std::numeric_limits<float>::infinity();
    c.params[0] = -inf, c.params[1] = inf;
    if (opset < 11) {
      c.params[0] = float(a.getFloat("min", -inf));
      c.params[1] = float(a.getFloat("max", inf));
    }
    for (unsigned i = 1; i < op->getNumOperands() && opset >= 11; ++i) {
      if (isa<NoneType>(op->getOperand(i).getType()))
        continue;
      std::optional<double> b = constantScalar(op->getOperand(i));
      if (!b)
        return std::nullopt;
      c.params[i - 1] = float(*b);
    }
    return with({op->getOperand(0)});
  }
  if ((t == "Add" || t == "Sub" || t == "Mul" || t == "Div" || t == "Max" || t == "Min") &&
      typed(op, {false, false}, false))
    return with({op->getOperand(0), op->getOperand(1)});
  if (t == "Pow" && typed(op, {false, false}, false)) {
    std::optional<double> e = constantScalar(op->getOperand(1));
    if (e && *e == 2.0) {
      c.name = "Square";
      return with({op->getOperand(0)});
    }
    return with({op->getOperand(0), op->getOperand(1)});
  }
  if ((t == "Equal" || t == "Less" || t == "LessOrEqual" || t == "Greater" ||
       t == "GreaterOrEqual") &&
      typed(op, {false, false}, true))
    return with({op->getOperand(0), op->getOperand(1)});
  if ((t == "And" || t == "Or") && typed(op, {true, true}, true))
    return with({op->getOperand(0), op->getOperand(1)});
  if (t == "Not" && typed(op, {true}, true))
    return with({op->getOperand(0)});
  if (t == "Where" && typed(op, {true, false, false}, false))
    return with({op->getOperand(0), op->getOperand(1), op->getOperand(2)});
  if (t == "Cast" && a.getInt("to", 0) == 1 /* FLOAT */ && op->getNumOperands() == 1 &&
      elementIs(op->getResult(0), false)) {
    auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    Type e = in ? in.getElementType() : Type();
    if (e && (e.isF32() || e.isInteger(1) || e.isSignlessInteger(32) || e.isSignlessInteger(64)))
      return with({op->getOperand(0)});
  }
  if (t == "Expand" && op->getNumOperands() == 2 && elementIs(op->getOperand(0), false) &&
      elementIs(op->getResult(0), false)) {
    c.name = "Identity"; // the chain broadcasts its inputs to the result's shape
    return with({op->getOperand(0)});
  }
  if (t == "ReduceSum" || t == "ReduceMean" || t == "ReduceMax" || t == "ReduceMin")
    return reduction(op, t);
  return std::nullopt;
}

} // namespace plumb::cpu
