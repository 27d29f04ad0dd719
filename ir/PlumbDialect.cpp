// The plumb dialect: registration, folders, ONNX identity in locations, type mapping.
#include "ir/PlumbDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace plumb;

#include "ir/PlumbDialect.cpp.inc"
#include "ir/PlumbInterfaces.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/PlumbTypes.cpp.inc"

#define GET_OP_CLASSES
#include "ir/PlumbOps.cpp.inc"

void PlumbDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "ir/PlumbTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ir/PlumbOps.cpp.inc"
      >();
}

LogicalResult OptType::verify(function_ref<InFlightDiagnostic()> emitError, Type elementType) {
  if (!isa<TensorType, SeqType>(elementType))
    return emitError() << "optional element must be a tensor or sequence type, got "
                       << elementType;
  return success();
}

OpFoldResult NoneOp::fold(FoldAdaptor) { return UnitAttr::get(getContext()); }

OpFoldResult ConstantOp::fold(FoldAdaptor) {
  if (auto v = getValueAttr())
    return v;
  return {};
}

// FusionOp's region is built by passes; give builders an entry block matching the inputs.
namespace plumb {

llvm::StringRef onnxOpType(Operation *op) {
  if (!isa<PlumbDialect>(op->getDialect()) || isa<NoneOp, FusionOp, YieldOp>(op))
    return {};
  return op->getName().stripDialect();
}

Location makeNodeLoc(MLIRContext *ctx, llvm::StringRef nodeName,
                     llvm::ArrayRef<std::string> outputNames) {
  SmallVector<Attribute> names;
  for (const std::string &n : outputNames)
    names.push_back(StringAttr::get(ctx, n));
  Location name = NameLoc::get(StringAttr::get(ctx, nodeName));
  return FusedLoc::get(ctx, {name}, ArrayAttr::get(ctx, names));
}

Location fuseNodeLocs(llvm::ArrayRef<Location> locs, llvm::ArrayRef<std::string> outputNames) {
  MLIRContext *ctx = locs.front()->getContext();
  SmallVector<Attribute> names;
  for (const std::string &n : outputNames)
    names.push_back(StringAttr::get(ctx, n));
  return FusedLoc::get(ctx, locs, ArrayAttr::get(ctx, names));
}

static FusedLoc nodeFusedLoc(Operation *op) {
  auto fused = dyn_cast<FusedLoc>(op->getLoc());
  if (fused && isa_and_nonnull<ArrayAttr>(fused.getMetadata()))
    return fused;
  return {};
}

// Every ONNX node name in a location tree, in order (a rewrite that merges ops, such as
// Conv+BN folding or fusion, nests the merged ops' locations).
static void collectNodeNames(Location loc, std::vector<std::string> &out) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    out.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      collectNodeNames(l, out);
}

std::string nodeNameOf(Operation *op) {
  std::vector<std::string> names;
  collectNodeNames(op->getLoc(), names);
  return names.empty() ? "" : names.front();
}

std::vector<std::string> nodeNamesOf(Operation *op) {
  std::vector<std::string> names;
  collectNodeNames(op->getLoc(), names);
  return names;
}

std::vector<Operation *> fusionBodyOps(FusionOp fusion,
                                       llvm::function_ref<void(Operation *)> onConstant) {
  std::vector<Operation *> ops;
  for (Operation &op : fusion.getBody().front().without_terminator()) {
    if (isa<NoneOp, ConstantOp>(&op))
      onConstant(&op);
    else
      ops.push_back(&op);
  }
  return ops;
}

std::string joinedNodeNames(Operation *op) {
  std::string s;
  for (const std::string &n : nodeNamesOf(op))
    s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string tensorNameOf(Operation *op, unsigned i) {
  FusedLoc fused = nodeFusedLoc(op);
  if (!fused)
    return "";
  auto names = cast<ArrayAttr>(fused.getMetadata());
  if (i >= names.size())
    return "";
  auto s = dyn_cast<StringAttr>(names[i]);
  return s ? s.str() : "";
}

Type elementTypeFromOnnx(MLIRContext *ctx, int32_t onnxType) {
  Builder b(ctx);
  switch (onnxType) {
  case 1: return b.getF32Type();
  case 2: return b.getIntegerType(8, /*isSigned=*/false);
  case 3: return b.getIntegerType(8);
  case 4: return b.getIntegerType(16, false);
  case 5: return b.getIntegerType(16);
  case 6: return b.getIntegerType(32);
  case 7: return b.getIntegerType(64);
  case 9: return b.getI1Type();
  case 10: return b.getF16Type();
  case 11: return b.getF64Type();
  case 12: return b.getIntegerType(32, false);
  case 13: return b.getIntegerType(64, false);
  case 16: return b.getBF16Type();
  case 17: return Float8E4M3FNType::get(ctx);
  case 18: return Float8E4M3FNUZType::get(ctx);
  case 19: return Float8E5M2Type::get(ctx);
  case 20: return Float8E5M2FNUZType::get(ctx);
  case 21: return b.getIntegerType(4, /*isSigned=*/false);
  case 22: return b.getIntegerType(4);
  case 23: return Float4E2M1FNType::get(ctx);
  case 24: return Float8E8M0FNUType::get(ctx);
  default: return {};
  }
}

std::optional<int32_t> onnxTypeFromElement(Type t) {
  if (t.isF32()) return 1;
  if (t.isF16()) return 10;
  if (t.isBF16()) return 16;
  if (t.isF64()) return 11;
  if (t.isInteger(1)) return 9;
  if (isa<Float8E4M3FNType>(t)) return 17;
  if (isa<Float8E4M3FNUZType>(t)) return 18;
  if (isa<Float8E5M2Type>(t)) return 19;
  if (isa<Float8E5M2FNUZType>(t)) return 20;
  if (isa<Float4E2M1FNType>(t)) return 23;
  if (isa<Float8E8M0FNUType>(t)) return 24;
  if (auto it = dyn_cast<IntegerType>(t)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 4: return u ? 21 : 22;
    case 8: return u ? 2 : 3;
    case 16: return u ? 4 : 5;
    case 32: return u ? 12 : 6;
    case 64: return u ? 13 : 7;
    default: return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string typeToString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

} // namespace plumb
