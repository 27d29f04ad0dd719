// RUN: plumb-opt %s -split-input-file | plumb-opt -split-input-file | FileCheck %s
// Ops print in the generic plumb form and parse back unchanged.

// CHECK-LABEL: func @conv_relu
func.func @conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // CHECK: [[NONE:%.+]] = plumb.none
  %none = plumb.none
  // CHECK: [[Y:%.+]] = plumb.Conv(%{{.+}}, %{{.+}}, [[NONE]]) {strides = [1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  %y = plumb.Conv(%x, %w, %none) {strides = [1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  // CHECK: plumb.Relu([[Y]])
  %r = plumb.Relu(%y) : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %r : tensor<1x4x6x6xf32>
}

// -----

// CHECK-LABEL: func @fusion
func.func @fusion(%x: tensor<2x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x4xf32> {
  // CHECK: plumb.fusion "matmul_gelu"(%{{.+}}, %{{.+}}) : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32> {
  // CHECK-NEXT: ^bb0(%[[A:.+]]: tensor<2x8xf32>, %[[B:.+]]: tensor<8x4xf32>):
  // CHECK-NEXT: [[M:%.+]] = plumb.MatMul(%[[A]], %[[B]])
  // CHECK-NEXT: [[G:%.+]] = plumb.Gelu([[M]]) {approximate = "tanh"}
  // CHECK-NEXT: plumb.yield [[G]] : tensor<2x4xf32>
  %f = plumb.fusion "matmul_gelu" (%x, %w) : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32> {
  ^bb0(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>):
    %m = plumb.MatMul(%a, %b) : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
    %g = plumb.Gelu(%m) {approximate = "tanh"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
    plumb.yield %g : tensor<2x4xf32>
  }
  return %f : tensor<2x4xf32>
}

// -----

// Element types: f32, f16, bf16, f64, i64, i32, i8, ui8, bool (i1).
// CHECK-LABEL: func @types
func.func @types(%a: tensor<4xf16>, %b: tensor<4xbf16>, %c: tensor<4xf64>, %d: tensor<4xi32>,
                 %e: tensor<4xi8>, %f: tensor<4xui8>, %g: tensor<4xi1>) -> tensor<4xi64> {
  // CHECK: plumb.Cast(%{{.+}}) {to = 1 : i64} : (tensor<4xf16>) -> tensor<4xf32>
  %0 = plumb.Cast(%a) {to = 1 : i64} : (tensor<4xf16>) -> tensor<4xf32>
  %1 = plumb.Cast(%b) {to = 1 : i64} : (tensor<4xbf16>) -> tensor<4xf32>
  %2 = plumb.Add(%0, %1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = plumb.Cast(%c) {to = 1 : i64} : (tensor<4xf64>) -> tensor<4xf32>
  %4 = plumb.Where(%g, %2, %3) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %5 = plumb.Cast(%d) {to = 7 : i64} : (tensor<4xi32>) -> tensor<4xi64>
  %6 = plumb.Cast(%e) {to = 7 : i64} : (tensor<4xi8>) -> tensor<4xi64>
  %7 = plumb.Cast(%f) {to = 7 : i64} : (tensor<4xui8>) -> tensor<4xi64>
  // CHECK: plumb.Sum
  %8 = plumb.Sum(%5, %6, %7) : (tensor<4xi64>, tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %9 = plumb.Equal(%8, %5) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %10 = plumb.Not(%9) : (tensor<4xi1>) -> tensor<4xi1>
  return %8 : tensor<4xi64>
}

// -----

// Optional trailing results and unknown shapes are accepted.
// CHECK-LABEL: func @layer_norm_stats
func.func @layer_norm_stats(%x: tensor<?x8x16xf32>, %g: tensor<16xf32>) -> (tensor<?x8x16xf32>, tensor<?x8x1xf32>) {
  %none = plumb.none
  // CHECK: plumb.LayerNormalization(%{{.+}}, %{{.+}}, %{{.+}}) {axis = -1 : i64, epsilon = 9.99999974E-6 : f32}
  %y, %mean = plumb.LayerNormalization(%x, %g, %none) {axis = -1 : i64, epsilon = 1.0e-05 : f32} : (tensor<?x8x16xf32>, tensor<16xf32>, none) -> (tensor<?x8x16xf32>, tensor<?x8x1xf32>)
  return %y, %mean : tensor<?x8x16xf32>, tensor<?x8x1xf32>
}

// -----

// ONNX's small element types (float8, float8e8m0, float4e2m1, int4, uint4) are plumb types.
// CHECK-LABEL: func @small_types
func.func @small_types(%a: tensor<4xf32>, %q: tensor<4xi4>, %s: tensor<f32>, %z: tensor<ui4>) -> (tensor<4xf8E4M3FN>, tensor<4xf8E8M0FNU>, tensor<4xf4E2M1FN>, tensor<4xf32>, tensor<4xui4>) {
  // CHECK: plumb.Cast(%{{.+}}) {saturate = 0 : i64, to = 17 : i64} : (tensor<4xf32>) -> tensor<4xf8E4M3FN>
  %0 = plumb.Cast(%a) {to = 17 : i64, saturate = 0 : i64} : (tensor<4xf32>) -> tensor<4xf8E4M3FN>
  // CHECK: plumb.Cast(%{{.+}}) {round_mode = "nearest", to = 24 : i64} : (tensor<4xf32>) -> tensor<4xf8E8M0FNU>
  %1 = plumb.Cast(%a) {to = 24 : i64, round_mode = "nearest"} : (tensor<4xf32>) -> tensor<4xf8E8M0FNU>
  // CHECK: plumb.Cast(%{{.+}}) {to = 23 : i64} : (tensor<4xf32>) -> tensor<4xf4E2M1FN>
  %2 = plumb.Cast(%a) {to = 23 : i64} : (tensor<4xf32>) -> tensor<4xf4E2M1FN>
  %none = plumb.none
  // CHECK: plumb.DequantizeLinear(%{{.+}}, %{{.+}}, %{{.+}}) {output_dtype = 1 : i64} : (tensor<4xi4>, tensor<f32>, none) -> tensor<4xf32>
  %3 = plumb.DequantizeLinear(%q, %s, %none) {output_dtype = 1 : i64} : (tensor<4xi4>, tensor<f32>, none) -> tensor<4xf32>
  // CHECK: plumb.QuantizeLinear(%{{.+}}, %{{.+}}, %{{.+}}) : (tensor<4xf32>, tensor<f32>, tensor<ui4>) -> tensor<4xui4>
  %4 = plumb.QuantizeLinear(%a, %s, %z) : (tensor<4xf32>, tensor<f32>, tensor<ui4>) -> tensor<4xui4>
  return %0, %1, %2, %3, %4 : tensor<4xf8E4M3FN>, tensor<4xf8E8M0FNU>, tensor<4xf4E2M1FN>, tensor<4xf32>, tensor<4xui4>
}

// -----

// CHECK-LABEL: func @image_ops
func.func @image_ops(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x2x2xf32>, %off: tensor<1x8x2x2xf32>, %theta: tensor<2x2x3xf32>, %size: tensor<4xi64>, %c: tensor<1x4x4xf32>, %shape: tensor<2xi64>) -> (tensor<1x1x2x2xf32>, tensor<2x4x5x2xf32>, tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, tensor<1x1x3x3xf32>) {
  %none = plumb.none
  // CHECK: plumb.DeformConv(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) {kernel_shape = [2, 2]}
  %0 = plumb.DeformConv(%x, %w, %off, %none, %none) {kernel_shape = [2, 2]} : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, tensor<1x8x2x2xf32>, none, none) -> tensor<1x1x2x2xf32>
  // CHECK: plumb.AffineGrid(%{{.+}}, %{{.+}}) {align_corners = 1 : i64}
  %1 = plumb.AffineGrid(%theta, %size) {align_corners = 1 : i64} : (tensor<2x2x3xf32>, tensor<4xi64>) -> tensor<2x4x5x2xf32>
  // CHECK: plumb.Col2Im(%{{.+}}, %{{.+}}, %{{.+}}) : (tensor<1x4x4xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x3x3xf32>
  %2 = plumb.Col2Im(%c, %shape, %shape) : (tensor<1x4x4xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x3x3xf32>
  // CHECK: plumb.CenterCropPad(%{{.+}}, %{{.+}}) {axes = [2, 3]}
  %3 = plumb.CenterCropPad(%x, %shape) {axes = [2, 3]} : (tensor<1x1x3x3xf32>, tensor<2xi64>) -> tensor<1x1x2x2xf32>
  // CHECK: plumb.Swish(%{{.+}}) {alpha = 5.000000e-01 : f32}
  %4 = plumb.Swish(%x) {alpha = 0.5 : f32} : (tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %0, %1, %2, %3, %4 : tensor<1x1x2x2xf32>, tensor<2x4x5x2xf32>, tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, tensor<1x1x3x3xf32>
}
