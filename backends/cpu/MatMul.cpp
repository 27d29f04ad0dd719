// cpu.matmul: ONNX MatMul (numpy batch broadcasting) and Gemm (transA/transB/alpha/beta) as
// one oneDNN matmul with bias and fused post-ops, or, for a constant 2-D B, as one 1x1
// convolution (prepareAsConv).
#include "backends/cpu/Alone.h"
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"
#include "backends/cpu/SharedWeights.h"
#include "backends/cpu/VecMath.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace plumb::cpu {

namespace {

// The oneDNN view of the product: dims and strides of each operand.
struct Geometry {
  Dims src, srcStrides, wei, weiStrides, dst, bias; // bias empty when absent
};

Shape promote(const Shape &s, bool isA) {
  if (s.size() != 1)
    return s;
  return isA ? Shape{1, s[0]} : Shape{s[0], 1}; // ONNX: 1-D A is a row, 1-D B a column
}

// Works out the product's geometry from A, B, the planned output and the optional bias.
// A weight matrix shared by every batch (B 2-D) is multiplied with all of A's rows at once;
// otherwise oneDNN's batched matmul broadcasts batch dims of size 1.
Geometry geometry(const KernelArgs &a, bool transA, bool transB, const Shape *bias) {
  Shape as = promote(a.input(0).shape, true), bs = promote(a.input(1).shape, false);
  const Shape &y = a.output(0).shape;
  if (as.size() < 2 || bs.size() < 2 || ((transA || transB) && (as.size() != 2 || bs.size() != 2)))
    a.fail("bad operand ranks " + shapeToString(as) + " x " + shapeToString(bs) +
           " (transA/transB need 2-D operands)");
  int64_t m = transA ? as[1] : as[as.size() - 2], k = transA ? as[0] : as.back();
  int64_t kb = transB ? bs[1] : bs[bs.size() - 2], n = transB ? bs[0] : bs.back();
  Shape batchA(as.begin(), as.end() - 2), batchB(bs.begin(), bs.end() - 2);
  size_t r = std::max(batchA.size(), batchB.size());
  Shape ba = rightAlign(batchA, r), bb = rightAlign(batchB, r), batch(r);
  for (size_t d = 0; d < r; ++d) {
    if (ba[d] != bb[d] && ba[d] != 1 && bb[d] != 1)
      a.fail("batch dims " + shapeToString(batchA) + " and " + shapeToString(batchB) + " differ");
    batch[d] = ba[d] == 1 ? bb[d] : ba[d];
  }
  Shape full = batch, expect = batch;
  full.push_back(m), full.push_back(n);
  if (a.input(0).shape.size() != 1)
    expect.push_back(m);
  if (a.input(1).shape.size() != 1)
    expect.push_back(n);
  if (k != kb || y != expect)
    a.fail("operands " + shapeToString(a.input(0).shape) + " x " + shapeToString(a.input(1).shape) +
           " do not give the planned " + shapeToString(y));
  if (bias && (!broadcastsTo(*bias, full) || !broadcastsTo(*bias, y)))
    a.fail("bias " + shapeToString(*bias) + " does not broadcast to " + shapeToString(y));
  Shape biasFull = bias ? rightAlign(*bias, full.size()) : Shape();
  int64_t rowsA = numElements(batchA) * m;
  bool biasPerRow = bias && numElements(Shape(biasFull.begin(), biasFull.end() - 1)) != 1;
  Geometry g;
  if (batchB.empty() && (!biasPerRow || rowsA == m)) {
    g.src = {rowsA, k}, g.wei = {k, n}, g.dst = {rowsA, n};
    g.srcStrides = transA ? Dims{1, m} : Dims{k, 1};
    g.weiStrides = transB ? Dims{1, k} : Dims{n, 1};
    if (bias)
      g.bias = {biasFull[biasFull.size() - 2], biasFull.back()};
  } else {
    if (full.size() > 12)
      a.fail("oneDNN matmul takes at most 12 dims");
    g.src = toDims(rightAlign(as, full.size())), g.wei = toDims(rightAlign(bs, full.size()));
    g.dst = toDims(full);
    g.srcStrides = rowMajorStrides(g.src), g.weiStrides = rowMajorStrides(g.wei);
    if (bias)
      g.bias = toDims(biasFull);
  }
  return g;
}

// Inputs: A, B, [bias or Gemm's C], [residual for "sum"]. Constant B is reordered (with
// Gemm's alpha folded in) once. With alpha on a runtime B, alpha becomes the first post-op
// and a constant C is pre-divided by it, since oneDNN adds the bias before post-ops.
class MatMulKernel final : public RuntimeKernel {
public:
  explicit MatMulKernel(const KernelArgs &a);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;
  std::unique_ptr<AlonePrimitive> alone() override {
    auto p = makeAlonePrimitive(prim_, constWeights_ ? *sharedWeights_ : dnnl::memory());
    if (p && !asConvShape_.empty())
      p->shape = asConvShape_; // the product, not the convolution that computes it
    return p;
  }
  // Weights and bias are copied at prepare; only a constant A or residual is read at run.
  bool readsConstantsAtRun() const override { return constAtRun_; }
  std::vector<PackedConstant> packedConstants() const override {
    return packedWeight(1, sharedWeights_, weightScale_);
  }

private:
  // `force`: take the route whatever implementation oneDNN offers (weights packed for it).
  bool prepareAsConv(const KernelArgs &a, const Geometry &g, const dnnl::primitive_attr &attr,
                     float alpha, float biasScale, bool force);
  void prepareConstants(const KernelArgs &a, const Desc &weiPlain, const Desc &weiWanted,
                        const Desc &biasDesc, float alpha, float biasScale);
  PostOpList post_;
  bool geluAfter_ = false; // a trailing gelu_tanh run after the primitive (takeTrailingGeluTanh)
  bool hasBias_ = false, constWeights_ = false, constBias_ = false, constAtRun_ = false;
  dnnl::primitive prim_;     // a matmul, or a 1x1 convolution (prepareAsConv)
  std::string asConvShape_; // for the latter: "MxK * KxN as 1x1 conv"
  dnnl::memory src_, weights_, bias_, dst_;
  SharedMemory sharedWeights_; // what weights_ points at for a constant B (kept alive here)
  float weightScale_ = 1.f;    // the alpha folded into sharedWeights_
};

MatMulKernel::MatMulKernel(const KernelArgs &a) {
  post_ = parsePostOps(a);
  size_t own = post_.ownInputs(a);
  if (own < 2 || own > 3)
    a.fail("expected inputs A, B and optional bias (plus the residual for a 'sum' post-op)");
  a.requireF32(a.in.size());
  bool transA = a.attrs().getInt("transA", 0) != 0, transB = a.attrs().getInt("transB", 0) != 0;
  float alpha = float(a.number("alpha", 1.0)), beta = float(a.number("beta", 1.0));
  hasBias_ = own == 3 && a.has(2);
  Geometry g = geometry(a, transA, transB, hasBias_ ? &a.input(2).shape : nullptr);
  constWeights_ = a.constant(1) != nullptr;
  constBias_ = hasBias_ && a.constant(2) != nullptr;
  constAtRun_ = a.constant(0) || (post_.hasSum && a.constant(a.in.size() - 1));
  bool alphaPost = alpha != 1.f && !constWeights_;
  if (alphaPost && hasBias_ && (alpha == 0.f || !constBias_))
    a.fail("alpha with a runtime B and a runtime C (or alpha 0) is not supported; use ref.Gemm");
  if (hasBias_ && !constBias_ && beta != 1.f)
    a.fail("beta != 1 with a runtime C is not supported; use ref.Gemm");
  Desc srcDesc(g.src, dnnl::memory::data_type::f32, g.srcStrides);
  Desc weiPlain(g.wei, dnnl::memory::data_type::f32, g.weiStrides);
  // Constant weights are reordered once. For a 2-D B, oneDNN 2.6 resolves format_tag::any to
  // row-major "ab", for which its AVX2 sgemm repacks B on every call; B stored transposed
  // ("ba") runs 2-3x faster on transformer shapes (M = 128: 51-85 vs 18-36 GFLOP/s on one
  // core, measured with the primitive alone). Batched B keeps oneDNN's choice.
  Desc weiDesc = !constWeights_    ? weiPlain
                 : g.wei.size() == 2 ? Desc(g.wei, dnnl::memory::data_type::f32,
                                            dnnl::memory::format_tag::ba)
                                     : Desc(g.wei, dnnl::memory::data_type::f32,
                                            dnnl::memory::format_tag::any);
  Desc biasDesc = hasBias_ ? plainDesc(g.bias) : Desc();
  Desc dstDesc = plainDesc(g.dst);
  PostOpList ops = post_;
  geluAfter_ = takeTrailingGeluTanh(ops);
  if (alphaPost)
    ops.ops.insert(ops.ops.begin(),
                   PostOp{false, dnnl::algorithm::eltwise_linear, alpha, 0.f, "alpha"});
  dnnl::primitive_attr attr;
  attr.set_post_ops(toDnnl(ops));
  bool biasPerColumn = !hasBias_ || (g.bias.size() == 2 && g.bias[0] == 1 && g.bias[1] == g.wei[1]);
  // Weights pre-packed for one route (their rank says which: the convolution's {N, K, 1} or
  // the matmul's {K, N}) take that route, so that an artifact loads wherever it was written.
  size_t packed = packedRank(a, 1);
  bool packedConv = packed == 3 && g.wei.size() == 2;
  bool convRoute = constWeights_ && g.wei.size() == 2 && !transA && biasPerColumn;
  if (convRoute && (packed == 0 || packedConv) && prepareAsConv(a, g, attr, alpha, beta, packedConv))
    return;
  if (packedConv)
    a.fail("weights packed for the 1x1-convolution route, which this product cannot take");
  dnnl::matmul::desc d(srcDesc, weiDesc, biasDesc, dstDesc);
  auto pd = createPd(a, "matmul", [&] { return dnnl::matmul::primitive_desc(d, attr, engine()); });
  prim_ = dnnl::matmul(pd);
  src_ = handleMemory(srcDesc);
  dst_ = handleMemory(dstDesc);
  weights_ = handleMemory(weiPlain);
  if (hasBias_)
    bias_ = handleMemory(biasDesc);
  prepareConstants(a, weiPlain, pd.weights_desc(), biasDesc, alphaPost ? 1.f : alpha,
                   alphaPost ? beta / alpha : beta);
}

// A constant 2-D B (the weights of every Linear/Gemm of a transformer) as a 1-D 1x1
// convolution over A's rows: A (rows x K, row-major) is the convolution's input in "nwc"
// (1 image, K channels, rows positions) and the output rows x N is "nwc" too, so both are used
// in place, and B becomes N output channels of K. oneDNN 2.6's AVX2 1x1-convolution kernel
// (blocked weights, no per-call packing of B) runs these products 12-50% faster than its
// matmul (sgemm) on one and two threads, measured with both primitives alone on BERT/GPT-2
// shapes (e.g. 128x3072x768 on one core: 7.7 vs 10.0 ms). Taken only when oneDNN offers that
// kernel (`jit_1x1`) for the shape; the matmul stays otherwise. Same sums, other order: results
// differ from the matmul's by float rounding only.
bool MatMulKernel::prepareAsConv(const KernelArgs &a, const Geometry &g,
                                 const dnnl::primitive_attr &attr, float alpha, float biasScale,
                                 bool force) {
  int64_t rows = g.src[0], k = g.src[1], n = g.wei[1];
  if (rows < 1 || k < 1 || n < 1)
    return false;
  const auto f32 = dnnl::memory::data_type::f32;
  Desc src({1, k, rows}, f32, Dims{rows * k, 1, k});
  Desc dst({1, n, rows}, f32, Dims{rows * n, 1, n});
  Desc wei({n, k, 1}, f32, dnnl::memory::format_tag::any);
  Desc bias = hasBias_ ? plainDesc({n}) : Desc();
  dnnl::convolution_forward::primitive_desc pd;
  try {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                      dnnl::algorithm::convolution_direct, src, wei, bias, dst,
                                      {1}, {0}, {0});
    pd = dnnl::convolution_forward::primitive_desc(d, attr, engine());
  } catch (const dnnl::error &) {
    return false;
  }
  if (!force && std::string(pd.impl_info_str()).rfind("jit_1x1", 0) != 0)
    return false;
  prim_ = dnnl::convolution_forward(pd);
  asConvShape_ = std::to_string(rows) + "x" + std::to_string(k) + " * " + std::to_string(k) +
                 "x" + std::to_string(n) + " as 1x1 conv";
  src_ = handleMemory(src);
  dst_ = handleMemory(dst);
  if (hasBias_)
    bias_ = handleMemory(bias);
  // B's element (k, n) is the weight of output channel n, input channel k.
  Desc weiPlain({n, k, 1}, f32, Dims{g.weiStrides[1], g.weiStrides[0], 1});
  prepareConstants(a, weiPlain, pd.weights_desc(), bias, alpha, biasScale);
  return true;
}

void MatMulKernel::prepareConstants(const KernelArgs &a, const Desc &weiPlain,
                                    const Desc &weiWanted, const Desc &biasDesc, float alpha,
                                    float biasScale) {
  auto scaled = [](const Tensor &t, float s) {
    std::vector<float> v(t.data<float>(), t.data<float>() + t.numel());
    if (s != 1.f)
      for (float &x : v)
        x *= s;
    return v;
  };
  if (constWeights_) {
    // Alpha is part of the cache key: the same B under another alpha is another constant.
    sharedWeights_ = constantWeights(a, 1, weiPlain, weiWanted, alpha);
    weightScale_ = alpha;
    constAtRun_ = constAtRun_ || borrowsConstant(sharedWeights_, *a.constant(1));
    weights_ = *sharedWeights_;
  }
  if (constBias_) {
    std::vector<float> b = scaled(*a.constant(2), biasScale);
    bias_ = reorderedCopy(b.data(), biasDesc, biasDesc);
  }
}

void MatMulKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  void *y = out[0]->mutableRaw();
  if (post_.hasSum && in.back()->raw() != y)
    std::memcpy(y, in.back()->raw(), out[0]->nbytes());
  bind(src_, in[0]->raw());
  bind(dst_, y);
  if (!constWeights_)
    bind(weights_, in[1]->raw());
  executeProduct(prim_, src_, weights_, dst_, hasBias_ ? &bias_ : nullptr,
                 hasBias_ && !constBias_ ? in[2]->raw() : nullptr);
  if (geluAfter_)
    vec::geluTanhInPlace(static_cast<float *>(y), out[0]->numel());
}

} // namespace

std::unique_ptr<RuntimeKernel> makeMatMulKernel(const KernelArgs &a) {
  return std::make_unique<MatMulKernel>(a);
}

} // namespace plumb::cpu
