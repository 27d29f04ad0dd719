// Tensor <-> elements attribute conversion; dense and resource data are viewed in place.
#include "ir/TensorAttr.h"

#include "ir/PlumbDialect.h"
#include "runtime/Error.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace plumb {

std::optional<DType> dtypeOf(Type t) {
  auto code = onnxTypeFromElement(t);
  if (!code)
    return std::nullopt;
  return dtypeFromOnnx(*code);
}

std::optional<SmallVector<int64_t>> staticShape(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  return SmallVector<int64_t>(type.getShape());
}

Type elementTypeOf(MLIRContext *ctx, DType t) { return elementTypeFromOnnx(ctx, dtypeToOnnx(t)); }

// MLIR keeps each 4-bit element in a byte but does not promise what the high nibble holds
// (a parsed i4 -1 may be 0x0F): bring 4-bit tensors to plumb's form (DType.h).
static Tensor normalize4Bit(Tensor t) {
  if (!isPacked4Bit(t.dtype()))
    return t;
  auto *p = t.mutableData<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = t.dtype() == DType::I4 ? uint8_t(int8_t(uint8_t(p[i] << 4)) >> 4) : uint8_t(p[i] & 0xFu);
  return t;
}

Tensor tensorFromAttr(ElementsAttr attr) {
  ShapedType type = attr.getShapedType();
  std::optional<DType> dt = dtypeOf(type.getElementType());
  if (!dt)
    throw Error("constant of unsupported element type");
  Shape shape(type.getShape().begin(), type.getShape().end());
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      throw Error("constant '" + res.getRawHandle().getKey().str() + "' has no data");
    ArrayRef<char> data = blob->getData();
    if (int64_t(data.size()) != numElements(shape) * int64_t(dtypeSize(*dt)))
      throw Error("constant blob size does not match its type");
    return Tensor::borrow(*dt, shape, data.data(), nullptr);
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    throw Error("unsupported constant attribute kind");
  if (*dt == DType::Bool) {
    Tensor t = Tensor::zeros(DType::Bool, shape);
    auto *p = t.mutableData<uint8_t>();
    int64_t i = 0;
    for (bool v : dense.getValues<bool>())
      p[i++] = v ? 1 : 0;
    return t;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    Tensor t = Tensor::zeros(*dt, shape);
    size_t es = dtypeSize(*dt);
    auto *p = static_cast<char *>(t.mutableRaw());
    for (int64_t i = 0; i < t.numel(); ++i)
      std::memcpy(p + size_t(i) * es, raw.data(), es);
    return normalize4Bit(t);
  }
  if (isPacked4Bit(*dt))
    return normalize4Bit(Tensor::copyOf(*dt, shape, raw.data()));
  return Tensor::borrow(*dt, shape, raw.data(), nullptr);
}

DenseElementsAttr attrFromTensor(MLIRContext *ctx, const Tensor &t) {
  Type elem = elementTypeOf(ctx, t.dtype());
  auto type = RankedTensorType::get(SmallVector<int64_t>(t.shape().begin(), t.shape().end()), elem);
  if (t.dtype() == DType::Bool) {
    SmallVector<bool> v(size_t(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i)
      v[size_t(i)] = t.data<uint8_t>()[i] != 0;
    return DenseElementsAttr::get(type, ArrayRef<bool>(v));
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(static_cast<const char *>(t.raw()), t.nbytes()));
}

namespace {

ConstantOp constantBehind(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    if (auto fusion = dyn_cast_or_null<FusionOp>(arg.getOwner()->getParentOp()))
      v = fusion.getInputs()[arg.getArgNumber()];
  return v.getDefiningOp<ConstantOp>();
}

} // namespace

bool definedByConstant(Value v) { return bool(constantBehind(v)); }

std::optional<Tensor> constantTensor(Value v) {
  ConstantOp c = constantBehind(v);
  if (!c || !c.getValueAttr())
    return std::nullopt;
  return tensorFromAttr(c.getValueAttr());
}

std::optional<double> constantScalar(Value v) {
  std::optional<Tensor> t = constantTensor(v);
  if (!t || t->numel() != 1)
    return std::nullopt;
  return t->getAsDouble(0);
}

std::shared_ptr<const void> blobReleaseHandle(ElementsAttr attr, BlobHandles &handles) {
  auto res = dyn_cast_or_null<DenseResourceElementsAttr>(attr);
  DialectResourceBlobManager::BlobEntry *entry = res ? res.getRawHandle().getResource() : nullptr;
  if (!entry || !entry->getBlob())
    return nullptr;
  std::shared_ptr<const void> &h = handles[entry];
  if (h)
    return h;
  return h = std::shared_ptr<const void>(entry, [](const void *e) {
    // Runs the blob's deleter: the bytes go back to the allocator now, not with the context.
    const_cast<DialectResourceBlobManager::BlobEntry *>(
        static_cast<const DialectResourceBlobManager::BlobEntry *>(e))
        ->setBlob(AsmResourceBlob());
  });
}

size_t releaseResourceBlobs(Operation *root) {
  size_t freed = 0;
  root->walk([&](ConstantOp c) {
    auto res = dyn_cast_or_null<DenseResourceElementsAttr>(c.getValueAttr());
    if (!res)
      return;
    DialectResourceBlobManager::BlobEntry *entry = res.getRawHandle().getResource();
    if (!entry || !entry->getBlob())
      return;
    freed += entry->getBlob()->getData().size();
    entry->setBlob(AsmResourceBlob()); // runs the old blob's deleter
  });
  return freed;
}

} // namespace plumb
