// A dense, row-major tensor with shared storage: the value type of the interpreter,
// tensor files and the runtime. MLIR-free.
#pragma once

#include "runtime/DType.h"
#include "runtime/SmallFloat.h"

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace plumb {

using Shape = std::vector<int64_t>;

// How Tensor::cast converts to the small float types: ONNX Cast's `saturate` (float8) and
// `round_mode` (float8e8m0) attributes, with their defaults.
struct CastMode {
  bool saturate = true;
  E8M0Rounding e8m0 = E8M0Rounding::Up;
};

int64_t numElements(const Shape &shape);
std::string shapeToString(const Shape &shape); // "1x3x224x224", "scalar" for rank 0

// Storage is shared and may be borrowed (e.g. memory-mapped weights or an MLIR
// attribute's bytes): `keepAlive` owns whatever backs `data`.
class Tensor {
public:
  Tensor() = default;

  // Fresh zero-initialised storage.
  static Tensor zeros(DType dtype, Shape shape);
  // Uninitialised-looking but still zeroed storage (cheap enough; keeps tools deterministic).
  static Tensor empty(DType dtype, Shape shape) { return zeros(dtype, std::move(shape)); }
  // Borrow `data` (not copied); `keepAlive` must own the memory for the tensor's lifetime.
  static Tensor borrow(DType dtype, Shape shape, const void *data,
                       std::shared_ptr<const void> keepAlive);
  // Copy `bytes` bytes from `data`.
  static Tensor copyOf(DType dtype, Shape shape, const void *data);
  // Scalars and vectors, convenient for tests and shape arithmetic.
  template <typename T> static Tensor fromVector(DType dtype, Shape shape, const std::vector<T> &v);
  static Tensor scalarF32(float v);
  static Tensor scalarI64(int64_t v);

  bool defined() const { return bool(keepAlive_); }
  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return int64_t(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[size_t(i < 0 ? i + rank() : i)]; }
  int64_t numel() const { return numElements(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtypeSize(dtype_); }

  const void *raw() const { return data_; }
  // What keeps the data alive (shared by every tensor over the same storage): lets a cache
  // keyed by raw() tell whether that storage still exists.
  const std::shared_ptr<const void> &storage() const { return keepAlive_; }
  // Writable access: only valid on tensors this code created (zeros/copyOf/clone).
  void *mutableRaw() { return const_cast<void *>(data_); }
  template <typename T> const T *data() const { return static_cast<const T *>(data_); }
  template <typename T> T *mutableData() { return static_cast<T *>(mutableRaw()); }

  // Same storage, new shape (numel must match).
  Tensor reshaped(Shape shape) const;
  // Deep copy into fresh storage.
  Tensor clone() const;
  // Element conversion into fresh storage (float<->int truncates toward zero like ONNX Cast;
  // to bool is `!= 0`; to f16/bf16 and the float8/float4 types rounds to nearest even; to
  // i4/u4 keeps the low four bits of the integer, as ONNX Cast does). `mode` applies to
  // the float8 types and f8e8m0 (SmallFloat.h has the rules).
  Tensor cast(DType to, CastMode mode = {}) const;

  // Element i as double / int64 regardless of dtype (slow; for shape values and tests).
  double getAsDouble(int64_t i) const;
  int64_t getAsInt(int64_t i) const;
  // All elements as int64 (for shape/axes/index inputs).
  std::vector<int64_t> toInts() const;
  std::vector<double> toDoubles() const;

  std::string describe() const; // "f32[1x3x224x224]"

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  const void *data_ = nullptr;
  std::shared_ptr<const void> keepAlive_;
};

template <typename T>
Tensor Tensor::fromVector(DType dtype, Shape shape, const std::vector<T> &v) {
  assert(int64_t(v.size()) == numElements(shape) && sizeof(T) == dtypeSize(dtype));
  return copyOf(dtype, std::move(shape), v.data());
}

} // namespace plumb
