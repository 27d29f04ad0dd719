// Tensor storage, reshaping and element conversion.
#include "runtime/Tensor.h"

#include "runtime/Error.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace plumb {

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string shapeToString(const Shape &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += 'x';
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s;
}

namespace {
#ifdef __linux__
// Large tensors (graph outputs such as GPT-2's 8x128x50257 logits on an executor's first run;
// later runs reuse released outputs, see Executor::OutputPool) come straight from mmap,
// zeroed by the kernel, in transparent huge pages where the system allows them (madvise
// mode): 206 MB took 163 ms with aligned_alloc + memset (50k 4 KiB page faults).
std::shared_ptr<void> allocateLarge(size_t bytes) {
  const size_t huge = size_t(2) << 20;
  size_t len = (bytes + huge - 1) / huge * huge, total = len + huge;
  void *base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return nullptr;
  auto *start = static_cast<char *>(base);
  auto *aligned = reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(start) + huge - 1) /
                                           huge * huge);
  if (aligned > start)
    munmap(start, size_t(aligned - start));
  if (size_t tail = size_t(start + total - (aligned + len)))
    munmap(aligned + len, tail);
  madvise(aligned, len, MADV_HUGEPAGE); // a hint: failure leaves ordinary pages
  return std::shared_ptr<void>(aligned, [len](void *p) { munmap(p, len); });
}
#endif

std::shared_ptr<void> allocate(size_t bytes) {
  // 64-byte alignment suits every vector width the backends use.
  size_t rounded = ((bytes == 0 ? 1 : bytes) + 63) / 64 * 64;
#ifdef __linux__
  if (rounded >= (size_t(16) << 20))
    if (std::shared_ptr<void> p = allocateLarge(rounded))
      return p;
#endif
  void *p = std::aligned_alloc(64, rounded);
  if (!p)
    throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, std::free);
}

template <typename To, typename From> To convertOne(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v))
      return To(0);
    // Saturate out-of-range values instead of invoking UB.
    if (v >= double(std::numeric_limits<To>::max()))
      return std::numeric_limits<To>::max();
    if (v <= double(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    return To(v);
  } else {
    return To(v);
  }
}

// Read element i of a typed buffer into a wide type W (double or int64/uint64).
double loadDouble(DType t, const void *p, int64_t i) {
  switch (t) {
  case DType::F32: return static_cast<const float *>(p)[i];
  case DType::F64: return static_cast<const double *>(p)[i];
  case DType::F16: return halfToFloat(static_cast<const uint16_t *>(p)[i]);
  case DType::BF16: return bf16ToFloat(static_cast<const uint16_t *>(p)[i]);
  case DType::I64: return double(static_cast<const int64_t *>(p)[i]);
  case DType::I32: return static_cast<const int32_t *>(p)[i];
  case DType::I16: return static_cast<const int16_t *>(p)[i];
  case DType::I8: return static_cast<const int8_t *>(p)[i];
  case DType::U8: return static_cast<const uint8_t *>(p)[i];
  case DType::U16: return static_cast<const uint16_t *>(p)[i];
  case DType::U32: return static_cast<const uint32_t *>(p)[i];
  case DType::U64: return double(static_cast<const uint64_t *>(p)[i]);
  case DType::Bool: return static_cast<const uint8_t *>(p)[i] ? 1.0 : 0.0;
  case DType::I4: return static_cast<const int8_t *>(p)[i];
  case DType::U4: return static_cast<const uint8_t *>(p)[i];
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::F4E2M1:
  case DType::F8E8M0: return smallFloatToFloat(t, static_cast<const uint8_t *>(p)[i]);
  }
  return 0;
}

int64_t loadInt(DType t, const void *p, int64_t i) {
  switch (t) {
  case DType::I64: return static_cast<const int64_t *>(p)[i];
  case DType::I32: return static_cast<const int32_t *>(p)[i];
  case DType::I16: return static_cast<const int16_t *>(p)[i];
  case DType::I8: return static_cast<const int8_t *>(p)[i];
  case DType::U8: return static_cast<const uint8_t *>(p)[i];
  case DType::U16: return static_cast<const uint16_t *>(p)[i];
  case DType::U32: return static_cast<const uint32_t *>(p)[i];
  case DType::U64: return int64_t(static_cast<const uint64_t *>(p)[i]);
  case DType::Bool: return static_cast<const uint8_t *>(p)[i] ? 1 : 0;
  case DType::I4: return static_cast<const int8_t *>(p)[i];
  case DType::U4: return static_cast<const uint8_t *>(p)[i];
  default: return convertOne<int64_t>(loadDouble(t, p, i));
  }
}

bool holdsFloats(DType t) { return isFloat(t) || isSmallFloat(t); }

template <typename To> void storeFrom(DType from, const void *src, To *dst, int64_t n) {
  if (holdsFloats(from)) {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = convertOne<To>(loadDouble(from, src, i));
  } else if (from == DType::U64) {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = convertOne<To>(static_cast<const uint64_t *>(src)[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = convertOne<To>(loadInt(from, src, i));
  }
}

// Element i as an integer for a 4-bit destination: floats truncate toward zero (NaN gives
// 0, values beyond int64 saturate) before the wrap-around.
int64_t truncatedInt(DType t, const void *p, int64_t i) {
  return holdsFloats(t) ? convertOne<int64_t>(loadDouble(t, p, i)) : loadInt(t, p, i);
}
} // namespace


Tensor Tensor::zeros(DType dtype, Shape shape) {
  // Shapes come from models and files: refuse negative dims and sizes that overflow or
  // exceed what any machine holds (2^40 bytes) instead of wrapping around.
  uint64_t bytes = dtypeSize(dtype);
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, uint64_t(d), &bytes) || bytes > (uint64_t(1) << 40))
      throw Error("cannot allocate a tensor of shape " + shapeToString(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  auto storage = allocate(t.nbytes());
  t.data_ = storage.get();
  t.keepAlive_ = std::move(storage);
  return t;
}

Tensor Tensor::borrow(DType dtype, Shape shape, const void *data,
                      std::shared_ptr<const void> keepAlive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.keepAlive_ = keepAlive ? std::move(keepAlive) : std::make_shared<int>(0);
  return t;
}

Tensor Tensor::copyOf(DType dtype, Shape shape, const void *data) {
  Tensor t = zeros(dtype, std::move(shape));
  if (t.nbytes())
    std::memcpy(t.mutableRaw(), data, t.nbytes());
  return t;
}

Tensor Tensor::scalarF32(float v) { return copyOf(DType::F32, {}, &v); }
Tensor Tensor::scalarI64(int64_t v) { return copyOf(DType::I64, {}, &v); }

Tensor Tensor::reshaped(Shape shape) const {
  if (numElements(shape) != numel())
    throw Error("cannot reshape " + describe() + " to " + shapeToString(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const { return copyOf(dtype_, shape_, data_); }

Tensor Tensor::cast(DType to, CastMode mode) const {
  if (to == dtype_)
    return clone();
  Tensor out = zeros(to, shape_);
  int64_t n = numel();
  void *dst = out.mutableRaw();
  switch (to) {
  case DType::F32: storeFrom(dtype_, data_, static_cast<float *>(dst), n); break;
  case DType::F64: storeFrom(dtype_, data_, static_cast<double *>(dst), n); break;
  case DType::I64: storeFrom(dtype_, data_, static_cast<int64_t *>(dst), n); break;
  case DType::I32: storeFrom(dtype_, data_, static_cast<int32_t *>(dst), n); break;
  case DType::I16: storeFrom(dtype_, data_, static_cast<int16_t *>(dst), n); break;
  case DType::I8: storeFrom(dtype_, data_, static_cast<int8_t *>(dst), n); break;
  case DType::U8: storeFrom(dtype_, data_, static_cast<uint8_t *>(dst), n); break;
  case DType::U16: storeFrom(dtype_, data_, static_cast<uint16_t *>(dst), n); break;
  case DType::U32: storeFrom(dtype_, data_, static_cast<uint32_t *>(dst), n); break;
  case DType::U64: storeFrom(dtype_, data_, static_cast<uint64_t *>(dst), n); break;
  case DType::Bool: {
    auto *b = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n; ++i)
      b[i] = holdsFloats(dtype_) ? loadDouble(dtype_, data_, i) != 0.0
                                 : loadInt(dtype_, data_, i) != 0;
    break;
  }
  case DType::I4:
  case DType::U4: {
    auto *b = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = truncatedInt(dtype_, data_, i);
      b[i] = to == DType::I4 ? uint8_t(wrapToI4(v)) : wrapToU4(v);
    }
    break;
  }
  case DType::F8E8M0: {
    auto *b = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n; ++i) // ONNX defines this conversion on the float32 bits
      b[i] = floatToE8M0(float(loadDouble(dtype_, data_, i)), mode.saturate, mode.e8m0);
    break;
  }
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::F4E2M1: {
    auto *b = static_cast<uint8_t *>(dst);
    for (int64_t i = 0; i < n; ++i)
      b[i] = floatToSmallFloat(to, loadDouble(dtype_, data_, i), mode.saturate);
    break;
  }
  case DType::F16:
  case DType::BF16: {
    auto *h = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) {
      // Go through double then float: f64 -> f16 double rounding is negligible here and
      // matches what ONNX Runtime does for Cast(double -> float16).
      float f = float(loadDouble(dtype_, data_, i));
      h[i] = to == DType::F16 ? floatToHalf(f) : floatToBf16(f);
    }
    break;
  }
  }
  return out;
}

double Tensor::getAsDouble(int64_t i) const { return loadDouble(dtype_, data_, i); }
int64_t Tensor::getAsInt(int64_t i) const { return loadInt(dtype_, data_, i); }

std::vector<int64_t> Tensor::toInts() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i)
    v[size_t(i)] = getAsInt(i);
  return v;
}

std::vector<double> Tensor::toDoubles() const {
  std::vector<double> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i)
    v[size_t(i)] = getAsDouble(i);
  return v;
}

std::string Tensor::describe() const {
  return std::string(dtypeName(dtype_)) + "[" + shapeToString(shape_) + "]";
}

} // namespace plumb
