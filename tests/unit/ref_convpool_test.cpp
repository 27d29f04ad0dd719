// Unit tests for the reference Conv, ConvTranspose, pooling, Pad and Resize kernels
// (ConvPool.cpp). Expected values come from small, independent numpy implementations
// (padding with np.pad and slicing windows for Conv/pools; scatter-then-crop for
// ConvTranspose; np.pad for Pad; a port of ONNX's reference Resize algorithm), or by hand.
#include "tests/unit/RefTestUtil.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace plumb;
using namespace plumb::ref;
using namespace plumb::reftest;

namespace {

using Node = NodeT<18>;

constexpr double kTol = 1e-5;

// ---------------------------------------------------------------------------------------
// Conv

TEST(RefConv, OnnxExamplePadding) {
  // ONNX's Conv example: 5x5 ramp, 3x3 ones kernel, pads 1 (numpy: 3x3 window sums of
  // np.pad(arange(25).reshape(5,5), 1)).
  Tensor x = iota({1, 1, 5, 5});
  Tensor w = f32({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  Tensor y = Node("Conv").ints("pads", {1, 1, 1, 1})({x, w});
  expectValues(y, DType::F32, {1, 1, 5, 5},
               {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
  // Strides 2 without padding; kernel_shape given explicitly.
  y = Node("Conv").ints("kernel_shape", {3, 3}).ints("strides", {2, 2})({x, w});
  expectValues(y, DType::F32, {1, 1, 2, 2}, {54, 72, 144, 162});
}

TEST(RefConv, GroupsDilationsStridesAsymmetricPadsBias) {
  // numpy: x (1,4,5,6), w (4,2,2,3), group 2, strides (2,1), pads (1,0,0,2), dilations (2,2).
  Tensor x = f32({1, 4, 5, 6},
                 {-0.3, 0.9,  -2,   -0.8, -1.4, -1.6, -1.3, -0.6, -0.4, 0.2, -0.3, 0.7,  -1.2, 1.5,
                  -1.9, 0.7,  -0.3, 0.2,  -1.4, -1.2, 1.2,  1.9,  -0.7, 0.8, 1.5,  1.6,  -1.7, -1.8,
                  -1.3, 1.5,  -1.6, -0.3, 1.8,  0.1,  0.8,  -0.7, 0.7,  1.3, -1.9, 1,    2,    1,
                  -0.9, 1.2,  -1.6, -0.2, 1.6,  -0.8, -0.8, -1.5, -1.9, 0.7, -1.2, -0.9, 0,    -1.8,
                  0.3,  -1.4, 0.4,  0.8,  -1.6, -0.3, 0.8,  -0.3, -1.8, 0.1, 0.7,  0.1,  1.8,  0.3,
                  1.6,  -1.5, -1.4, 1.2,  -0.4, -1.3, 1.7,  -0.6, 1,    0.9, 1.5,  0.5,  1,    -0.6,
                  -0.9, 1.6,  -0.3, 1.9,  0.7,  0.5,  -1.5, 1.8,  -0.2, 0.3, -0.4, -1.1, 1.6,  0.3,
                  -2,   0.5,  -0.7, 0.1,  1.5,  -0.6, 1.6,  0.5,  -1.9, 1.7, 0.8,  2,    -1.3, -1.5,
                  1.7,  0.8,  -1.7, 1,    1,    1.7,  0.8,  -1.5});
  Tensor w =
      f32({4, 2, 2, 3}, {-0.3, -1.9, 0.2,  -0.3, -0.3, -0.7, -1.2, 0.5,  -0.8, -0.9, 0.5,  0.1,
                         -1.5, 0.1,  -1.3, 1.1,  1.4,  0,    1.4,  -1.7, 0,    -1.7, -0.3, -1.6,
                         -1.5, 0.4,  -1.1, -1.6, -1.1, -0.6, -0.1, -1.2, 0.6,  -0.1, 0,    -0.5,
                         1.2,  0.3,  -1.4, 0.8,  1.9,  0,    1.6,  -0.6, 0.3,  -0.3, -0.3, 1.1});
  Tensor b = f32({4}, {0.5, -1, 0, 2});
  Tensor y = Node("Conv")
                 .i("group", 2)
                 .ints("strides", {2, 1})
                 .ints("pads", {1, 0, 0, 2})
                 .ints("dilations", {2, 2})({x, w, b});
  expectNear(y, DType::F32, {1, 4, 2, 4},
             {-0.16, -0.44, 3.42, -0.17, -1.6, -0.58, 5.43,  -3.48, -6.81, -5.49, 0.77,
              -1.8,  9.5,   4.25, -2.56, 0.76, -3.87, 0.33,  -4.44, 1.12,  -5.05, -1.18,
              -4.39, -1.21, 5.33, 2.52,  7.29, -0.79, 10.36, 6.92,  4.84,  2.12},
             kTol);
  // The F64 truth run gives the same numbers.
  expectNear(Node("Conv")
                 .truth()
                 .i("group", 2)
                 .ints("strides", {2, 1})
                 .ints("pads", {1, 0, 0, 2})
                 .ints("dilations", {2, 2})({x, w, b}),
             DType::F64, {1, 4, 2, 4},
             {-0.16, -0.44, 3.42, -0.17, -1.6, -0.58, 5.43,  -3.48, -6.81, -5.49, 0.77,
              -1.8,  9.5,   4.25, -2.56, 0.76, -3.87, 0.33,  -4.44, 1.12,  -5.05, -1.18,
              -4.39, -1.21, 5.33, 2.52,  7.29, -0.79, 10.36, 6.92,  4.84,  2.12},
             1e-6);
}

TEST(RefConv, OneAndThreeSpatialDims) {
  // numpy: x (2,2,7), w (3,2,3), strides 3, pads (2,1).
  Tensor x1 = f32({2, 2, 7},
                  {0.2, 0.8, -0.8, 0,   1.6, 1.6,  -1.5, -1.2, -1.8, -0.2, -1.9, -0.2, 0.6,  -0.9,
                   0.7, 0.4, -1.9, 0.2, -1,  -0.3, -0.9, 0.8,  -0.2, -1.4, 0.2,  1.1,  -0.8, -1.1});
  Tensor w1 = f32({3, 2, 3}, {1.9, 0.2, 1.9, 0.9, 0.8, -1.1, 1.9, -2, -1, -0.3, 1.1, -1.2, 1.5, 1.9,
                              -1.3, 0.4, -2, -0.5});
  expectNear(Node("Conv").ints("strides", {3}).ints("pads", {2, 1})({x1, w1}), DType::F32,
             {2, 3, 3},
             {1.7, 1.67, 1.8, 1.24, 5.72, 3.14, 0.34, 0.31, 6.56, 0.45, -0.76, -2.11, -1.66, 2.64,
              -0.29, -1.31, -0.65, 1.69},
             kTol);
  // numpy: x (1,1,3,3,3), w (2,1,2,2,2), bias (1,-1), ONNX pads (1,0,1, 0,1,0).
  Tensor x3 = f32({1, 1, 3, 3, 3},
                  {-1.1, 1.5,  -1.2, 1.7,  0,   0.4, 1.1, 0.1,  -0.8, -1.2, -1.7, 1,    -0.2, -1.4,
                   1.5,  -0.9, -0.3, -0.8, 0.5, 0.3, 0.4, -0.9, -0.9, -1,   -0.7, -1.4, -1.3});
  Tensor w3 = f32({2, 1, 2, 2, 2}, {1.6, -0.7, 1.3, -1.8, -1.6, 0.4, 0.1, -0.3, -0.7, 0.5, -0.2,
                                    0.9, 0.1, 0.3, 0.6, 2});
  Tensor y3 = Node("Conv").ints("pads", {1, 0, 1, 0, 1, 0})({x3, w3, f32({2}, {1, -1})});
  expectNear(y3, DType::F32, {1, 2, 3, 3, 3},
             {0.05,  3.53,  -2.0,  1.35,  -1.64, 1.41,  1.44,  -0.72, 0.52,  -1.71, 2.04,
              6.05,  -1.98, 4.73,  5.34,  -0.13, 4.01,  1.88,  2.67,  2.03,  -7.05, 2.61,
              2.46,  0.05,  1.35,  0.33,  2.8,   2.07,  0.36,  -0.41, 1.71,  0.03,  -2.42,
              -0.67, -0.86, -1.23, -0.78, -3.37, 0.0,   -1.02, -3.9,  -3.01, -0.72, -1.9,
              -1.74, -3.43, -4.43, -0.07, -3.58, -5.23, -3.76, -1.66, -1.01, -1.72},
             kTol);
}

TEST(RefConv, AutoPad) {
  // Input 4, kernel 2: SAME needs one pad; UPPER puts it at the end, LOWER at the start.
  Tensor x = f32({1, 1, 4}, {0, 1, 2, 3});
  Tensor w = f32({1, 1, 2}, {1, 10});
  expectValues(Node("Conv").s("auto_pad", "SAME_UPPER")({x, w}), DType::F32, {1, 1, 4},
               {10, 21, 32, 3});
  expectValues(Node("Conv").s("auto_pad", "SAME_LOWER")({x, w}), DType::F32, {1, 1, 4},
               {0, 10, 21, 32});
  expectValues(Node("Conv").s("auto_pad", "VALID").ints("pads", {5, 5})({x, w}), DType::F32,
               {1, 1, 3}, {10, 21, 32});
  // SAME with stride 2: output ceil(4 / 2) = 2.
  expectValues(Node("Conv").s("auto_pad", "SAME_UPPER").ints("strides", {2})({x, w}), DType::F32,
               {1, 1, 2}, {10, 32});
}

TEST(RefConv, Errors) {
  Tensor x = iota({1, 4, 5, 5});
  expectError([&] { Node("Conv").i("group", 3)({x, iota({3, 1, 3, 3})}); }, "group 3");
  expectError([&] { Node("Conv")({x, iota({2, 3, 3, 3})}); }, "do not match");
  expectError([&] { Node("Conv")({x, iota({2, 4, 7, 7})}); }, "exceeds padded input");
  expectError([&] { Node("Conv")({x, iota({2, 4, 3, 3}), iota({3})}); }, "bias");
  expectError([&] { Node("Conv").ints("strides", {1})({x, iota({2, 4, 3, 3})}); }, "strides");
  expectError([&] { Node("Conv")({iota({1, 1}), iota({1, 1})}); }, "spatial");
}

// ---------------------------------------------------------------------------------------
// ConvTranspose

TEST(RefConvTranspose, StridesPadsDilationsGroupsOutputPadding) {
  // numpy scatter-then-crop: x (1,2,3,2), w (2,2,2,3), group 2, strides (2,3),
  // pads (1,0,0,2), dilations (1,2), output_padding (1,1), bias (1,0.5,-1,0).
  Tensor x = f32({1, 2, 3, 2}, {-1.7, 1.1, -0.2, 0.9, 1.9, 0.2, 0, -1.7, -0.9, 0, 0.7, 1.2});
  Tensor w =
      f32({2, 2, 2, 3}, {1.5, 1.9, 1.5, 0.1,  -1.1, -2,  -0.3, -0.4, 0.1,  -0.1, 0.2,  0.2,
                         1,   0.8, 0.5, -0.3, -0.8, 1.9, -0.7, -1.1, -1.7, 1.9,  -1.5, -0.7});
  Tensor b = f32({4}, {1, 0.5, -1, 0});
  Tensor y = Node("ConvTranspose")
                 .i("group", 2)
                 .ints("strides", {2, 3})
                 .ints("pads", {1, 0, 0, 2})
                 .ints("dilations", {1, 2})
                 .ints("output_padding", {1, 1})({x, w, b});
  expectNear(
      y, DType::F32, {1, 4, 6, 7},
      {0.83,  1,   2.87,  1.11,  4.4,   -0.21, 1,   0.7,   1,   0.62,  2.35,  0.7,   2.71,  1,
       0.98,  1,   1.22,  1.09,  1.4,   0.01,  1,   3.85,  1,   4.61,  1.3,   3.85,  1.38,  1,
       1.19,  1,   -1.09, 1.02,  -2.8,  0.78,  1,   1,     1,   1,     1,     1,     1,     1,
       0.67,  0.5, 0.16,  0.39,  0.16,  0.72,  0.5, 0.56,  0.5, 0.58,  0.23,  0.48,  0.14,  0.5,
       0.52,  0.5, 0.46,  0.41,  0.46,  0.68,  0.5, -0.07, 0.5, -0.26, 0.44,  0.69,  0.42,  0.5,
       0.31,  0.5, 0.88,  0.48,  0.88,  0.54,  0.5, 0.5,   0.5, 0.5,   0.5,   0.5,   0.5,   0.5,
       -1,    -1,  -1,    -0.49, -1,    0.36,  -1,  -1.9,  -1,  -1.72, -1,    -1.45, -1,    -1,
       -0.73, -1,  -0.28, -1,    -2.71, -1,    -1,  -0.3,  -1,  -0.44, 0.2,   -0.65, -0.04, -1,
       -1.21, -1,  -1.56, -1.36, 0.33,  -1.96, -1,  -1,    -1,  -1,    -1,    -1,    -1,    -1,
       0,     0,   0,     -3.23, 0,     2.55,  0,   0.63,  0,   0.99,  0,     1.53,  0,     0,
       -1.71, 0,   1.35,  0,     0.63,  0,     0,   -0.49, 0,   -0.77, -0.84, -1.19, -1.32, 0,
       1.33,  0,   -1.05, 2.28,  -0.49, -1.8,  0,   0,     0,   0,     0,     0,     0,     0},
      kTol);
}

TEST(RefConvTranspose, OutputShapeAndAutoPad) {
  // x = [1,2,3], w = [1,10,100], stride 2: full output 7 (numpy scatter).
  Tensor x = f32({1, 1, 3}, {1, 2, 3});
  Tensor w = f32({1, 1, 3}, {1, 10, 100});
  expectValues(Node("ConvTranspose").ints("strides", {2})({x, w}), DType::F32, {1, 1, 7},
               {1, 10, 102, 20, 203, 30, 300});
  // SAME_* makes the output input * stride = 6; the odd extra is cropped at the end for
  // SAME_UPPER and at the start for SAME_LOWER.
  expectValues(Node("ConvTranspose").ints("strides", {2}).s("auto_pad", "SAME_UPPER")({x, w}),
               DType::F32, {1, 1, 6}, {1, 10, 102, 20, 203, 30});
  expectValues(Node("ConvTranspose").ints("strides", {2}).s("auto_pad", "SAME_LOWER")({x, w}),
               DType::F32, {1, 1, 6}, {10, 102, 20, 203, 30, 300});
  // output_shape 8 > 7: the total padding is -1, which extends the end with zeros.
  expectValues(Node("ConvTranspose").ints("strides", {2}).ints("output_shape", {8})({x, w}),
               DType::F32, {1, 1, 8}, {1, 10, 102, 20, 203, 30, 300, 0});
  expectError([&] { Node("ConvTranspose").i("group", 2)({x, w}); }, "group 2");
}

// ---------------------------------------------------------------------------------------
// Pools (numpy windows over the padded input; pads never win a max and are excluded from
// an average unless count_include_pad)

// numpy: np.random.RandomState(11).uniform(-2, 2, (1,2,4,5)) rounded to 0.1.
const std::vector<float> kPoolX{-1.3, -1.9, -0.1, 0.9,  -0.3, -0.1, -1.9, -0.1, 1.8,  1.4,
                                0.9,  -1.6, 1.6,  1.4,  -1.3, 0.5,  -1.9, -1.5, -0.7, -1.4,
                                1,    1.3,  -0.6, -0.7, -1.6, -1.7, 0.9,  0.4,  -1.8, -0.1,
                                -0.4, 1.4,  0.9,  0.4,  0.2,  1.8,  1.9,  -0.6, -1,   1.2};

TEST(RefMaxPool, CeilModeAndIndices) {
  Tensor x6 = iota({1, 1, 6, 6});
  auto outs = Node("MaxPool")
                  .numOutputs(2)
                  .ints("kernel_shape", {3, 3})
                  .ints("strides", {2, 2})
                  .i("ceil_mode", 1)
                  .runAll({x6});
  expectValues(outs[0], DType::F32, {1, 1, 3, 3}, {14, 16, 17, 26, 28, 29, 32, 34, 35});
  expectValues(outs[1], DType::I64, {1, 1, 3, 3}, {14, 16, 17, 26, 28, 29, 32, 34, 35});
  // Without ceil_mode the partial last window is dropped.
  expectValues(Node("MaxPool").ints("kernel_shape", {3, 3}).ints("strides", {2, 2})({x6}),
               DType::F32, {1, 1, 2, 2}, {14, 16, 26, 28});
  // 1-D: windows [3,1,4], [1,5,9], [2] (by hand).
  outs = Node("MaxPool")
             .numOutputs(2)
             .ints("kernel_shape", {3})
             .ints("strides", {3})
             .i("ceil_mode", 1)
             .runAll({f32({1, 1, 7}, {3, 1, 4, 1, 5, 9, 2})});
  expectValues(outs[0], DType::F32, {1, 1, 3}, {4, 9, 2});
  expectValues(outs[1], DType::I64, {1, 1, 3}, {2, 5, 6});
  // A ceil-mode window that would start inside the end padding is dropped (by hand).
  expectValues(Node("MaxPool")
                   .ints("kernel_shape", {1})
                   .ints("strides", {2})
                   .ints("pads", {0, 1})
                   .i("ceil_mode", 1)({f32({1, 1, 3}, {1, 2, 3})}),
               DType::F32, {1, 1, 2}, {1, 3});
}

TEST(RefMaxPool, PadsDilationsStorageOrder) {
  Tensor x = f32({1, 2, 4, 5}, kPoolX);
  auto outs = Node("MaxPool")
                  .numOutputs(2)
                  .ints("kernel_shape", {2, 3})
                  .ints("strides", {2, 2})
                  .ints("pads", {1, 1, 0, 1})
                  .i("ceil_mode", 1)
                  .runAll({x});
  expectNear(outs[0], DType::F32, {1, 2, 3, 3},
             {-1.3, 0.9, 0.9, 0.9, 1.8, 1.8, 0.5, -0.7, -0.7, 1.3, 1.3, -0.7, 1.4, 1.4, 0.4, 1.9,
              1.9, 1.2},
             kTol);
  expectValues(outs[1], DType::I64, {1, 2, 3, 3},
               {0, 3, 3, 10, 8, 8, 15, 18, 18, 21, 21, 23, 31, 31, 33, 36, 36, 39});
  Node dil("MaxPool");
  dil.numOutputs(2).ints("kernel_shape", {2, 2}).ints("dilations", {2, 2});
  outs = dil.runAll({x});
  expectNear(outs[0], DType::F32, {1, 2, 2, 3},
             {1.6, 1.4, 1.6, 0.5, 1.8, 1.4, 1, 1.4, 0.9, 1.8, 1.9, 1.2}, kTol);
  expectValues(outs[1], DType::I64, {1, 2, 2, 3}, {12, 13, 12, 15, 8, 9, 20, 31, 32, 35, 36, 39});
  // storage_order 1: the spatial part of the index is column-major (h + w * H).
  outs = dil.i("storage_order", 1).runAll({x});
  expectValues(outs[1], DType::I64, {1, 2, 2, 3}, {10, 14, 10, 3, 13, 17, 20, 26, 30, 23, 27, 39});
}

TEST(RefMaxPool, IntegerTypesAndAutoPad) {
  Tensor x = i8({1, 1, 2, 3}, {-5, 7, -1, 0, -128, 3});
  expectValues(Node("MaxPool").ints("kernel_shape", {2, 2}).s("auto_pad", "SAME_UPPER")({x}),
               DType::I8, {1, 1, 2, 3}, {7, 7, 3, 0, 3, 3});
  expectValues(Node("MaxPool").ints("kernel_shape", {2, 2}).s("auto_pad", "SAME_LOWER")({x}),
               DType::I8, {1, 1, 2, 3}, {-5, 7, 7, 0, 7, 7});
  expectError([] { Node("MaxPool")({iota({1, 1, 4, 4})}); }, "kernel_shape");
}

TEST(RefAveragePool, CountIncludePadCeilDilations) {
  Tensor x = f32({1, 2, 4, 5}, kPoolX);
  Node n("AveragePool");
  n.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1});
  expectNear(n({x}), DType::F32, {1, 2, 2, 3},
             {-1.3, -0.216667, 0.95, -0.683333, -0.322222, 0.2, 0.375, -0.083333, -1.05, 0.65,
              0.277778, -0.183333},
             kTol);
  n.i("count_include_pad", 1);
  expectNear(n({x}), DType::F32, {1, 2, 2, 3},
             {-0.577778, -0.144444, 0.422222, -0.455556, -0.322222, 0.133333, 0.166667, -0.055556,
              -0.466667, 0.433333, 0.277778, -0.122222},
             kTol);
  // In ceil mode the extra windows count only positions inside the padded input.
  n.i("ceil_mode", 1);
  expectNear(n({x}), DType::F32, {1, 2, 3, 3},
             {-0.577778, -0.144444, 0.422222, -0.455556, -0.322222, 0.133333, -0.233333, -0.683333,
              -0.35, 0.166667, -0.055556, -0.466667, 0.433333, 0.277778, -0.122222, 0.616667, 0.05,
              0.033333},
             kTol);
  // Opset 19 dilations.
  Tensor y = Node("AveragePool")
                 .version(19)
                 .ints("kernel_shape", {2, 2})
                 .ints("dilations", {2, 2})
                 .ints("pads", {0, 0, 0, 1})({x});
  expectNear(y, DType::F32, {1, 2, 2, 4},
             {0.275, -0.3, -0.025, 1.15, -0.3, -0.675, -0.4, 0.55, 0.225, 0.6, -0.275, -0.15,
              -0.025, -0.0, 0.225, -1.4},
             kTol);
  expectValues(Node("AveragePool")
                   .ints("kernel_shape", {3, 3})
                   .ints("strides", {2, 2})
                   .i("ceil_mode", 1)({iota({1, 1, 6, 6})}),
               DType::F32, {1, 1, 3, 3}, {7, 9, 10.5, 19, 21, 22.5, 28, 30, 31.5});
}

TEST(RefLpPool, PTwoAndThree) {
  Tensor x = f32({1, 2, 4, 5}, kPoolX);
  expectNear(Node("LpPool").ints("kernel_shape", {2, 2}).ints("strides", {2, 2})({x}), DType::F32,
             {1, 2, 2, 2},
             {2.986637, 2.017424, 2.688866, 2.694439, 2.527845, 2.061553, 2.994996, 1.526434},
             kTol);
  expectNear(Node("LpPool")
                 .i("p", 3)
                 .i("ceil_mode", 1)
                 .ints("kernel_shape", {2, 2})
                 .ints("strides", {2, 2})({x}),
             DType::F32, {1, 2, 2, 3},
             {2.515425, 1.872266, 1.404577, 2.277217, 2.193784, 1.703223, 2.067606, 1.861939,
              1.60013, 2.493262, 1.261808, 1.201849},
             kTol);
}

TEST(RefGlobalPools, AverageMaxLp) {
  Tensor x = f32({1, 2, 4, 5}, kPoolX);
  expectNear(Node("GlobalAveragePool")({x}), DType::F32, {1, 2, 1, 1}, {-0.28, 0.145}, kTol);
  expectNear(Node("GlobalMaxPool")({x}), DType::F32, {1, 2, 1, 1}, {1.8, 1.9}, kTol);
  // NaN is passed over as MaxPool passes it, a leading one too; a plane of NaN only gives the
  // lowest f32; a plane of -inf gives -inf.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  expectNear(Node("GlobalMaxPool")({f32({1, 3, 3}, {nan, 2, 1, nan, nan, nan, -inf, nan, -inf})}),
             DType::F32, {1, 3, 1}, {2, -std::numeric_limits<float>::max(), -inf}, 0);
  // sqrt(3^2 + 4^2) = 5 by hand, 1-D spatial; opset 1 spells p as a float.
  expectNear(Node("GlobalLpPool")({f32({1, 1, 2}, {3, -4})}), DType::F32, {1, 1, 1}, {5}, kTol);
  expectNear(Node("GlobalLpPool").version(1).f("p", 1.0)({f32({1, 1, 2}, {3, -4})}), DType::F32,
             {1, 1, 1}, {7}, kTol);
}

// ---------------------------------------------------------------------------------------
// Pad (numpy.pad with pad widths ((1,0),(2,3)))

TEST(RefPad, Modes) {
  Tensor x = i64({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor pads = i64({4}, {1, 2, 0, 3});
  expectValues(Node("Pad")({x, pads, i64({}, {9})}), DType::I64, {3, 8},
               {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 9, 9, 4, 5, 6, 9, 9, 9});
  expectValues(Node("Pad").s("mode", "reflect")({x, pads}), DType::I64, {3, 8},
               {6, 5, 4, 5, 6, 5, 4, 5, 3, 2, 1, 2, 3, 2, 1, 2, 6, 5, 4, 5, 6, 5, 4, 5});
  expectValues(Node("Pad").s("mode", "edge")({x, pads}), DType::I64, {3, 8},
               {1, 1, 1, 2, 3, 3, 3, 3, 1, 1, 1, 2, 3, 3, 3, 3, 4, 4, 4, 5, 6, 6, 6, 6});
  expectValues(Node("Pad").version(19).s("mode", "wrap")({x, pads}), DType::I64, {3, 8},
               {5, 6, 4, 5, 6, 4, 5, 6, 2, 3, 1, 2, 3, 1, 2, 3, 5, 6, 4, 5, 6, 4, 5, 6});
  // Default constant is zero; an empty constant_value input means the default too.
  expectValues(Node("Pad")({f32({2}, {1, 2}), i64({2}, {1, 0}), f32({0}, {})}), DType::F32, {3},
               {0, 1, 2});
}

TEST(RefPad, NegativePadsAxesAndOldOpsets) {
  Tensor x = i64({2, 3}, {1, 2, 3, 4, 5, 6});
  // Crop one column at the start, then edge-pad: numpy.pad(x[:, 1:], ((0,1),(0,2)), 'edge').
  expectValues(Node("Pad").s("mode", "edge")({x, i64({4}, {0, -1, 1, 2})}), DType::I64, {3, 4},
               {2, 3, 3, 3, 5, 6, 6, 6, 5, 6, 6, 6});
  // Opset 18 axes: pad only axis -1.
  expectValues(Node("Pad")({x, i64({2}, {1, 1}), i64({}, {7}), i64({1}, {-1})}), DType::I64, {2, 5},
               {7, 1, 2, 3, 7, 7, 4, 5, 6, 7});
  // Opset 2-10 attributes; bool data.
  expectValues(Node("Pad").version(10).ints("pads", {1, 0}).f("value", 1.0)({boolean({1}, {0})}),
               DType::Bool, {2}, {1, 0});
  expectError([&] { Node("Pad")({x, i64({4}, {0, -4, 0, 0})}); }, "crop more");
  expectError([&] { Node("Pad")({x, i64({2}, {1, 1})}); }, "pads has 2 entries");
  expectError([&] { Node("Pad").s("mode", "reflect")({f32({0}, {}), i64({2}, {1, 1})}); }, "empty");
  expectError(
      [&] {
        Node("Pad").s("mode", "mirror")({x, i64({4}, {1, 0, 0, 0})});
      },
      "unknown mode");
}

// ---------------------------------------------------------------------------------------
// Resize (a port of ONNX's reference algorithm on X = [[1..4],[5..8],[9..12]])

Tensor ramp12() { return f32({1, 1, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); }
Tensor scales(std::vector<float> v) { return f32({int64_t(v.size())}, v); }
Tensor sizes(std::vector<int64_t> v) { return i64({int64_t(v.size())}, v); }

TEST(RefResize, LinearAndCubic) {
  Tensor x = ramp12();
  expectNear(Node("Resize").s("mode", "linear")({x, Tensor(), scales({1, 1, 1.5, 2})}), DType::F32,
             {1, 1, 4, 8},
             {1,        1.25,     1.75,     2.25,     2.75,      3.25,      3.75,      4,
              3,        3.25,     3.75,     4.25,     4.75,      5.25,      5.75,      6,
              5.666667, 5.916667, 6.416667, 6.916667, 7.416667,  7.916667,  8.416667,  8.666667,
              8.333333, 8.583333, 9.083333, 9.583333, 10.083333, 10.583333, 11.083333, 11.333333},
             kTol);
  expectNear(Node("Resize").s("mode", "cubic")({x, Tensor(), Tensor(), sizes({1, 1, 5, 3})}),
             DType::F32, {1, 1, 5, 3},
             {0.742157, 2.116, 3.489843, 2.390157, 3.764, 5.137843, 5.126157, 6.5, 7.873843,
              7.862157, 9.236, 10.609843, 9.510157, 10.884, 12.257843},
             kTol);
  expectNear(Node("Resize")
                 .s("mode", "cubic")
                 .f("cubic_coeff_a", -0.5)
                 .i("exclude_outside", 1)({x, Tensor(), scales({1, 1, 0.7f, 0.6f})}),
             DType::F32, {1, 1, 2, 2}, {1.797182, 3.555802, 8.18589, 9.94451}, kTol);
  // align_corners uses scale * length (2.4 here), like ONNX's reference and test data.
  expectNear(Node("Resize")
                 .s("mode", "linear")
                 .s("coordinate_transformation_mode",
                    "align_corners")({x, Tensor(), scales({1, 1, 0.6f, 0.6f})}),
             DType::F32, {1, 1, 1, 2}, {1, 3.142857}, kTol);
  expectNear(Node("Resize")
                 .s("mode", "linear")
                 .s("coordinate_transformation_mode",
                    "half_pixel_symmetric")({x, Tensor(), scales({1, 1, 1.6f, 1.3f})}),
             DType::F32, {1, 1, 4, 5},
             {1.25, 1.980769, 2.75, 3.519231, 4.25, 3.75, 4.480769, 5.25,  6.019231,  6.75,
              6.25, 6.980769, 7.75, 8.519231, 9.25, 8.75, 9.480769, 10.25, 11.019231, 11.75},
             kTol);
}

TEST(RefResize, NearestModes) {
  Tensor x = ramp12();
  expectValues(Node("Resize")
                   .s("coordinate_transformation_mode", "asymmetric")
                   .s("nearest_mode", "ceil")({x, Tensor(), scales({1, 1, 1.7f, 1.3f})}),
               DType::F32, {1, 1, 5, 5}, {1,  2,  3, 4,  4,  5,  6,  7, 8,  8,  9,  10, 11,
                                          12, 12, 9, 10, 11, 12, 12, 9, 10, 11, 12, 12});
  expectValues(Node("Resize").s("nearest_mode",
                                "round_prefer_ceil")({x, Tensor(), Tensor(), sizes({1, 1, 2, 7})}),
               DType::F32, {1, 1, 2, 7}, {1, 1, 2, 3, 3, 4, 4, 9, 9, 10, 11, 11, 12, 12});
  // Opset 10 Resize and Upsample: x / scale, floored (by hand).
  Tensor up = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  std::vector<double> want{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  expectValues(Node("Resize").version(10)({up, scales({1, 1, 2, 3})}), DType::F32, {1, 1, 4, 6},
               want);
  expectValues(Node("Upsample").version(9)({up, scales({1, 1, 2, 3})}), DType::F32, {1, 1, 4, 6},
               want);
  expectValues(Node("Upsample").version(7).floats("scales", {1, 1, 2, 3})({up}), DType::F32,
               {1, 1, 4, 6}, want);
}

TEST(RefResize, CropAndResizeAxesAndAspectRatio) {
  Tensor x = ramp12();
  Tensor roi = f32({8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 0.9f});
  expectNear(Node("Resize")
                 .s("mode", "linear")
                 .s("coordinate_transformation_mode", "tf_crop_and_resize")
                 .f("extrapolation_value", -7)({x, roi, Tensor(), sizes({1, 1, 3, 3})}),
             DType::F32, {1, 1, 3, 3}, {6, 6.45, 6.9, 9.2, 9.65, 10.1, -7, -7, -7}, kTol);
  // Opset 18 axes (in any order) with keep_aspect_ratio_policy.
  expectNear(
      Node("Resize")
          .s("mode", "linear")
          .ints("axes", {3, 2})
          .s("keep_aspect_ratio_policy", "not_larger")({x, Tensor(), Tensor(), sizes({6, 7})}),
      DType::F32, {1, 1, 5, 6},
      {1,        1.5,      2.166667,  2.833333,  3.5,      4,         3,         3.5,
       4.166667, 4.833333, 5.5,       6,         5.666667, 6.166667,  6.833333,  7.5,
       8.166667, 8.666667, 8.333333,  8.833333,  9.5,      10.166667, 10.833333, 11.333333,
       9,        9.5,      10.166667, 10.833333, 11.5,     12},
      kTol);
  expectValues(
      Node("Resize")
          .ints("axes", {2, 3})
          .s("keep_aspect_ratio_policy", "not_smaller")({x, Tensor(), Tensor(), sizes({2, 2})}),
      DType::F32, {1, 1, 2, 3}, {1, 3, 4, 9, 11, 12});
  // pytorch_half_pixel with a single output row samples row 0.
  expectNear(Node("Resize")
                 .s("mode", "linear")
                 .s("coordinate_transformation_mode", "pytorch_half_pixel")
                 .ints("axes", {2})({x, Tensor(), scales({0.5f})}),
             DType::F32, {1, 1, 1, 4}, {1, 2, 3, 4}, kTol);
}

TEST(RefResize, AntialiasAndIntegers) {
  Tensor x = ramp12();
  expectNear(Node("Resize")
                 .s("mode", "linear")
                 .i("antialias", 1)({x, Tensor(), scales({1, 1, 0.5f, 0.5f})}),
             DType::F32, {1, 1, 1, 2}, {4.125, 5.875}, kTol);
  expectNear(Node("Resize")
                 .s("mode", "cubic")
                 .i("antialias", 1)({x, Tensor(), Tensor(), sizes({1, 1, 2, 3})}),
             DType::F32, {1, 1, 2, 3}, {2.18278, 3.527778, 4.872776, 8.127224, 9.472222, 10.81722},
             kTol);
  expectValues(Node("Resize")
                   .s("mode", "linear")
                   .s("coordinate_transformation_mode", "align_corners")(
                       {u8({1, 4}, {10, 20, 30, 200}), Tensor(), scales({1, 1.5f})}),
               DType::U8, {1, 6}, {10, 16, 22, 28, 98.0, 200});
}

TEST(RefResize, Errors) {
  Tensor x = ramp12();
  expectError(
      [&] {
        Node("Resize")({x, Tensor(), scales({1, 1, 2, 2}), sizes({1, 1, 6, 8})});
      },
      "exactly one");
  expectError([&] { Node("Resize")({x, Tensor(), scales({1, 2})}); }, "scales has 2 entries");
  expectError(
      [&] {
        Node("Resize").s("mode", "area")({x, Tensor(), scales({1, 1, 2, 2})});
      },
      "unknown mode");
  expectError(
      [&] {
        Node("Resize").s("coordinate_transformation_mode",
                         "bogus")({x, Tensor(), scales({1, 1, 2, 2})});
      },
      "coordinate_transformation_mode");
  expectError(
      [&] {
        Node("Resize").i("antialias", 1)({x, Tensor(), scales({1, 1, 2, 2})});
      },
      "antialias");
}

} // namespace
