// cpu.conv, third route: a 3×3 stride-1 convolution between channel-blocked maps as Winograd
// F(2×2, 3×3): 16 products of (tiles × C) by (C × O) instead of 9 per output pixel pair, 2.25×
// fewer multiplications.
//
// Why: oneDNN 2.6 has Winograd convolutions for AVX-512 only; on AVX2 its direct 3×3 kernel
// and the im2col route (ConvIm2col.cpp) both do all 9·C·O multiply-adds per output pixel at
// 80-90 GF/s on one core. Here the transforms (adds and subtracts on 8-channel vectors) are
// ours and the 16 products are one oneDNN 1x1 convolution (jit_1x1, 80-96 GF/s on these
// shapes alone) run once per transform position with its own weights.
//
// The algorithm (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
// an output tile of 2×2 pixels is Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A, with d_c the 4×4 input
// tile of channel c (rows and columns 2t-pad .. 2t-pad+3, zeros outside the image), g_c the
// 3×3 kernel, and
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 -1 -1].
// The weights' transform U = G g Gᵀ is done once at prepare. Rounding: the input transform
// only adds (|V| up to 4·max|d|), the output one adds 9 terms; in f32 the results stay within
// a few units of the direct sum's own rounding (F(2,3) is the variant with the smallest error
// growth; larger tiles trade more accuracy for speed and are not used).
//
// Layout: the input and output are nChw8c (ChannelBlocked, block 8). The transformed input V
// is 16 planes, each nCw8c over {1, C, tiles}; the products M are 16 planes nCw8c over
// {1, O, tiles}. Bias and a Relu post-op are applied by the output transform.
#include "backends/cpu/Conv.h"

#include "backends/cpu/Alone.h"
#include "backends/cpu/Avx2Math.h"
#include "backends/cpu/Kernels.h"
#include "backends/cpu/SharedWeights.h"
#include "backends/cpu/VecMath.h"

#include <atomic>
#include <cstring>
#include <optional>

namespace plumb::cpu {

namespace {

std::atomic<bool> enabled{true};

constexpr int64_t kBlock = 8;

#ifdef PLUMB_X86

class WinogradConvKernel final : public RuntimeKernel {
public:
  WinogradConvKernel(const KernelArgs &a, const ConvSetup &s);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;
  // The yardstick is oneDNN's own convolution of the same shape (what the step would run
  // without this route), alone, with its preferred layouts.
  std::unique_ptr<AlonePrimitive> alone() override;
  bool readsConstantsAtRun() const override { return false; }
  // The transformed weights (16 blocks of O×C, transform kWinogradF2x3): an artifact stores
  // them as they are, and a loading kernel uses them in place.
  std::vector<PackedConstant> packedConstants() const override;
  size_t scratchBytes() const override { return size_t(16 * (c_ + o_) * tiles_) * sizeof(float); }

private:
  // f(block, tile, image, tile row, tile column) for every 8-channel block below `blocks` and
  // every tile, on the OpenMP team.
  template <class F> void forEachTile(int64_t blocks, F f) const;
  void transformInput(const float *x, float *v) const;
  void transformOutput(const float *m, float *y) const;
  int64_t n_, c_, h_, w_, o_, oh_, ow_, padT_, padL_, padB_, padR_, tilesH_, tilesW_, tiles_;
  bool relu_ = false;
  float reluAlpha_ = 0.f;
  std::vector<float> bias_; // O values (zeros without a bias)
  dnnl::convolution_forward prim_;
  dnnl::memory v_, m_;
  SharedMemory uAll_;            // the 16 transformed weight blocks (transformWeights)
  Desc wanted_;                 // the layout of each block
  std::vector<dnnl::memory> u_; // views of each block, in the 1x1 kernel's layout
  PostOpList post_; // for alone()
  bool hasBias_;
  std::string shape_;
};

// U = G g Gᵀ for every (o, c) of the O×C×3×3 constant `g`, as 16 blocks (transform position
// ξ = 4i + j) of O×C weights, each in layout `wanted`, one after the other in one buffer. One
// position at a time through a plain O×C buffer: the whole plain U would double the pages
// touched at load.
SharedMemory transformWeights(const Tensor &g, const Desc &wanted) {
  const int64_t o = g.shape()[0], c = g.shape()[1];
  const float *k = g.data<float>();
  const auto f32 = dnnl::memory::data_type::f32;
  size_t blockBytes = wanted.get_size();
  auto all = std::make_shared<const dnnl::memory>(
      Desc({int64_t(16 * blockBytes / sizeof(float))}, f32, dnnl::memory::format_tag::a),
      engine());
  auto *base = static_cast<char *>(all->get_data_handle());
  Desc plain({o, c, 1}, f32, Dims{c, 1, 1});
  std::vector<float> block(size_t(o * c)); // one position's O×C weights, plain
  dnnl::memory from(plain, engine(), block.data());
  for (int xi = 0; xi < 16; ++xi) {
    const int i = xi / 4, j = xi % 4;
    for (int64_t oc = 0; oc < o * c; ++oc) {
      const float *w = k + oc * 9;
      float t[3]; // row i of G g
      for (int q = 0; q < 3; ++q)
        t[q] = i == 0   ? w[q]
               : i == 1 ? 0.5f * (w[q] + w[3 + q] + w[6 + q])
               : i == 2 ? 0.5f * (w[q] - w[3 + q] + w[6 + q])
                        : w[6 + q];
      block[size_t(oc)] = j == 0   ? t[0]
                          : j == 1 ? 0.5f * (t[0] + t[1] + t[2])
                          : j == 2 ? 0.5f * (t[0] - t[1] + t[2])
                                   : t[2];
    }
    dnnl::memory to(wanted, engine(), base + size_t(xi) * blockBytes);
    dnnl::reorder(from, to).execute(stream(), from, to);
    stream().wait();
  }
  return all;
}

// The 16 blocks stored in layout `from` (another machine's), reordered into `wanted`.
SharedMemory repackBlocks(const Tensor &stored, const Desc &from, const Desc &wanted) {
  size_t fromBytes = from.get_size(), blockBytes = wanted.get_size();
  auto all = std::make_shared<const dnnl::memory>(
      Desc({int64_t(16 * blockBytes / sizeof(float))}, dnnl::memory::data_type::f32,
           dnnl::memory::format_tag::a),
      engine());
  auto *src = static_cast<const char *>(stored.raw());
  auto *dst = static_cast<char *>(all->get_data_handle());
  for (size_t xi = 0; xi < 16; ++xi) {
    dnnl::memory a(from, engine(), const_cast<char *>(src + xi * fromBytes));
    dnnl::memory b(wanted, engine(), dst + xi * blockBytes);
    dnnl::reorder(a, b).execute(stream(), a, b);
  }
  stream().wait();
  return all;
}

WinogradConvKernel::WinogradConvKernel(const KernelArgs &a, const ConvSetup &s)
    : post_(s.post), hasBias_(s.hasBias) {
  const Shape &x = a.input(0).shape, &y = a.output(0).shape;
  n_ = x[0], c_ = x[1], h_ = x[2], w_ = x[3], o_ = y[1], oh_ = y[2], ow_ = y[3];
  padT_ = s.win.padL[0], padL_ = s.win.padL[1], padB_ = s.win.padR[0], padR_ = s.win.padR[1];
  tilesH_ = (oh_ + 1) / 2, tilesW_ = (ow_ + 1) / 2, tiles_ = n_ * tilesH_ * tilesW_;
  for (const PostOp &op : s.post.ops) {
    relu_ = true;
    reluAlpha_ = op.alpha;
  }
  bias_.assign(size_t(o_), 0.f);
  if (s.hasBias)
    std::memcpy(bias_.data(), a.constant(2)->raw(), size_t(o_) * sizeof(float));

  const auto f32 = dnnl::memory::data_type::f32;
  Desc v({1, c_, tiles_}, f32, dnnl::memory::format_tag::nCw8c);
  Desc m({1, o_, tiles_}, f32, dnnl::memory::format_tag::nCw8c);
  Desc wei({o_, c_, 1}, f32, dnnl::memory::format_tag::any);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                    dnnl::algorithm::convolution_direct, v, wei, Desc(), m, {1},
                                    {0}, {0});
  auto pd = createPd(a, "convolution",
                     [&] { return dnnl::convolution_forward::primitive_desc(d, engine()); });
  prim_ = dnnl::convolution_forward(pd);
  v_ = handleMemory(v);
  m_ = handleMemory(m);

  // U = G g Gᵀ, 16 blocks in the 1x1 kernel's layout, one buffer shared by every kernel
  // (executors of a session's pool) prepared over the same constant: from an artifact that
  // stores them transformed, its mapped bytes in place (or reordered, when packed in another
  // layout elsewhere); otherwise transformed here.
  const Tensor &g = *a.constant(1);
  wanted_ = pd.weights_desc();
  size_t blockBytes = wanted_.get_size();
  if (std::optional<PackedLayout> stored = packedLayout(a, 1)) {
    if (a.packedRead.size() <= 1)
      a.packedRead.resize(2, false);
    a.packedRead[1] = true;
    Desc from = descOf(*stored);
    if (from.dims() != wanted_.dims())
      a.fail("constant '" + a.input(1).name + "' was packed as " + formatPacking(*stored) +
             ", which does not have the dims this kernel reads");
    if (from == wanted_) {
      struct InPlace {
        Tensor keep; // the artifact's mapping lives as long as the kernel
        dnnl::memory memory;
      };
      auto held = std::make_shared<InPlace>(InPlace{
          g, dnnl::memory(Desc({int64_t(16 * blockBytes / sizeof(float))},
                               dnnl::memory::data_type::f32, dnnl::memory::format_tag::a),
                          engine(), const_cast<void *>(g.raw()))});
      uAll_ = SharedMemory(held, &held->memory);
    } else {
      uAll_ = sharedDerived(g, "winograd blocks from " + formatPacking(*stored) + " to " +
                                   std::to_string(blockBytes),
                            [&] { return repackBlocks(g, from, wanted_); });
    }
  } else {
    PackedLayout layout;
    std::string derivation = packedLayoutOf(wanted_, 1.f, layout)
                                 ? "winograd F(2x2,3x3) as 16 x " + formatPacking(layout)
                                 : std::string();
    auto make = [&] { return transformWeights(g, wanted_); };
    uAll_ = derivation.empty() ? make() : sharedDerived(g, derivation, make);
  }
  auto *base = static_cast<char *>(uAll_->get_data_handle());
  for (size_t xi = 0; xi < 16; ++xi)
    u_.push_back(dnnl::memory(wanted_, engine(), base + xi * blockBytes));

  shape_ = shapeToString(x) + " k3x3 s1 -> " + shapeToString(y);
  for (char &ch : shape_)
    if (ch == ',')
      ch = 'x';
  shape_ += " as winograd F(2x2, 3x3)";
}

std::vector<PackedConstant> WinogradConvKernel::packedConstants() const {
  PackedLayout l;
  // Each block must span exactly what the layout describes (no extra alignment), since a
  // reader finds block ξ at ξ times that span.
  if (!packedLayoutOf(wanted_, 1.f, l) ||
      l.storageElements() * sizeof(float) != wanted_.get_size())
    return {};
  l.transform = kWinogradF2x3;
  PackedConstant p;
  p.input = 1;
  p.packing = formatPacking(l);
  p.data = uAll_->get_data_handle();
  p.bytes = 16 * wanted_.get_size();
  p.keepAlive = uAll_;
  return {p};
}

std::unique_ptr<AlonePrimitive> WinogradConvKernel::alone() {
  const auto f32 = dnnl::memory::data_type::f32;
  const auto any = dnnl::memory::format_tag::any;
  try {
    dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        Desc({n_, c_, h_, w_}, f32, any), Desc({o_, c_, 3, 3}, f32, any),
        hasBias_ ? plainDesc({o_}) : Desc(), Desc({n_, o_, oh_, ow_}, f32, any), {1, 1},
        {padT_, padL_}, {padB_, padR_});
    dnnl::primitive_attr attr;
    attr.set_post_ops(toDnnl(post_));
    dnnl::convolution_forward prim(dnnl::convolution_forward::primitive_desc(d, attr, engine()));
    auto p = makeAlonePrimitive(prim, dnnl::memory());
    if (p)
      p->shape = shape_;
    return p;
  } catch (const dnnl::error &) {
    return nullptr;
  }
}

// One 4×4 input tile of 8 channels (`src` at the block's map) into the 16 planes at `dst`.
PLUMB_AVX2 void inputTile(const float *src, int64_t h, int64_t w, int64_t r0, int64_t c0,
                          float *dst, int64_t plane) {
  __m256 d[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      int64_t r = r0 + i, c = c0 + j;
      d[i][j] = (r >= 0 && r < h && c >= 0 && c < w) ? _mm256_loadu_ps(src + (r * w + c) * kBlock)
                                                     : _mm256_setzero_ps();
    }
  __m256 e[4][4]; // Bᵀ d
  for (int j = 0; j < 4; ++j) {
    e[0][j] = _mm256_sub_ps(d[0][j], d[2][j]);
    e[1][j] = _mm256_add_ps(d[1][j], d[2][j]);
    e[2][j] = _mm256_sub_ps(d[2][j], d[1][j]);
    e[3][j] = _mm256_sub_ps(d[1][j], d[3][j]);
  }
  for (int i = 0; i < 4; ++i) { // (Bᵀ d) B
    _mm256_storeu_ps(dst + (4 * i + 0) * plane, _mm256_sub_ps(e[i][0], e[i][2]));
    _mm256_storeu_ps(dst + (4 * i + 1) * plane, _mm256_add_ps(e[i][1], e[i][2]));
    _mm256_storeu_ps(dst + (4 * i + 2) * plane, _mm256_sub_ps(e[i][2], e[i][1]));
    _mm256_storeu_ps(dst + (4 * i + 3) * plane, _mm256_sub_ps(e[i][1], e[i][3]));
  }
}

// One tile's 16 products of 8 channels (`src`, planes `plane` apart) into its 2×2 output
// pixels (`dst` at the block's map, rows and columns from r0, c0), plus bias, then Relu.
PLUMB_AVX2 void outputTile(const float *src, int64_t plane, const float *bias, bool relu,
                           float alpha, float *dst, int64_t oh, int64_t ow, int64_t r0,
                           int64_t c0) {
  __m256 q[4][4];
  for (int xi = 0; xi < 16; ++xi)
    q[xi / 4][xi % 4] = _mm256_loadu_ps(src + xi * plane);
  __m256 s[2][4]; // Aᵀ q
  for (int j = 0; j < 4; ++j) {
    s[0][j] = _mm256_add_ps(_mm256_add_ps(q[0][j], q[1][j]), q[2][j]);
    s[1][j] = _mm256_sub_ps(_mm256_sub_ps(q[1][j], q[2][j]), q[3][j]);
  }
  __m256 b = _mm256_loadu_ps(bias), zero = _mm256_setzero_ps(), va = _mm256_set1_ps(alpha);
  for (int i = 0; i < 2 && r0 + i < oh; ++i) {
    __m256 out[2] = {_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s[i][0], s[i][1]), s[i][2]), b),
                     _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s[i][1], s[i][2]), s[i][3]), b)};
    for (int j = 0; j < 2 && c0 + j < ow; ++j) {
      __m256 o = out[j];
      if (relu) // x < 0 ? alpha x : x (NaN passes through)
        o = _mm256_blendv_ps(o, _mm256_mul_ps(o, va), _mm256_cmp_ps(o, zero, _CMP_LT_OQ));
      _mm256_storeu_ps(dst + ((r0 + i) * ow + c0 + j) * kBlock, o);
    }
  }
}

template <class F> void WinogradConvKernel::forEachTile(int64_t blocks, F f) const {
  const int64_t perImage = tilesH_ * tilesW_;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t blk = 0; blk < blocks; ++blk)
    for (int64_t t = 0; t < tiles_; ++t)
      f(blk, t, t / perImage, (t % perImage) / tilesW_, t % tilesW_);
}

void WinogradConvKernel::transformInput(const float *x, float *v) const {
  const int64_t cb = c_ / kBlock;
  forEachTile(cb, [&](int64_t blk, int64_t t, int64_t img, int64_t th, int64_t tw) {
    inputTile(x + (img * cb + blk) * h_ * w_ * kBlock, h_, w_, 2 * th - padT_, 2 * tw - padL_,
              v + (blk * tiles_ + t) * kBlock, c_ * tiles_);
  });
}

void WinogradConvKernel::transformOutput(const float *m, float *y) const {
  const int64_t ob = o_ / kBlock;
  forEachTile(ob, [&](int64_t blk, int64_t t, int64_t img, int64_t th, int64_t tw) {
    outputTile(m + (blk * tiles_ + t) * kBlock, o_ * tiles_, bias_.data() + blk * kBlock, relu_,
               reluAlpha_, y + (img * ob + blk) * oh_ * ow_ * kBlock, oh_, ow_, 2 * th, 2 * tw);
  });
}

void WinogradConvKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  float *v = static_cast<float *>(scratch());
  float *m = v + 16 * c_ * tiles_;
  transformInput(in[0]->data<float>(), v);
  for (int64_t xi = 0; xi < 16; ++xi) {
    bind(v_, v + xi * c_ * tiles_);
    bind(m_, m + xi * o_ * tiles_);
    prim_.execute(stream(), {{DNNL_ARG_SRC, v_}, {DNNL_ARG_WEIGHTS, u_[size_t(xi)]},
                             {DNNL_ARG_DST, m_}});
  }
  stream().wait();
  transformOutput(m, static_cast<float *>(out[0]->mutableRaw()));
}

#endif

} // namespace

void setWinogradConv(bool on) { enabled = on; }

std::unique_ptr<RuntimeKernel> makeWinogradConvKernel(const KernelArgs &a, const ConvSetup &s) {
#ifdef PLUMB_X86
  const Window &win = s.win;
  const BufferInfo &x = a.input(0), &y = a.output(0);
  bool postOk = true;
  for (const PostOp &op : s.post.ops)
    postOk &= !op.isSum && op.alg == dnnl::algorithm::eltwise_relu;
  postOk &= s.post.ops.size() <= 1;
  // Weights stored transformed take this route wherever the artifact is loaded; weights
  // packed for another route take that one.
  std::optional<PackedLayout> stored = packedLayout(a, 1);
  bool packedHere = stored && stored->transform == kWinogradF2x3;
  bool fits = (enabled.load() || packedHere) && vec::hasAvx2() && channelBlock() == kBlock &&
              postOk && a.constant(1) && (!stored || packedHere) && !a.constant(0) &&
              (!s.hasBias || a.constant(2)) && s.group == 1 && win.nd == 2 &&
              win.kernel[0] == 3 && win.kernel[1] == 3 && win.strides[0] == 1 &&
              win.strides[1] == 1 && win.dilations[0] == 1 && win.dilations[1] == 1 &&
              x.layout == Layout::ChannelBlocked && y.layout == Layout::ChannelBlocked &&
              x.shape[1] % kBlock == 0 && y.shape[1] % kBlock == 0;
  if (fits)
    return std::make_unique<WinogradConvKernel>(a, s);
  if (packedHere)
    a.fail("weights stored for the Winograd route, which this convolution cannot take on "
           "this CPU (it needs AVX2, 8-channel blocks, a 3x3 stride-1 kernel, at most a Relu)");
#else
  (void)a, (void)s; // a transformed constant is then refused by the direct route's kernel
#endif
  return nullptr;
}

} // namespace plumb::cpu
