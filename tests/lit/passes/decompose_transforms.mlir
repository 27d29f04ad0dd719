// RUN: plumb-opt %s -plumb-decompose-transforms -split-input-file | FileCheck %s

// A real DFT of 2 samples along axis 1 of [3, 2, 1]: rows of 2 samples times the twiddles
// [[1, 0, 1, 0], [1, 0, -1, 0]] (bin k's real and imaginary parts per sample), reshaped.
// CHECK-LABEL: func @dft
// CHECK: [[R:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<3x2x1xf32>, tensor<2xi64>) -> tensor<3x2xf32>
// CHECK: [[W:%.+]] = plumb.Constant() {value = dense<{{\[}}[1.000000e+00, -0.000000e+00, 1.000000e+00, -0.000000e+00], [1.000000e+00, -0.000000e+00, -1.000000e+00, {{.*}}]]> : tensor<2x4xf32>}
// CHECK: [[P:%.+]] = plumb.MatMul([[R]], [[W]]) : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
// CHECK: [[Y:%.+]] = plumb.Reshape([[P]], {{%.+}}) : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
// CHECK-NOT: plumb.DFT
// CHECK: return [[Y]]
module attributes {plumb.opset = 17 : i64} {
  func.func @dft(%x: tensor<3x2x1xf32>) -> tensor<3x2x2xf32> {
    %n = plumb.none
    %y = plumb.DFT(%x, %n, %n) {axis = 1 : i64} : (tensor<3x2x1xf32>, none, none) -> tensor<3x2x2xf32>
    return %y : tensor<3x2x2xf32>
  }
}

// -----

// Opset 20: the axis is an input (default -2). Along axis 0 of [4, 3, 2] it is moved next to
// the (real, imaginary) dim and back.
// CHECK-LABEL: func @dft_axis0
// CHECK: plumb.Transpose(%arg0) {perm = [1, 0, 2]} : (tensor<4x3x2xf32>) -> tensor<3x4x2xf32>
// CHECK: plumb.MatMul({{.*}}) : (tensor<3x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
// CHECK: [[Y:%.+]] = plumb.Transpose({{%.+}}) {perm = [1, 0, 2]} : (tensor<3x4x2xf32>) -> tensor<4x3x2xf32>
// CHECK: return [[Y]]
module attributes {plumb.opset = 20 : i64} {
  func.func @dft_axis0(%x: tensor<4x3x2xf32>) -> tensor<4x3x2xf32> {
    %n = plumb.none
    %a = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
    %y = plumb.DFT(%x, %n, %a) : (tensor<4x3x2xf32>, none, tensor<i64>) -> tensor<4x3x2xf32>
    return %y : tensor<4x3x2xf32>
  }
}

// -----

// STFT: frames gathered with constant indices (every 2 samples, 4 long) along the signal, the
// constant window folded into the twiddles; onesided: 3 bins.
// CHECK-LABEL: func @stft
// CHECK: [[I:%.+]] = plumb.Constant() {value = dense<{{\[}}[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]> : tensor<3x4xi64>}
// CHECK: [[F:%.+]] = plumb.Gather(%arg0, [[I]]) {axis = 1 : i64} : (tensor<1x8x1xf32>, tensor<3x4xi64>) -> tensor<1x3x4x1xf32>
// CHECK: plumb.MatMul({{.*}}) : (tensor<3x4xf32>, tensor<4x6xf32>) -> tensor<3x6xf32>
// CHECK: plumb.Reshape({{.*}}) -> tensor<1x3x3x2xf32>
// CHECK-NOT: plumb.STFT
module attributes {plumb.opset = 17 : i64} {
  func.func @stft(%s: tensor<1x8x1xf32>) -> tensor<1x3x3x2xf32> {
    %n = plumb.none
    %step = plumb.Constant() {value = dense<2> : tensor<i64>} : () -> tensor<i64>
    %w = plumb.Constant() {value = dense<[0.0, 1.0, 1.0, 0.0]> : tensor<4xf32>} : () -> tensor<4xf32>
    %y = plumb.STFT(%s, %step, %w, %n) : (tensor<1x8x1xf32>, tensor<i64>, tensor<4xf32>, none) -> tensor<1x3x3x2xf32>
    return %y : tensor<1x3x3x2xf32>
  }
}

// -----

// AffineGrid [1, 1, 1, 2]: the base grid of pixel centres (x, y, 1) = (-0.5, 0, 1), (0.5, 0, 1)
// times theta transposed.
// CHECK-LABEL: func @grid
// CHECK: [[B:%.+]] = plumb.Constant() {value = dense<{{\[}}[-5.000000e-01, 0.000000e+00, 1.000000e+00], [5.000000e-01, 0.000000e+00, 1.000000e+00]]> : tensor<2x3xf32>}
// CHECK: [[T:%.+]] = plumb.Transpose(%arg0) {perm = [0, 2, 1]} : (tensor<1x2x3xf32>) -> tensor<1x3x2xf32>
// CHECK: [[P:%.+]] = plumb.MatMul([[B]], [[T]]) : (tensor<2x3xf32>, tensor<1x3x2xf32>) -> tensor<1x2x2xf32>
// CHECK: plumb.Reshape([[P]], {{%.+}}) : (tensor<1x2x2xf32>, tensor<4xi64>) -> tensor<1x1x2x2xf32>
module attributes {plumb.opset = 20 : i64} {
  func.func @grid(%theta: tensor<1x2x3xf32>) -> tensor<1x1x2x2xf32> {
    %s = plumb.Constant() {value = dense<[1, 1, 1, 2]> : tensor<4xi64>} : () -> tensor<4xi64>
    %y = plumb.AffineGrid(%theta, %s) : (tensor<1x2x3xf32>, tensor<4xi64>) -> tensor<1x1x2x2xf32>
    return %y : tensor<1x1x2x2xf32>
  }
}
