// RUN: plumb-opt %s -plumb-decompose-trilu -split-input-file | FileCheck %s

// Trilu as its mask: upper keeps row + k <= column, lower column <= row + k (k absent: 0),
// as a bool constant; Where of the mask, the input and a zero of its type (batched inputs
// broadcast the [rows, cols] mask). A k past the matrix keeps all or nothing; a k given at
// run time is added to the row indices (the mask computed).
// CHECK-LABEL: func @trilu
// CHECK: [[UM:%.+]] = plumb.Constant() {value = dense<{{\[}}[false, true, true, true], [false, false, true, true], [false, false, false, true]]> : tensor<3x4xi1>}
// CHECK: [[Z:%.+]] = plumb.Constant() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: [[U:%.+]] = plumb.Where([[UM]], %arg0, [[Z]]) : (tensor<3x4xi1>, tensor<2x3x4xf32>, tensor<f32>) -> tensor<2x3x4xf32>
// CHECK: [[LM:%.+]] = plumb.Constant() {value = dense<{{\[}}[true, false, false, false], [true, true, false, false], [true, true, true, false]]> : tensor<3x4xi1>}
// CHECK: [[ZI:%.+]] = plumb.Constant() {value = dense<0> : tensor<i64>}
// CHECK: [[L:%.+]] = plumb.Where([[LM]], %arg1, [[ZI]]) : (tensor<3x4xi1>, tensor<3x4xi64>, tensor<i64>) -> tensor<3x4xi64>
// CHECK: plumb.Constant() {value = dense<false> : tensor<3x4xi1>}
// CHECK: [[FAR:%.+]] = plumb.Where
// CHECK: [[RR:%.+]] = plumb.Constant() {value = dense<{{\[}}[0], [1], [2]]> : tensor<3x1xi64>}
// CHECK: [[RK:%.+]] = plumb.Add([[RR]], %arg2) : (tensor<3x1xi64>, tensor<i64>) -> tensor<3x1xi64>
// CHECK: [[RC:%.+]] = plumb.Constant() {value = dense<{{\[}}[0, 1, 2, 3]]> : tensor<1x4xi64>}
// CHECK: [[RM:%.+]] = plumb.LessOrEqual([[RK]], [[RC]])
// CHECK: [[RT:%.+]] = plumb.Where([[RM]], %arg1, {{%.+}})
// CHECK-NOT: plumb.Trilu
// CHECK: return [[U]], [[L]], [[FAR]], [[RT]]
module attributes {plumb.opset = 17 : i64} {
  func.func @trilu(%x: tensor<2x3x4xf32>, %m: tensor<3x4xi64>, %k: tensor<i64>) -> (tensor<2x3x4xf32>, tensor<3x4xi64>, tensor<3x4xi64>, tensor<3x4xi64>) {
    %one = plumb.Constant() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
    %far = plumb.Constant() {value = dense<100> : tensor<i64>} : () -> tensor<i64>
    %none = plumb.none
    %u = plumb.Trilu(%x, %one) : (tensor<2x3x4xf32>, tensor<i64>) -> tensor<2x3x4xf32>
    %l = plumb.Trilu(%m, %none) {upper = 0 : i64} : (tensor<3x4xi64>, none) -> tensor<3x4xi64>
    %f = plumb.Trilu(%m, %far) : (tensor<3x4xi64>, tensor<i64>) -> tensor<3x4xi64>
    %r = plumb.Trilu(%m, %k) : (tensor<3x4xi64>, tensor<i64>) -> tensor<3x4xi64>
    return %u, %l, %f, %r : tensor<2x3x4xf32>, tensor<3x4xi64>, tensor<3x4xi64>, tensor<3x4xi64>
  }
}

// -----

// A mask over 4 MiB is computed: row indices plus k against column indices.
// CHECK-LABEL: func @large
// CHECK: [[R:%.+]] = plumb.Constant() {{.*}} : () -> tensor<2049x1xi64>
// CHECK: [[C:%.+]] = plumb.Constant() {{.*}} : () -> tensor<1x2049xi64>
// CHECK: [[M:%.+]] = plumb.LessOrEqual([[C]], [[R]]) : (tensor<1x2049xi64>, tensor<2049x1xi64>) -> tensor<2049x2049xi1>
// CHECK: plumb.Where([[M]], %arg0, {{%.+}})
func.func @large(%x: tensor<2049x2049xf16>) -> tensor<2049x2049xf16> {
  %none = plumb.none
  %l = plumb.Trilu(%x, %none) {upper = 0 : i64} : (tensor<2049x2049xf16>, none) -> tensor<2049x2049xf16>
  return %l : tensor<2049x2049xf16>
}
