// RUN: plumb-opt %s -plumb-decompose-batchnorm -split-input-file | FileCheck %s

// (x - mean) / sqrt(var + epsilon) * scale + B with the [C] parameters as [C, 1, 1]
// constants; sqrt(var + epsilon) of a constant variance is folded by the reference kernels
// (var 3 + epsilon 1 = 4: 2). Parameters given at run time are reshaped, and their
// sqrt(var + epsilon) computed. A BN with training outputs or training_mode stays.
// CHECK-LABEL: func @bn
// CHECK-DAG: [[SC:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}2.000000e+00]], [{{\[}}5.000000e-01]]]> : tensor<2x1x1xf32>}
// CHECK-DAG: [[B:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}1.000000e+00]], [{{\[}}-1.000000e+00]]]> : tensor<2x1x1xf32>}
// CHECK-DAG: [[M:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}1.000000e-01]], [{{\[}}2.000000e-01]]]> : tensor<2x1x1xf32>}
// CHECK-DAG: [[SD:%.+]] = plumb.Constant() {value = dense<{{\[}}[{{\[}}2.000000e+00]], [{{\[}}1.000000e+00]]]> : tensor<2x1x1xf32>}
// CHECK: [[C:%.+]] = plumb.Sub(%arg0, [[M]]) : (tensor<1x2x3x3xf32>, tensor<2x1x1xf32>)
// CHECK: [[N:%.+]] = plumb.Div([[C]], [[SD]])
// CHECK: [[S:%.+]] = plumb.Mul([[N]], [[SC]])
// CHECK: [[Y:%.+]] = plumb.Add([[S]], [[B]])
// CHECK: plumb.Reshape(%arg1
// CHECK: [[RV:%.+]] = plumb.Reshape(%arg2
// CHECK: [[RE:%.+]] = plumb.Add([[RV]], {{%.+}}) : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
// CHECK: [[RS:%.+]] = plumb.Sqrt([[RE]])
// CHECK: plumb.Div({{%.+}}, [[RS]]) : (tensor<2x4x5xf32>, tensor<4x1xf32>)
// CHECK: [[T:%.+]], {{%.+}}:2 = plumb.BatchNormalization(%arg0
// CHECK: [[TM:%.+]] = plumb.BatchNormalization({{.*}}training_mode = 1
// CHECK: return [[Y]], {{%.+}}, [[T]], [[TM]]
module attributes {plumb.opset = 15 : i64} {
  func.func @bn(%x: tensor<1x2x3x3xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>, %z: tensor<2x4x5xf32>) -> (tensor<1x2x3x3xf32>, tensor<2x4x5xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
    %scale = plumb.Constant() {value = dense<[2.0, 0.5]> : tensor<2xf32>} : () -> tensor<2xf32>
    %bias = plumb.Constant() {value = dense<[1.0, -1.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %mean = plumb.Constant() {value = dense<[0.1, 0.2]> : tensor<2xf32>} : () -> tensor<2xf32>
    %var = plumb.Constant() {value = dense<[3.0, 0.0]> : tensor<2xf32>} : () -> tensor<2xf32>
    %s4 = plumb.Constant() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<4xf32>
    %0 = plumb.BatchNormalization(%x, %scale, %bias, %mean, %var) {epsilon = 1.0 : f32} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
    %1 = plumb.BatchNormalization(%z, %s4, %s4, %m, %v) : (tensor<2x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x5xf32>
    %2:3 = plumb.BatchNormalization(%x, %scale, %bias, %mean, %var) : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>)
    %3 = plumb.BatchNormalization(%x, %scale, %bias, %mean, %var) {training_mode = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
    return %0, %1, %2#0, %3 : tensor<1x2x3x3xf32>, tensor<2x4x5xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
  }
}

// -----

// Opset 6: the binary ops broadcast with broadcast=1 (trailing), as that opset requires.
// CHECK-LABEL: func @opset6
// CHECK: plumb.Sub(%arg0, {{%.+}}) {broadcast = 1 : i64}
// CHECK: plumb.Div({{%.+}}, {{%.+}}) {broadcast = 1 : i64}
// CHECK: plumb.Mul({{%.+}}, {{%.+}}) {broadcast = 1 : i64}
// CHECK: plumb.Add({{%.+}}, {{%.+}}) {broadcast = 1 : i64}
// CHECK-NOT: plumb.BatchNormalization
module attributes {plumb.opset = 6 : i64} {
  func.func @opset6(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %p = plumb.Constant() {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>} : () -> tensor<3xf32>
    %0 = plumb.BatchNormalization(%x, %p, %p, %p, %p) {is_test = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    return %0 : tensor<2x3xf32>
  }
}
