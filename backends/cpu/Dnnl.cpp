// The shared oneDNN engine/stream, memory descriptors, layout bridges and argument checks.
#include "backends/cpu/Dnnl.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

namespace plumb::cpu {

dnnl::engine &engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

Dims toDims(const Shape &shape) {
  if (shape.empty())
    return {1};
  return Dims(shape.begin(), shape.end());
}

Dims rowMajorStrides(const Dims &dims) {
  Dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;)
    strides[d - 1] = strides[d] * (dims[d] > 0 ? dims[d] : 1);
  return strides;
}

Desc plainDesc(const Dims &dims) {
  return Desc(dims, dnnl::memory::data_type::f32, rowMajorStrides(dims));
}

namespace {

dnnl::memory::format_tag blockedTag(size_t rank, int block) {
  using T = dnnl::memory::format_tag;
  switch (rank) {
  case 3:
    return block == 16 ? T::aBc16b : T::aBc8b;
  case 4:
    return block == 16 ? T::aBcd16b : T::aBcd8b;
  case 5:
    return block == 16 ? T::aBcde16b : T::aBcde8b;
  default:
    throw Error("a channel-blocked tensor must have 3 to 5 dims, not " + std::to_string(rank));
  }
}

} // namespace

int channelBlock() {
  static const int block = [] {
    // A mid-sized 3x3 convolution with every layout left to oneDNN: the source layout it
    // picks is the one its fast implementations read.
    Dims x = {1, 64, 28, 28}, w = {64, 64, 3, 3};
    auto any = [](const Dims &d) {
      return Desc(d, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
    };
    try {
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, any(x), any(w),
                                        any(x), {1, 1}, {1, 1}, {1, 1});
      dnnl::convolution_forward::primitive_desc pd(d, engine());
      for (int b : {16, 8})
        if (pd.src_desc() == Desc(x, dnnl::memory::data_type::f32, blockedTag(4, b)))
          return b;
    } catch (const dnnl::error &) {
    }
    return 0;
  }();
  return block;
}

Desc storageDesc(const Dims &dims, Layout layout) {
  if (layout == Layout::Plain || channelBlock() == 0)
    return plainDesc(dims);
  return Desc(dims, dnnl::memory::data_type::f32, blockedTag(dims.size(), channelBlock()));
}

Tensor toPlainTensor(const Tensor &stored, Layout layout) {
  if (stored.dtype() != DType::F32)
    throw Error("only f32 tensors have a " + std::string(layoutName(layout)) + " layout");
  Tensor plain = Tensor::empty(stored.dtype(), stored.shape());
  Dims dims = toDims(stored.shape());
  Desc from = storageDesc(dims, layout), to = plainDesc(dims);
  if (from.get_size() != stored.nbytes())
    throw Error("a " + std::string(layoutName(layout)) + " " + stored.describe() +
                " does not fill its buffer");
  dnnl::memory src = handleMemory(from), dst = handleMemory(to);
  bind(src, stored.raw());
  bind(dst, plain.mutableRaw());
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
  return plain;
}

dnnl::memory handleMemory(const Desc &desc) { return dnnl::memory(desc, engine(), nullptr); }

void executeProduct(const dnnl::primitive &prim, const dnnl::memory &src,
                    const dnnl::memory &weights, const dnnl::memory &dst, const dnnl::memory *bias,
                    const void *runtimeBias) {
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (bias) {
    if (runtimeBias)
      bind(*bias, runtimeBias);
    args[DNNL_ARG_BIAS] = *bias;
  }
  prim.execute(stream(), args);
  stream().wait();
}

dnnl::memory reorderedCopy(const void *data, const Desc &plain, const Desc &wanted) {
  dnnl::memory dst(wanted, engine());
  dnnl::memory src = handleMemory(plain);
  bind(src, data);
  if (plain == wanted) {
    std::memcpy(dst.get_data_handle(), data, plain.get_size());
    return dst;
  }
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
  return dst;
}

void Bridge::init(const Desc &plain, const Desc &inner) {
  same_ = plain == inner;
  plain_ = handleMemory(plain);
  if (same_)
    return;
  inner_ = dnnl::memory(inner, engine());
  toInner_ = dnnl::reorder(plain_, inner_);
  toPlain_ = dnnl::reorder(inner_, plain_);
}

const dnnl::memory &Bridge::in(const void *data) {
  bind(plain_, data);
  if (same_)
    return plain_;
  toInner_.execute(stream(), plain_, inner_);
  return inner_;
}

const dnnl::memory &Bridge::out(void *data) {
  bind(plain_, data);
  return same_ ? plain_ : inner_;
}

void Bridge::store(void *data) {
  if (same_)
    return;
  bind(plain_, data);
  toPlain_.execute(stream(), inner_, plain_);
}

void Bridge::load(const void *residual, void *data) {
  if (same_) {
    if (residual != data)
      std::memcpy(data, residual, plain_.get_desc().get_size());
    return;
  }
  in(residual); // reorders the residual into the scratch the primitive accumulates into
}

Shape rightAlign(const Shape &shape, size_t rank) {
  Shape s(rank > shape.size() ? rank - shape.size() : 0, 1);
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

bool broadcastsTo(const Shape &from, const Shape &to) {
  if (from.size() > to.size())
    return false;
  Shape f = rightAlign(from, to.size());
  for (size_t d = 0; d < to.size(); ++d)
    if (f[d] != to[d] && f[d] != 1)
      return false;
  return true;
}

void broadcastCopy(const float *src, const Shape &from, float *dst, const Shape &to) {
  size_t rank = to.size();
  Shape f = rightAlign(from, rank);
  // Source strides, 0 along broadcast dims.
  std::vector<int64_t> stride(rank, 0);
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    stride[d] = f[d] == 1 ? 0 : s;
    s *= f[d];
  }
  int64_t n = numElements(to);
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = src[off];
    // Odometer increment over `to`, keeping the source offset in step.
    for (size_t d = rank; d-- > 0;) {
      off += stride[d];
      if (++idx[d] < to[d])
        break;
      off -= stride[d] * to[d];
      idx[d] = 0;
    }
  }
}

const BufferInfo &KernelArgs::input(size_t i) const {
  if (!has(i))
    fail("missing required input " + std::to_string(i));
  return in[i];
}

const BufferInfo &KernelArgs::output(size_t i) const {
  if (i >= out.size() || !out[i].present)
    fail("missing output " + std::to_string(i));
  return out[i];
}

void KernelArgs::requireF32(size_t count) const {
  for (size_t i = 0; i < count && i < in.size(); ++i)
    if (in[i].present && in[i].dtype != DType::F32)
      fail("input " + std::to_string(i) + " is " + dtypeName(in[i].dtype) +
           "; cpu kernels take f32 only");
  for (const BufferInfo &o : out)
    if (o.present && o.dtype != DType::F32)
      fail(std::string("output is ") + dtypeName(o.dtype) + "; cpu kernels produce f32 only");
}

std::string KernelArgs::requireString(const std::string &name) const {
  const ref::AttrValue *v = attrs().find(name);
  if (!v || v->kind != ref::AttrValue::Kind::String)
    fail("missing string attribute '" + name + "'");
  return v->s;
}

double KernelArgs::number(const std::string &name, double def) const {
  const ref::AttrValue *v = attrs().find(name);
  if (!v)
    return def;
  return v->kind == ref::AttrValue::Kind::Int ? double(v->i) : v->f;
}

Layout sameLayout(const std::vector<const BufferInfo *> &buffers, const std::string &what) {
  std::optional<Layout> l;
  for (const BufferInfo *b : buffers) {
    if (!b->present)
      continue;
    if (l && *l != b->layout)
      throw Error(what + ": operands of the output's shape are stored in different layouts (" +
                  layoutName(*l) + ", " + layoutName(b->layout) + ")");
    l = b->layout;
  }
  return l.value_or(Layout::Plain);
}

std::vector<int64_t> KernelArgs::constantInts(size_t i, const std::string &kernel) const {
  if (!has(i))
    return {};
  if (!constant(i))
    fail(step.kernel + ": input " + std::to_string(i) + " must be a constant; lower to " +
         kernel);
  return constant(i)->toInts();
}

void KernelArgs::requireOutput(size_t i, DType dtype, const Shape &shape) const {
  const BufferInfo &y = output(i);
  if (y.dtype != dtype || y.shape != shape)
    fail(step.kernel + ": planned output " + std::to_string(i) + " " + dtypeName(y.dtype) +
         shapeToString(y.shape) + " is not the " + dtypeName(dtype) + shapeToString(shape) +
         " the op computes");
}

int64_t KernelArgs::axis(int64_t axis, int64_t rank) const {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    fail(step.kernel + ": axis " + std::to_string(axis) + " out of [" + std::to_string(-rank) +
         ", " + std::to_string(rank - 1) + "]");
  return axis < 0 ? axis + rank : axis;
}

} // namespace plumb::cpu
