// plumb-constant-folding: evaluates ops whose inputs are all constants with the reference kernels
// (an EyeLike's input need only be statically shaped).
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "backends/reference/Interpreter.h"
#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

#include <exception>

namespace plumb {
#define GEN_PASS_DEF_PLUMBCONSTANTFOLDING
#include "passes/Passes.h.inc"

namespace {

using mlir::Operation;

// Ops whose result is not a function of their inputs: folding them would freeze one draw.
bool isNondeterministic(Operation *op) {
  llvm::StringRef type = onnxOpType(op);
  return type.starts_with("Random") || type == "Bernoulli" || type == "Multinomial";
}

// The tensor a plumb.Constant holds. The `value` form is viewed in place (weights can be
// large); the scalar/list forms go through the kernel so that their dtypes match the walker's.
Tensor constantTensor(ConstantOp c) {
  if (auto v = c.getValueAttr())
    return tensorFromAttr(v);
  return ref::evaluateOp(c, {}).front();
}

// Bytes of a statically shaped tensor type, or nullopt when the type is not static.
std::optional<int64_t> staticBytes(mlir::Type type) {
  auto ranked = llvm::dyn_cast<mlir::RankedTensorType>(type);
  if (!ranked || !ranked.hasStaticShape())
    return std::nullopt;
  std::optional<DType> dt = dtypeOf(ranked.getElementType());
  if (!dt)
    return std::nullopt;
  return ranked.getNumElements() * int64_t(dtypeSize(*dt));
}

// Result `i`'s location. A single-result op keeps its own; for more results each constant
// gets the node's locations with just that result's tensor name, so tensorNameOf(c, 0)
// names the right tensor.
mlir::Location resultLoc(Operation *op, unsigned i) {
  auto fused = llvm::dyn_cast<mlir::FusedLoc>(op->getLoc());
  if (op->getNumResults() == 1 || !fused ||
      !llvm::isa_and_nonnull<mlir::ArrayAttr>(fused.getMetadata()))
    return op->getLoc();
  return fuseNodeLocs(fused.getLocations(), {tensorNameOf(op, i)});
}

// Whether `op` reads only the shape of operand `index` (EyeLike: an identity shaped like its
// input), so a statically shaped operand folds whatever its values: a zero tensor of that
// shape stands in for it.
bool readsShapeOnly(Operation *op, unsigned index) {
  return llvm::isa<EyeLikeOp>(op) && index == 0 && staticBytes(op->getOperand(index).getType());
}

bool isCandidate(Operation *op, int64_t maxBytes) {
  // Control flow is left to the interpreter: folding an If on a constant cond would have
  // to inline a region, which is a rewrite of its own.
  if (onnxOpType(op).empty() || llvm::isa<ConstantOp>(op) || isNondeterministic(op) ||
      op->use_empty() || op->getNumRegions() != 0)
    return false;
  bool anyTensor = false;
  for (mlir::OpOperand &use : op->getOpOperands()) {
    if (llvm::isa<mlir::NoneType>(use.get().getType()))
      continue;
    if (!use.get().getDefiningOp<ConstantOp>() && !readsShapeOnly(op, use.getOperandNumber()))
      return false;
    anyTensor = true;
  }
  // An op with no tensor input at all is a generator, not a computation on constants.
  if (!anyTensor)
    return false;
  for (mlir::Type t : op->getResultTypes()) {
    std::optional<int64_t> bytes = staticBytes(t);
    if (!bytes || *bytes > maxBytes)
      return false;
  }
  return true;
}

} // namespace

bool foldConstantOp(Operation *op, int64_t maxBytes) {
  if (!isCandidate(op, maxBytes))
    return false;
  std::vector<Tensor> results;
  try {
    std::vector<Tensor> held;
    held.reserve(op->getNumOperands());
    std::vector<const Tensor *> inputs;
    for (mlir::OpOperand &use : op->getOpOperands()) {
      mlir::Value v = use.get();
      if (auto c = v.getDefiningOp<ConstantOp>()) {
        held.push_back(constantTensor(c));
        inputs.push_back(&held.back());
      } else if (readsShapeOnly(op, use.getOperandNumber())) {
        auto t = llvm::cast<mlir::RankedTensorType>(v.getType());
        held.push_back(Tensor::zeros(*dtypeOf(t.getElementType()), Shape(t.getShape())));
        inputs.push_back(&held.back());
      } else {
        inputs.push_back(nullptr);
      }
    }
    results = ref::evaluateOp(op, inputs);
  } catch (const std::exception &) {
    // No kernel, or a kernel that rejects these inputs: the op stays and runs later, where
    // the same error is reported with the model's context.
    return false;
  }
  llvm::SmallVector<mlir::DenseElementsAttr> values;
  for (unsigned i = 0; i < op->getNumResults(); ++i) {
    values.push_back(attrFromTensor(op->getContext(), results[i]));
    // Users (func.return included) need the exact type; the walker's result check makes a
    // mismatch unlikely for static types, but an op is better left than miscompiled.
    if (values.back().getType() != op->getResult(i).getType())
      return false;
  }
  mlir::OpBuilder b(op);
  llvm::SmallVector<mlir::Value> replacements;
  for (auto [i, value] : llvm::enumerate(values))
    replacements.push_back(ConstantOp::create(b, resultLoc(op, unsigned(i)), value.getType(), value,
                                              nullptr, nullptr, nullptr, nullptr));
  llvm::SetVector<Operation *> producers;
  for (mlir::Value v : op->getOperands())
    if (Operation *def = v.getDefiningOp())
      producers.insert(def);
  op->replaceAllUsesWith(replacements);
  op->erase();
  // Intermediate constants of a folded chain are dead now; drop them so that a long chain
  // does not leave a trail of copies behind.
  for (Operation *def : producers)
    if (def->use_empty())
      def->erase();
  return true;
}

namespace {

struct ConstantFolding : impl::PlumbConstantFoldingBase<ConstantFolding> {
  using PlumbConstantFoldingBase::PlumbConstantFoldingBase;

  void runOnOperation() override {
    // The scalar and list forms (value_int(s), value_float(s): function expansions and newer
    // exporters write Reshape shapes and Reduce axes so) become the `value` form, which every
    // later reader of constants (constantInts, the backends' lowerings) reads.
    getOperation().walk([](ConstantOp c) {
      if (c.getValueAttr())
        return;
      try {
        auto value = attrFromTensor(c.getContext(), constantTensor(c));
        if (value.getType() != c.getType())
          return;
        for (llvm::StringRef name : {"value_float", "value_floats", "value_int", "value_ints"})
          c->removeAttr(name);
        c.setValueAttr(value);
      } catch (const std::exception &) {
        // left as it is: the interpreter reports it with the model's context
      }
    });
    // Block order is SSA order, so a chain of foldable ops folds in one sweep: each folded
    // result is a constant by the time its users are visited.
    for (mlir::Block &block : getOperation().getBody())
      for (Operation &op : llvm::make_early_inc_range(block))
        foldConstantOp(&op, maxBytes);
  }
};

} // namespace
} // namespace plumb
