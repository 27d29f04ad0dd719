// cpu.conv: ONNX Conv (1 to 3 spatial dims, groups, strides, dilations, pads) as one oneDNN
// convolution with bias and fused post-ops.
#include "backends/cpu/Conv.h"

#include "backends/cpu/Alone.h"
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"
#include "backends/cpu/SharedWeights.h"
#include "backends/cpu/Window.h"

namespace plumb::cpu {

namespace {

// Inputs: X, W, [B], [residual when post_ops has "sum"]. Weights (and bias) that are
// constants are reordered once here into the layout the chosen implementation prefers.
// Activations are stored as their buffers' layouts say: a plain tensor is reordered into the
// implementation's preferred layout (nChw8c on AVX2) on the way in and out; a ChannelBlocked
// one, which the lowering gives to tensors passed between convolutions and pools, is already
// in it, so the primitive reads and writes the buffers directly.
class ConvKernel final : public RuntimeKernel {
public:
  ConvKernel(const KernelArgs &a, const ConvSetup &s);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;
  std::unique_ptr<AlonePrimitive> alone() override;
  // Weights and bias are copied at prepare; only a constant X or residual is read at run.
  bool readsConstantsAtRun() const override { return constAtRun_; }
  std::vector<PackedConstant> packedConstants() const override {
    return packedWeight(1, weights_, 1.f);
  }

private:
  PostOpList post_;
  bool hasBias_ = false, constWeights_ = false, constBias_ = false, constAtRun_ = false;
  dnnl::convolution_forward prim_;
  Bridge src_, dst_, weightsIn_;
  SharedMemory weights_; // constant weights, shared with other kernels (SharedWeights.h)
  dnnl::memory bias_;
  // A residual stored in another layout than the output is reordered into the accumulator.
  dnnl::memory residual_;
  dnnl::reorder residualIn_;
};

} // namespace

ConvSetup checkConv(const KernelArgs &a) {
  ConvSetup s;
  s.post = parsePostOps(a);
  size_t own = s.post.ownInputs(a);
  if (own < 2 || own > 3)
    a.fail("expected inputs X, W and optional B (plus the residual for a 'sum' post-op)");
  a.requireF32(a.in.size());
  const Shape &x = a.input(0).shape;
  const Shape &w = a.input(1).shape;
  const Shape &y = a.output(0).shape;
  int64_t group = a.attrs().getInt("group", 1);
  if (x.size() < 3 || w.size() != x.size() || group < 1 || x[1] % group != 0 ||
      w[1] * group != x[1] || w[0] % group != 0)
    a.fail("input " + shapeToString(x) + " and weights " + shapeToString(w) + " do not match in " +
           std::to_string(group) + " group(s)");
  Dims kernel(w.begin() + 2, w.end());
  std::vector<int64_t> ks = a.attrs().getInts("kernel_shape", kernel);
  if (Dims(ks.begin(), ks.end()) != kernel)
    a.fail("kernel_shape does not match the weights " + shapeToString(w));
  s.win = computeWindow(a, x, kernel, false, y);
  if (y.size() != x.size() || y[0] != x[0] || y[1] != w[0])
    a.fail("planned output " + shapeToString(y) + " does not match the conv");
  s.hasBias = own == 3 && a.has(2);
  if (s.hasBias && a.input(2).shape != Shape{w[0]})
    a.fail("bias must have shape " + std::to_string(w[0]));
  // Grouped weights are (G, M/G, C/G, k...) to oneDNN: ONNX's (M, C/G, k...) memory as is.
  s.wDims = toDims(w);
  if (group > 1) {
    s.wDims[0] = w[0] / group;
    s.wDims.insert(s.wDims.begin(), group);
  }
  s.group = group;
  return s;
}

namespace {

ConvKernel::ConvKernel(const KernelArgs &a, const ConvSetup &s) {
  post_ = s.post;
  hasBias_ = s.hasBias;
  const Window &win = s.win;
  const Shape &x = a.input(0).shape;
  const Shape &w = a.input(1).shape;
  const Shape &y = a.output(0).shape;
  const Dims &wDims = s.wDims;
  auto any = [](const Dims &d) {
    return Desc(d, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  };
  Desc biasDesc = hasBias_ ? plainDesc({w[0]}) : Desc();
  dnnl::convolution_forward::desc d(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, any(toDims(x)),
      any(wDims), biasDesc, any(toDims(y)), win.strides, win.dnnlDilations(), win.padL, win.padR);
  dnnl::primitive_attr attr;
  attr.set_post_ops(toDnnl(post_));
  auto pd = createPd(a, "convolution",
                     [&] { return dnnl::convolution_forward::primitive_desc(d, attr, engine()); });
  prim_ = dnnl::convolution_forward(pd);
  src_.init(storageDesc(a.input(0)), pd.src_desc());
  dst_.init(storageDesc(a.output(0)), pd.dst_desc());
  if (post_.hasSum && a.in.back().layout != a.output(0).layout) {
    residual_ = handleMemory(storageDesc(a.in.back()));
    residualIn_ = dnnl::reorder(residual_, dnnl::memory(pd.dst_desc(), engine(), nullptr));
  }
  constAtRun_ = a.constant(0) || (post_.hasSum && a.constant(a.in.size() - 1));
  constWeights_ = a.constant(1) != nullptr;
  if (constWeights_) {
    weights_ = constantWeights(a, 1, plainDesc(wDims), pd.weights_desc());
    constAtRun_ = constAtRun_ || borrowsConstant(weights_, *a.constant(1));
  } else {
    weightsIn_.init(plainDesc(wDims), pd.weights_desc());
  }
  constBias_ = hasBias_ && a.constant(2) != nullptr;
  if (hasBias_)
    bias_ = constBias_ ? reorderedCopy(a.constant(2)->raw(), biasDesc, biasDesc)
                       : handleMemory(biasDesc);
}

void ConvKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  void *y = out[0]->mutableRaw();
  if (post_.hasSum && residual_) {
    bind(residual_, in.back()->raw());
    dnnl::memory acc = dst_.out(y); // a handle: the output, or the scratch it is stored from
    residualIn_.execute(stream(), residual_, acc);
  } else if (post_.hasSum) {
    dst_.load(in.back()->raw(), y);
  }
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src_.in(in[0]->raw())},
      {DNNL_ARG_WEIGHTS, constWeights_ ? *weights_ : weightsIn_.in(in[1]->raw())},
      {DNNL_ARG_DST, dst_.out(y)}};
  if (hasBias_) {
    if (!constBias_)
      bind(bias_, in[2]->raw());
    args[DNNL_ARG_BIAS] = bias_;
  }
  prim_.execute(stream(), args);
  dst_.store(y);
  stream().wait();
}

std::unique_ptr<AlonePrimitive> ConvKernel::alone() {
  return makeAlonePrimitive(prim_, constWeights_ ? *weights_ : dnnl::memory());
}

} // namespace

std::unique_ptr<RuntimeKernel> makeConvKernel(const KernelArgs &a) {
  ConvSetup s = checkConv(a);
  if (auto k = makeWinogradConvKernel(a, s))
    return k;
  if (auto k = makeIm2colConvKernel(a, s))
    return k;
  return std::make_unique<ConvKernel>(a, s);
}

} // namespace plumb::cpu
