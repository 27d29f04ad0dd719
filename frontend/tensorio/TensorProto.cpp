// onnx::TensorProto decoding (raw, typed and external data) and raw_data encoding.
#include "frontend/tensorio/TensorProto.h"

#include "runtime/Error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <optional>

namespace plumb {

namespace {

// Error prefix and the name of the tensor being decoded.
struct Context {
  const std::string &where;
  const std::string &name;
  [[noreturn]] void fail(const std::string &problem) const {
    throw Error(where + ": tensor '" + name + "' " + problem);
  }
};

// numel and byte size with overflow checks; zero dimensions are skipped for the check so
// that numElements() cannot overflow in any order either.
uint64_t checkedByteCount(const Shape &shape, DType dtype, const Context &ctx) {
  uint64_t nonZeroProduct = dtypeSize(dtype);
  bool hasZero = false;
  for (int64_t d : shape) {
    if (d < 0)
      ctx.fail("has negative dimension " + std::to_string(d));
    if (d == 0) {
      hasZero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonZeroProduct, uint64_t(d), &nonZeroProduct) ||
        nonZeroProduct > uint64_t(std::numeric_limits<int64_t>::max()))
      ctx.fail("has a shape too large to represent");
  }
  return hasZero ? 0 : nonZeroProduct;
}

Tensor allocate(DType dtype, const Shape &shape, const Context &ctx) {
  try {
    return Tensor::zeros(dtype, shape);
  } catch (const Error &) {
  } catch (const std::bad_alloc &) {
  }
  ctx.fail("cannot be allocated (" + std::string(dtypeName(dtype)) + "[" + shapeToString(shape) +
           "])");
}

// Bytes `memoryBytes` of tensor data take in a file: 4-bit types pack two elements a byte.
uint64_t fileByteCount(DType dtype, uint64_t memoryBytes) {
  return isPacked4Bit(dtype) ? (memoryBytes + 1) / 2 : memoryBytes;
}

// Unpacks 4-bit elements (the first in the low nibble) in place: the tensor's first
// ceil(n/2) bytes hold the packed data. Runs from the end so no byte is overwritten before
// it is read. i4 values are sign-extended.
void unpack4Bit(Tensor &t) {
  auto *p = t.mutableData<uint8_t>();
  for (int64_t i = t.numel() - 1; i >= 0; --i) {
    uint8_t nibble = uint8_t((p[i / 2] >> (4 * (i % 2))) & 0xFu);
    p[i] = t.dtype() == DType::I4 ? uint8_t(int8_t(uint8_t(nibble << 4)) >> 4) : nibble;
  }
}

std::string describe(DType dtype, const Shape &shape) {
  return std::string(dtypeName(dtype)) + "[" + shapeToString(shape) + "]";
}

// Copies a typed repeated field, converting each value with `convert`.
template <typename Dst, typename Field, typename Convert>
Tensor fromField(const Field &values, const char *field, DType dtype, const Shape &shape,
                 const Context &ctx, Convert convert) {
  // Check the count before allocating: a corrupt file may claim a huge shape with little
  // data (found by tests/fuzz/fuzz_pb; regression input in tests/fuzz/regressions/pb).
  if (int64_t(values.size()) != numElements(shape))
    ctx.fail("has " + std::to_string(values.size()) + " values in " + field + " but " +
             describe(dtype, shape) + " needs " + std::to_string(numElements(shape)));
  Tensor t = allocate(dtype, shape, ctx);
  Dst *out = t.mutableData<Dst>();
  for (int i = 0; i < values.size(); ++i)
    out[i] = convert(values.Get(i));
  return t;
}

template <typename Dst, typename Field>
Tensor fromField(const Field &values, const char *field, DType dtype, const Shape &shape,
                 const Context &ctx) {
  return fromField<Dst>(values, field, dtype, shape, ctx, [](auto v) { return Dst(v); });
}

// 4-bit types in int32_data: one packed byte (two elements) per entry.
Tensor fromPackedField(const onnx::TensorProto &p, DType dtype, const Shape &shape,
                       const Context &ctx) {
  // n / 2 + n % 2, not (n + 1) / 2: n may be INT64_MAX (found by tests/fuzz/fuzz_pb).
  int64_t n = numElements(shape), packed = n / 2 + n % 2;
  if (int64_t(p.int32_data_size()) != packed)
    ctx.fail("has " + std::to_string(p.int32_data_size()) + " values in int32_data but " +
             describe(dtype, shape) + " needs " + std::to_string(packed) +
             " (two 4-bit elements per value)");
  Tensor t = allocate(dtype, shape, ctx);
  auto *out = t.mutableData<uint8_t>();
  for (int64_t i = 0; i < packed; ++i)
    out[i] = uint8_t(p.int32_data(int(i)));
  unpack4Bit(t);
  return t;
}

// The typed fields, as onnx.proto assigns them: small integer types, bool, the 16-bit
// floats and the 8-bit floats (as bit patterns) all live in int32_data, the 4-bit types
// packed two per value; uint32 shares uint64_data.
Tensor fromTypedFields(const onnx::TensorProto &p, DType dtype, const Shape &shape,
                       const Context &ctx) {
  auto &i32 = p.int32_data();
  if (isPacked4Bit(dtype))
    return fromPackedField(p, dtype, shape, ctx);
  switch (dtype) {
  case DType::F32: return fromField<float>(p.float_data(), "float_data", dtype, shape, ctx);
  case DType::F64: return fromField<double>(p.double_data(), "double_data", dtype, shape, ctx);
  case DType::I64: return fromField<int64_t>(p.int64_data(), "int64_data", dtype, shape, ctx);
  case DType::U64: return fromField<uint64_t>(p.uint64_data(), "uint64_data", dtype, shape, ctx);
  case DType::U32: return fromField<uint32_t>(p.uint64_data(), "uint64_data", dtype, shape, ctx);
  case DType::I32: return fromField<int32_t>(i32, "int32_data", dtype, shape, ctx);
  case DType::I16: return fromField<int16_t>(i32, "int32_data", dtype, shape, ctx);
  case DType::I8: return fromField<int8_t>(i32, "int32_data", dtype, shape, ctx);
  case DType::U8:
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::F8E8M0: return fromField<uint8_t>(i32, "int32_data", dtype, shape, ctx);
  case DType::U16:
  case DType::F16:
  case DType::BF16: return fromField<uint16_t>(i32, "int32_data", dtype, shape, ctx);
  case DType::Bool:
    return fromField<uint8_t>(i32, "int32_data", dtype, shape, ctx,
                              [](int32_t v) { return uint8_t(v != 0); });
  case DType::I4:
  case DType::U4:
  case DType::F4E2M1: break; // fromPackedField
  }
  ctx.fail("has an unknown element type");
}

std::optional<uint64_t> parseUnsigned(const std::string &s) {
  if (s.empty() || s.size() > 19 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(s);
}

struct ExternalRef {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

ExternalRef parseExternalRef(const onnx::TensorProto &p, const Context &ctx) {
  ExternalRef ref;
  for (const auto &entry : p.external_data()) {
    if (entry.key() == "location") {
      ref.location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      std::optional<uint64_t> v = parseUnsigned(entry.value());
      if (!v)
        ctx.fail("has invalid external data " + entry.key() + " '" + entry.value() + "'");
      (entry.key() == "offset" ? ref.offset : ref.length.emplace()) = *v;
    }
  }
  if (ref.location.empty())
    ctx.fail("has external data without a location");
  // The location comes from a possibly untrusted model: keep it inside its folder.
  if (ref.location[0] == '/')
    ctx.fail("has external data location '" + ref.location + "' that is not relative");
  size_t start = 0;
  while (start <= ref.location.size()) {
    size_t end = std::min(ref.location.find('/', start), ref.location.size());
    if (ref.location.compare(start, end - start, "..") == 0)
      ctx.fail("has external data location '" + ref.location + "' outside the model folder");
    start = end + 1;
  }
  return ref;
}

// Reads exactly n bytes at `offset`; false on a premature end of file.
bool preadFully(int fd, uint64_t offset, char *dst, size_t n) {
  while (n > 0) {
    ssize_t got = ::pread(fd, dst, std::min<size_t>(n, size_t(1) << 30), off_t(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    dst += got;
    offset += uint64_t(got);
    n -= size_t(got);
  }
  return true;
}

Tensor fromExternalData(const onnx::TensorProto &p, DType dtype, const Shape &shape,
                        const std::string &dir, const Context &ctx) {
  uint64_t bytes = fileByteCount(dtype, checkedByteCount(shape, dtype, ctx));
  ExternalRef ref = parseExternalRef(p, ctx);
  std::string file = dir.empty() ? ref.location : dir + "/" + ref.location;
  std::string fileDesc = "external data file '" + file + "'";
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    ctx.fail(fileDesc + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    ctx.fail(fileDesc + ": not a regular file");
  }
  uint64_t fileSize = uint64_t(st.st_size);
  uint64_t available = ref.offset <= fileSize ? fileSize - ref.offset : 0;
  uint64_t length = ref.length.value_or(available);
  std::string problem;
  if (ref.offset > fileSize || length > available)
    problem = fileDesc + " is too short (offset " + std::to_string(ref.offset) + ", length " +
              std::to_string(length) + ", file " + std::to_string(fileSize) + " bytes)";
  else if (length != bytes)
    problem = "has " + std::to_string(length) + " bytes of external data but " +
              describe(dtype, shape) + " needs " + std::to_string(bytes);
  if (!problem.empty()) {
    ::close(fd);
    ctx.fail(problem);
  }
  Tensor t;
  try {
    t = allocate(dtype, shape, ctx);
  } catch (...) {
    ::close(fd);
    throw;
  }
  bool ok = preadFully(fd, ref.offset, static_cast<char *>(t.mutableRaw()), size_t(bytes));
  ::close(fd);
  if (!ok)
    ctx.fail("could not read " + fileDesc);
  if (isPacked4Bit(dtype))
    unpack4Bit(t);
  return t;
}

} // namespace

Tensor tensorFromProto(const onnx::TensorProto &p, const std::string &where,
                       const std::string &externalDataDir) {
  Context ctx{where, p.name()};
  std::optional<DType> dtype = dtypeFromOnnx(p.data_type());
  if (!dtype)
    ctx.fail("has unsupported element type " + std::to_string(p.data_type()));
  if (p.has_segment())
    ctx.fail("is segmented, which is not supported");
  Shape shape(p.dims().begin(), p.dims().end());
  uint64_t bytes = fileByteCount(*dtype, checkedByteCount(shape, *dtype, ctx));
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return fromExternalData(p, *dtype, shape, externalDataDir, ctx);
  if (!p.has_raw_data())
    return fromTypedFields(p, *dtype, shape, ctx);
  if (p.raw_data().size() != bytes)
    ctx.fail("has " + std::to_string(p.raw_data().size()) + " bytes of raw_data but " +
             describe(*dtype, shape) + " needs " + std::to_string(bytes));
  Tensor t = allocate(*dtype, shape, ctx);
  if (bytes)
    std::memcpy(t.mutableRaw(), p.raw_data().data(), size_t(bytes));
  if (isPacked4Bit(*dtype))
    unpack4Bit(t);
  return t;
}

void tensorToProto(const Tensor &t, const std::string &name, onnx::TensorProto *p) {
  if (!t.defined())
    throw Error("cannot convert undefined tensor '" + name + "' to a TensorProto");
  p->Clear();
  p->set_name(name);
  for (int64_t d : t.shape())
    p->add_dims(d);
  p->set_data_type(dtypeToOnnx(t.dtype()));
  if (!isPacked4Bit(t.dtype())) {
    p->set_raw_data(t.raw(), t.nbytes());
    return;
  }
  std::string packed(size_t(t.numel() + 1) / 2, '\0');
  const auto *v = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    packed[size_t(i / 2)] = char(uint8_t(packed[size_t(i / 2)]) | ((v[i] & 0xFu) << (4 * (i % 2))));
  p->set_raw_data(std::move(packed));
}

} // namespace plumb
