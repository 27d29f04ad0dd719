// Copies between strided views on oneDNN's reorder (see StridedCopy.h).
#include "backends/cpu/StridedCopy.h"

#include <algorithm>

namespace plumb::cpu {

Units unitsOf(DType t) {
  int64_t size = int64_t(dtypeSize(t));
  if (size % 4 == 0)
    return {dnnl::memory::data_type::s32, size / 4};
  return {dnnl::memory::data_type::u8, size};
}

namespace {

// A strided box of n units copied row by row: for what a oneDNN memory descriptor cannot
// describe (negative strides, more than DNNL_MAX_NDIMS dims).
template <typename U>
void copyRows(const U *src, U *dst, const Dims &dims, const Dims &ss, const Dims &ds) {
  size_t r = dims.size() - 1;
  int64_t n = dims[r], sIn = ss[r], dIn = ds[r];
  Dims idx(r, 0);
  int64_t so = 0, dof = 0;
  for (;;) {
    for (int64_t j = 0; j < n; ++j)
      dst[dof + j * dIn] = src[so + j * sIn];
    size_t d = r;
    for (; d-- > 0;) {
      so += ss[d], dof += ds[d];
      if (++idx[d] < dims[d])
        break;
      so -= ss[d] * dims[d], dof -= ds[d] * dims[d];
      idx[d] = 0;
    }
    if (d == size_t(-1))
      return;
  }
}

} // namespace

void BoxCopy::init(DType t, const Shape &dims, const View &src, const View &dst) {
  u_ = unitsOf(t);
  int64_t es = int64_t(dtypeSize(t));
  srcOff_ = src.offset * es;
  dstOff_ = dst.offset * es;
  Dims d, s, o;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0) {
      empty_ = true;
      return;
    }
    if (dims[i] != 1) {
      d.push_back(dims[i]);
      s.push_back(src.strides[i] * u_.perElement);
      o.push_back(dst.strides[i] * u_.perElement);
    }
  }
  d.push_back(u_.perElement); // the units of one element
  s.push_back(1);
  o.push_back(1);
  for (size_t i = 0; i < d.size(); ++i) {
    if (!dims_.empty() && ss_.back() == s[i] * d[i] && ds_.back() == o[i] * d[i]) {
      dims_.back() *= d[i];
      ss_.back() = s[i], ds_.back() = o[i];
    } else {
      dims_.push_back(d[i]), ss_.push_back(s[i]), ds_.push_back(o[i]);
    }
  }
  auto nonNegative = [](const Dims &v) {
    return std::all_of(v.begin(), v.end(), [](int64_t x) { return x >= 0; });
  };
  dnnl_ = dims_.size() <= DNNL_MAX_NDIMS && nonNegative(ss_) && nonNegative(ds_);
  if (!dnnl_)
    return;
  src_ = handleMemory(Desc(dims_, u_.type, ss_));
  dst_ = handleMemory(Desc(dims_, u_.type, ds_));
  prim_ = dnnl::reorder(src_, dst_);
}

void BoxCopy::run(const void *src, void *dst) {
  if (empty_)
    return;
  const char *s = static_cast<const char *>(src) + srcOff_;
  char *d = static_cast<char *>(dst) + dstOff_;
  if (!dnnl_) {
    if (u_.type == dnnl::memory::data_type::s32)
      copyRows(reinterpret_cast<const int32_t *>(s), reinterpret_cast<int32_t *>(d), dims_, ss_,
               ds_);
    else
      copyRows(reinterpret_cast<const uint8_t *>(s), reinterpret_cast<uint8_t *>(d), dims_, ss_,
               ds_);
    return;
  }
  bind(src_, s);
  bind(dst_, d);
  prim_.execute(stream(), src_, dst_);
  stream().wait();
}

} // namespace plumb::cpu
