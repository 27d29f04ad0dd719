// cpu.conv, second route: a k×k convolution on channel-blocked maps of 28×28 or smaller as
// im2col + one oneDNN 1x1 convolution.
//
// Why: oneDNN 2.6 has no brgemm or Winograd convolution for AVX2, and its direct 3×3 kernel
// (jit:avx2) loses throughput as the maps shrink (one core, ResNet-50 shapes alone: 78 GF/s at
// 28×28, 70 at 14×14, 54 at 7×7), while its 1x1 kernel (jit_1x1:avx2) keeps 76-80 GF/s on the
// same products laid out as (rows = output pixels) x (k·k·C). Gathering the k·k shifted
// copies of the input (im2col, here one row-copy per channel block and kernel offset) costs
// 2-3% of the convolution at these sizes; measured together, the route is 3-27% faster on one
// core and 0-17% on two (14×14 and 7×7 gain most). Only the gather is ours: the products,
// bias and post-ops stay oneDNN's.
//
// Layout: the input is nChw8c (ChannelBlocked, block b); the column buffer is nCw8c over
// {N, k·k·C, OH·OW}: plane p = (kernel offset kk)·(C/b) + channel block cb holds, for every
// output pixel, the b channels of its input pixel at offset kk (zeros in the padding). So
// column channel K = kk·C + c, and the output, nCw8c over {N, O, OH·OW}, is exactly the bytes
// of the nChw8c output buffer.
#include "backends/cpu/Conv.h"

#include "backends/cpu/Alone.h"
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"
#include "backends/cpu/SharedWeights.h"
#include "backends/cpu/Window.h"


#include <algorithm>
#include <atomic>
#include <cstring>

namespace plumb::cpu {

namespace {

// Output maps of at most this many pixels take the route (28×28: where the measured gain
// starts); see setIm2colConvMaxPixels.
std::atomic<int64_t> maxPixels{28 * 28};

class Im2colConvKernel final : public RuntimeKernel {
public:
  Im2colConvKernel(const KernelArgs &a, const ConvSetup &s);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;
  std::unique_ptr<AlonePrimitive> alone() override {
    auto p = makeAlonePrimitive(prim_, *weights_);
    if (p)
      p->shape = shape_;
    return p;
  }
  bool readsConstantsAtRun() const override { return false; }
  std::vector<PackedConstant> packedConstants() const override {
    return packedWeight(1, weights_, 1.f);
  }
  size_t scratchBytes() const override { return colBytes_; }

private:
  void gather(const float *x, float *col) const;
  int64_t n_, c_, h_, w_, oh_, ow_, kh_, kw_, sh_, sw_, padT_, padL_, block_;
  size_t colBytes_ = 0;
  bool hasBias_ = false, constBias_ = false;
  dnnl::convolution_forward prim_;
  dnnl::memory col_, dst_, bias_;
  SharedMemory weights_;
  std::string shape_;
};

// `wanted` ({O, K, 1} blocked, K = kk·C + c) with K split into {kk, C}: the same bytes as a
// 4-D {O, KK, C, 1} descriptor, so that a reorder from ONNX's OIhw weights (seen as that 4-D
// view) writes the 1x1 convolution's weights directly. False when K's inner blocks do not
// divide C (or the layout is not a plain blocked one).
bool splitK(const Desc &wanted, int64_t kk, int64_t c, Desc &out) {
  dnnl_memory_desc_t d = wanted.data;
  const dnnl_blocking_desc_t &b = d.format_desc.blocking;
  if (d.format_kind != dnnl_blocked || d.ndims != 3 || d.offset0 != 0 || d.extra.flags != 0)
    return false;
  int64_t kBlock = 1;
  for (int i = 0; i < b.inner_nblks; ++i)
    if (b.inner_idxs[i] == 1)
      kBlock *= b.inner_blks[i];
  if (c % kBlock != 0 || d.padded_dims[1] != d.dims[1])
    return false;
  dnnl_memory_desc_t s = d;
  dnnl_blocking_desc_t &sb = s.format_desc.blocking;
  s.ndims = 4;
  s.dims[1] = s.padded_dims[1] = kk; // dim 0 (O) keeps its dims and padding
  s.dims[2] = s.padded_dims[2] = c;
  s.dims[3] = s.padded_dims[3] = d.dims[2];
  s.padded_offsets[3] = 0;
  sb.strides[0] = b.strides[0];
  sb.strides[1] = b.strides[1] * (c / kBlock);
  sb.strides[2] = b.strides[1];
  sb.strides[3] = b.strides[2];
  for (int i = 0; i < b.inner_nblks; ++i)
    sb.inner_idxs[i] = b.inner_idxs[i] == 0 ? 0 : b.inner_idxs[i] == 1 ? 2 : 3;
  out = Desc(s);
  return true;
}

Im2colConvKernel::Im2colConvKernel(const KernelArgs &a, const ConvSetup &s) {
  const Window &win = s.win;
  const Shape &x = a.input(0).shape, &w = a.input(1).shape, &y = a.output(0).shape;
  n_ = x[0], c_ = x[1], h_ = x[2], w_ = x[3];
  oh_ = y[2], ow_ = y[3], kh_ = w[2], kw_ = w[3];
  sh_ = win.strides[0], sw_ = win.strides[1], padT_ = win.padL[0], padL_ = win.padL[1];
  block_ = channelBlock();
  int64_t o = w[0], kk = kh_ * kw_, k = kk * c_, rows = oh_ * ow_;
  hasBias_ = s.hasBias;
  constBias_ = hasBias_ && a.constant(2);
  const auto f32 = dnnl::memory::data_type::f32;
  const auto blocked = block_ == 16 ? dnnl::memory::format_tag::nCw16c : dnnl::memory::format_tag::nCw8c;
  Desc col({n_, k, rows}, f32, blocked), dst({n_, o, rows}, f32, blocked);
  Desc wei({o, k, 1}, f32, dnnl::memory::format_tag::any);
  Desc bias = hasBias_ ? plainDesc({o}) : Desc();
  dnnl::primitive_attr attr;
  attr.set_post_ops(toDnnl(s.post));
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::convolution_direct, col, wei, bias, dst, {1},
                                    {0}, {0});
  auto pd = createPd(a, "convolution",
                     [&] { return dnnl::convolution_forward::primitive_desc(d, attr, engine()); });
  prim_ = dnnl::convolution_forward(pd);
  col_ = handleMemory(col);
  dst_ = handleMemory(dst);
  colBytes_ = col.get_size();
  if (!a.input(1).packing.empty()) {
    weights_ = constantWeights(a, 1, Desc(), pd.weights_desc());
  } else {
    Desc wanted4;
    if (!splitK(pd.weights_desc(), kk, c_, wanted4))
      a.fail("the 1x1 convolution's weight layout does not split by kernel offset");
    // ONNX's OIhw element (o, c, kk) seen as {O, KK, C, 1}.
    Desc plain4({o, kk, c_, 1}, f32, Dims{c_ * kk, 1, kk, 1});
    SharedMemory m4 = sharedReorder(*a.constant(1), plain4, wanted4);
    struct Alias {
      SharedMemory keep;
      dnnl::memory memory;
    };
    auto held = std::make_shared<Alias>(
        Alias{m4, dnnl::memory(pd.weights_desc(), engine(), m4->get_data_handle())});
    weights_ = SharedMemory(held, &held->memory);
  }
  if (hasBias_)
    bias_ = a.constant(2) ? reorderedCopy(a.constant(2)->raw(), bias, bias) : handleMemory(bias);
  shape_ = shapeToString(x) + " k" + std::to_string(kh_) + "x" + std::to_string(kw_) + " s" +
           std::to_string(sh_) + " -> " + shapeToString(y) + " as im2col + 1x1 conv";
  for (char &ch : shape_)
    if (ch == ',')
      ch = 'x';
}

void Im2colConvKernel::gather(const float *x, float *col) const {
  const int64_t cb = c_ / block_, kk = kh_ * kw_, rows = oh_ * ow_, b = block_;
  const size_t rowBytes = size_t(b) * sizeof(float);
  int64_t planes = n_ * kk * cb;
#pragma omp parallel for schedule(static) if (planes * rows * b >= 32768)
  for (int64_t p = 0; p < planes; ++p) {
    int64_t img = p / (kk * cb), rest = p % (kk * cb), off = rest / cb, blk = rest % cb;
    int64_t i = off / kw_, j = off % kw_;
    const float *src = x + ((img * cb + blk) * h_ * w_) * b;
    float *dst = col + ((img * kk * cb + off * cb + blk) * rows) * b;
    // Output columns whose input column lies inside the image: [lo, hi).
    int64_t lo = std::max<int64_t>(0, (padL_ - j + sw_ - 1) / sw_);
    int64_t hi = std::min<int64_t>(ow_, (w_ + padL_ - j + sw_ - 1) / sw_);
    hi = std::max(hi, lo);
    for (int64_t r = 0; r < oh_; ++r) {
      float *out = dst + r * ow_ * b;
      int64_t ih = r * sh_ + i - padT_;
      if (ih < 0 || ih >= h_) {
        std::memset(out, 0, size_t(ow_) * rowBytes);
        continue;
      }
      std::memset(out, 0, size_t(lo) * rowBytes);
      const float *in = src + ih * w_ * b;
      if (sw_ == 1) {
        std::memcpy(out + lo * b, in + (lo - padL_ + j) * b, size_t(hi - lo) * rowBytes);
      } else {
        for (int64_t q = lo; q < hi; ++q)
          std::memcpy(out + q * b, in + (q * sw_ - padL_ + j) * b, rowBytes);
      }
      std::memset(out + hi * b, 0, size_t(ow_ - hi) * rowBytes);
    }
  }
}

void Im2colConvKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  float *col = static_cast<float *>(scratch());
  gather(in[0]->data<float>(), col);
  bind(col_, col);
  bind(dst_, out[0]->mutableRaw());
  executeProduct(prim_, col_, *weights_, dst_, hasBias_ ? &bias_ : nullptr,
                 hasBias_ && !constBias_ ? in[2]->raw() : nullptr);
}

} // namespace

void setIm2colConvMaxPixels(int64_t pixels) { maxPixels = std::max<int64_t>(0, pixels); }
int64_t im2colConvMaxPixels() { return maxPixels.load(); }

std::unique_ptr<RuntimeKernel> makeIm2colConvKernel(const KernelArgs &a, const ConvSetup &s) {
  // Weights pre-packed for a route (the 1x1 convolution's {O, K, 1} or the direct one's
  // {O, C, kh, kw}) take that route wherever the artifact is loaded; otherwise the route is
  // for AVX2 (where it was measured) and small maps.
  const Window &win = s.win;
  const BufferInfo &x = a.input(0), &y = a.output(0);
  // (A 1-D convolution's direct weights are rank 3 too; the route's are rank 3 for 2-D.)
  bool packedRoute = packedRank(a, 1) == 3 && x.shape.size() == 4;
  bool fits = a.constant(1) && !a.constant(0) && !s.post.hasSum && s.group == 1 && win.nd == 2 &&
              channelBlock() > 0 && x.layout == Layout::ChannelBlocked &&
              y.layout == Layout::ChannelBlocked && x.shape[1] % channelBlock() == 0 &&
              win.kernel[0] * win.kernel[1] >= 2 && win.dilations[0] == 1 &&
              win.dilations[1] == 1;
  if (packedRoute && !fits)
    a.fail("weights packed for the im2col route, which this convolution cannot take");
  if (packedRoute || (a.input(1).packing.empty() && fits && channelBlock() == 8 &&
                      y.shape[2] * y.shape[3] <= maxPixels.load()))
    return std::make_unique<Im2colConvKernel>(a, s);
  return nullptr;
}

} // namespace plumb::cpu
