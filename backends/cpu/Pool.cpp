// cpu.pool: ONNX MaxPool, AveragePool and the global pools as oneDNN pooling_v2, followed
// by unfused post-ops.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"
#include "backends/cpu/Window.h"

namespace plumb::cpu {

namespace {

// For each output position of one spatial dim: how many taps of the window land in the input
// (`valid`) and how many in the input plus the model's own pads (`padded`).
void tapCounts(const Window &w, size_t d, std::vector<double> &valid, std::vector<double> &padded) {
  valid.assign(size_t(w.out[d]), 0);
  padded.assign(size_t(w.out[d]), 0);
  for (int64_t o = 0; o < w.out[d]; ++o)
    for (int64_t k = 0; k < w.kernel[d]; ++k) {
      int64_t p = o * w.strides[d] - w.padL[d] + k * w.dilations[d];
      valid[size_t(o)] += p >= 0 && p < w.in[d];
      padded[size_t(o)] += p >= -w.padL[d] && p < w.in[d] + w.onnxPadR[d];
    }
}

// attrs: "op" = "MaxPool" | "AveragePool" | "GlobalMaxPool" | "GlobalAveragePool", plus the
// op's ONNX attributes (kernel_shape, strides, pads, auto_pad, dilations, ceil_mode,
// count_include_pad). MaxPool's Indices output is not produced.
class PoolKernel final : public RuntimeKernel {
public:
  explicit PoolKernel(const KernelArgs &a);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;

private:
  void prepareFixup(const Window &w);
  dnnl::pooling_v2_forward prim_;
  dnnl::memory src_, y_; // y_: the output as stored, for the unfused post-ops
  Bridge dst_;
  UnfusedPostOps post_;
  bool hasSum_ = false;
  // AveragePool with count_include_pad in ceil mode: oneDNN would count the extra end
  // padding that ceil mode needs, ONNX does not. Run the exclude-padding average and rescale
  // each output by valid/padded taps (per output position of one plane).
  std::vector<float> fixup_;
};

PoolKernel::PoolKernel(const KernelArgs &a) {
  std::string op = a.requireString("op");
  bool global = op == "GlobalMaxPool" || op == "GlobalAveragePool";
  bool isMax = op == "MaxPool" || op == "GlobalMaxPool";
  if (!global && !isMax && op != "AveragePool")
    a.fail("unknown pool op '" + op + "'");
  a.requireF32(1);
  if (a.out.size() > 1 && a.out[1].present)
    a.fail("MaxPool's Indices output is not produced; use ref.MaxPool");
  const Shape &x = a.input(0).shape;
  const Shape &y = a.output(0).shape;
  if (x.size() < 3 || y.size() != x.size() || y[0] != x[0] || y[1] != x[1])
    a.fail("bad input/output shapes " + shapeToString(x) + " -> " + shapeToString(y));
  Dims kernel(x.begin() + 2, x.end());
  if (!global) {
    std::vector<int64_t> k = a.attrs().requireInts("kernel_shape");
    kernel.assign(k.begin(), k.end());
  }
  bool ceilMode = !global && a.attrs().getInt("ceil_mode", 0) != 0;
  Window w = computeWindow(a, x, kernel, ceilMode, y);
  bool includePad = a.attrs().getInt("count_include_pad", 0) != 0;
  bool grown = false;
  for (size_t i = 0; i < w.nd; ++i)
    grown = grown || w.padR[i] > w.onnxPadR[i];
  auto alg = isMax                  ? dnnl::algorithm::pooling_max
             : includePad && !grown ? dnnl::algorithm::pooling_avg_include_padding
                                    : dnnl::algorithm::pooling_avg_exclude_padding;
  if (!isMax && includePad && grown) {
    if (a.input(0).layout != Layout::Plain || a.output(0).layout != Layout::Plain)
      a.fail("AveragePool with count_include_pad in ceil mode needs plain tensors");
    prepareFixup(w);
  }
  // The source is read in its stored layout (pooling has no format_tag::any for it); oneDNN
  // picks the destination layout to match, which the output's layout gets by a reorder when
  // they differ (a blocked source pooled into a plain output).
  Desc src = storageDesc(a.input(0));
  Desc anyDst(toDims(y), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, anyDst,
                                   w.strides, w.kernel, w.dnnlDilations(), w.padL, w.padR);
  auto pd =
      createPd(a, "pooling", [&] { return dnnl::pooling_v2_forward::primitive_desc(d, engine()); });
  prim_ = dnnl::pooling_v2_forward(pd);
  src_ = handleMemory(src);
  Desc dst = storageDesc(a.output(0));
  dst_.init(dst, pd.dst_desc());
  y_ = handleMemory(dst);
  PostOpList list = parsePostOps(a);
  hasSum_ = list.hasSum;
  if (hasSum_ && a.in.back().layout != a.output(0).layout)
    a.fail("the residual must have the output's layout");
  post_.init(list, dst);
}

void PoolKernel::prepareFixup(const Window &w) {
  fixup_.assign(1, 1.f);
  // Outer product over the spatial dims, first dim slowest (row-major like the output).
  for (size_t d = 0; d < w.nd; ++d) {
    std::vector<double> valid, padded;
    tapCounts(w, d, valid, padded);
    std::vector<float> next;
    for (float f : fixup_)
      for (size_t o = 0; o < valid.size(); ++o)
        next.push_back(float(f * (valid[o] / padded[o])));
    fixup_ = std::move(next);
  }
}

void PoolKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  bind(src_, in[0]->raw());
  void *y = out[0]->mutableRaw();
  prim_.execute(stream(), {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_.out(y)}});
  dst_.store(y);
  if (!fixup_.empty()) {
    stream().wait();
    float *v = out[0]->mutableData<float>();
    size_t plane = fixup_.size(), n = size_t(out[0]->numel());
    for (size_t i = 0; i < n; ++i)
      v[i] *= fixup_[i % plane];
  }
  if (!post_.empty()) {
    bind(y_, y);
    post_.run(y_, hasSum_ ? in.back()->raw() : nullptr);
  }
  stream().wait();
}

} // namespace

std::unique_ptr<RuntimeKernel> makePoolKernel(const KernelArgs &a) {
  return std::make_unique<PoolKernel>(a);
}

} // namespace plumb::cpu
