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

// -----

// LpNormalization: x over its L2 (or L1) norm along the axis, the norm a row reduction (the
// axis moved last first when it is not); p = 3 (not in the spec) is left.
// MeanVarianceNormalization over its default axes [0, 2, 3]: the mean and the mean of the
// squared deviations as row reductions over a Transpose, then (x - mean) / (stddev + 1e-9).
// Hardmax over axis 1 (opset 13 on): Cast(Equal(positions along the axis, ArgMax keeping it)).
// CHECK-LABEL: func @normalizations
// CHECK: [[T:%.+]] = plumb.Transpose(%arg0) {perm = [0, 2, 1]} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
// CHECK: [[SQ:%.+]] = plumb.Mul([[T]], [[T]])
// CHECK: [[SUM:%.+]] = plumb.ReduceSum([[SQ]], {{%.+}}) {keepdims = 1 : i64} : (tensor<2x4x3xf32>, tensor<1xi64>) -> tensor<2x4x1xf32>
// CHECK: [[ROOT:%.+]] = plumb.Sqrt([[SUM]])
// CHECK: [[NORM:%.+]] = plumb.Reshape([[ROOT]], {{%.+}}) : (tensor<2x4x1xf32>, tensor<3xi64>) -> tensor<2x1x4xf32>
// CHECK: [[L2:%.+]] = plumb.Div(%arg0, [[NORM]]) : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
// CHECK: [[ABS:%.+]] = plumb.Abs(%arg0)
// CHECK: [[L1SUM:%.+]] = plumb.ReduceSum([[ABS]], {{%.+}}) {keepdims = 1 : i64} : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<2x3x1xf32>
// CHECK: [[L1:%.+]] = plumb.Div(%arg0, [[L1SUM]])
// CHECK: [[P3:%.+]] = plumb.LpNormalization(%arg0) {p = 3 : i64}
// CHECK: [[XT:%.+]] = plumb.Transpose(%arg1) {perm = [1, 0, 2, 3]} : (tensor<2x3x4x5xf32>) -> tensor<3x2x4x5xf32>
// CHECK: [[MEAN:%.+]] = plumb.ReduceMean([[XT]], {{%.+}}) {axes = [1, 2, 3], keepdims = 1 : i64} : (tensor<3x2x4x5xf32>, none) -> tensor<3x1x1x1xf32>
// CHECK: [[M:%.+]] = plumb.Reshape([[MEAN]], {{%.+}}) : (tensor<3x1x1x1xf32>, tensor<4xi64>) -> tensor<1x3x1x1xf32>
// CHECK: [[D:%.+]] = plumb.Sub(%arg1, [[M]])
// CHECK: [[D2:%.+]] = plumb.Mul([[D]], [[D]])
// CHECK: [[D2T:%.+]] = plumb.Transpose([[D2]]) {perm = [1, 0, 2, 3]}
// CHECK: [[VAR:%.+]] = plumb.ReduceMean([[D2T]], {{%.+}}) {axes = [1, 2, 3], keepdims = 1 : i64}
// CHECK: [[V:%.+]] = plumb.Reshape([[VAR]], {{%.+}}) : (tensor<3x1x1x1xf32>, tensor<4xi64>) -> tensor<1x3x1x1xf32>
// CHECK: [[SD:%.+]] = plumb.Sqrt([[V]])
// CHECK: [[EPS:%.+]] = plumb.Constant() {value = dense<9.99999971E-10> : tensor<f32>}
// CHECK: [[DEN:%.+]] = plumb.Add([[SD]], [[EPS]])
// CHECK: [[MVN:%.+]] = plumb.Div([[D]], [[DEN]]) : (tensor<2x3x4x5xf32>, tensor<1x3x1x1xf32>) -> tensor<2x3x4x5xf32>
// CHECK-NOT: plumb.MeanVarianceNormalization
// CHECK: [[AM:%.+]] = plumb.ArgMax(%arg0) {axis = 1 : i64, keepdims = 1 : i64, select_last_index = 0 : i64} : (tensor<2x3x4xf32>) -> tensor<2x1x4xi64>
// CHECK: [[POS:%.+]] = plumb.Constant() {value = dense<{{\[}}{{\[}}[0], [1], [2]]]> : tensor<1x3x1xi64>}
// CHECK: [[HIT:%.+]] = plumb.Equal([[POS]], [[AM]]) : (tensor<1x3x1xi64>, tensor<2x1x4xi64>) -> tensor<2x3x4xi1>
// CHECK: [[HM:%.+]] = plumb.Cast([[HIT]]) {to = 1 : i64} : (tensor<2x3x4xi1>) -> tensor<2x3x4xf32>
// CHECK: return [[L2]], [[L1]], [[P3]], [[MVN]], [[HM]]
module attributes {plumb.opset = 17 : i64} {
  func.func @normalizations(%x: tensor<2x3x4xf32>, %y: tensor<2x3x4x5xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4x5xf32>, tensor<2x3x4xf32>) {
    %l2 = plumb.LpNormalization(%x) {axis = 1 : i64, p = 2 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %l1 = plumb.LpNormalization(%x) {p = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %p3 = plumb.LpNormalization(%x) {p = 3 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    %mvn = plumb.MeanVarianceNormalization(%y) : (tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
    %hm = plumb.Hardmax(%x) {axis = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
    return %l2, %l1, %p3, %mvn, %hm : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4x5xf32>, tensor<2x3x4xf32>
  }
}

// -----

// A LayerNormalization whose Mean and InvStdDev are read: its function body, the statistics
// computed in X's type (f16) and cast to stash_type (f32). One whose statistics are not read
// stays one op (the row kernel's).
// CHECK-LABEL: func @ln_stats
// CHECK: [[MEAN:%.+]] = plumb.ReduceMean(%arg0, {{%.+}}) {axes = [2], keepdims = 1 : i64} : (tensor<2x3x4xf16>, none) -> tensor<2x3x1xf16>
// CHECK: [[D:%.+]] = plumb.Sub(%arg0, [[MEAN]])
// CHECK: [[SQ:%.+]] = plumb.Mul([[D]], [[D]])
// CHECK: [[VAR:%.+]] = plumb.ReduceMean([[SQ]], {{%.+}}) {axes = [2], keepdims = 1 : i64}
// CHECK: [[EPS:%.+]] = plumb.Constant() {value = dense<1.000400e-03> : tensor<f16>}
// CHECK: [[VE:%.+]] = plumb.Add([[VAR]], [[EPS]])
// CHECK: [[SD:%.+]] = plumb.Sqrt([[VE]])
// CHECK: [[INV:%.+]] = plumb.Reciprocal([[SD]])
// CHECK: [[N:%.+]] = plumb.Mul([[D]], [[INV]])
// CHECK: [[Y:%.+]] = plumb.Mul([[N]], %arg1)
// CHECK: [[M32:%.+]] = plumb.Cast([[MEAN]]) {to = 1 : i64} : (tensor<2x3x1xf16>) -> tensor<2x3x1xf32>
// CHECK: [[I32:%.+]] = plumb.Cast([[INV]]) {to = 1 : i64} : (tensor<2x3x1xf16>) -> tensor<2x3x1xf32>
// CHECK: [[PLAIN:%.+]] = plumb.LayerNormalization(%arg0, %arg1, {{%.+}})
// CHECK: return [[Y]], [[M32]], [[I32]], [[PLAIN]]
module attributes {plumb.opset = 17 : i64} {
  func.func @ln_stats(%x: tensor<2x3x4xf16>, %g: tensor<4xf16>) -> (tensor<2x3x4xf16>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x3x4xf16>) {
    %none = plumb.none
    %y, %m, %i = plumb.LayerNormalization(%x, %g, %none) {axis = -1 : i64, epsilon = 1.0e-03 : f32} : (tensor<2x3x4xf16>, tensor<4xf16>, none) -> (tensor<2x3x4xf16>, tensor<2x3x1xf32>, tensor<2x3x1xf32>)
    %p = plumb.LayerNormalization(%x, %g, %none) {axis = -1 : i64} : (tensor<2x3x4xf16>, tensor<4xf16>, none) -> tensor<2x3x4xf16>
    return %y, %m, %i, %p : tensor<2x3x4xf16>, tensor<2x3x1xf32>, tensor<2x3x1xf32>, tensor<2x3x4xf16>
  }
}

// -----

// noop_with_empty_axes with the axes an input (ReduceSum from opset 13, the others from 18)
// left out or empty: the input, as the reference computes it (reading the absent axes as all
// axes would reduce everything).
// CHECK-LABEL: func @noop
// CHECK-NOT: plumb.ReduceSum
// CHECK-NOT: plumb.ReduceMax
// CHECK: return %arg0, %arg0, %arg0
module attributes {plumb.opset = 18 : i64} {
  func.func @noop(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
    %none = plumb.none
    %empty = plumb.Constant() {value = dense<> : tensor<0xi64>} : () -> tensor<0xi64>
    %a = plumb.ReduceSum(%x, %none) {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>, none) -> tensor<2x3xf32>
    %b = plumb.ReduceSum(%x, %empty) {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<2x3xf32>
    %c = plumb.ReduceMax(%x, %none) {noop_with_empty_axes = 1 : i64} : (tensor<2x3xf32>, none) -> tensor<2x3xf32>
    return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
  }
}
