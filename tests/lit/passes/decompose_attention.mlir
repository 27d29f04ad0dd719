// RUN: plumb-opt %s -plumb-decompose-attention -split-input-file | FileCheck %s

// Grouped query heads (4 on 2), a boolean mask and the causal triangle: K and V repeated by
// Reshape + Expand + Reshape, the mask and the allowed triangle one And, Where on the scaled
// scores, Softmax, the last MatMul gives Y.
// CHECK-LABEL: func @gqa_causal
func.func @gqa_causal(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %m: tensor<3x3xi1>) -> tensor<1x4x3x8xf32> {
  // CHECK: [[KR:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<1x2x3x8xf32>, tensor<5xi64>) -> tensor<1x2x1x3x8xf32>
  // CHECK: [[KE:%.+]] = plumb.Expand([[KR]], {{%.+}}) : (tensor<1x2x1x3x8xf32>, tensor<5xi64>) -> tensor<1x2x2x3x8xf32>
  // CHECK: [[K:%.+]] = plumb.Reshape([[KE]], {{%.+}}) : (tensor<1x2x2x3x8xf32>, tensor<4xi64>) -> tensor<1x4x3x8xf32>
  // CHECK: [[V:%.+]] = plumb.Reshape({{%.+}}) : (tensor<1x2x2x3x8xf32>, tensor<4xi64>) -> tensor<1x4x3x8xf32>
  // CHECK: [[KT:%.+]] = plumb.Transpose([[K]]) {perm = [0, 1, 3, 2]}
  // CHECK: [[S:%.+]] = plumb.MatMul(%arg0, [[KT]]) : (tensor<1x4x3x8xf32>, tensor<1x4x8x3xf32>) -> tensor<1x4x3x3xf32>
  // CHECK: [[SC:%.+]] = plumb.Constant() {value = dense<2.500000e-01> : tensor<f32>}
  // CHECK: [[SS:%.+]] = plumb.Mul([[S]], [[SC]])
  // CHECK: [[TRI:%.+]] = plumb.Constant() {value = dense<{{\[}}[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>}
  // CHECK: [[M:%.+]] = plumb.And(%arg3, [[TRI]])
  // CHECK: [[W:%.+]] = plumb.Where([[M]], [[SS]], {{%.+}})
  // CHECK: [[P:%.+]] = plumb.Softmax([[W]]) {axis = -1 : i64}
  // CHECK: [[Y:%.+]] = plumb.MatMul([[P]], [[V]])
  // CHECK-NOT: plumb.Attention
  // CHECK: return [[Y]]
  %none = plumb.none
  %y = plumb.Attention(%q, %k, %v, %m, %none, %none, %none) {is_causal = 1 : i64, scale = 0.25 : f32} : (tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<3x3xi1>, none, none, none) -> tensor<1x4x3x8xf32>
  return %y : tensor<1x4x3x8xf32>
}

// -----

// A KV cache (past_key/past_value) and softcap stay one Attention op each.
// CHECK-LABEL: func @kept
func.func @kept(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %pk: tensor<1x2x4x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  // CHECK-COUNT-2: plumb.Attention
  // CHECK-NOT: plumb.Softmax
  %none = plumb.none
  %a = plumb.Attention(%q, %k, %v, %none, %pk, %pk, %none) : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, none, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, none) -> tensor<1x2x3x8xf32>
  %b = plumb.Attention(%q, %k, %v, %none, %none, %none, %none) {softcap = 2.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, none, none, none, none) -> tensor<1x2x3x8xf32>
  return %a, %b : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}
