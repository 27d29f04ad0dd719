// Reference kernels for indexing ops: Gather, GatherElements, GatherND, ScatterND,
// ScatterElements (and the older Scatter), Trilu, Range.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace plumb::ref {
namespace {

// An index into an axis of size `dim`, negative counting from the end; fails when out of
// range so that no kernel ever reads or writes outside its tensors.
int64_t checkedIndex(const KernelCall &call, int64_t index, int64_t dim, const char *what) {
  if (index < -dim || index >= dim)
    call.fail(std::string(what) + " " + std::to_string(index) + " out of range [" +
              std::to_string(-dim) + ", " + std::to_string(dim - 1) + "]");
  return index < 0 ? index + dim : index;
}

// ---------------------------------------------------------------------------------------
// Gathers

Tensor gatherKernel(const KernelCall &call) {
  const Tensor &data = call.in(0);
  const Tensor &indices = call.in(1);
  if (data.rank() == 0)
    call.fail("data must have rank >= 1");
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 0), data.rank());
  Shape outShape(data.shape().begin(), data.shape().begin() + axis);
  outShape.insert(outShape.end(), indices.shape().begin(), indices.shape().end());
  outShape.insert(outShape.end(), data.shape().begin() + axis + 1, data.shape().end());
  int64_t dim = data.dim(axis);
  int64_t outer = product(data.shape(), 0, size_t(axis));
  int64_t inner = product(data.shape(), size_t(axis) + 1, data.shape().size());
  std::vector<int64_t> idx = indices.toInts();
  for (int64_t &i : idx)
    i = checkedIndex(call, i, dim, "index");
  Tensor out = Tensor::zeros(data.dtype(), outShape);
  size_t es = dtypeSize(data.dtype());
  const auto *src = static_cast<const char *>(data.raw());
  auto *dst = static_cast<char *>(out.mutableRaw());
  int64_t n = int64_t(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j)
      std::memcpy(dst + size_t((o * n + j) * inner) * es,
                  src + size_t((o * dim + idx[size_t(j)]) * inner) * es, size_t(inner) * es);
  return out;
}

// Checks the shared shape rule of GatherElements/ScatterElements: same rank, and off the
// axis the index tensor may not be larger than the data.
void checkElementsShapes(const KernelCall &call, const Tensor &data, const Tensor &indices,
                         int64_t axis) {
  if (indices.rank() != data.rank())
    call.fail("indices " + indices.describe() + " must have the rank of data " + data.describe());
  for (int64_t d = 0; d < data.rank(); ++d)
    if (d != axis && indices.dim(d) > data.dim(d))
      call.fail("indices " + indices.describe() + " exceed data " + data.describe() + " on axis " +
                std::to_string(d));
}

Tensor gatherElementsKernel(const KernelCall &call) {
  const Tensor &data = call.in(0);
  const Tensor &indices = call.in(1);
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 0), data.rank());
  checkElementsShapes(call, data, indices, axis);
  Tensor out = Tensor::zeros(data.dtype(), indices.shape());
  if (out.numel() == 0)
    return out;
  std::vector<int64_t> idx = indices.toInts();
  std::vector<int64_t> strides = stridesOf(data.shape());
  dispatchBytes(call, data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *src = data.data<T>();
    T *dst = out.mutableData<T>();
    std::vector<int64_t> pos(indices.shape().size(), 0);
    int64_t o = 0;
    do {
      int64_t off = 0;
      for (size_t d = 0; d < pos.size(); ++d) {
        int64_t p = int64_t(d) == axis ? checkedIndex(call, idx[size_t(o)], data.dim(axis), "index")
                                       : pos[d];
        off += p * strides[d];
      }
      dst[o++] = src[off];
    } while (nextIndex(pos, indices.shape()));
  });
  return out;
}

// The layout shared by GatherND and ScatterND: `indices` is (batch..., rest..., k) and each
// k-tuple picks a slice of `sliceSize` elements out of the data.
struct NDLayout {
  int64_t batch = 1;                 // product of the batch dims
  int64_t perBatch = 1;              // index tuples per batch entry
  int64_t k = 0;                     // tuple length
  int64_t sliceSize = 1;             // elements per picked slice
  int64_t batchStride = 1;           // data elements per batch entry
  std::vector<int64_t> tupleStrides; // data strides of the k indexed dims
  std::vector<int64_t> tupleDims;
};

NDLayout ndLayout(const KernelCall &call, const Tensor &data, const Tensor &indices,
                  int64_t batchDims) {
  int64_t r = data.rank(), q = indices.rank();
  if (q < 1)
    call.fail("indices must have rank >= 1");
  if (batchDims < 0 || batchDims >= std::min(r, q))
    call.fail("batch_dims " + std::to_string(batchDims) + " out of range");
  NDLayout l;
  l.k = indices.dim(-1);
  if (l.k < 1 || l.k > r - batchDims)
    call.fail("last indices dimension " + std::to_string(l.k) + " must be in [1, " +
              std::to_string(r - batchDims) + "]");
  for (int64_t d = 0; d < batchDims; ++d)
    if (indices.dim(d) != data.dim(d))
      call.fail("batch dimension " + std::to_string(d) + " differs between data " +
                data.describe() + " and indices " + indices.describe());
  l.batch = product(data.shape(), 0, size_t(batchDims));
  l.perBatch = product(indices.shape(), size_t(batchDims), size_t(q - 1));
  l.sliceSize = product(data.shape(), size_t(batchDims + l.k), size_t(r));
  l.batchStride = product(data.shape(), size_t(batchDims), size_t(r));
  std::vector<int64_t> strides = stridesOf(data.shape());
  for (int64_t j = 0; j < l.k; ++j) {
    l.tupleStrides.push_back(strides[size_t(batchDims + j)]);
    l.tupleDims.push_back(data.dim(batchDims + j));
  }
  return l;
}

// Data element offset of the slice picked by index tuple `t` (of batch entry b).
int64_t ndOffset(const KernelCall &call, const NDLayout &l, const std::vector<int64_t> &idx,
                 int64_t b, int64_t t) {
  int64_t off = b * l.batchStride;
  const int64_t *tuple = &idx[size_t((b * l.perBatch + t) * l.k)];
  for (int64_t j = 0; j < l.k; ++j)
    off +=
        checkedIndex(call, tuple[j], l.tupleDims[size_t(j)], "index") * l.tupleStrides[size_t(j)];
  return off;
}

Tensor gatherNDKernel(const KernelCall &call) {
  const Tensor &data = call.in(0);
  const Tensor &indices = call.in(1);
  int64_t batchDims = call.attr().getInt("batch_dims", 0);
  NDLayout l = ndLayout(call, data, indices, batchDims);
  Shape outShape(indices.shape().begin(), indices.shape().end() - 1);
  outShape.insert(outShape.end(), data.shape().begin() + batchDims + l.k, data.shape().end());
  Tensor out = Tensor::zeros(data.dtype(), outShape);
  std::vector<int64_t> idx = indices.toInts();
  size_t es = dtypeSize(data.dtype());
  const auto *src = static_cast<const char *>(data.raw());
  auto *dst = static_cast<char *>(out.mutableRaw());
  for (int64_t b = 0; b < l.batch; ++b)
    for (int64_t t = 0; t < l.perBatch; ++t) {
      int64_t off = ndOffset(call, l, idx, b, t);
      std::memcpy(dst + size_t((b * l.perBatch + t) * l.sliceSize) * es, src + size_t(off) * es,
                  size_t(l.sliceSize) * es);
    }
  return out;
}

// ---------------------------------------------------------------------------------------
// Scatters

enum class Reduction { None, Add, Mul, Max, Min };

Reduction parseReduction(const KernelCall &call) {
  std::string r = call.attr().getString("reduction", "none");
  if (r == "none")
    return Reduction::None;
  if (r == "add")
    return Reduction::Add;
  if (r == "mul")
    return Reduction::Mul;
  if (r == "max")
    return Reduction::Max;
  if (r == "min")
    return Reduction::Min;
  call.fail("unknown reduction '" + r + "'");
}

// Integer add/mul wrap around (computed unsigned) instead of overflowing into UB.
template <typename T> T combine(Reduction r, T old, T upd) {
  switch (r) {
  case Reduction::None: return upd;
  case Reduction::Add:
    if constexpr (std::is_integral_v<T>)
      return T(uint64_t(old) + uint64_t(upd));
    else
      return T(old + upd);
  case Reduction::Mul:
    if constexpr (std::is_integral_v<T>)
      return T(uint64_t(old) * uint64_t(upd));
    else
      return T(old * upd);
  case Reduction::Max: return std::max(old, upd);
  case Reduction::Min: return std::min(old, upd);
  }
  return upd;
}

// Applies `body(dst, src)` with T the element type: plain byte moves for reduction none
// (any dtype), arithmetic types otherwise.
template <typename F> void dispatchScatter(const KernelCall &call, DType t, Reduction r, F &&body) {
  if (r == Reduction::None)
    dispatchBytes(call, t, body);
  else if (t == DType::Bool)
    call.fail("reductions are not supported on bool");
  else
    dispatchNumeric(call, t, body);
}

Tensor scatterNDKernel(const KernelCall &call) {
  const Tensor &data = call.in(0);
  const Tensor &indices = call.in(1);
  const Tensor &updates = call.in(2);
  NDLayout l = ndLayout(call, data, indices, 0);
  Shape expected(indices.shape().begin(), indices.shape().end() - 1);
  expected.insert(expected.end(), data.shape().begin() + l.k, data.shape().end());
  if (updates.shape() != expected || updates.dtype() != data.dtype())
    call.fail("updates " + updates.describe() + " should be " + dtypeName(data.dtype()) + "[" +
              shapeToString(expected) + "]");
  Reduction red = parseReduction(call);
  Tensor out = data.clone();
  std::vector<int64_t> idx = indices.toInts();
  dispatchScatter(call, data.dtype(), red, [&](auto tag) {
    using T = decltype(tag);
    T *dst = out.mutableData<T>();
    const T *upd = updates.data<T>();
    for (int64_t t = 0; t < l.perBatch; ++t) {
      int64_t off = ndOffset(call, l, idx, 0, t);
      for (int64_t e = 0; e < l.sliceSize; ++e)
        dst[off + e] = combine(red, dst[off + e], upd[t * l.sliceSize + e]);
    }
  });
  return out;
}

Tensor scatterElementsKernel(const KernelCall &call) {
  const Tensor &data = call.in(0);
  const Tensor &indices = call.in(1);
  const Tensor &updates = call.in(2);
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", 0), data.rank());
  checkElementsShapes(call, data, indices, axis);
  if (updates.shape() != indices.shape() || updates.dtype() != data.dtype())
    call.fail("updates " + updates.describe() + " should be " + dtypeName(data.dtype()) + "[" +
              shapeToString(indices.shape()) + "]");
  Reduction red = parseReduction(call);
  Tensor out = data.clone();
  if (indices.numel() == 0)
    return out;
  std::vector<int64_t> idx = indices.toInts();
  std::vector<int64_t> strides = stridesOf(data.shape());
  dispatchScatter(call, data.dtype(), red, [&](auto tag) {
    using T = decltype(tag);
    T *dst = out.mutableData<T>();
    const T *upd = updates.data<T>();
    std::vector<int64_t> pos(indices.shape().size(), 0);
    int64_t i = 0;
    do {
      int64_t off = 0;
      for (size_t d = 0; d < pos.size(); ++d) {
        int64_t p = int64_t(d) == axis ? checkedIndex(call, idx[size_t(i)], data.dim(axis), "index")
                                       : pos[d];
        off += p * strides[d];
      }
      dst[off] = combine(red, dst[off], upd[i]);
      ++i;
    } while (nextIndex(pos, indices.shape()));
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Trilu, Range

Tensor triluKernel(const KernelCall &call) {
  const Tensor &x = call.in(0);
  if (x.rank() < 2)
    call.fail("input must have rank >= 2, got " + x.describe());
  int64_t k = 0;
  if (const Tensor *kt = call.input(1)) {
    if (kt->numel() != 1)
      call.fail("k must be a scalar, got " + kt->describe());
    k = kt->getAsInt(0);
  }
  bool upper = call.attr().getInt("upper", 1) != 0;
  int64_t rows = x.dim(-2), cols = x.dim(-1);
  int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  // Zero bytes are zero in every element type, so the copy can stay byte-wise.
  Tensor out = Tensor::zeros(x.dtype(), x.shape());
  size_t es = dtypeSize(x.dtype());
  const auto *src = static_cast<const char *>(x.raw());
  auto *dst = static_cast<char *>(out.mutableRaw());
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        // Compare j - i with k without forming i + k (k may be huge).
        bool keep = upper ? j - i >= k : j - i <= k;
        if (keep) {
          size_t off = size_t((m * rows + i) * cols + j) * es;
          std::memcpy(dst + off, src + off, es);
        }
      }
  return out;
}

// Number of elements of Range(start, limit, delta), ceil((limit - start) / delta) >= 0.
template <typename T> int64_t rangeCount(const KernelCall &call, T start, T limit, T delta) {
  if (delta == T(0))
    call.fail("delta cannot be 0");
  if constexpr (std::is_floating_point_v<T>) {
    double n = std::ceil((double(limit) - double(start)) / double(delta));
    if (!(n >= 0))
      return 0;
    if (n > double(std::numeric_limits<int32_t>::max()))
      call.fail("range has too many elements");
    return int64_t(n);
  } else {
    // Exact integer arithmetic in 128 bits: no overflow on any int64 inputs.
    __int128 span = __int128(limit) - __int128(start);
    __int128 d = delta;
    if ((span > 0) != (d > 0) || span == 0)
      return 0;
    __int128 n = (span + d + (d > 0 ? -1 : 1)) / d;
    if (n > std::numeric_limits<int32_t>::max())
      call.fail("range has too many elements");
    return int64_t(n);
  }
}

Tensor rangeKernel(const KernelCall &call) {
  const Tensor &s = call.in(0), &l = call.in(1), &d = call.in(2);
  if (s.numel() != 1 || l.numel() != 1 || d.numel() != 1)
    call.fail("start, limit and delta must be scalars");
  if (s.dtype() != l.dtype() || s.dtype() != d.dtype())
    call.fail("start, limit and delta must have the same type");
  return dispatchNumeric(call, s.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T start = s.data<T>()[0], limit = l.data<T>()[0], delta = d.data<T>()[0];
    int64_t n = rangeCount(call, start, limit, delta);
    Tensor out = Tensor::zeros(s.dtype(), {n});
    T *o = out.mutableData<T>();
    for (int64_t i = 0; i < n; ++i) {
      // Computed as start + i * delta in the tensor's type, like numpy.arange.
      if constexpr (std::is_floating_point_v<T>)
        o[i] = T(start + T(i) * delta);
      else
        o[i] = T(uint64_t(start) + uint64_t(i) * uint64_t(delta));
    }
    return out;
  });
}

// TensorScatter (opset 24): a copy of the cache past_cache [B, ..., S_max (axis), ...] with
// update [B, ..., S, ...] written at positions write_indices[b] + s of batch b along `axis`
// (modulo S_max in "circular" mode).
Tensor tensorScatterKernel(const KernelCall &call) {
  const Tensor &past = call.in(0), &update = call.in(1);
  int64_t r = past.rank();
  int64_t axis = normalizeAxis(call, call.attr().getInt("axis", -2), r);
  std::string mode = call.attr().getString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    call.fail("unknown mode '" + mode + "'");
  if (axis == 0 || update.rank() != r || update.dtype() != past.dtype())
    call.fail("update " + update.describe() + " does not fit past_cache " + past.describe() +
              " (axis " + std::to_string(axis) + ")");
  for (int64_t d = 0; d < r; ++d)
    if (d != axis ? update.dim(d) != past.dim(d) : update.dim(d) > past.dim(d))
      call.fail("update " + update.describe() + " does not fit past_cache " + past.describe());
  int64_t batch = past.dim(0), maxSeq = past.dim(axis), seq = update.dim(axis);
  std::vector<int64_t> starts(size_t(batch), 0);
  if (const Tensor *w = call.input(2)) {
    if (w->numel() != batch)
      call.fail("write_indices must have one value per batch (" + std::to_string(batch) +
                "), got " + w->describe());
    starts = w->toInts();
  }
  Tensor out = past.clone();
  // Rows: the dims between the batch and `axis`; inner: the dims after `axis`.
  int64_t rows = product(past.shape(), 1, size_t(axis));
  int64_t inner = product(past.shape(), size_t(axis) + 1, size_t(r));
  size_t es = dtypeSize(past.dtype());
  const char *src = static_cast<const char *>(update.raw());
  char *dst = static_cast<char *>(out.mutableRaw());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s) {
      int64_t pos = starts[size_t(b)] + s;
      if (mode == "circular")
        pos = ((pos % maxSeq) + maxSeq) % maxSeq;
      if (pos < 0 || pos >= maxSeq)
        call.fail("write position " + std::to_string(pos) + " of batch " + std::to_string(b) +
                  " is outside [0, " + std::to_string(maxSeq) + ")");
      for (int64_t row = 0; row < rows; ++row)
        std::memcpy(dst + size_t(((b * rows + row) * maxSeq + pos) * inner) * es,
                    src + size_t(((b * rows + row) * seq + s) * inner) * es, size_t(inner) * es);
    }
  return out;
}

} // namespace

void registerIndexKernels(KernelRegistry &r) {
  r.add("Gather", singleOutput(gatherKernel));
  r.add("GatherElements", singleOutput(gatherElementsKernel));
  r.add("GatherND", singleOutput(gatherNDKernel));
  r.add("ScatterND", singleOutput(scatterNDKernel));
  r.add("ScatterElements", singleOutput(scatterElementsKernel));
  r.add("Scatter", singleOutput(scatterElementsKernel)); // deprecated alias (opset 9-10)
  r.add("Trilu", singleOutput(triluKernel));
  r.add("Range", singleOutput(rangeKernel));
  r.add("TensorScatter", singleOutput(tensorScatterKernel));
}

} // namespace plumb::ref
