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

// A KV cache: the past and new keys/values concatenated are the present outputs and what
// the scores read; the causal triangle is offset by the past length (query i sees keys up to
// past + i). Softcap after it: Div, Tanh, Mul.
// CHECK-LABEL: func @kv_cache
// CHECK: [[PK:%.+]] = plumb.Concat(%arg3, %arg1) {axis = 2 : i64} : (tensor<1x2x4x8xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x7x8xf32>
// CHECK: [[PV:%.+]] = plumb.Concat(%arg4, %arg2) {axis = 2 : i64}
// CHECK: plumb.Transpose([[PK]])
// CHECK: plumb.Constant() {value = dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x7xf32>}
// CHECK: plumb.Div
// CHECK-NEXT: plumb.Tanh
// CHECK-NEXT: plumb.Mul
// CHECK: [[Y:%.+]] = plumb.MatMul({{%.+}}, [[PV]])
// CHECK: return [[Y]], [[PK]], [[PV]]
func.func @kv_cache(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %pk: tensor<1x2x4x8xf32>, %pv: tensor<1x2x4x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x7x8xf32>, tensor<1x2x7x8xf32>) {
  %none = plumb.none
  %y, %presentK, %presentV = plumb.Attention(%q, %k, %v, %none, %pk, %pv, %none) {is_causal = 1 : i64, softcap = 2.0 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, none, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, none) -> (tensor<1x2x3x8xf32>, tensor<1x2x7x8xf32>, tensor<1x2x7x8xf32>)
  return %y, %presentK, %presentV : tensor<1x2x3x8xf32>, tensor<1x2x7x8xf32>, tensor<1x2x7x8xf32>
}

// -----

// A past_key without its past_value: left one Attention op.
// CHECK-LABEL: func @kept
func.func @kept(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %pk: tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32> {
  // CHECK: plumb.Attention
  // CHECK-NOT: plumb.Softmax
  %none = plumb.none
  %b = plumb.Attention(%q, %k, %v, %none, %pk, %none, %none) : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, none, tensor<1x2x4x8xf32>, none, none) -> tensor<1x2x3x8xf32>
  return %b : tensor<1x2x3x8xf32>
}

// -----

// qk_matmul_output read: the intermediate its mode names is that output (mode 0: the scaled
// scores, before the mask; mode 1: after it; mode 3: the probabilities).
// CHECK-LABEL: func @qk_output
// CHECK: [[S0:%.+]] = plumb.Mul
// CHECK: [[S1:%.+]] = plumb.Add([[S0]], %arg3)
// CHECK: plumb.Softmax([[S1]])
// CHECK: [[T0:%.+]] = plumb.Mul
// CHECK: [[T1:%.+]] = plumb.Add([[T0]], %arg3)
// CHECK: plumb.Softmax([[T1]])
// CHECK: [[U0:%.+]] = plumb.Mul
// CHECK: [[U1:%.+]] = plumb.Add([[U0]], %arg3)
// CHECK: [[P:%.+]] = plumb.Softmax([[U1]])
// CHECK-NOT: plumb.Attention
// CHECK: return {{%.+}}, [[S0]], [[T1]], [[P]]
func.func @qk_output(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %m: tensor<3x3xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %none = plumb.none
  %y, %pk0, %pv0, %qk0 = plumb.Attention(%q, %k, %v, %m, %none, %none, %none) : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<3x3xf32>, none, none, none) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>)
  %y1, %pk1, %pv1, %qk1 = plumb.Attention(%q, %k, %v, %m, %none, %none, %none) {qk_matmul_output_mode = 1 : i64} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<3x3xf32>, none, none, none) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>)
  %y3, %pk3, %pv3, %qk3 = plumb.Attention(%q, %k, %v, %m, %none, %none, %none) {qk_matmul_output_mode = 3 : i64} : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<3x3xf32>, none, none, none) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>)
  return %y, %qk0, %qk1, %qk3 : tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// A float mask shorter than the keys (2 of 4) is padded with -inf; nonpad_kv_seqlen masks
// out each batch's keys from its length on ([1, T] positions < [B, 1] lengths, as -inf/0
// added to the mask).
// CHECK-LABEL: func @padded_keys
// CHECK: [[PAD:%.+]] = plumb.Pad(%arg3, {{%.+}}, {{%.+}}, {{%.+}}) {mode = "constant"} : (tensor<3x2xf32>, tensor<4xi64>, tensor<f32>, none) -> tensor<3x4xf32>
// CHECK: [[LEN:%.+]] = plumb.Reshape(%arg4, {{%.+}}) : (tensor<2xi64>, tensor<2xi64>) -> tensor<2x1xi64>
// CHECK: [[POS:%.+]] = plumb.Constant() {value = dense<{{\[}}[0, 1, 2, 3]]> : tensor<1x4xi64>}
// CHECK: [[KEEP:%.+]] = plumb.Less([[POS]], [[LEN]]) : (tensor<1x4xi64>, tensor<2x1xi64>) -> tensor<2x4xi1>
// CHECK: [[KEEP4:%.+]] = plumb.Reshape([[KEEP]], {{%.+}}) : (tensor<2x4xi1>, tensor<4xi64>) -> tensor<2x1x1x4xi1>
// CHECK: [[BIAS:%.+]] = plumb.Where([[KEEP4]], {{%.+}}, {{%.+}}) : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK: [[M:%.+]] = plumb.Add([[PAD]], [[BIAS]]) : (tensor<3x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x3x4xf32>
// CHECK: plumb.Add({{%.+}}, [[M]]) : (tensor<2x2x3x4xf32>, tensor<2x1x3x4xf32>) -> tensor<2x2x3x4xf32>
// CHECK-NOT: plumb.Attention
func.func @padded_keys(%q: tensor<2x2x3x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %m: tensor<3x2xf32>, %n: tensor<2xi64>) -> tensor<2x2x3x8xf32> {
  %none = plumb.none
  %y = plumb.Attention(%q, %k, %v, %m, %none, %none, %n) : (tensor<2x2x3x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<3x2xf32>, none, none, tensor<2xi64>) -> tensor<2x2x3x8xf32>
  return %y : tensor<2x2x3x8xf32>
}

// -----

// 3-D inputs [B, S, heads * d] with q_num_heads 2 and kv_num_heads 1: each split into heads
// (Reshape, Transpose to [B, heads, S, d]), the output merged back (Transpose, Reshape).
// CHECK-LABEL: func @three_d
// CHECK: [[QS:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<1x3x16xf32>, tensor<4xi64>) -> tensor<1x3x2x8xf32>
// CHECK: [[Q:%.+]] = plumb.Transpose([[QS]]) {perm = [0, 2, 1, 3]} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
// CHECK: plumb.Reshape(%arg1, {{%.+}}) : (tensor<1x4x8xf32>, tensor<4xi64>) -> tensor<1x4x1x8xf32>
// CHECK: plumb.MatMul([[Q]],
// CHECK: [[O:%.+]] = plumb.MatMul({{%.+}}) : (tensor<1x2x3x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x3x8xf32>
// CHECK: [[OT:%.+]] = plumb.Transpose([[O]]) {perm = [0, 2, 1, 3]} : (tensor<1x2x3x8xf32>) -> tensor<1x3x2x8xf32>
// CHECK: [[Y:%.+]] = plumb.Reshape([[OT]], {{%.+}}) : (tensor<1x3x2x8xf32>, tensor<3xi64>) -> tensor<1x3x16xf32>
// CHECK: return [[Y]]
func.func @three_d(%q: tensor<1x3x16xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x3x16xf32> {
  %none = plumb.none
  %y = plumb.Attention(%q, %k, %v, %none, %none, %none, %none) {q_num_heads = 2 : i64, kv_num_heads = 1 : i64} : (tensor<1x3x16xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, none, none, none, none) -> tensor<1x3x16xf32>
  return %y : tensor<1x3x16xf32>
}
