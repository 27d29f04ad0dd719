// Weight import: raw_data moves into resource blobs, external data is memory-mapped, so a
// model's weights exist once in memory after import.
#include "frontend/onnx/Weights.h"

#include "frontend/tensorio/TensorProto.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

using namespace mlir;

namespace plumb {

// A read-only memory mapping of a whole file, shared by the blobs that point into it.
class MappedFile {
public:
  static std::shared_ptr<MappedFile> open(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0)
      return nullptr;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return nullptr;
    }
    auto f = std::make_shared<MappedFile>();
    f->size = size_t(st.st_size);
    if (f->size > 0) {
      void *p = ::mmap(nullptr, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return nullptr;
      }
      f->data = static_cast<const char *>(p);
    }
    ::close(fd);
    return f;
  }
  ~MappedFile() {
    if (data)
      ::munmap(const_cast<char *>(data), size);
  }
  const char *data = nullptr;
  size_t size = 0;
};

WeightImporter::WeightImporter(MLIRContext &ctx, std::string modelDir, size_t blobThreshold)
    : ctx_(ctx), modelDir_(std::move(modelDir)), blobThreshold_(blobThreshold) {}
WeightImporter::~WeightImporter() = default;

RankedTensorType WeightImporter::typeOf(const onnx::TensorProto &t, const std::string &where) {
  Type elem = elementTypeFromOnnx(&ctx_, t.data_type());
  if (!elem)
    throw Error(where + ": tensor '" + t.name() + "' has unsupported element type " +
                std::to_string(t.data_type()));
  SmallVector<int64_t> dims;
  for (int64_t d : t.dims()) {
    if (d < 0)
      throw Error(where + ": tensor '" + t.name() + "' has negative dim " + std::to_string(d));
    dims.push_back(d);
  }
  return RankedTensorType::get(dims, elem);
}

// 4-bit types are packed two per byte in files and one per byte in memory.
static bool isPacked(const onnx::TensorProto &t) {
  std::optional<DType> d = dtypeFromOnnx(t.data_type());
  return d && isPacked4Bit(*d);
}

static size_t byteSize(RankedTensorType type) {
  return size_t(type.getNumElements()) * size_t((type.getElementTypeBitWidth() + 7) / 8);
}

ElementsAttr WeightImporter::externalAttr(const onnx::TensorProto &t, RankedTensorType type,
                                          const std::string &where) {
  std::string location;
  size_t offset = 0, length = 0;
  bool hasLength = false;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = size_t(std::stoull(kv.value()));
    else if (kv.key() == "length")
      length = size_t(std::stoull(kv.value())), hasLength = true;
  }
  if (location.empty() || location[0] == '/' || location.find("..") != std::string::npos)
    throw Error(where + ": tensor '" + t.name() + "' has invalid external data location '" +
                location + "'");
  std::string file = modelDir_ + "/" + location;
  auto &mapped = mapped_[file];
  if (!mapped)
    mapped = MappedFile::open(file);
  if (!mapped)
    throw Error(where + ": tensor '" + t.name() + "': cannot open external data file " + file);
  size_t need = byteSize(type);
  if ((hasLength && length != need) || offset > mapped->size || mapped->size - offset < need)
    throw Error(where + ": tensor '" + t.name() + "': external data in " + file +
                " is shorter than its type " + std::to_string(need) + " bytes");
  const char *p = mapped->data + offset;
  size_t align = std::max<size_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
  if (reinterpret_cast<uintptr_t>(p) % align != 0)
    return DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(p, need));
  std::shared_ptr<MappedFile> keep = mapped;
  AsmResourceBlob blob(ArrayRef<char>(p, need), align,
                       [keep](void *, size_t, size_t) mutable { keep.reset(); }, false);
  return DenseResourceElementsAttr::get(type, t.name(), std::move(blob));
}

ElementsAttr WeightImporter::tensorAttr(const onnx::TensorProto &t, const std::string &where) {
  RankedTensorType type = typeOf(t, where);
  if (t.data_location() == onnx::TensorProto::EXTERNAL && !isPacked(t))
    return externalAttr(t, type, where);
  Tensor tensor = tensorFromProto(t, where, modelDir_);
  return attrFromTensor(&ctx_, tensor);
}

Value WeightImporter::importInitializer(OpBuilder &b, onnx::TensorProto &init,
                                        const std::string &where) {
  RankedTensorType type = typeOf(init, where);
  ElementsAttr value;
  // bool and the packed 4-bit types need converting; tensorAttr does that.
  bool convert = type.getElementType().isInteger(1) || isPacked(init);
  if (init.data_location() == onnx::TensorProto::EXTERNAL && !convert) {
    value = externalAttr(init, type, where);
  } else if (init.has_raw_data() && !convert && init.raw_data().size() >= blobThreshold_) {
    size_t need = byteSize(type);
    if (init.raw_data().size() != need)
      throw Error(where + ": tensor '" + init.name() + "' has " +
                  std::to_string(init.raw_data().size()) + " bytes of data, its type needs " +
                  std::to_string(need));
    // Take the bytes out of the proto: the blob owns them from now on (no copy).
    std::string *owned = init.release_raw_data();
    size_t align = std::max<size_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
    if (reinterpret_cast<uintptr_t>(owned->data()) % align != 0) {
      value = DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(owned->data(), need));
      delete owned;
    } else {
      AsmResourceBlob blob(ArrayRef<char>(owned->data(), need), align,
                           [owned](void *, size_t, size_t) { delete owned; }, false);
      value = DenseResourceElementsAttr::get(type, init.name(), std::move(blob));
    }
  } else {
    value = tensorAttr(init, where);
  }
  Location loc = makeNodeLoc(&ctx_, init.name(), {init.name()});
  return ConstantOp::create(b, loc, value.getShapedType(), value, nullptr, nullptr, nullptr,
                            nullptr);
}

} // namespace plumb
