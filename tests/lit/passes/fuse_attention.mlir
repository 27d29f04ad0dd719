// RUN: plumb-opt %s -plumb-fuse-attention -split-input-file | FileCheck %s
// RUN: plumb-opt %s -plumb-fuse-attention -split-input-file --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOC

// BERT: K^T comes from the head-split Transpose (not a last-two-axes swap, so it stays
// outside), scaled by Div, masked by Add.
// CHECK-LABEL: func @bert_attention
// CHECK: [[KT:%.+]] = plumb.Transpose(%arg1) {perm = [0, 2, 3, 1]}
// CHECK: [[F:%.+]] = plumb.fusion "attention"(%arg0, [[KT]], [[SCALE:%.+]], %arg3, %arg2)
// CHECK-NEXT: ^bb0([[Q:%.+]]: tensor<2x4x16x8xf32>, [[K:%.+]]: tensor<2x4x8x16xf32>, [[C:%.+]]: tensor<f32>, [[MASK:%.+]]: tensor<2x1x1x16xf32>, [[V:%.+]]: tensor<2x4x16x8xf32>):
// CHECK-NEXT: [[QK:%.+]] = plumb.MatMul([[Q]], [[K]])
// CHECK-NEXT: [[S:%.+]] = plumb.Div([[QK]], [[C]])
// CHECK-NEXT: [[SM:%.+]] = plumb.Add([[S]], [[MASK]])
// CHECK-NEXT: [[P:%.+]] = plumb.Softmax([[SM]]) {axis = -1 : i64}
// CHECK-NEXT: [[O:%.+]] = plumb.MatMul([[P]], [[V]])
// CHECK-NEXT: plumb.yield [[O]]
// CHECK: return [[F]]
// LOC-LABEL: func @bert_attention
// LOC: } loc(fused<["attn_out"]>["attn/MatMul", "attn/Div", "attn/Add", "attn/Softmax", "attn/MatMul_1"])
func.func @bert_attention(%q: tensor<2x4x16x8xf32>, %k: tensor<2x16x4x8xf32>, %v: tensor<2x4x16x8xf32>, %mask: tensor<2x1x1x16xf32>) -> tensor<2x4x16x8xf32> {
  %scale = plumb.Constant() {value = dense<2.82842708> : tensor<f32>} : () -> tensor<f32>
  %kt = plumb.Transpose(%k) {perm = [0, 2, 3, 1]} : (tensor<2x16x4x8xf32>) -> tensor<2x4x8x16xf32>
  %qk = plumb.MatMul(%q, %kt) : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32> loc(fused<["qk"]>["attn/MatMul"])
  %s = plumb.Div(%qk, %scale) : (tensor<2x4x16x16xf32>, tensor<f32>) -> tensor<2x4x16x16xf32> loc(fused<["s"]>["attn/Div"])
  %sm = plumb.Add(%s, %mask) : (tensor<2x4x16x16xf32>, tensor<2x1x1x16xf32>) -> tensor<2x4x16x16xf32> loc(fused<["sm"]>["attn/Add"])
  %p = plumb.Softmax(%sm) {axis = -1 : i64} : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32> loc(fused<["p"]>["attn/Softmax"])
  %o = plumb.MatMul(%p, %v) : (tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> loc(fused<["attn_out"]>["attn/MatMul_1"])
  return %o : tensor<2x4x16x8xf32>
}

// -----

// LLaMA: K^T is a swap of the last two axes, so the Transpose joins and K enters as is; the
// mask is added on the left.
// CHECK-LABEL: func @llama_attention
// CHECK: plumb.fusion "attention"(%arg1, %arg0, {{%.+}}, %arg3, %arg2)
// CHECK-NEXT: ^bb0([[K:%.+]]: tensor<1x4x16x8xf32>, [[Q:%.+]]: tensor<1x4x16x8xf32>, [[C:%.+]]: tensor<f32>, [[MASK:%.+]]: tensor<1x1x16x16xf32>, [[V:%.+]]: tensor<1x4x16x8xf32>):
// CHECK-NEXT: [[KT:%.+]] = plumb.Transpose([[K]]) {perm = [0, 1, 3, 2]}
// CHECK-NEXT: [[QK:%.+]] = plumb.MatMul([[Q]], [[KT]])
// CHECK-NEXT: [[S:%.+]] = plumb.Div([[QK]], [[C]])
// CHECK-NEXT: [[SM:%.+]] = plumb.Add([[MASK]], [[S]])
// CHECK-NEXT: [[P:%.+]] = plumb.Softmax([[SM]])
// CHECK-NEXT: [[O:%.+]] = plumb.MatMul([[P]], [[V]])
// CHECK-NEXT: plumb.yield [[O]]
func.func @llama_attention(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>, %mask: tensor<1x1x16x16xf32>) -> tensor<1x4x16x8xf32> {
  %scale = plumb.Constant() {value = dense<2.82842708> : tensor<f32>} : () -> tensor<f32>
  %kt = plumb.Transpose(%k) {perm = [0, 1, 3, 2]} : (tensor<1x4x16x8xf32>) -> tensor<1x4x8x16xf32>
  %qk = plumb.MatMul(%q, %kt) : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  %s = plumb.Div(%qk, %scale) : (tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %sm = plumb.Add(%mask, %s) : (tensor<1x1x16x16xf32>, tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %p = plumb.Softmax(%sm) {axis = 3 : i64} : (tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %o = plumb.MatMul(%p, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// GPT-2: a causal mask applied with Where(mask, scores, -inf); Softmax without an axis
// attribute (opset 13+: the last axis).
// CHECK-LABEL: func @gpt2_attention
// CHECK: plumb.fusion "attention"(%arg0, %arg1, {{%.+}}, %arg3, {{%.+}}, %arg2)
// CHECK-NEXT: ^bb0([[Q:%.+]]: {{.*}}, [[KT:%.+]]: {{.*}}, [[C:%.+]]: tensor<f32>, [[COND:%.+]]: tensor<1x1x16x16xi1>, [[FILL:%.+]]: tensor<f32>, [[V:%.+]]: {{.*}}):
// CHECK-NEXT: [[QK:%.+]] = plumb.MatMul([[Q]], [[KT]])
// CHECK-NEXT: [[S:%.+]] = plumb.Div([[QK]], [[C]])
// CHECK-NEXT: [[SM:%.+]] = plumb.Where([[COND]], [[S]], [[FILL]])
// CHECK-NEXT: [[P:%.+]] = plumb.Softmax([[SM]])
// CHECK-NEXT: [[O:%.+]] = plumb.MatMul([[P]], [[V]])
// CHECK-NEXT: plumb.yield [[O]]
module attributes {plumb.opset = 17 : i64} {
func.func @gpt2_attention(%q: tensor<1x4x16x8xf32>, %kt: tensor<1x4x8x16xf32>, %v: tensor<1x4x16x8xf32>, %cond: tensor<1x1x16x16xi1>) -> tensor<1x4x16x8xf32> {
  %scale = plumb.Constant() {value = dense<2.82842708> : tensor<f32>} : () -> tensor<f32>
  %fill = plumb.Constant() {value = dense<-3.40282347E+38> : tensor<f32>} : () -> tensor<f32>
  %qk = plumb.MatMul(%q, %kt) : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  %s = plumb.Div(%qk, %scale) : (tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %sm = plumb.Where(%cond, %s, %fill) : (tensor<1x1x16x16xi1>, tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %p = plumb.Softmax(%sm) : (tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %o = plumb.MatMul(%p, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}
}

// -----

// DiT: scale by Mul, no mask.
// CHECK-LABEL: func @dit_attention
// CHECK: plumb.fusion "attention"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: plumb.Transpose
// CHECK-NEXT: plumb.MatMul
// CHECK-NEXT: plumb.Mul
// CHECK-NEXT: plumb.Softmax
// CHECK-NEXT: plumb.MatMul
// CHECK-NEXT: plumb.yield
func.func @dit_attention(%q: tensor<1x4x64x8xf32>, %k: tensor<1x4x64x8xf32>, %v: tensor<1x4x64x8xf32>) -> tensor<1x4x64x8xf32> {
  %scale = plumb.Constant() {value = dense<0.353553385> : tensor<f32>} : () -> tensor<f32>
  %kt = plumb.Transpose(%k) {perm = [0, 1, 3, 2]} : (tensor<1x4x64x8xf32>) -> tensor<1x4x8x64xf32>
  %qk = plumb.MatMul(%q, %kt) : (tensor<1x4x64x8xf32>, tensor<1x4x8x64xf32>) -> tensor<1x4x64x64xf32>
  %s = plumb.Mul(%qk, %scale) : (tensor<1x4x64x64xf32>, tensor<f32>) -> tensor<1x4x64x64xf32>
  %p = plumb.Softmax(%s) {axis = -1 : i64} : (tensor<1x4x64x64xf32>) -> tensor<1x4x64x64xf32>
  %o = plumb.MatMul(%p, %v) : (tensor<1x4x64x64xf32>, tensor<1x4x64x8xf32>) -> tensor<1x4x64x8xf32>
  return %o : tensor<1x4x64x8xf32>
}

// -----

// Gemma 2's softcap, c * tanh(x / c), between the mask and the Softmax: part of the body.
// CHECK-LABEL: func @softcap_attention
// CHECK: plumb.fusion "attention"
// CHECK: plumb.Add
// CHECK-NEXT: plumb.Div
// CHECK-NEXT: plumb.Tanh
// CHECK-NEXT: plumb.Mul
// CHECK-NEXT: plumb.Softmax
func.func @softcap_attention(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>, %mask: tensor<4x4xf32>) -> tensor<1x2x4x8xf32> {
  %scale = plumb.Constant() {value = dense<0.35> : tensor<f32>} : () -> tensor<f32>
  %cap = plumb.Constant() {value = dense<50.0> : tensor<f32>} : () -> tensor<f32>
  %qk = plumb.MatMul(%q, %kt) : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %s = plumb.Mul(%qk, %scale) : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %sm = plumb.Add(%s, %mask) : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %d = plumb.Div(%sm, %cap) : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %t = plumb.Tanh(%d) : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c = plumb.Mul(%cap, %t) : (tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = plumb.Softmax(%c) {axis = -1 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = plumb.MatMul(%p, %v) : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Left alone: a Softmax over another axis, and attention probabilities that are also
// returned (they would leave the kernel).
// CHECK-LABEL: func @no_fusion
// CHECK-NOT: plumb.fusion
func.func @no_fusion(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x16xf32>, %v: tensor<4x16x8xf32>) -> (tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x16x16xf32>) {
  %qk = plumb.MatMul(%q, %kt) : (tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<4x16x16xf32>
  %p = plumb.Softmax(%qk) {axis = 1 : i64} : (tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o = plumb.MatMul(%p, %v) : (tensor<4x16x16xf32>, tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  %qk2 = plumb.MatMul(%q, %kt) : (tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<4x16x16xf32>
  %p2 = plumb.Softmax(%qk2) {axis = -1 : i64} : (tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o2 = plumb.MatMul(%p2, %v) : (tensor<4x16x16xf32>, tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o, %o2, %p2 : tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x16x16xf32>
}
