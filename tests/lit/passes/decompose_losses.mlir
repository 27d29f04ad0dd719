// RUN: plumb-opt %s -plumb-decompose-losses -split-input-file | FileCheck %s

// NegativeLogLikelihoodLoss, weighted with an ignore_index, "mean": ignored targets read class
// 0 (Where), a negative one C (Less, Where: out of GatherElements' range), the picked log-probability negated and weighted, 0 where ignored (a Where, not
// a product with a mask: 0 * inf would be NaN), over the sum of the weights used. Unweighted
// "none" is the negated pick alone.
// CHECK-LABEL: func @nll
// CHECK: [[IGN:%.+]] = plumb.Constant() {value = dense<-1> : tensor<i64>}
// CHECK: [[ISIGN:%.+]] = plumb.Equal(%arg1, [[IGN]]) : (tensor<2x4xi64>, tensor<i64>) -> tensor<2x4xi1>
// CHECK: [[Z:%.+]] = plumb.Constant() {value = dense<0> : tensor<i64>}
// CHECK: [[KEPT:%.+]] = plumb.Where([[ISIGN]], [[Z]], %arg1)
// CHECK: [[LT:%.+]] = plumb.Less([[KEPT]], {{%.+}}) : (tensor<2x4xi64>, tensor<i64>) -> tensor<2x4xi1>
// CHECK: [[C:%.+]] = plumb.Constant() {value = dense<3> : tensor<i64>}
// CHECK: [[T:%.+]] = plumb.Where([[LT]], [[C]], [[KEPT]])
// CHECK: [[COL:%.+]] = plumb.Reshape([[T]], {{%.+}}) : (tensor<2x4xi64>, tensor<3xi64>) -> tensor<2x1x4xi64>
// CHECK: [[P:%.+]] = plumb.GatherElements(%arg0, [[COL]]) {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x1x4xi64>) -> tensor<2x1x4xf32>
// CHECK: [[PI:%.+]] = plumb.Reshape([[P]], {{%.+}}) : (tensor<2x1x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
// CHECK: [[NEG:%.+]] = plumb.Neg([[PI]])
// CHECK: [[W:%.+]] = plumb.Gather(%arg2, [[T]]) {axis = 0 : i64} : (tensor<3xf32>, tensor<2x4xi64>) -> tensor<2x4xf32>
// CHECK: [[WL:%.+]] = plumb.Mul([[NEG]], [[W]])
// CHECK: [[ZF:%.+]] = plumb.Constant() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: [[L:%.+]] = plumb.Where([[ISIGN]], [[ZF]], [[WL]])
// CHECK: [[KW:%.+]] = plumb.Where([[ISIGN]], [[ZF]], [[W]])
// CHECK: [[S:%.+]] = plumb.ReduceSum([[L]], {{%.+}}) {keepdims = 0 : i64} : (tensor<2x4xf32>, none) -> tensor<f32>
// CHECK: [[SW:%.+]] = plumb.ReduceSum([[KW]], {{%.+}}) {keepdims = 0 : i64}
// CHECK: [[MEAN:%.+]] = plumb.Div([[S]], [[SW]])
// CHECK: [[P2:%.+]] = plumb.GatherElements(%arg0, {{%.+}}) {axis = 1 : i64}
// CHECK: [[R2:%.+]] = plumb.Reshape([[P2]]
// CHECK: [[NONE:%.+]] = plumb.Neg([[R2]])
// CHECK-NOT: plumb.NegativeLogLikelihoodLoss
// CHECK: return [[MEAN]], [[NONE]]
module attributes {plumb.opset = 13 : i64} {
  func.func @nll(%x: tensor<2x3x4xf32>, %t: tensor<2x4xi64>, %w: tensor<3xf32>) -> (tensor<f32>, tensor<2x4xf32>) {
    %none = plumb.none
    %0 = plumb.NegativeLogLikelihoodLoss(%x, %t, %w) {ignore_index = -1 : i64, reduction = "mean"} : (tensor<2x3x4xf32>, tensor<2x4xi64>, tensor<3xf32>) -> tensor<f32>
    %1 = plumb.NegativeLogLikelihoodLoss(%x, %t, %none) {reduction = "none"} : (tensor<2x3x4xf32>, tensor<2x4xi64>, none) -> tensor<2x4xf32>
    return %0, %1 : tensor<f32>, tensor<2x4xf32>
  }
}

// -----

// SoftmaxCrossEntropyLoss: LogSoftmax over the classes (moved last and back past rank 2, the
// same at every opset), its result the log_prob output; "mean" with no weight and no
// ignore_index divides by the element count, a constant. A Div carries the loss; an f64
// loss likewise, in f64.
// CHECK-LABEL: func @sce
// CHECK: [[M:%.+]] = plumb.Transpose(%arg0) {perm = [0, 2, 1]} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
// CHECK: [[LS:%.+]] = plumb.LogSoftmax([[M]]) {axis = 2 : i64}
// CHECK: [[LP:%.+]] = plumb.Transpose([[LS]]) {perm = [0, 2, 1]} : (tensor<2x4x3xf32>) -> tensor<2x3x4xf32>
// CHECK: plumb.Less(%arg1, {{%.+}}) : (tensor<2x4xi32>, tensor<i32>) -> tensor<2x4xi1>
// CHECK: plumb.Reshape({{%.+}}, {{%.+}}) : (tensor<2x4xi32>, tensor<3xi64>) -> tensor<2x1x4xi32>
// CHECK: plumb.GatherElements([[LP]]
// CHECK: [[S:%.+]] = plumb.ReduceSum
// CHECK: [[N:%.+]] = plumb.Constant() {value = dense<8.000000e+00> : tensor<f32>}
// CHECK: [[L:%.+]] = plumb.Div([[S]], [[N]])
// CHECK: plumb.LogSoftmax({{%.+}}) {axis = 2 : i64} : (tensor<2x4x3xf64>) -> tensor<2x4x3xf64>
// CHECK: [[L64:%.+]] = plumb.Div({{%.+}}, {{%.+}}) : (tensor<f64>, tensor<f64>) -> tensor<f64>
// CHECK-NOT: SoftmaxCrossEntropyLoss
// CHECK: return [[L]], [[LP]], [[L64]]
// CHECK-LABEL: func @sce2d
// CHECK: [[LS2:%.+]] = plumb.LogSoftmax(%arg0) {axis = 1 : i64} : (tensor<4x5xf32>) -> tensor<4x5xf32>
// CHECK: plumb.GatherElements([[LS2]]
module attributes {plumb.opset = 12 : i64} {
  func.func @sce(%x: tensor<2x3x4xf32>, %t: tensor<2x4xi32>, %y: tensor<2x3x4xf64>, %u: tensor<2x4xi64>) -> (tensor<f32>, tensor<2x3x4xf32>, tensor<f64>) {
    %none = plumb.none
    %0:2 = plumb.SoftmaxCrossEntropyLoss(%x, %t, %none) : (tensor<2x3x4xf32>, tensor<2x4xi32>, none) -> (tensor<f32>, tensor<2x3x4xf32>)
    %1 = plumb.SoftmaxCrossEntropyLoss(%y, %u, %none) : (tensor<2x3x4xf64>, tensor<2x4xi64>, none) -> tensor<f64>
    return %0#0, %0#1, %1 : tensor<f32>, tensor<2x3x4xf32>, tensor<f64>
  }
  func.func @sce2d(%x: tensor<4x5xf32>, %t: tensor<4xi64>) -> tensor<f32> {
    %none = plumb.none
    %0 = plumb.SoftmaxCrossEntropyLoss(%x, %t, %none) {reduction = "sum"} : (tensor<4x5xf32>, tensor<4xi64>, none) -> tensor<f32>
    return %0 : tensor<f32>
  }
}
