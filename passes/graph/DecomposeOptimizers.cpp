// plumb-decompose-optimizers: the preview-training optimizers Adagrad, Adam and Momentum
// (one update step of n tensors) as the elementwise ops of their ONNX definitions, per group
// k, with the scalars R (learning rate) and T (step count) read at run time:
//   every one:  g = norm_coefficient * X + G
//   Adagrad:    H' = H + g * g;  X' = X - r * g / (sqrt(H') + epsilon),  r = R / (1 + T * decay)
//   Adam:       V' = alpha * V + (1 - alpha) * g;  H' = beta * H + (1 - beta) * g * g;
//               X' = (1 - norm_coefficient_post) * (X - r * V' / (sqrt(H') + epsilon)),
//               r = R * sqrt(1 - beta^T) / (1 - alpha^T) for T > 0, else R
//   Momentum:   V' = alpha * V + b * g (b = beta, 1 at T = 0);
//               X' = X - R * V' (standard) or X - R * (g + alpha * V') (nesterov)
// in the tensors' type (the reference computes in double: a rounding apart). Statically
// shaped f32/f64 groups only (as the reference); each result carries the node and its
// output's name. For the CUDA backend, whose generated kernels then compute the step.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBDECOMPOSEOPTIMIZERS
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// Elementwise ops of one node, named after it; scalars broadcast against group tensors.
struct Arith {
  mlir::OpBuilder b;
  mlir::Operation *op;
  DType dt;
  int step = 0;

  mlir::Location loc(const std::string &what) {
    return fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, 0) + "/" + what + std::to_string(step++)});
  }
  static mlir::Type wider(Value a, Value c) {
    auto t = llvm::cast<mlir::RankedTensorType>(a.getType());
    return t.getRank() ? t : c.getType();
  }
  Value scalar(double v) { return scalarConstantOf(b, loc("c"), v, dt); }
  Value add(Value a, Value c) { return AddOp::create(b, loc("add"), wider(a, c), a, c); }
  Value sub(Value a, Value c) { return SubOp::create(b, loc("sub"), wider(a, c), a, c); }
  Value mul(Value a, Value c) { return MulOp::create(b, loc("mul"), wider(a, c), a, c); }
  Value div(Value a, Value c) { return DivOp::create(b, loc("div"), wider(a, c), a, c); }
  Value sqrt(Value a) { return SqrtOp::create(b, loc("sqrt"), a.getType(), a); }
  Value cast(Value a) {
    auto t = llvm::cast<mlir::RankedTensorType>(a.getType());
    auto to = mlir::RankedTensorType::get(t.getShape(), elementTypeOf(b.getContext(), dt));
    return CastOp::create(b, loc("cast"), to, a, b.getI64IntegerAttr(dtypeToOnnx(dt)), nullptr, nullptr);
  }
  // `v` if T > 0, else `otherwise` (T an i64 scalar).
  Value ifStarted(Value t, Value v, Value otherwise) {
    Value zero = scalarConstantOf(b, loc("c"), 0, DType::I64);
    auto bt = mlir::RankedTensorType::get({}, b.getI1Type());
    Value started = GreaterOp::create(b, loc("started"), bt, t, zero);
    return WhereOp::create(b, loc("where"), v.getType(), started, v, otherwise);
  }
};

double attr(mlir::Operation *op, const char *name, double def) {
  auto a = op->getAttrOfType<mlir::FloatAttr>(name);
  return a ? a.getValueAsDouble() : def;
}

// The groups (X, G, states...) fit: R a float scalar of the tensors' type, T an i64 scalar,
// every tensor static and shaped like its X, f32 or f64. nullopt otherwise (one op stays).
std::optional<DType> checkGroups(mlir::Operation *op, size_t groups) {
  size_t in = op->getNumOperands();
  if (in < 2 + groups || (in - 2) % groups != 0 || op->getNumResults() != (in - 2) / groups * (groups - 1))
    return std::nullopt;
  size_t n = (in - 2) / groups;
  auto x0 = staticTensorType(op->getOperand(2));
  std::optional<DType> dt = x0 ? dtypeOf(x0.getElementType()) : std::nullopt;
  auto r = staticTensorType(op->getOperand(0)), t = staticTensorType(op->getOperand(1));
  if (!dt || (*dt != DType::F32 && *dt != DType::F64) || !r || r.getNumElements() != 1 ||
      r.getElementType() != x0.getElementType() || !t || t.getNumElements() != 1 ||
      !t.getElementType().isInteger(64))
    return std::nullopt;
  for (size_t k = 0; k < n; ++k) {
    auto x = staticTensorType(op->getOperand(2 + k));
    for (size_t g = 0; g < groups; ++g)
      if (!x || op->getOperand(2 + g * n + k).getType() != x)
        return std::nullopt;
    for (size_t s = 0; s + 1 < groups; ++s)
      if (op->getResult(s * n + k).getType() != x)
        return std::nullopt;
  }
  return dt;
}

// Reshapes a one-element operand to a scalar so it broadcasts against every group.
Value scalarOf(Arith &a, Value v) {
  auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
  return t.getRank() == 0 ? v : reshapedTo(a.b, a.loc("scalar"), v, {}, 13);
}

void decompose(mlir::Operation *op, size_t groups) {
  std::optional<DType> dt = checkGroups(op, groups);
  auto mode = op->getAttrOfType<mlir::StringAttr>("mode");
  bool nesterov = mode && mode.getValue() == "nesterov";
  if (!dt || (mode && !nesterov && mode.getValue() != "standard"))
    return; // one op (the reference refuses an unknown mode)
  size_t n = (op->getNumOperands() - 2) / groups;
  Arith a{mlir::OpBuilder(op), op, *dt};
  Value r = scalarOf(a, op->getOperand(0)), t = scalarOf(a, op->getOperand(1));
  double norm = attr(op, "norm_coefficient", 0.0), eps = attr(op, "epsilon", 0.0);
  std::vector<Value> results(op->getNumResults());
  Value rate = r;
  if (llvm::isa<AdagradOp>(op)) {
    Value tf = a.cast(t);
    rate = a.div(r, a.add(a.scalar(1), a.mul(tf, a.scalar(attr(op, "decay_factor", 0.0)))));
  } else if (llvm::isa<AdamOp>(op)) {
    Value tf = a.cast(t);
    double alpha = attr(op, "alpha", 0.9), beta = attr(op, "beta", 0.999);
    auto pow = [&](double base) {
      return PowOp::create(a.b, a.loc("pow"), tf.getType(), a.scalar(base), tf).getResult();
    };
    Value corrected = a.div(a.mul(r, a.sqrt(a.sub(a.scalar(1), pow(beta)))), a.sub(a.scalar(1), pow(alpha)));
    rate = a.ifStarted(t, corrected, r);
  }
  for (size_t k = 0; k < n; ++k) {
    Value x = op->getOperand(2 + k), gIn = op->getOperand(2 + n + k);
    Value g = a.add(a.mul(a.scalar(norm), x), gIn);
    if (llvm::isa<AdagradOp>(op)) {
      Value h = a.add(op->getOperand(2 + 2 * n + k), a.mul(g, g));
      results[k] = a.sub(x, a.div(a.mul(rate, g), a.add(a.sqrt(h), a.scalar(eps))));
      results[n + k] = h;
    } else if (llvm::isa<AdamOp>(op)) {
      double alpha = attr(op, "alpha", 0.9), beta = attr(op, "beta", 0.999);
      double post = attr(op, "norm_coefficient_post", 0.0);
      Value v = a.add(a.mul(a.scalar(alpha), op->getOperand(2 + 2 * n + k)), a.mul(a.scalar(1 - alpha), g));
      Value h = a.add(a.mul(a.scalar(beta), op->getOperand(2 + 3 * n + k)),
                      a.mul(a.mul(a.scalar(1 - beta), g), g));
      Value stepped = a.sub(x, a.div(a.mul(rate, v), a.add(a.sqrt(h), a.scalar(eps))));
      results[k] = a.mul(a.scalar(1 - post), stepped);
      results[n + k] = v;
      results[2 * n + k] = h;
    } else { // Momentum
      double alpha = attr(op, "alpha", 0.0), beta = attr(op, "beta", 0.0);
      Value b = a.ifStarted(t, a.scalar(beta), a.scalar(1));
      Value v = a.add(a.mul(a.scalar(alpha), op->getOperand(2 + 2 * n + k)), a.mul(b, g));
      results[k] = a.sub(x, a.mul(r, nesterov ? a.add(g, a.mul(a.scalar(alpha), v)) : v));
      results[n + k] = v;
    }
  }
  // Each result's last op takes the node's location with the output's name.
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].getDefiningOp()->setLoc(fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, i)}));
    op->getResult(i).replaceAllUsesWith(results[i]);
  }
  op->erase();
}

struct DecomposeOptimizersPass : impl::PlumbDecomposeOptimizersBase<DecomposeOptimizersPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<AdagradOp, AdamOp, MomentumOp>(op))
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops)
      decompose(op, llvm::isa<AdamOp>(op) ? 4 : 3);
  }
};

} // namespace
} // namespace plumb
