// Internal to backends/cpu: a copy between strided views of two tensors of any dtype, on a
// oneDNN reorder (the data-movement kernels cpu.slice, cpu.split and cpu.pad are made of it).
#pragma once

#include "backends/cpu/Dnnl.h"

namespace plumb::cpu {

// A same-type reorder or concat copies bits, so any dtype can travel as oneDNN elements: an
// element of 4k bytes as k s32 units, any other size as its bytes in u8 units.
struct Units {
  dnnl::memory::data_type type;
  int64_t perElement;
};
Units unitsOf(DType t);

// Where a box of elements lies in a tensor: element strides (negative for Slice's steps < 0)
// and the offset of its first element.
struct View {
  Dims strides;
  int64_t offset = 0;
};
inline View dense(const Shape &shape) { return {rowMajorStrides(shape), 0}; }

// A copy of a box of `dims` elements from a view of one tensor into a view of another, set up
// once. Dims both views walk contiguously are merged first, so oneDNN's reorder sees the
// fewest, longest runs; what a oneDNN descriptor cannot describe (negative strides, more than
// DNNL_MAX_NDIMS dims) is copied row by row instead.
class BoxCopy {
public:
  void init(DType t, const Shape &dims, const View &src, const View &dst);
  void run(const void *src, void *dst);

private:
  Units u_{};
  Dims dims_, ss_, ds_;             // in units, merged
  int64_t srcOff_ = 0, dstOff_ = 0; // bytes
  bool empty_ = false, dnnl_ = false;
  dnnl::memory src_, dst_;
  dnnl::reorder prim_;
};

} // namespace plumb::cpu
