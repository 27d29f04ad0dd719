// buildGroupGraph: MLIR ops -> the generator's MLIR-free KernelGraph.
#include "backends/cuda/lowering/Lowering.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "backends/reference/Interpreter.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace plumb::cuda {
namespace {

// Resize's sampling as the reference computes it (ref::resizeTaps, from its constant roi,
// scales and sizes), stored in the node's attrs for the generated kernel: per axis "taps.count"
// (taps per output coordinate; 0 for an axis not resized), then for the resized axes, axis by
// axis, "taps.index"/"taps.weight" (count entries per output coordinate, padded with weight 0)
// and "taps.outside" (1 where a tf_crop_and_resize sample is off the input), and
// "taps.extrapolation".
void resizeTapsInto(KNode &n, Operation *op, const Shape &in, const Shape &out, int64_t opset) {
  std::vector<Tensor> held;
  std::vector<const Tensor *> inputs = {nullptr};
  held.reserve(op->getNumOperands());
  for (unsigned i = 1; i < op->getNumOperands(); ++i) {
    Value v = op->getOperand(i);
    if (isa<NoneType>(v.getType())) {
      inputs.push_back(nullptr);
      continue;
    }
    std::optional<Tensor> c = constantTensor(v);
    if (!c)
      throw Error("cuda lowering: Resize '" + n.name + "' has a non-constant operand " +
                  std::to_string(i));
    held.push_back(*c);
    inputs.push_back(&held.back());
  }
  ref::KernelCall call;
  call.opType = n.op;
  call.nodeName = n.name;
  call.opset = opset;
  call.inputs = inputs;
  call.attrs = &n.attrs;
  ref::ResizeTaps taps = ref::resizeTaps(call, in);
  if (taps.outShape != out)
    throw Error("cuda lowering: Resize '" + n.name + "' samples " + shapeToString(taps.outShape) +
                " but its result is " + shapeToString(out));
  std::vector<int64_t> count, index, outside;
  std::vector<double> weight;
  for (const ref::ResizeTaps::Axis &a : taps.axes) {
    size_t t = 0;
    for (const auto &idx : a.index)
      t = std::max(t, idx.size());
    count.push_back(a.resized ? int64_t(std::max<size_t>(t, 1)) : 0);
    if (!a.resized)
      continue;
    for (size_t o = 0; o < a.index.size(); ++o) {
      for (size_t k = 0; k < size_t(count.back()); ++k) {
        bool tap = k < a.index[o].size();
        index.push_back(tap ? a.index[o][k] : 0);
        weight.push_back(tap ? a.weight[o][k] : 0.0);
      }
      outside.push_back(a.outside[o] ? 1 : 0);
    }
  }
  n.attrs.set("taps.count", intsAttr(count));
  n.attrs.set("taps.index", intsAttr(index));
  n.attrs.set("taps.weight", floatsAttr(weight));
  n.attrs.set("taps.outside", intsAttr(outside));
  n.attrs.set("taps.extrapolation", floatAttr(taps.extrapolation));
}

// Whether operand `index` of `op` is read from its buffer even when it is a one-element
// constant, which is otherwise folded into the source: the data a movement or window kernel
// moves (an Expand of a constant scalar, a constant Concat piece) is read only as
// buffer[offset]; the indices, pads' fill, zero points and scatter updates they read as
// operands also take the folded form.
bool readFromBuffer(const std::string &op, size_t index) {
  if (!isMovement(op) && !isWindowOp(op))
    return false;
  return index == 0 || op == "Concat" || op == "Einsum" || (op == "TensorScatter" && index == 1);
}

} // namespace

GroupGraph buildGroupGraph(ArrayRef<Operation *> ops, StringRef kind, int64_t opset,
                           const std::function<Shape(Value)> &shapeOf,
                           const std::function<Value(Value)> &canonical, size_t pulled,
                           const std::function<bool(Value)> &shared) {
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
  for (auto [position, op] : llvm::enumerate(ops)) {
    KNode n;
    n.op = onnxOpType(op).str();
    n.attrs = ref::attrsOf(op);
    for (const std::string &name : nodeNamesOf(op))
      n.name += (n.name.empty() ? "" : ", ") + name;
    g.label += (g.label.empty() ? "" : ", ") + n.name;
    for (auto [index, operandValue] : llvm::enumerate(op->getOperands())) {
      Value v = canonical ? canonical(operandValue) : operandValue;
      if (isa<NoneType>(v.getType())) {
        n.operands.push_back(-1);
        continue;
      }
      bool known = ids.count(v);
      int id = valueOf(v);
      n.operands.push_back(id);
      if (steeringOperand(n.op, index)) {
        if (isResample(n.op))
          continue; // roi, scales, sizes: read below into the tap tables
        std::optional<Tensor> c = constantTensor(v);
        // Read as integers (truncated, as the reference reads them): OneHot's depth may be of
        // any numeric type; the other steering operands are integers.
        if (!c || c->dtype() == DType::Bool)
          throw Error("cuda lowering: " + n.op + " '" + n.name + "' has a non-constant operand " +
                      std::to_string(index));
        g.intConstants[id] = c->toInts();
        continue;
      }
      if (known)
        continue;
      std::optional<double> s = constantScalar(v);
      if (s && !readFromBuffer(n.op, index)) {
        g.scalars[id] = *s;
      } else {
        g.inputs.push_back(id);
        gg.inputs.push_back(v);
      }
    }
    if (isResample(n.op))
      resizeTapsInto(n, op, shapeOf(op->getOperand(0)), shapeOf(op->getResult(0)), opset);
    for (Value r : op->getResults()) {
      n.results.push_back(valueOf(r));
      bool usedOutside = position >= pulled ? llvm::any_of(r.getUsers(), [&](Operation *u) {
                           return !members.count(u);
                         })
                                            : shared && shared(r);
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
