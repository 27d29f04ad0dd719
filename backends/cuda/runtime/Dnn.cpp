// cuda.conv: cuDNN convolution (NCHW / NCDHW),
// cuda.convtranspose: its data gradient (cudnnConvolutionBackwardData), then bias and ReLU.
// cuda.conv's bias, residual (z) and ReLU are fused through
// cudnnConvolutionBiasActivationForward when there is a bias, else separate calls.
// f32 uses CUDNN_FMA_MATH (no TF32) unless the step says tf32 = 1. f16/bf16 plans use the
// legacy API's PSEUDO_HALF_CONFIG / PSEUDO_BFLOAT16_CONFIG: x, w, y and bias in the storage
// type, the convolution descriptor's type FLOAT (f32 accumulation), float alpha/beta, tensor-op
// math. TRUE_HALF_CONFIG (a HALF convolution type) would accumulate in f16: never used.
#include "backends/cuda/runtime/DeviceKernel.h"

#include "runtime/Error.h"

namespace plumb::cuda {
namespace {

cudnnDataType_t dnnType(DType t, const std::string &label) {
  switch (t) {
  case DType::F32: return CUDNN_DATA_FLOAT;
  case DType::F16: return CUDNN_DATA_HALF;
  case DType::BF16: return CUDNN_DATA_BFLOAT16;
  default: throw Error("cuda.conv for '" + label + "': " + dtypeName(t) + " is not supported");
  }
}

// The tensor's dims as cuDNN takes them: [N, C, L] -> [N, C, 1, L]; 4-D and 5-D unchanged.
std::vector<int> cudnnDims(const Shape &s, const std::string &label) {
  if (s.size() == 3)
    return {int(s[0]), int(s[1]), 1, int(s[2])};
  if (s.size() == 4 || s.size() == 5)
    return std::vector<int>(s.begin(), s.end());
  throw Error("cuda.conv for '" + label + "': only 1-D, 2-D and 3-D convolutions run on cuDNN");
}

std::vector<int> narrow(const std::vector<int64_t> &v) { return std::vector<int>(v.begin(), v.end()); }

class ConvKernel : public DeviceKernel {
public:
  ConvKernel(const Step &s, const std::vector<BufferInfo> &in, const std::vector<BufferInfo> &out,
             DeviceContext &ctx)
      : label_(s.nodeNames), transposed_(s.kernel == "cuda.convtranspose") {
    requireOneType(s, in, out);
    cudnnDataType_t t = dnnType(out.at(0).dtype, label_);
    std::vector<int> x = cudnnDims(in.at(0).shape, label_), w = cudnnDims(in.at(1).shape, label_),
                     y = cudnnDims(out.at(0).shape, label_);
    int nd = int(x.size()), spatial = nd - 2;
    std::vector<int> pads = narrow(s.attrs.getInts("pads", std::vector<int64_t>(spatial, 0)));
    std::vector<int> strides = narrow(s.attrs.getInts("strides", std::vector<int64_t>(spatial, 1)));
    std::vector<int> dil = narrow(s.attrs.getInts("dilations", std::vector<int64_t>(spatial, 1)));
    if (w.size() != x.size() || y.size() != x.size() || pads.size() != size_t(spatial) ||
        strides.size() != size_t(spatial) || dil.size() != size_t(spatial))
      throw Error("cuda.conv for '" + label_ + "': step attrs do not match its " +
                  std::to_string(spatial) + " spatial dims");
    std::vector<int> bias(size_t(nd), 1);
    bias[1] = y[1];
    check(cudnnCreateTensorDescriptor(&xd_), "x desc");
    check(cudnnCreateTensorDescriptor(&yd_), "y desc");
    check(cudnnCreateTensorDescriptor(&bd_), "bias desc");
    check(cudnnCreateFilterDescriptor(&wd_), "w desc");
    check(cudnnCreateConvolutionDescriptor(&cd_), "conv desc");
    check(cudnnCreateActivationDescriptor(&ad_), "act desc");
    // The Nd forms take 2-D (4 dims) and 3-D (5 dims) alike; packed NCHW / NCDHW strides.
    check(cudnnSetTensorNdDescriptorEx(xd_, CUDNN_TENSOR_NCHW, t, nd, x.data()), "x desc");
    check(cudnnSetTensorNdDescriptorEx(yd_, CUDNN_TENSOR_NCHW, t, nd, y.data()), "y desc");
    check(cudnnSetTensorNdDescriptorEx(bd_, CUDNN_TENSOR_NCHW, t, nd, bias.data()), "bias desc");
    check(cudnnSetFilterNdDescriptor(wd_, t, CUDNN_TENSOR_NCHW, nd, w.data()), "w desc");
    check(cudnnSetConvolutionNdDescriptor(cd_, spatial, pads.data(), strides.data(), dil.data(),
                                          CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT), // f32 accumulation for every storage type
          "conv desc");
    check(cudnnSetConvolutionGroupCount(cd_, int(s.attrs.getInt("group", 1))), "group");
    bool f32 = t == CUDNN_DATA_FLOAT;
    check(cudnnSetConvolutionMathType(cd_, f32 && !s.attrs.getInt("tf32", 0) ? CUDNN_FMA_MATH
                                                                            : CUDNN_TENSOR_OP_MATH),
          "math type");
    relu_ = s.attrs.getString("activation", "none") == "relu";
    hasBias_ = in.size() > 2 && in[2].present;
    // The residual z (a skip connection's Add, joined by the lowering): y's shape and type,
    // and only with a bias, which the fused call always reads.
    residual_ = in.size() > 3 && in[3].present;
    if (residual_ && (transposed_ || !hasBias_ || in[3].shape != out.at(0).shape))
      throw Error("cuda.conv for '" + label_ + "': a residual input needs a forward conv with a "
                  "bias and the result's shape");
    check(cudnnSetActivationDescriptor(ad_, relu_ ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                                       CUDNN_PROPAGATE_NAN, 0.0),
          "activation");
    int found = 0;
    if (transposed_) {
      // ConvTranspose is the data gradient of the forward conv from y to x: cuDNN's filter
      // [K = C_in, C = C_out/group, k...] is ONNX's ConvTranspose weight layout as it is.
      cudnnConvolutionBwdDataAlgoPerf_t perf[8];
      check(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.dnn, wd_, xd_, cd_, yd_, 8, &found, perf),
            "cuda.convtranspose algorithm for '" + label_ + "'");
      bwdAlgo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
      for (int i = 0; i < found; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= ctx.workspaceBytes) {
          bwdAlgo_ = perf[i].algo;
          break;
        }
      return;
    }
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    check(cudnnGetConvolutionForwardAlgorithm_v7(ctx.dnn, xd_, wd_, cd_, yd_, 8, &found, perf),
          "cuda.conv algorithm for '" + label_ + "'");
    algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= ctx.workspaceBytes &&
          (relu_ || !hasBias_ || perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)) {
        // Identity activation in the fused call is only allowed with IMPLICIT_PRECOMP_GEMM.
        algo_ = perf[i].algo;
        break;
      }
  }
  ~ConvKernel() override {
    cudnnDestroyTensorDescriptor(xd_);
    cudnnDestroyTensorDescriptor(yd_);
    cudnnDestroyTensorDescriptor(bd_);
    cudnnDestroyFilterDescriptor(wd_);
    cudnnDestroyConvolutionDescriptor(cd_);
    cudnnDestroyActivationDescriptor(ad_);
  }
  void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
              DeviceContext &ctx) override {
    float one = 1.f, zero = 0.f;
    check(cudnnSetStream(ctx.dnn, ctx.stream), "cudnnSetStream");
    std::string what = (transposed_ ? "cuda.convtranspose for '" : "cuda.conv for '") + label_ + "'";
    if (transposed_) {
      check(cudnnConvolutionBackwardData(ctx.dnn, &one, wd_, in[1], xd_, in[0], cd_, bwdAlgo_,
                                         ctx.workspace, ctx.workspaceBytes, &zero, yd_, out[0]),
            what);
      if (hasBias_)
        check(cudnnAddTensor(ctx.dnn, &one, bd_, in[2], &one, yd_, out[0]), what);
      if (relu_)
        check(cudnnActivationForward(ctx.dnn, ad_, &one, yd_, out[0], &zero, yd_, out[0]), what);
      return;
    }
    if (hasBias_) {
      // act(conv + alpha2 * z + bias): z is the residual with alpha2 = 1, else the output
      // buffer with alpha2 = 0 (read, ignored).
      check(cudnnConvolutionBiasActivationForward(
                ctx.dnn, &one, xd_, in[0], wd_, in[1], cd_, algo_, ctx.workspace,
                ctx.workspaceBytes, residual_ ? &one : &zero, yd_, residual_ ? in[3] : out[0],
                bd_, in[2], ad_, yd_, out[0]),
            what);
      return;
    }
    check(cudnnConvolutionForward(ctx.dnn, &one, xd_, in[0], wd_, in[1], cd_, algo_, ctx.workspace,
                                  ctx.workspaceBytes, &zero, yd_, out[0]),
          what);
    if (relu_)
      check(cudnnActivationForward(ctx.dnn, ad_, &one, yd_, out[0], &zero, yd_, out[0]), what);
  }

private:
  std::string label_;
  bool transposed_ = false, relu_ = false, hasBias_ = false, residual_ = false;
  cudnnTensorDescriptor_t xd_ = nullptr, yd_ = nullptr, bd_ = nullptr;
  cudnnFilterDescriptor_t wd_ = nullptr;
  cudnnConvolutionDescriptor_t cd_ = nullptr;
  cudnnActivationDescriptor_t ad_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  cudnnConvolutionBwdDataAlgo_t bwdAlgo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
};

} // namespace

std::unique_ptr<DeviceKernel> makeConvKernel(const Step &s, const std::vector<BufferInfo> &in,
                                             const std::vector<BufferInfo> &out,
                                             DeviceContext &ctx) {
  return std::make_unique<ConvKernel>(s, in, out, ctx);
}

} // namespace plumb::cuda
