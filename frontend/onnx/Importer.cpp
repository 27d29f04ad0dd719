// ONNX import: parses the ModelProto, maps initializers to constants without copying their
// bytes again, and builds one plumb op per node with ONNX identity in its location.
#include "frontend/onnx/Importer.h"

#include "frontend/onnx/GraphImporter.h"
#include "frontend/tensorio/TensorProto.h"
#include "ir/PlumbDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <fcntl.h>
#include <limits>
#include <unistd.h>

#include <map>
#include <unordered_map>

using namespace mlir;

namespace plumb {
namespace {

// The newest default-domain opset whose semantics plumb implements.
constexpr int64_t kMaxOpset = 25;

// ONNX op types with optional trailing inputs: the importer pads their operands with
// `plumb.none` to this arity so that operands stay ONNX-positional.
const std::map<std::string, unsigned, std::less<>> &paddedArity() {
  static const std::map<std::string, unsigned, std::less<>> m = {
      {"Conv", 3}, {"ConvTranspose", 3}, {"Gemm", 3}, {"LayerNormalization", 3},
      {"Clip", 3}, {"Pad", 4}, {"Resize", 4}, {"Slice", 5}, {"Split", 2},
      {"Squeeze", 2}, {"Unsqueeze", 2}, {"Dropout", 3}, {"Trilu", 2},
      {"ReduceSum", 2}, {"ReduceMean", 2}, {"ReduceMax", 2}, {"ReduceMin", 2},
      {"ReduceProd", 2}, {"ReduceL1", 2}, {"ReduceL2", 2}, {"ReduceLogSum", 2},
      {"ReduceLogSumExp", 2}, {"ReduceSumSquare", 2},
      {"NegativeLogLikelihoodLoss", 3}, {"SoftmaxCrossEntropyLoss", 3}, {"RNN", 6},
      {"GRU", 6}, {"LSTM", 8}, {"NonMaxSuppression", 5}, {"MaxUnpool", 3}, {"Upsample", 2},
      {"QuantizeLinear", 3}, {"DequantizeLinear", 3}, {"MatMulInteger", 4},
      {"ConvInteger", 4}, {"QLinearConv", 9}, {"DFT", 3}, {"STFT", 4},
      {"Attention", 7}, {"RotaryEmbedding", 4}, {"SequenceInsert", 3}, {"SequenceErase", 2},
      {"SplitToSequence", 2}, {"Optional", 1}, {"OptionalHasElement", 1}, {"Loop", 2},
      {"DeformConv", 5}, {"TensorScatter", 3}};
  return m;
}

onnx::ModelProto parseModel(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    throw Error(path + ": cannot open file");
  onnx::ModelProto model;
  bool ok;
  {
    google::protobuf::io::FileInputStream in(fd);
    ok = model.ParseFromZeroCopyStream(&in) && in.GetErrno() == 0;
  }
  ::close(fd);
  if (!ok)
    throw Error(path + ": not a valid ONNX model (protobuf parse failed: truncated or corrupt)");
  if (!model.has_graph())
    throw Error(path + ": not a valid ONNX model (no graph)");
  return model;
}

onnx::ModelProto parseModelBytes(const void *data, size_t size, const std::string &where) {
  onnx::ModelProto model;
  if (size > size_t(std::numeric_limits<int>::max()) || !model.ParseFromArray(data, int(size)))
    throw Error(where + ": not a valid ONNX model (protobuf parse failed: truncated or corrupt)");
  if (!model.has_graph())
    throw Error(where + ": not a valid ONNX model (no graph)");
  return model;
}

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

} // namespace

GraphImporter::GraphImporter(MLIRContext &ctx, const std::string &path,
                             const ImportOptions &opts, ModelInfo &info)
    : ctx_(ctx), b_(&ctx), path_(path), opts_(opts), info_(info),
      weights_(ctx, dirOf(path), opts.blobThresholdBytes) {}

Type GraphImporter::typeFromProto(const onnx::TypeProto &t, const std::string &name,
                                  bool isInput, bool allowMissing) {
  if (t.value_case() == onnx::TypeProto::VALUE_NOT_SET && allowMissing)
    return {};
  if (t.has_sequence_type()) {
    if (!t.sequence_type().has_elem_type() && allowMissing)
      return {};
    auto e = dyn_cast<TensorType>(typeFromProto(t.sequence_type().elem_type(), name, false));
    if (!e)
      fail("value '" + name + "' is a sequence of non-tensors (unsupported)");
    return SeqType::get(&ctx_, e);
  }
  if (t.has_optional_type()) {
    if (!t.optional_type().has_elem_type() && allowMissing)
      return {};
    Type e = typeFromProto(t.optional_type().elem_type(), name, false);
    if (!isa<TensorType, SeqType>(e))
      fail("value '" + name + "' is an optional of an optional (unsupported)");
    return OptType::get(&ctx_, e);
  }
  if (!t.has_tensor_type())
    fail("value '" + name + "' is not a tensor, sequence or optional (maps and sparse tensors are unsupported)");
  const auto &tt = t.tensor_type();
  Type elem = elementTypeFromOnnx(&ctx_, tt.elem_type());
  if (!elem)
    fail("value '" + name + "' has unsupported element type " + std::to_string(tt.elem_type()));
  if (!tt.has_shape())
    return UnrankedTensorType::get(elem);
  SmallVector<int64_t> dims;
  for (const auto &d : tt.shape().dim())
    dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : ShapedType::kDynamic);
  auto pinned = isInput ? opts_.inputShapes.find(name) : opts_.inputShapes.end();
  if (pinned != opts_.inputShapes.end()) {
    const auto &p = pinned->second;
    if (p.size() != dims.size())
      fail("--input-shape for '" + name + "' has rank " + std::to_string(p.size()) +
           ", the model's input has rank " + std::to_string(dims.size()));
    for (size_t i = 0; i < dims.size(); ++i) {
      if (!ShapedType::isDynamic(dims[i]) && p[i] >= 0 && p[i] != dims[i])
        fail("--input-shape for '" + name + "' sets dim " + std::to_string(i) + " to " +
             std::to_string(p[i]) + ", the model fixes it at " + std::to_string(dims[i]));
      if (p[i] >= 0)
        dims[i] = p[i];
    }
  }
  return RankedTensorType::get(dims, elem);
}

void GraphImporter::importInitializers(onnx::GraphProto &g) {
  for (const auto &node : g.node())
    if (node.op_type() == "BatchNormalization")
      for (int i = 3; i < node.input_size() && i < 5; ++i)
        bnStatistics_.insert(node.input(i));
  for (auto &init : *g.mutable_initializer()) {
    std::string name = init.name();
    Value v = weights_.importInitializer(b_, init, path_);
    values_[name] = v;
    auto type = cast<ShapedType>(v.getType());
    int64_t n = type.getNumElements();
    info_.weightBytes += int64_t(n * ((type.getElementTypeBitWidth() + 7) / 8));
    if (isa<FloatType>(type.getElementType()) && !bnStatistics_.count(name)) {
      info_.trainableParams += n;
      ++info_.trainableTensors;
    } else {
      info_.bufferElements += n;
      ++info_.bufferTensors;
    }
  }
}

func::FuncOp GraphImporter::createFunction(const onnx::GraphProto &g, ModuleOp module) {
  std::set<std::string> initNames;
  for (const auto &init : g.initializer())
    initNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &in : g.input()) {
    if (initNames.count(in.name()))
      continue; // an initializer listed as input (IR version < 4): treat as a constant
    argTypes.push_back(typeFromProto(in.type(), in.name(), true));
    argNames.push_back(in.name());
  }
  for (const auto &[name, shape] : opts_.inputShapes)
    if (!llvm::is_contained(argNames, name))
      fail("--input-shape names '" + name + "', which is not a graph input");
  b_.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b_, NameLoc::get(b_.getStringAttr(g.name())), "main",
                                 b_.getFunctionType(argTypes, {}));
  entry_ = fn.addEntryBlock();
  for (size_t i = 0; i < argNames.size(); ++i) {
    fn.setArgAttr(unsigned(i), kNameAttr, b_.getStringAttr(argNames[i]));
    entry_->getArgument(unsigned(i)).setLoc(NameLoc::get(b_.getStringAttr(argNames[i])));
    values_[argNames[i]] = entry_->getArgument(unsigned(i));
  }
  b_.setInsertionPointToStart(entry_);
  return fn;
}

Value GraphImporter::noneValue() {
  if (!none_) {
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToStart(entry_);
    none_ = NoneOp::create(b_, b_.getUnknownLoc(), b_.getNoneType());
  }
  return none_;
}

// Null for attributes that are not attributes in plumb (subgraphs become regions) and for
// references to attributes an inlined function's call does not set (the op's default holds).
std::optional<NamedAttribute> GraphImporter::convertAttribute(const onnx::NodeProto &node,
                                                              const onnx::AttributeProto &attr) {
  const onnx::AttributeProto *ap = &attr;
  onnx::AttributeProto resolved;
  if (!attr.ref_attr_name().empty()) {
    auto it = callAttrs_ ? callAttrs_->find(attr.ref_attr_name()) : decltype(callAttrs_->end()){};
    if (!callAttrs_ || it == callAttrs_->end())
      return std::nullopt;
    resolved = it->second;
    resolved.set_name(attr.name());
    ap = &resolved;
  }
  const onnx::AttributeProto &a = *ap;
  StringAttr name = b_.getStringAttr(a.name());
  auto where = [&] { return "node '" + node.name() + "' (" + node.op_type() + ") attribute '" + a.name() + "'"; };
  switch (a.type()) {
  case onnx::AttributeProto::INT:
    return NamedAttribute(name, b_.getI64IntegerAttr(a.i()));
  case onnx::AttributeProto::FLOAT:
    return NamedAttribute(name, b_.getF32FloatAttr(a.f()));
  case onnx::AttributeProto::STRING:
    return NamedAttribute(name, b_.getStringAttr(a.s()));
  case onnx::AttributeProto::INTS:
    return NamedAttribute(name, b_.getI64ArrayAttr(SmallVector<int64_t>(a.ints().begin(), a.ints().end())));
  case onnx::AttributeProto::FLOATS:
    return NamedAttribute(name, b_.getF32ArrayAttr(SmallVector<float>(a.floats().begin(), a.floats().end())));
  case onnx::AttributeProto::STRINGS: {
    SmallVector<StringRef> s(a.strings().begin(), a.strings().end());
    return NamedAttribute(name, b_.getStrArrayAttr(s));
  }
  case onnx::AttributeProto::TENSOR:
    return NamedAttribute(name, weights_.tensorAttr(a.t(), path_ + ": " + where()));
  case onnx::AttributeProto::TYPE_PROTO:
    return NamedAttribute(name, TypeAttr::get(typeFromProto(a.tp(), where(), false)));
  case onnx::AttributeProto::GRAPH:
    if (hasRegions(node.op_type()))
      return std::nullopt; // imported as a region by importRegions
    [[fallthrough]];
  default:
    fail(where() + " has unsupported kind " + onnx::AttributeProto::AttributeType_Name(a.type()));
  }
}

// ONNX value_info (and graph output types) may know more than our inference, e.g. for
// data-dependent shapes the exporter resolved; take it where ours is less precise.
void GraphImporter::refineFromValueInfo(Operation *op, const onnx::NodeProto &node) {
  for (unsigned i = 0; i < op->getNumResults() && int(i) < node.output_size(); ++i) {
    auto it = valueInfo_.find(node.output(int(i)));
    if (it == valueInfo_.end())
      continue;
    auto ours = dyn_cast<TensorType>(op->getResult(i).getType());
    auto theirs = dyn_cast<RankedTensorType>(it->second);
    if (!ours || !theirs || theirs.getElementType() != ours.getElementType())
      continue;
    auto oursRanked = dyn_cast<RankedTensorType>(ours);
    if (!oursRanked) {
      op->getResult(i).setType(theirs);
      continue;
    }
    if (oursRanked.getRank() != theirs.getRank())
      continue;
    SmallVector<int64_t> dims(oursRanked.getShape());
    for (size_t d = 0; d < dims.size(); ++d)
      if (ShapedType::isDynamic(dims[d]))
        dims[d] = theirs.getDimSize(unsigned(d));
    op->getResult(i).setType(RankedTensorType::get(dims, ours.getElementType()));
  }
}

void GraphImporter::verifyNode(Operation *op, const onnx::NodeProto &node,
                               const std::string &name) {
  std::string diag;
  ScopedDiagnosticHandler handler(&ctx_, [&](Diagnostic &d) {
    if (diag.empty())
      diag = d.str();
    return success();
  });
  auto iface = dyn_cast<ShapeInferenceOpInterface>(op);
  if ((iface && failed(iface.inferShapes())) || failed(mlir::verify(op)))
    fail("node '" + name + "' (" + node.op_type() + "): " + (diag.empty() ? "invalid" : diag));
}

// Ops of the preview-training domain plumb implements (opset 1 of that domain).
static bool isTrainingOp(const std::string &domain, const std::string &opType) {
  return domain == "ai.onnx.preview.training" &&
         (opType == "Adam" || opType == "Adagrad" || opType == "Momentum");
}

void GraphImporter::importNode(const onnx::NodeProto &node, size_t index) {
  const std::string &opType = node.op_type();
  std::string name =
      scopePrefix_ + (node.name().empty() ? opType + "_" + std::to_string(index) : node.name());
  if (const onnx::FunctionProto *fn = findFunction(node)) {
    inlineFunction(node, *fn, name);
    return;
  }
  if (!node.domain().empty() && node.domain() != "ai.onnx" && !isTrainingOp(node.domain(), opType))
    fail("unsupported op '" + opType + "' from domain '" + node.domain() + "' (node '" + name +
         "')");
  std::string opName = "plumb." + opType;
  auto registered = RegisteredOperationName::lookup(opName, &ctx_);
  if (!registered || opType == "none" || opType == "fusion" || opType == "yield")
    fail("unsupported op '" + opType + "' (node '" + name + "', opset " +
         std::to_string(info_.opset) + ")");

  SmallVector<Value> operands;
  for (const std::string &in : node.input()) {
    if (in.empty()) {
      operands.push_back(noneValue());
      continue;
    }
    auto it = values_.find(in);
    if (it == values_.end())
      fail("node '" + name + "' (" + opType + ") reads '" + in +
           "', which no earlier node, initializer or graph input produces");
    operands.push_back(it->second);
  }
  auto arity = paddedArity().find(opType);
  if (arity != paddedArity().end())
    while (operands.size() < arity->second)
      operands.push_back(noneValue());
  // Identity of a sequence or optional (opset 14/16) forwards the value: plumb.Identity
  // stays a tensor op that fusion and the backends understand.
  if (opType == "Identity" && operands.size() == 1 && node.output_size() == 1 &&
      !isa<TensorType>(operands[0].getType())) {
    values_[node.output(0)] = operands[0];
    return;
  }

  Operation *op = createOp(node, name, *registered, operands);
  if (hasRegions(opType))
    importRegions(op, node, name);
  verifyNode(op, node, name);
  refineFromValueInfo(op, node);
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      values_[node.output(i)] = op->getResult(unsigned(i));
  if (opType == "Constant") {
    ++info_.bufferTensors;
    if (auto t = dyn_cast<RankedTensorType>(op->getResult(0).getType()))
      info_.bufferElements += t.getNumElements();
  }
}

Operation *GraphImporter::createOp(const onnx::NodeProto &node, const std::string &name,
                                   OperationName opName, ValueRange operands) {
  SmallVector<NamedAttribute> attrs;
  for (const auto &a : node.attribute())
    if (auto converted = convertAttribute(node, a))
      attrs.push_back(*converted);
  // Output names in the location are scoped like node names (inlined functions).
  std::vector<std::string> outNames;
  for (const std::string &out : node.output())
    outNames.push_back(out.empty() ? out : scopePrefix_ + out);
  OperationState state(makeNodeLoc(&ctx_, name, outNames), opName);
  state.addOperands(operands);
  state.addAttributes(attrs);
  state.addTypes(SmallVector<Type>(outNames.size(), UnrankedTensorType::get(b_.getF32Type())));
  if (hasRegions(node.op_type()))
    for (int i = 0; i < (node.op_type() == "If" ? 2 : 1); ++i)
      state.addRegion();
  return b_.create(state);
}

OwningOpRef<ModuleOp> GraphImporter::run(onnx::ModelProto &model) {
  info_.path = path_;
  info_.irVersion = model.ir_version();
  info_.producer = model.producer_name() + " " + model.producer_version();
  info_.opset = 0;
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      info_.opset = o.version();
  if (info_.opset == 0)
    info_.opset = 1; // ONNX: a model without a default-domain import is at opset 1
  if (info_.opset > kMaxOpset)
    fail("opset " + std::to_string(info_.opset) + " is newer than plumb supports (up to " +
         std::to_string(kMaxOpset) + ")");
  for (const auto &f : model.functions())
    functions_[{f.domain(), f.name()}] = &f;

  onnx::GraphProto &g = *model.mutable_graph();
  info_.graphName = g.name();
  OwningOpRef<ModuleOp> module = ModuleOp::create(NameLoc::get(b_.getStringAttr(path_)));
  (*module)->setAttr(kOpsetAttr, b_.getI64IntegerAttr(info_.opset));
  auto noteValueInfo = [&](const onnx::ValueInfoProto &vi) {
    if (vi.type().has_tensor_type() &&
        elementTypeFromOnnx(&ctx_, vi.type().tensor_type().elem_type()))
      valueInfo_[vi.name()] = typeFromProto(vi.type(), vi.name(), false);
  };
  for (const auto &vi : g.value_info())
    noteValueInfo(vi);
  for (const auto &vi : g.output())
    noteValueInfo(vi);

  func::FuncOp fn = createFunction(g, *module);
  importInitializers(g);
  for (int i = 0; i < g.node_size(); ++i) {
    importNode(g.node(i), size_t(i));
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &out : g.output()) {
    auto it = values_.find(out.name());
    if (it == values_.end())
      fail("graph output '" + out.name() + "' is not produced by any node");
    results.push_back(it->second);
    resultTypes.push_back(it->second.getType());
  }
  b_.setInsertionPointToEnd(entry_);
  func::ReturnOp::create(b_, b_.getUnknownLoc(), results);
  fn.setFunctionType(b_.getFunctionType(fn.getArgumentTypes(), resultTypes));
  for (int i = 0; i < g.output_size(); ++i)
    fn.setResultAttr(unsigned(i), kNameAttr, b_.getStringAttr(g.output(i).name()));
  if (failed(mlir::verify(*module)))
    fail("the imported module does not verify");
  return module;
}

void loadPlumbDialects(MLIRContext &ctx) {
  ctx.loadDialect<PlumbDialect, func::FuncDialect>();
}

Operation *mainFunction(ModuleOp module) { return module.lookupSymbol<func::FuncOp>("main"); }

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &ctx, const std::string &path,
                                     const ImportOptions &opts, ModelInfo *info) {
  loadPlumbDialects(ctx);
  onnx::ModelProto model = parseModel(path);
  ModelInfo local;
  GraphImporter importer(ctx, path, opts, info ? *info : local);
  return importer.run(model);
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &ctx, const void *data, size_t size,
                                      const std::string &where, const ImportOptions &opts,
                                      ModelInfo *info) {
  loadPlumbDialects(ctx);
  onnx::ModelProto model = parseModelBytes(data, size, where);
  ModelInfo local;
  GraphImporter importer(ctx, where, opts, info ? *info : local);
  return importer.run(model);
}

} // namespace plumb
