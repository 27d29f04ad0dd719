// RUN: plumb-opt %s -plumb-pack-projections -split-input-file --mlir-print-debuginfo | FileCheck %s

// Q, K and V projections of one input with biases: one MatMul by [Wq | Wk | Wv], one Add of
// [bq | bk | bv], one Split back into the three results (sizes 2, 1, 1: K and V narrower, as
// grouped-query attention has them). The Split carries the three Adds' nodes and names.
// CHECK-LABEL: func @qkv
func.func @qkv(%x: tensor<1x3x2xf32>) -> (tensor<1x3x2xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) {
  // CHECK: [[W:%.+]] = plumb.Constant() {value = dense<{{\[}}[1.000000e+00, 2.000000e+00, 5.000000e+00, 7.000000e+00], [3.000000e+00, 4.000000e+00, 6.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>}
  // CHECK: [[P:%.+]] = plumb.MatMul(%arg0, [[W]]) : (tensor<1x3x2xf32>, tensor<2x4xf32>) -> tensor<1x3x4xf32>
  // CHECK: [[B:%.+]] = plumb.Constant() {value = dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01]> : tensor<4xf32>}
  // CHECK: [[PB:%.+]] = plumb.Add([[P]], [[B]]) : (tensor<1x3x4xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  // CHECK: [[S:%.+]] = plumb.Constant() {value = dense<[2, 1, 1]> : tensor<3xi64>}
  // CHECK: [[Q:%.+]]:3 = plumb.Split([[PB]], [[S]]) {axis = -1 : i64} : (tensor<1x3x4xf32>, tensor<3xi64>) -> (tensor<1x3x2xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) loc([[SLOC:#loc[0-9]+]])
  // CHECK-NOT: plumb.MatMul
  // CHECK: return [[Q]]#0, [[Q]]#1, [[Q]]#2
  %wq = plumb.Constant() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %wk = plumb.Constant() {value = dense<[[5.0], [6.0]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %wv = plumb.Constant() {value = dense<[[7.0], [8.0]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %bq = plumb.Constant() {value = dense<[0.1, 0.2]> : tensor<2xf32>} : () -> tensor<2xf32>
  %bk = plumb.Constant() {value = dense<[0.3]> : tensor<1xf32>} : () -> tensor<1xf32>
  %bv = plumb.Constant() {value = dense<[0.4]> : tensor<1xf32>} : () -> tensor<1xf32>
  %q = plumb.MatMul(%x, %wq) : (tensor<1x3x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2xf32> loc(fused<["q_mm"]>["q_proj"])
  %qb = plumb.Add(%q, %bq) : (tensor<1x3x2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32> loc(fused<["q"]>["q_bias"])
  %k = plumb.MatMul(%x, %wk) : (tensor<1x3x2xf32>, tensor<2x1xf32>) -> tensor<1x3x1xf32>
  %kb = plumb.Add(%bk, %k) : (tensor<1xf32>, tensor<1x3x1xf32>) -> tensor<1x3x1xf32> loc(fused<["k"]>["k_bias"])
  %v = plumb.MatMul(%x, %wv) : (tensor<1x3x2xf32>, tensor<2x1xf32>) -> tensor<1x3x1xf32>
  %vb = plumb.Add(%v, %bv) : (tensor<1x3x1xf32>, tensor<1xf32>) -> tensor<1x3x1xf32> loc(fused<["v"]>["v_bias"])
  return %qb, %kb, %vb : tensor<1x3x2xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>
}
// The packed bias Add's result is named after the tensors it packs (no ONNX tensor).
// CHECK-DAG: loc(fused<["packed(q,k,v)"]>
// CHECK-DAG: [[SLOC]] = loc(fused<["q", "k", "v"]>

// -----

// Gate and up projections without biases: packed; a third MatMul of the same input whose
// weights are not constant, and one of another input, stay as they are.
// CHECK-LABEL: func @gate_up
func.func @gate_up(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>, %w: tensor<2x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  // CHECK: plumb.MatMul(%arg0, {{%.+}}) : (tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
  // CHECK: plumb.Split
  // CHECK-DAG: plumb.MatMul(%arg0, %arg2)
  // CHECK-DAG: plumb.MatMul(%arg1, {{%.+}}) : (tensor<4x2xf32>, tensor<2x3xf32>)
  %wg = plumb.Constant() {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %wu = plumb.Constant() {value = dense<2.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %g = plumb.MatMul(%x, %wg) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %u = plumb.MatMul(%x, %wu) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %n = plumb.MatMul(%x, %w) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %o = plumb.MatMul(%y, %wg) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %g, %u, %n, %o : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// One projection with a bias and one without: two groups of one, nothing packed.
// CHECK-LABEL: func @mixed
func.func @mixed(%x: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  // CHECK-COUNT-2: plumb.MatMul
  // CHECK-NOT: plumb.Split
  %wa = plumb.Constant() {value = dense<1.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %wb = plumb.Constant() {value = dense<2.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %b = plumb.Constant() {value = dense<0.5> : tensor<3xf32>} : () -> tensor<3xf32>
  %a = plumb.MatMul(%x, %wa) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %ab = plumb.Add(%a, %b) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %c = plumb.MatMul(%x, %wb) : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %ab, %c : tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// Gemms as torch.onnx exports nn.Linear on 2-D inputs (transB 1, B [N, K], C [N]): one Gemm
// by the weights one under another and the biases one after another, then the Split. A Gemm
// with alpha 2 and one with transB 0 are not packed with them; two Gemms with transB 0 and a
// [1, N] C are packed side by side.
// CHECK-LABEL: func @gemm
func.func @gemm(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) {
  // CHECK-DAG: [[W:%.+]] = plumb.Constant() {value = dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>}
  // CHECK-DAG: [[B:%.+]] = plumb.Constant() {value = dense<[1.000000e-01, 2.000000e-01, 3.000000e-01]> : tensor<3xf32>}
  // CHECK: [[P:%.+]] = plumb.Gemm(%arg0, [[W]], [[B]]) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  // CHECK: [[Q:%.+]]:2 = plumb.Split([[P]], {{%.+}}) {axis = -1 : i64} : (tensor<3x3xf32>, tensor<2xi64>) -> (tensor<3x2xf32>, tensor<3x1xf32>)
  // CHECK-DAG: [[W2:%.+]] = plumb.Constant() {value = dense<{{\[}}[7.000000e+00, 9.000000e+00], [8.000000e+00, 1.000000e+01]]> : tensor<2x2xf32>}
  // CHECK-DAG: [[B2:%.+]] = plumb.Constant() {value = dense<[4.000000e-01, 5.000000e-01]> : tensor<2xf32>}
  // CHECK: [[P2:%.+]] = plumb.Gemm(%arg0, [[W2]], [[B2]]) : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  // CHECK: [[R:%.+]]:2 = plumb.Split([[P2]]
  // CHECK: [[A:%.+]] = plumb.Gemm(%arg0, {{%.+}}, {{%.+}}) {alpha = 2.000000e+00 : f32, transB = 1 : i64}
  // CHECK: return [[Q]]#0, [[Q]]#1, [[R]]#0, [[R]]#1, [[A]]
  %wq = plumb.Constant() {value = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : () -> tensor<2x2xf32>
  %wk = plumb.Constant() {value = dense<[[5.0, 6.0]]> : tensor<1x2xf32>} : () -> tensor<1x2xf32>
  %bq = plumb.Constant() {value = dense<[0.1, 0.2]> : tensor<2xf32>} : () -> tensor<2xf32>
  %bk = plumb.Constant() {value = dense<[0.3]> : tensor<1xf32>} : () -> tensor<1xf32>
  %q = plumb.Gemm(%x, %wq, %bq) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %k = plumb.Gemm(%x, %wk, %bk) {transB = 1 : i64} : (tensor<3x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<3x1xf32>
  %wa = plumb.Constant() {value = dense<[[7.0], [8.0]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %wb = plumb.Constant() {value = dense<[[9.0], [10.0]]> : tensor<2x1xf32>} : () -> tensor<2x1xf32>
  %ba = plumb.Constant() {value = dense<[[0.4]]> : tensor<1x1xf32>} : () -> tensor<1x1xf32>
  %bb = plumb.Constant() {value = dense<[[0.5]]> : tensor<1x1xf32>} : () -> tensor<1x1xf32>
  %a = plumb.Gemm(%x, %wa, %ba) : (tensor<3x2xf32>, tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %bo = plumb.Gemm(%x, %wb, %bb) : (tensor<3x2xf32>, tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<3x1xf32>
  %wc = plumb.Constant() {value = dense<[[1.0, 1.0]]> : tensor<1x2xf32>} : () -> tensor<1x2xf32>
  %c = plumb.Gemm(%x, %wc, %bk) {alpha = 2.0 : f32, transB = 1 : i64} : (tensor<3x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<3x1xf32>
  return %q, %k, %a, %bo, %c : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>
}
