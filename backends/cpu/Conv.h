// Internal to backends/cpu: what the cpu.conv routes share (Conv.cpp: one oneDNN
// convolution; ConvIm2col.cpp: im2col + a 1x1 convolution for small maps; ConvWinograd.cpp:
// Winograd F(2x2, 3x3) around a 1x1 convolution).
#pragma once

#include "backends/cpu/PostOps.h"
#include "backends/cpu/Window.h"

#include <memory>

namespace plumb::cpu {

// A cpu.conv step's checked geometry: inputs X, W, [B], [residual for "sum"].
struct ConvSetup {
  PostOpList post;
  Window win;
  int64_t group = 1;
  bool hasBias = false;
  Dims wDims; // oneDNN's weight dims: (G, M/G, C/G, k...) when grouped, else ONNX's
};
// Fails (one line) unless the step is a well-formed Conv for its planned output.
ConvSetup checkConv(const KernelArgs &a);

// The im2col route for `a`, or nullptr when it does not apply (see ConvIm2col.cpp: group 1,
// 2-D, kernel larger than 1x1, dense, constant weights, channel-blocked input and output with
// block 8, at most 28×28 output pixels, no residual sum).
std::unique_ptr<RuntimeKernel> makeIm2colConvKernel(const KernelArgs &a, const ConvSetup &s);

// The Winograd F(2×2, 3×3) route for `a`, or nullptr when it does not apply (see
// ConvWinograd.cpp: 3×3, stride 1, group 1, channel-blocked maps with block 8 and channel
// counts divisible by 8, constant weights (not pre-packed) and bias, at most a Relu after).
std::unique_ptr<RuntimeKernel> makeWinogradConvKernel(const KernelArgs &a, const ConvSetup &s);

} // namespace plumb::cpu
