// RUN: plumb-opt %s -plumb-legacy-broadcast -split-input-file | FileCheck %s

// Opset 6: B [3] at axis 1 of A [2, 3, 4, 3] is per channel: it becomes a [3, 1, 1] constant
// and the axis goes (broadcast stays: trailing now). A B at axis 2 [4, 3] already ends at
// A's last dim: only the axis goes. A B computed at run time is reshaped. PRelu's slope of
// 3 entries on X of rank 4 becomes [3, 1, 1]; a slope of one entry is left.
// CHECK-LABEL: func @legacy
// CHECK: [[B:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}1.000000e+00]], [{{\[}}-2.000000e+00]], [{{\[}}3.000000e+00]]]> : tensor<3x1x1xf32>}
// CHECK: [[ADD:%.+]] = plumb.Add(%arg0, [[B]]) {broadcast = 1 : i64} : (tensor<2x3x4x3xf32>, tensor<3x1x1xf32>)
// CHECK: [[MUL:%.+]] = plumb.Mul(%arg0, %arg1) {broadcast = 1 : i64} : (tensor<2x3x4x3xf32>, tensor<4x3xf32>)
// CHECK: [[S:%.+]] = plumb.Constant() {value = dense<[3, 1, 1]> : tensor<3xi64>}
// CHECK: [[R:%.+]] = plumb.Reshape(%arg2, [[S]]) : (tensor<3xf32>, tensor<3xi64>) -> tensor<3x1x1xf32>
// CHECK: [[SUB:%.+]] = plumb.Sub(%arg0, [[R]]) {broadcast = 1 : i64}
// CHECK: [[SL:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}2.500000e-01]], [{{\[}}5.000000e-01]], [{{\[}}7.500000e-01]]]> : tensor<3x1x1xf32>}
// CHECK: [[P:%.+]] = plumb.PRelu(%arg0, [[SL]]) : (tensor<2x3x4x3xf32>, tensor<3x1x1xf32>)
// CHECK: [[P1:%.+]] = plumb.PRelu(%arg0, {{%.+}}) : (tensor<2x3x4x3xf32>, tensor<1xf32>)
// CHECK: return [[ADD]], [[MUL]], [[SUB]], [[P]], [[P1]]
module attributes {plumb.opset = 6 : i64} {
  func.func @legacy(%a: tensor<2x3x4x3xf32>, %b43: tensor<4x3xf32>, %run: tensor<3xf32>) -> (tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>) {
    %b = plumb.Constant() {value = dense<[1.0, -2.0, 3.0]> : tensor<3xf32>} : () -> tensor<3xf32>
    %slope = plumb.Constant() {value = dense<[0.25, 0.5, 0.75]> : tensor<3xf32>} : () -> tensor<3xf32>
    %one = plumb.Constant() {value = dense<[0.5]> : tensor<1xf32>} : () -> tensor<1xf32>
    %0 = plumb.Add(%a, %b) {axis = 1 : i64, broadcast = 1 : i64} : (tensor<2x3x4x3xf32>, tensor<3xf32>) -> tensor<2x3x4x3xf32>
    %1 = plumb.Mul(%a, %b43) {axis = 2 : i64, broadcast = 1 : i64} : (tensor<2x3x4x3xf32>, tensor<4x3xf32>) -> tensor<2x3x4x3xf32>
    %2 = plumb.Sub(%a, %run) {axis = -3 : i64, broadcast = 1 : i64} : (tensor<2x3x4x3xf32>, tensor<3xf32>) -> tensor<2x3x4x3xf32>
    %3 = plumb.PRelu(%a, %slope) : (tensor<2x3x4x3xf32>, tensor<3xf32>) -> tensor<2x3x4x3xf32>
    %4 = plumb.PRelu(%a, %one) : (tensor<2x3x4x3xf32>, tensor<1xf32>) -> tensor<2x3x4x3xf32>
    return %0, %1, %2, %3, %4 : tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>, tensor<2x3x4x3xf32>
  }
}

// -----

// From opset 7 broadcasting is numpy's: nothing changes.
// CHECK-LABEL: func @modern
// CHECK: plumb.PRelu(%arg0, %arg1) : (tensor<2x3x4xf32>, tensor<4xf32>)
module attributes {plumb.opset = 7 : i64} {
  func.func @modern(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>) -> tensor<2x3x4xf32> {
    %0 = plumb.PRelu(%x, %s) : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
    return %0 : tensor<2x3x4xf32>
  }
}
