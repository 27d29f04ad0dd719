// The harness of the CPU kernel tests (cpu_kernels_test, cpu_attention_test), in the style of
// ggml's backend-ops test: run a cpu.* kernel from hand-built step attributes and compare it
// with the reference kernel of the same ONNX op; tensors may be stored channel-blocked.
#pragma once

#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Kernel.h"
#include "runtime/Error.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace plumb::cputest {

using namespace testattrs; // intAttr, floatAttr, stringAttr, intsAttr, stringsAttr

// Layout::ChannelBlocked from its definition (oneDNN's nC[d][h]wXc, X = cpu::channelBlock()),
// written independently of oneDNN's reorders: element (n, c, s) of an N×C×S tensor lies at
// ((n·C/X + c/X)·S + s)·X + c%X. Block 0 means the blocked layout is stored plain.
inline size_t blockedOffset(const Shape &shape, int64_t n, int64_t c, int64_t sp, int64_t spatial) {
  int64_t x = cpu::channelBlock();
  if (x == 0)
    return size_t((n * shape[1] + c) * spatial + sp);
  return size_t(((n * (shape[1] / x) + c / x) * spatial + sp) * x + c % x);
}

inline Tensor relayout(const Tensor &t, bool toBlocked) {
  const Shape &s = t.shape();
  int64_t spatial = numElements(s) / (s[0] * s[1]);
  Tensor r = Tensor::empty(DType::F32, s);
  const float *src = t.data<float>();
  float *dst = r.mutableData<float>();
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t sp = 0; sp < spatial; ++sp) {
        size_t plain = size_t((n * s[1] + c) * spatial + sp),
               blocked = blockedOffset(s, n, c, sp, spatial);
        dst[toBlocked ? blocked : plain] = src[toBlocked ? plain : blocked];
      }
  return r;
}

// A kernel input: an undefined tensor is an absent optional input; `constant` inputs are
// handed to the factory at prepare time (as the executor does for Constant buffers). `t` is
// always given plain; runCpu stores it as `layout`.
struct Arg {
  Tensor t;
  bool constant = false;
  Layout layout = Layout::Plain;
};

// Prepares the kernel once and runs it twice (a prepared kernel must be re-runnable and
// deterministic); returns every output as the kernel stored it (`outs`: planned dtypes,
// shapes and layouts).
inline std::vector<Tensor> runCpuOutputs(const std::string &kernel, const ref::Attrs &attrs,
                                         const std::vector<Arg> &args,
                                         const std::vector<BufferInfo> &outs, int64_t opset = 17) {
  Step step;
  step.kernel = kernel;
  step.attrs = attrs;
  step.opset = opset;
  std::vector<BufferInfo> ins;
  std::vector<const Tensor *> constants, in;
  std::vector<Tensor> stored;
  stored.reserve(args.size());
  for (const Arg &a : args) {
    BufferInfo bi;
    bi.present = a.t.defined();
    if (bi.present)
      bi.dtype = a.t.dtype(), bi.shape = a.t.shape(), bi.layout = a.layout;
    ins.push_back(bi);
    stored.push_back(a.layout == Layout::ChannelBlocked ? relayout(a.t, true) : a.t);
    constants.push_back(a.t.defined() && a.constant ? &stored.back() : nullptr);
    in.push_back(a.t.defined() ? &stored.back() : nullptr);
  }
  const KernelFactory *f = cpu::cpuKernelRegistry().find(kernel);
  if (!f)
    throw Error("no factory for " + kernel);
  std::unique_ptr<RuntimeKernel> k = (*f)(step, ins, outs, constants);
  std::vector<Tensor> first, second;
  for (const BufferInfo &o : outs) {
    first.push_back(Tensor::empty(o.dtype, o.shape));
    second.push_back(Tensor::empty(o.dtype, o.shape));
  }
  for (std::vector<Tensor> *run : {&first, &second}) {
    std::vector<Tensor *> out;
    for (Tensor &t : *run)
      out.push_back(&t);
    k->run(in, out);
  }
  for (size_t i = 0; i < outs.size(); ++i)
    EXPECT_EQ(std::memcmp(first[i].raw(), second[i].raw(), first[i].nbytes()), 0)
        << "second run differs in output " << i;
  return first;
}

// runCpuOutputs for a kernel with one f32 output; returns it plain, converted back from
// `outLayout`.
inline Tensor runCpu(const std::string &kernel, const ref::Attrs &attrs,
                     const std::vector<Arg> &args, const Shape &outShape, int64_t opset = 17,
                     Layout outLayout = Layout::Plain) {
  BufferInfo o;
  o.present = true;
  o.shape = outShape;
  o.layout = outLayout;
  Tensor y = runCpuOutputs(kernel, attrs, args, {o}, opset)[0];
  return outLayout == Layout::ChannelBlocked ? relayout(y, false) : y;
}

// Every output of the reference kernel of `op` (`numOutputs` of them, as Split declares).
inline std::vector<Tensor> refOps(const std::string &op, std::vector<const Tensor *> in,
                                  const ref::Attrs &attrs = {}, int64_t opset = 17,
                                  size_t numOutputs = 1) {
  ref::KernelCall call;
  call.opType = op;
  call.nodeName = "test";
  call.opset = opset;
  call.inputs = std::move(in);
  call.attrs = &attrs;
  call.numOutputs = numOutputs;
  return ref::runKernel(call);
}

inline Tensor refOp(const std::string &op, std::vector<const Tensor *> in,
                    const ref::Attrs &attrs = {}, int64_t opset = 17) {
  return refOps(op, std::move(in), attrs, opset)[0];
}

// The post-op strings of CpuBackend.h, spelled as the ONNX ops they stand for.
inline Tensor refPostOps(Tensor y, const std::vector<std::string> &ops, const Tensor *residual) {
  for (const std::string &op : ops) {
    std::vector<std::string> p;
    std::stringstream ss(op);
    for (std::string part; std::getline(ss, part, ':');)
      p.push_back(part);
    ref::Attrs at;
    if (p[0] == "relu")
      y = refOp("Relu", {&y});
    else if (p[0] == "sigmoid")
      y = refOp("Sigmoid", {&y});
    else if (p[0] == "tanh")
      y = refOp("Tanh", {&y});
    else if (p[0] == "gelu_erf")
      y = refOp("Gelu", {&y});
    else if (p[0] == "hardswish")
      y = refOp("HardSwish", {&y});
    else if (p[0] == "softplus")
      y = refOp("Softplus", {&y});
    else if (p[0] == "sum")
      y = refOp("Add", {&y, residual});
    else if (p[0] == "gelu_tanh") {
      at.set("approximate", stringAttr("tanh"));
      y = refOp("Gelu", {&y}, at);
    } else if (p[0] == "sigmoid_mul") {
      Tensor s = refOp("Sigmoid", {&y});
      y = refOp("Mul", {&y, &s});
    } else if (p[0] == "clip" || p[0] == "linear") {
      Tensor a = Tensor::scalarF32(std::stof(p[1])), b = Tensor::scalarF32(std::stof(p[2]));
      if (p[0] == "clip") {
        y = refOp("Clip", {&y, &a, &b});
      } else {
        y = refOp("Mul", {&y, &a});
        y = refOp("Add", {&y, &b});
      }
    } else if (p[0] == "leaky_relu" || p[0] == "elu") {
      if (p.size() > 1)
        at.set("alpha", floatAttr(std::stod(p[1])));
      y = refOp(p[0] == "elu" ? "Elu" : "LeakyRelu", {&y}, at);
    } else {
      ADD_FAILURE() << "test does not know post-op " << op;
    }
  }
  return y;
}

// |got - ref| <= tol * (1 + |ref|) elementwise; reports the worst element.
inline void expectClose(const Tensor &got, const Tensor &want, double tol) {
  ASSERT_EQ(got.shape(), want.shape());
  double worst = 0;
  int64_t at = -1;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.data<float>()[i], w = want.data<float>()[i];
    double excess = std::fabs(g - w) / (1 + std::fabs(w));
    if (!(excess <= worst)) // also catches NaN
      worst = excess, at = i;
  }
  EXPECT_LE(worst, tol) << "worst element " << at << ": got " << got.data<float>()[at]
                        << ", reference " << want.data<float>()[at];
}

// Distance from `got` to `want` (an exact value, a double rounded once to f32) in units of
// f32's spacing at `want`; 0 when both are the same infinity or both NaN.
inline double ulpsFrom(float got, double want) {
  float w = float(want);
  if (std::isnan(w) || std::isnan(got))
    return std::isnan(w) && std::isnan(got) ? 0 : 1e30;
  if (std::isinf(w) || std::isinf(got))
    return w == got ? 0 : 1e30;
  double spacing = double(std::nextafter(std::fabs(w), INFINITY)) - std::fabs(w);
  return std::fabs(double(got) - want) / spacing;
}

inline std::string join(const std::vector<std::string> &v) {
  std::string s;
  for (const std::string &x : v)
    s += (s.empty() ? "" : ",") + x;
  return "[" + s + "]";
}
inline std::string join(const std::vector<int64_t> &v) { return "[" + shapeToString(v) + "]"; }

// Convolutions and matmuls: oneDNN blocks and vectorises the K-term dot products, so its
// summation order differs from the reference's sequential loop. With inputs in [-1, 1] the
// rounding error of either order is about sqrt(K) * 2^-24 * |terms| (random-walk), under
// 1e-5 for the K <= ~600 used here (measured worst: 3.5e-6); the worst case K * 2^-24 is
// ~4e-5. 1e-4 * (1 + |ref|) allows that with margin while still catching any wrong tap, pad
// or post-op (errors of order 1e-1). Other kernels compute the same formula per element with
// oneDNN's polynomial exp/log/tanh/erf: measured worst 2.8e-6 (Log near its root, AVX2), so
// 1e-5 there.
inline constexpr double kDotTol = 1e-4;
inline constexpr double kElemTol = 1e-5;

// Sets cpu.conv's route switches (the im2col route's pixel limit, the Winograd route) for a
// test and restores the defaults it found when it goes out of scope.
struct ConvRoutes {
  int64_t im2colDefault = cpu::im2colConvMaxPixels();
  ConvRoutes(int64_t im2colPixels, bool winograd) {
    cpu::setIm2colConvMaxPixels(im2colPixels);
    cpu::setWinogradConv(winograd);
  }
  ~ConvRoutes() {
    cpu::setIm2colConvMaxPixels(im2colDefault);
    cpu::setWinogradConv(true);
  }
};

} // namespace plumb::cputest
