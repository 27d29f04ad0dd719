// RUN: plumb-opt %s -plumb-decompose-optimizers -split-input-file | FileCheck %s

// Nesterov Momentum: g = norm * X + G; V' = alpha * V + b * g with b = beta where T > 0,
// else 1 (a Where on Greater(T, 0)); X' = X - R * (g + alpha * V'). No Momentum left.
// CHECK-LABEL: func @momentum
// CHECK: [[G:%.+]] = plumb.Add({{%.+}}, %arg3) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: [[STARTED:%.+]] = plumb.Greater(%arg1, {{%.+}}) : (tensor<i64>, tensor<i64>) -> tensor<i1>
// CHECK: [[B:%.+]] = plumb.Where([[STARTED]], {{%.+}}, {{%.+}}) : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK: [[BG:%.+]] = plumb.Mul([[B]], [[G]])
// CHECK: [[V:%.+]] = plumb.Add({{%.+}}, [[BG]])
// CHECK: [[AV:%.+]] = plumb.Mul({{%.+}}, [[V]])
// CHECK: [[S:%.+]] = plumb.Add([[G]], [[AV]])
// CHECK: [[RS:%.+]] = plumb.Mul(%arg0, [[S]]) : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: [[X:%.+]] = plumb.Sub(%arg2, [[RS]])
// CHECK-NOT: Momentum
// CHECK: return [[X]], [[V]]
module attributes {plumb.opset = 17 : i64} {
  func.func @momentum(%r: tensor<f32>, %t: tensor<i64>, %x: tensor<4xf32>, %g: tensor<4xf32>, %v: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
    %x2, %v2 = plumb.Momentum(%r, %t, %x, %g, %v) {alpha = 0.9 : f32, beta = 0.5 : f32, mode = "nesterov", norm_coefficient = 0.0 : f32} : (tensor<f32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    return %x2, %v2 : tensor<4xf32>, tensor<4xf32>
  }
}

// -----

// Adagrad over two f64 groups: the rate R / (1 + T * decay) once (T cast to f64), then per
// group H' = H + g * g and X' = X - rate * g / (sqrt(H') + epsilon); results X1', X2', H1',
// H2' in order. An f16 group (the reference takes f32/f64 only) stays one op.
// CHECK-LABEL: func @adagrad
// CHECK: [[T:%.+]] = plumb.Cast(%arg1) {to = 11 : i64} : (tensor<i64>) -> tensor<f64>
// CHECK: [[RATE:%.+]] = plumb.Div(%arg0, {{%.+}}) : (tensor<f64>, tensor<f64>) -> tensor<f64>
// CHECK: [[H1:%.+]] = plumb.Add(%arg6, {{%.+}}) : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
// CHECK: [[R1:%.+]] = plumb.Sqrt([[H1]])
// CHECK: [[X1:%.+]] = plumb.Sub(%arg2, {{%.+}}) : (tensor<2x3xf64>, tensor<2x3xf64>) -> tensor<2x3xf64>
// CHECK: [[H2:%.+]] = plumb.Add(%arg7, {{%.+}}) : (tensor<5xf64>, tensor<5xf64>) -> tensor<5xf64>
// CHECK: [[X2:%.+]] = plumb.Sub(%arg3, {{%.+}}) : (tensor<5xf64>, tensor<5xf64>) -> tensor<5xf64>
// CHECK: [[KEPT:%[0-9]+]]:2 = plumb.Adagrad
// CHECK: return [[X1]], [[X2]], [[H1]], [[H2]], [[KEPT]]#0
module attributes {plumb.opset = 17 : i64} {
  func.func @adagrad(%r: tensor<f64>, %t: tensor<i64>, %x1: tensor<2x3xf64>, %x2: tensor<5xf64>, %g1: tensor<2x3xf64>, %g2: tensor<5xf64>, %h1: tensor<2x3xf64>, %h2: tensor<5xf64>, %rh: tensor<f16>, %xh: tensor<4xf16>) -> (tensor<2x3xf64>, tensor<5xf64>, tensor<2x3xf64>, tensor<5xf64>, tensor<4xf16>) {
    %0:4 = plumb.Adagrad(%r, %t, %x1, %x2, %g1, %g2, %h1, %h2) {decay_factor = 0.1 : f32, epsilon = 1.0e-3 : f32, norm_coefficient = 0.01 : f32} : (tensor<f64>, tensor<i64>, tensor<2x3xf64>, tensor<5xf64>, tensor<2x3xf64>, tensor<5xf64>, tensor<2x3xf64>, tensor<5xf64>) -> (tensor<2x3xf64>, tensor<5xf64>, tensor<2x3xf64>, tensor<5xf64>)
    %1:2 = plumb.Adagrad(%rh, %t, %xh, %xh, %xh) : (tensor<f16>, tensor<i64>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>) -> (tensor<4xf16>, tensor<4xf16>)
    return %0#0, %0#1, %0#2, %0#3, %1#0 : tensor<2x3xf64>, tensor<5xf64>, tensor<2x3xf64>, tensor<5xf64>, tensor<4xf16>
  }
}
