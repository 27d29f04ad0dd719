// RUN: plumb-opt %s -plumb-reductions-as-rows -split-input-file | FileCheck %s

// A channel mean (axis 1 of NCHW): the channels moved last by a Transpose (kept axes in
// order first), reduced there keeping dims, then reshaped (not transposed) back. Opset 18:
// the axes are an input.
// CHECK-LABEL: func @channel_mean
// CHECK: [[T:%.+]] = plumb.Transpose(%arg0) {perm = [0, 2, 3, 1]} : (tensor<2x8x5x6xf32>) -> tensor<2x5x6x8xf32>
// CHECK: [[A:%.+]] = plumb.Constant() {value = dense<3> : tensor<1xi64>}
// CHECK: [[M:%.+]] = plumb.ReduceMean([[T]], [[A]]) {keepdims = 1 : i64} : (tensor<2x5x6x8xf32>, tensor<1xi64>) -> tensor<2x5x6x1xf32>
// CHECK: [[R:%.+]] = plumb.Reshape([[M]], {{%.+}}) : (tensor<2x5x6x1xf32>, tensor<4xi64>) -> tensor<2x1x5x6xf32>
// CHECK: return [[R]]
module attributes {plumb.opset = 18 : i64} {
  func.func @channel_mean(%x: tensor<2x8x5x6xf32>) -> tensor<2x1x5x6xf32> {
    %axes = plumb.Constant() {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
    %y = plumb.ReduceMean(%x, %axes) {keepdims = 1 : i64} : (tensor<2x8x5x6xf32>, tensor<1xi64>) -> tensor<2x1x5x6xf32>
    return %y : tensor<2x1x5x6xf32>
  }
}

// -----

// x.mean((2, 3)) dropping dims: trailing already, so no Transpose; kept dims, then a Reshape.
// Opset 13: ReduceMean's axes are still an attribute.
// CHECK-LABEL: func @spatial_mean
// CHECK-NOT: plumb.Transpose
// CHECK: [[M:%.+]] = plumb.ReduceMean(%arg0, {{%.+}}) {axes = [2, 3], keepdims = 1 : i64} : (tensor<2x8x5x6xf32>, none) -> tensor<2x8x1x1xf32>
// CHECK: [[R:%.+]] = plumb.Reshape([[M]], {{%.+}}) : (tensor<2x8x1x1xf32>, tensor<2xi64>) -> tensor<2x8xf32>
// CHECK: return [[R]]
module attributes {plumb.opset = 13 : i64} {
  func.func @spatial_mean(%x: tensor<2x8x5x6xf32>) -> tensor<2x8xf32> {
    %none = plumb.none
    %y = plumb.ReduceMean(%x, %none) {axes = [2, 3], keepdims = 0 : i64} : (tensor<2x8x5x6xf32>, none) -> tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

// ReduceL2 over the last axis: Sqrt(ReduceSum(x * x)), the ReduceSum's axes an input from
// opset 13 though ReduceL2's are an attribute until 18. ReduceL1: ReduceSum(Abs(x)).
// ReduceLogSum over all axes (none given): Log(ReduceSum(x)) over both. The row form already
// (a ReduceSum over the last axis keeping dims) is left.
// CHECK-LABEL: func @definitions
// CHECK: [[SQ:%.+]] = plumb.Mul(%arg0, %arg0)
// CHECK: [[S:%.+]] = plumb.ReduceSum([[SQ]], {{%.+}}) {keepdims = 1 : i64} : (tensor<4x6xf32>, tensor<1xi64>) -> tensor<4x1xf32>
// CHECK: [[L2:%.+]] = plumb.Sqrt([[S]])
// CHECK: [[ABS:%.+]] = plumb.Abs(%arg0)
// CHECK: [[L1:%.+]] = plumb.ReduceSum([[ABS]], {{%.+}}) {keepdims = 1 : i64}
// CHECK: [[ALL:%.+]] = plumb.ReduceSum(%arg0, {{%.+}}) {keepdims = 1 : i64} : (tensor<4x6xf32>, tensor<2xi64>) -> tensor<1x1xf32>
// CHECK: [[LOG:%.+]] = plumb.Log([[ALL]])
// CHECK: [[LS:%.+]] = plumb.Reshape([[LOG]], {{%.+}}) : (tensor<1x1xf32>, tensor<0xi64>) -> tensor<f32>
// CHECK: [[KEPT:%.+]] = plumb.ReduceSum(%arg0, %{{.+}}) {keepdims = 1 : i64} : (tensor<4x6xf32>, tensor<1xi64>) -> tensor<4x1xf32>
// CHECK: return [[L2]], [[L1]], [[LS]], [[KEPT]]
module attributes {plumb.opset = 13 : i64} {
  func.func @definitions(%x: tensor<4x6xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>, tensor<f32>, tensor<4x1xf32>) {
    %none = plumb.none
    %l2 = plumb.ReduceL2(%x, %none) {axes = [-1], keepdims = 1 : i64} : (tensor<4x6xf32>, none) -> tensor<4x1xf32>
    %l1 = plumb.ReduceL1(%x, %none) {axes = [1], keepdims = 1 : i64} : (tensor<4x6xf32>, none) -> tensor<4x1xf32>
    %ls = plumb.ReduceLogSum(%x, %none) {keepdims = 0 : i64} : (tensor<4x6xf32>, none) -> tensor<f32>
    %axes = plumb.Constant() {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
    %kept = plumb.ReduceSum(%x, %axes) {keepdims = 1 : i64} : (tensor<4x6xf32>, tensor<1xi64>) -> tensor<4x1xf32>
    return %l2, %l1, %ls, %kept : tensor<4x1xf32>, tensor<4x1xf32>, tensor<f32>, tensor<4x1xf32>
  }
}

// -----

// Softmax over the channels (opset 13): axis 1 swapped with the last, Softmax over the last,
// swapped back. Axes the pass cannot read (a run-time input) are left.
// CHECK-LABEL: func @channel_softmax
// CHECK: [[T:%.+]] = plumb.Transpose(%arg0) {perm = [0, 3, 2, 1]} : (tensor<2x8x5x6xf32>) -> tensor<2x6x5x8xf32>
// CHECK: [[S:%.+]] = plumb.Softmax([[T]]) {axis = -1 : i64}
// CHECK: [[B:%.+]] = plumb.Transpose([[S]]) {perm = [0, 3, 2, 1]} : (tensor<2x6x5x8xf32>) -> tensor<2x8x5x6xf32>
// CHECK: plumb.ReduceMax(%arg0, %arg1) {keepdims = 0 : i64}
// CHECK: return [[B]]
module attributes {plumb.opset = 13 : i64} {
  func.func @channel_softmax(%x: tensor<2x8x5x6xf32>, %axes: tensor<1xi64>) -> (tensor<2x8x5x6xf32>, tensor<2x5x6xf32>) {
    %y = plumb.Softmax(%x) {axis = 1 : i64} : (tensor<2x8x5x6xf32>) -> tensor<2x8x5x6xf32>
    %m = plumb.ReduceMax(%x, %axes) {keepdims = 0 : i64} : (tensor<2x8x5x6xf32>, tensor<1xi64>) -> tensor<2x5x6xf32>
    return %y, %m : tensor<2x8x5x6xf32>, tensor<2x5x6xf32>
  }
}
