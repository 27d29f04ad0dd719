// The importer's nested graphs: ONNX subgraphs (If branches, Loop/Scan/SequenceMap bodies)
// become single-block regions that may use enclosing values, and calls of model-local
// functions are inlined with their attribute references resolved.
#include "frontend/onnx/GraphImporter.h"

#include "ir/PlumbDialect.h"

using namespace mlir;

namespace plumb {
namespace {

const onnx::GraphProto &graphAttr(const onnx::NodeProto &node, const std::string &attr,
                                  const std::string &nodeName, const std::string &path) {
  for (const auto &a : node.attribute())
    if (a.name() == attr && a.has_g())
      return a.g();
  throw Error(path + ": node '" + nodeName + "' (" + node.op_type() + ") has no '" + attr +
              "' subgraph");
}

// `t` with every dim unknown (a Loop-carried value may change shape between iterations).
Type withDynamicDims(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  if (!r)
    return t;
  return RankedTensorType::get(SmallVector<int64_t>(r.getRank(), ShapedType::kDynamic),
                               r.getElementType());
}

// `t` without its leading `drop` dims, or with dim `axis` removed.
Type withoutAxis(Type t, int64_t axis) {
  auto r = dyn_cast<RankedTensorType>(t);
  if (!r) {
    auto tt = dyn_cast<TensorType>(t);
    return tt ? Type(UnrankedTensorType::get(tt.getElementType())) : t;
  }
  SmallVector<int64_t> dims(r.getShape());
  if (axis < 0)
    axis += int64_t(dims.size());
  if (axis < 0 || axis >= int64_t(dims.size()))
    return UnrankedTensorType::get(r.getElementType());
  dims.erase(dims.begin() + axis);
  return RankedTensorType::get(dims, r.getElementType());
}

// Renames result `i` in an imported op's location (tensorNameOf reads it from there).
void renameResult(Operation *op, unsigned i, const std::string &name) {
  auto fused = dyn_cast<FusedLoc>(op->getLoc());
  auto names = fused ? dyn_cast_or_null<ArrayAttr>(fused.getMetadata()) : ArrayAttr();
  if (!names || i >= names.size())
    return;
  SmallVector<Attribute> updated(names.begin(), names.end());
  updated[i] = StringAttr::get(op->getContext(), name);
  op->setLoc(FusedLoc::get(op->getContext(), fused.getLocations(),
                           ArrayAttr::get(op->getContext(), updated)));
}

} // namespace

bool GraphImporter::hasRegions(const std::string &opType) const {
  return opType == "If" || opType == "Loop" || opType == "Scan" || opType == "SequenceMap";
}

void GraphImporter::importRegions(Operation *op, const onnx::NodeProto &node,
                                  const std::string &name) {
  const std::string &t = node.op_type();
  Builder b(&ctx_);
  if (t == "If") {
    importSubgraph(graphAttr(node, "then_branch", name, path_), op->getRegion(0), {},
                   name + " then_branch");
    importSubgraph(graphAttr(node, "else_branch", name, path_), op->getRegion(1), {},
                   name + " else_branch");
    return;
  }
  SmallVector<Type> args;
  if (t == "Loop") {
    args = {RankedTensorType::get({}, b.getI64Type()), RankedTensorType::get({}, b.getI1Type())};
    for (Value v : op->getOperands().drop_front(2))
      args.push_back(withDynamicDims(v.getType()));
  } else if (t == "Scan") {
    bool v8 = info_.opset < 9;
    ValueRange inputs = op->getOperands().drop_front(v8 ? 1 : 0);
    auto m = op->getAttrOfType<IntegerAttr>("num_scan_inputs");
    int64_t numScan = m ? m.getInt() : 0;
    if (numScan < 1 || numScan > int64_t(inputs.size()))
      fail("node '" + name + "' (Scan): num_scan_inputs " + std::to_string(numScan) +
           " out of [1, " + std::to_string(inputs.size()) + "]");
    size_t states = inputs.size() - size_t(numScan);
    SmallVector<int64_t> axes;
    if (auto a = op->getAttrOfType<ArrayAttr>("scan_input_axes"))
      for (Attribute x : a)
        axes.push_back(cast<IntegerAttr>(x).getInt());
    for (size_t i = 0; i < inputs.size(); ++i) {
      Type ty = inputs[i].getType();
      if (v8) // batch axis 0, then (scan inputs) the sequence axis
        ty = withoutAxis(ty, 0);
      if (i >= states)
        ty = withoutAxis(ty, v8 || i - states >= axes.size() ? 0 : axes[i - states]);
      args.push_back(ty);
    }
  } else { // SequenceMap
    for (Value v : op->getOperands()) {
      auto seq = dyn_cast<SeqType>(v.getType());
      args.push_back(seq ? Type(seq.getElementType()) : v.getType());
    }
  }
  importSubgraph(graphAttr(node, "body", name, path_), op->getRegion(0), args, name + " body");
}

void GraphImporter::importSubgraph(const onnx::GraphProto &g, Region &region,
                                   ArrayRef<Type> derivedArgTypes, const std::string &where) {
  if (size_t(g.input_size()) != derivedArgTypes.size())
    fail(where + " has " + std::to_string(g.input_size()) + " inputs, expected " +
         std::to_string(derivedArgTypes.size()));
  OpBuilder::InsertionGuard guard(b_);
  auto saved = values_; // enclosing names stay visible; the subgraph's go out of scope
  Block *block = new Block();
  region.push_back(block);
  for (int i = 0; i < g.input_size(); ++i) {
    const auto &in = g.input(i);
    Type declared = typeFromProto(in.type(), in.name(), false, /*allowMissing=*/true);
    Type derived = derivedArgTypes[size_t(i)];
    Type t = declared && derived ? joinTypes(declared, derived) : declared ? declared : derived;
    if (!t)
      fail(where + " input '" + in.name() + "' has type " + typeToString(declared) +
           ", incompatible with " + typeToString(derived));
    values_[in.name()] = block->addArgument(t, NameLoc::get(b_.getStringAttr(in.name())));
  }
  b_.setInsertionPointToStart(block);
  for (const auto &init : g.initializer()) {
    onnx::TensorProto copy = init; // the weight importer may take its bytes
    values_[init.name()] = weights_.importInitializer(b_, copy, path_);
  }
  for (int i = 0; i < g.node_size(); ++i)
    importNode(g.node(i), size_t(i));
  SmallVector<Value> results;
  for (const auto &out : g.output()) {
    auto it = values_.find(out.name());
    if (it == values_.end())
      fail(where + " output '" + out.name() + "' is not produced by any node");
    results.push_back(it->second);
  }
  YieldOp::create(b_, NameLoc::get(b_.getStringAttr(where)), results);
  values_ = std::move(saved);
}

const onnx::FunctionProto *GraphImporter::findFunction(const onnx::NodeProto &node) const {
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto it = functions_.find({domain, node.op_type()});
  if (it == functions_.end() && domain.empty())
    it = functions_.find({"ai.onnx", node.op_type()});
  return it == functions_.end() ? nullptr : it->second;
}

// The function's nodes are imported in a scope that holds only its inputs (a function sees
// nothing else), with node and tensor names prefixed by the call's node name, so that every
// name stays unique and says which call it came from ("call/inner").
void GraphImporter::inlineFunction(const onnx::NodeProto &call, const onnx::FunctionProto &fn,
                                   const std::string &callName) {
  constexpr int kMaxDepth = 64;
  if (inlineDepth_ >= kMaxDepth)
    fail("node '" + callName + "' calls function '" + fn.name() + "' nested deeper than " +
         std::to_string(kMaxDepth) + " (recursive functions are unsupported)");
  if (call.input_size() > fn.input_size() || call.output_size() > fn.output_size())
    fail("node '" + callName + "' calls function '" + fn.name() + "' with " +
         std::to_string(call.input_size()) + " inputs and " + std::to_string(call.output_size()) +
         " outputs; it declares " + std::to_string(fn.input_size()) + " and " +
         std::to_string(fn.output_size()));
  // Attribute defaults in the function (attribute_proto, IR version 9) are not in ONNX 1.12's
  // schema that plumb builds against; an attribute the call leaves out takes the op default.
  std::map<std::string, onnx::AttributeProto> attrs;
  for (const auto &a : call.attribute()) {
    if (a.ref_attr_name().empty()) {
      attrs[a.name()] = a;
      continue;
    }
    // A call inside a function body may itself pass on one of the outer call's attributes.
    auto it = callAttrs_ ? callAttrs_->find(a.ref_attr_name()) : decltype(callAttrs_->end()){};
    if (callAttrs_ && it != callAttrs_->end()) {
      attrs[a.name()] = it->second;
      attrs[a.name()].set_name(a.name());
    }
  }
  std::unordered_map<std::string, Value> scope;
  for (int i = 0; i < fn.input_size(); ++i) {
    if (i >= call.input_size() || call.input(i).empty()) {
      scope[fn.input(i)] = noneValue();
      continue;
    }
    auto it = values_.find(call.input(i));
    if (it == values_.end())
      fail("node '" + callName + "' (" + call.op_type() + ") reads '" + call.input(i) +
           "', which no earlier node, initializer or graph input produces");
    scope[fn.input(i)] = it->second;
  }
  auto savedValues = std::move(values_);
  auto savedAttrs = callAttrs_;
  std::string savedPrefix = scopePrefix_;
  values_ = std::move(scope);
  callAttrs_ = &attrs;
  scopePrefix_ = callName + "/";
  ++inlineDepth_;
  for (int i = 0; i < fn.node_size(); ++i)
    importNode(fn.node(i), size_t(i));
  SmallVector<Value> outs;
  for (int i = 0; i < call.output_size(); ++i) {
    auto it = values_.find(fn.output(i));
    if (it == values_.end())
      fail("function '" + fn.name() + "' (called by node '" + callName + "') output '" +
           fn.output(i) + "' is not produced by any node");
    outs.push_back(it->second);
  }
  --inlineDepth_;
  values_ = std::move(savedValues);
  callAttrs_ = savedAttrs;
  scopePrefix_ = savedPrefix;
  for (int i = 0; i < call.output_size(); ++i) {
    if (call.output(i).empty())
      continue;
    values_[call.output(i)] = outs[size_t(i)];
    // The producing node's result carries the caller's tensor name (what other frameworks'
    // activations are keyed by; scoped when the caller is itself inlined), unless it is not
    // an inlined node's result.
    if (auto res = dyn_cast<OpResult>(outs[size_t(i)]))
      if (tensorNameOf(res.getOwner(), res.getResultNumber()) == callName + "/" + fn.output(i))
        renameResult(res.getOwner(), res.getResultNumber(), scopePrefix_ + call.output(i));
  }
}

} // namespace plumb
