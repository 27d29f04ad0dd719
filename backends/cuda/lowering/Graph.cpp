// buildGroupGraph: MLIR ops -> the generator's MLIR-free KernelGraph.
#include "backends/cuda/lowering/Lowering.h"

#include "backends/cuda/codegen/Generator.h"

#include "backends/reference/Interpreter.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace plumb::cuda {
namespace {


} // namespace

GroupGraph buildGroupGraph(ArrayRef<Operation *> ops, StringRef kind, int64_t opset,
                           const std::function<Shape(Value)> &shapeOf) {
  GroupGraph gg;
  KernelGraph &g = gg.graph;
  g.kind = kind.str();
  g.opset = opset;
  llvm::DenseMap<Value, int> ids;
  llvm::SmallPtrSet<Operation *, 16> members(ops.begin(), ops.end());
  auto valueOf = [&](Value v) {
    auto it = ids.find(v);
    if (it != ids.end())
      return it->second;
    auto tt = cast<TensorType>(v.getType());
    std::optional<DType> dt = dtypeOf(tt.getElementType());
    if (!dt)
      throw Error("cuda lowering: a value of an unsupported element type");
    int id = g.addValue(*dt, shapeOf(v));
    ids[v] = id;
    return id;
  };
  for (Operation *op : ops) {
    KNode n;
    n.op = onnxOpType(op).str();
    n.attrs = ref::attrsOf(op);
    for (const std::string &name : nodeNamesOf(op))
      n.name += (n.name.empty() ? "" : ", ") + name;
    g.label += (g.label.empty() ? "" : ", ") + n.name;
    for (auto [index, v] : llvm::enumerate(op->getOperands())) {
      if (isa<NoneType>(v.getType())) {
        n.operands.push_back(-1);
        continue;
      }
      bool known = ids.count(v);
      int id = valueOf(v);
      n.operands.push_back(id);
      if (((isMovement(n.op) || n.op == "CumSum") && !movementReadsOperand(n.op, index)) ||
          (isRowReduction(n.op) && index == 1)) {
        // Steers the copy (starts, shape, repeats...) or the reduction (axes): must be known
        // now, never loaded.
        std::optional<Tensor> c = constantTensor(v);
        if (!c || !isInteger(c->dtype()))
          throw Error("cuda lowering: " + n.op + " '" + n.name + "' has a non-constant operand " +
                      std::to_string(index));
        g.intConstants[id] = c->toInts();
        continue;
      }
      if (known)
        continue;
      if (std::optional<double> s = constantScalar(v)) {
        g.scalars[id] = *s;
      } else {
        g.inputs.push_back(id);
        gg.inputs.push_back(v);
      }
    }
    for (Value r : op->getResults()) {
      n.results.push_back(valueOf(r));
      bool usedOutside = llvm::any_of(r.getUsers(), [&](Operation *u) { return !members.count(u); });
      if (usedOutside) {
        g.outputs.push_back(ids[r]);
        gg.outputs.push_back(r);
      }
    }
    g.nodes.push_back(std::move(n));
  }
  return gg;
}

} // namespace plumb::cuda
