// RUN: plumb-opt %s -plumb-fuse-matmul -split-input-file | FileCheck %s
// RUN: plumb-opt %s -plumb-fuse-matmul -split-input-file --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOC

// BERT's exported GELU: x * (1 + erf(x / sqrt 2)) * 0.5 after a bias Add written bias-first.
// CHECK-LABEL: func @matmul_bias_gelu_erf
// CHECK: [[W:%.+]] = plumb.Constant
// CHECK: [[B:%.+]] = plumb.Constant
// CHECK: [[S2:%.+]] = plumb.Constant
// CHECK: [[ONE:%.+]] = plumb.Constant
// CHECK: [[HALF:%.+]] = plumb.Constant
// CHECK: [[F:%.+]] = plumb.fusion "matmul+bias+gelu"(%arg0, [[W]], [[B]], [[S2]], [[ONE]], [[HALF]])
// CHECK-NEXT: ^bb0([[XA:%.+]]: tensor<2x16xf32>, [[WA:%.+]]: tensor<16x8xf32>, [[BA:%.+]]: tensor<8xf32>, [[S2A:%.+]]: tensor<f32>, [[ONEA:%.+]]: tensor<f32>, [[HALFA:%.+]]: tensor<f32>):
// CHECK-NEXT: [[MM:%.+]] = plumb.MatMul([[XA]], [[WA]])
// CHECK-NEXT: [[X:%.+]] = plumb.Add([[BA]], [[MM]])
// CHECK-NEXT: [[D:%.+]] = plumb.Div([[X]], [[S2A]])
// CHECK-NEXT: [[E:%.+]] = plumb.Erf([[D]])
// CHECK-NEXT: [[A:%.+]] = plumb.Add([[E]], [[ONEA]])
// CHECK-NEXT: [[M:%.+]] = plumb.Mul([[X]], [[A]])
// CHECK-NEXT: [[G:%.+]] = plumb.Mul([[M]], [[HALFA]])
// CHECK-NEXT: plumb.yield [[G]]
// CHECK: return [[F]]
// LOC-LABEL: func @matmul_bias_gelu_erf
// LOC: } loc(fused<["gelu_out"]>["fc/MatMul", "fc/Add", "act/Div", "act/Erf", "act/Add", "act/Mul", "act/Mul_1"])
func.func @matmul_bias_gelu_erf(%x: tensor<2x16xf32>) -> tensor<2x8xf32> {
  %w = plumb.Constant() {value = dense<0.1> : tensor<16x8xf32>} : () -> tensor<16x8xf32>
  %b = plumb.Constant() {value = dense<0.2> : tensor<8xf32>} : () -> tensor<8xf32>
  %s2 = plumb.Constant() {value = dense<1.41421354> : tensor<f32>} : () -> tensor<f32>
  %one = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %half = plumb.Constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %mm = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32> loc(fused<["mm"]>["fc/MatMul"])
  %h = plumb.Add(%b, %mm) : (tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> loc(fused<["h"]>["fc/Add"])
  %d = plumb.Div(%h, %s2) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc(fused<["d"]>["act/Div"])
  %e = plumb.Erf(%d) : (tensor<2x8xf32>) -> tensor<2x8xf32> loc(fused<["e"]>["act/Erf"])
  %a = plumb.Add(%e, %one) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc(fused<["a"]>["act/Add"])
  %m = plumb.Mul(%h, %a) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> loc(fused<["m"]>["act/Mul"])
  %g = plumb.Mul(%m, %half) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32> loc(fused<["gelu_out"]>["act/Mul_1"])
  return %g : tensor<2x8xf32>
}

// -----

// GPT-2's tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with Pow(x, 3).
// CHECK-LABEL: func @matmul_bias_gelu_tanh
// CHECK: [[F:%.+]] = plumb.fusion "matmul+bias+gelu_tanh"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: [[MM:%.+]] = plumb.MatMul
// CHECK-NEXT: [[X:%.+]] = plumb.Add({{%.+}}, [[MM]])
// CHECK-NEXT: [[H:%.+]] = plumb.Mul([[X]], {{%.+}})
// CHECK-NEXT: [[P:%.+]] = plumb.Pow([[X]], {{%.+}})
// CHECK-NEXT: [[C:%.+]] = plumb.Mul([[P]], {{%.+}})
// CHECK-NEXT: [[S:%.+]] = plumb.Add([[X]], [[C]])
// CHECK-NEXT: [[K:%.+]] = plumb.Mul([[S]], {{%.+}})
// CHECK-NEXT: [[T:%.+]] = plumb.Tanh([[K]])
// CHECK-NEXT: [[A:%.+]] = plumb.Add([[T]], {{%.+}})
// CHECK-NEXT: [[G:%.+]] = plumb.Mul([[H]], [[A]])
// CHECK-NEXT: plumb.yield [[G]]
// CHECK: return [[F]]
func.func @matmul_bias_gelu_tanh(%x: tensor<1x4x32xf32>) -> tensor<1x4x128xf32> {
  %w = plumb.Constant() {value = dense<0.1> : tensor<32x128xf32>} : () -> tensor<32x128xf32>
  %b = plumb.Constant() {value = dense<0.2> : tensor<128xf32>} : () -> tensor<128xf32>
  %half = plumb.Constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %three = plumb.Constant() {value = dense<3.0> : tensor<f32>} : () -> tensor<f32>
  %k = plumb.Constant() {value = dense<0.044715> : tensor<f32>} : () -> tensor<f32>
  %c = plumb.Constant() {value = dense<0.797884583> : tensor<f32>} : () -> tensor<f32>
  %one = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %mm = plumb.MatMul(%x, %w) : (tensor<1x4x32xf32>, tensor<32x128xf32>) -> tensor<1x4x128xf32>
  %h = plumb.Add(%b, %mm) : (tensor<128xf32>, tensor<1x4x128xf32>) -> tensor<1x4x128xf32>
  %hh = plumb.Mul(%h, %half) : (tensor<1x4x128xf32>, tensor<f32>) -> tensor<1x4x128xf32>
  %p = plumb.Pow(%h, %three) : (tensor<1x4x128xf32>, tensor<f32>) -> tensor<1x4x128xf32>
  %pk = plumb.Mul(%p, %k) : (tensor<1x4x128xf32>, tensor<f32>) -> tensor<1x4x128xf32>
  %s = plumb.Add(%h, %pk) : (tensor<1x4x128xf32>, tensor<1x4x128xf32>) -> tensor<1x4x128xf32>
  %sc = plumb.Mul(%s, %c) : (tensor<1x4x128xf32>, tensor<f32>) -> tensor<1x4x128xf32>
  %t = plumb.Tanh(%sc) : (tensor<1x4x128xf32>) -> tensor<1x4x128xf32>
  %a = plumb.Add(%t, %one) : (tensor<1x4x128xf32>, tensor<f32>) -> tensor<1x4x128xf32>
  %g = plumb.Mul(%hh, %a) : (tensor<1x4x128xf32>, tensor<1x4x128xf32>) -> tensor<1x4x128xf32>
  return %g : tensor<1x4x128xf32>
}

// -----

// The same GELU as DiT exports it: x^3 as x * (x * x), constants on the left, 0.5 last.
// CHECK-LABEL: func @matmul_bias_gelu_tanh_muls
// CHECK: plumb.fusion "matmul+bias+gelu_tanh"
// CHECK-COUNT-6: plumb.Mul
// CHECK: plumb.yield
func.func @matmul_bias_gelu_tanh_muls(%x: tensor<4x32xf32>) -> tensor<4x16xf32> {
  %w = plumb.Constant() {value = dense<0.1> : tensor<32x16xf32>} : () -> tensor<32x16xf32>
  %b = plumb.Constant() {value = dense<0.2> : tensor<1x16xf32>} : () -> tensor<1x16xf32>
  %half = plumb.Constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %k = plumb.Constant() {value = dense<0.044715> : tensor<f32>} : () -> tensor<f32>
  %c = plumb.Constant() {value = dense<0.797884583> : tensor<f32>} : () -> tensor<f32>
  %one = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %mm = plumb.MatMul(%x, %w) : (tensor<4x32xf32>, tensor<32x16xf32>) -> tensor<4x16xf32>
  %h = plumb.Add(%mm, %b) : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  %sq = plumb.Mul(%h, %h) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %cu = plumb.Mul(%h, %sq) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %ck = plumb.Mul(%k, %cu) : (tensor<f32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %s = plumb.Add(%h, %ck) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %sc = plumb.Mul(%c, %s) : (tensor<f32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %t = plumb.Tanh(%sc) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %a = plumb.Add(%one, %t) : (tensor<f32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %m = plumb.Mul(%h, %a) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %g = plumb.Mul(%half, %m) : (tensor<f32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %g : tensor<4x16xf32>
}

// -----

// Gemm carries its bias in C; the activation joins it.
// CHECK-LABEL: func @gemm_relu
// CHECK: plumb.fusion "gemm+relu"(%arg0, %arg1, %arg2)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: [[G:%.+]] = plumb.Gemm({{.*}}) {transB = 1 : i64}
// CHECK-NEXT: [[R:%.+]] = plumb.Relu([[G]])
// CHECK-NEXT: plumb.yield [[R]]
func.func @gemm_relu(%a: tensor<2x16xf32>, %b: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  %g = plumb.Gemm(%a, %b, %c) {transB = 1 : i64} : (tensor<2x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %r = plumb.Relu(%g) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func @gemm_silu
// CHECK: plumb.fusion "gemm+silu"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: [[G:%.+]] = plumb.Gemm
// CHECK-NEXT: [[S:%.+]] = plumb.Sigmoid([[G]])
// CHECK-NEXT: [[M:%.+]] = plumb.Mul([[G]], [[S]])
// CHECK-NEXT: plumb.yield [[M]]
func.func @gemm_silu(%a: tensor<2x16xf32>, %b: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<2x8xf32> {
  %g = plumb.Gemm(%a, %b, %c) {transB = 1 : i64} : (tensor<2x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %s = plumb.Sigmoid(%g) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %m = plumb.Mul(%g, %s) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %m : tensor<2x8xf32>
}

// -----

// A bias alone, and an activation alone (the ONNX Gelu op, exact form).
// CHECK-LABEL: func @bias_only_and_gelu_op
// CHECK: plumb.fusion "matmul+bias"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: plumb.MatMul
// CHECK-NEXT: plumb.Add
// CHECK-NEXT: plumb.yield
// CHECK: plumb.fusion "matmul+gelu"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: plumb.MatMul
// CHECK-NEXT: plumb.Gelu
// CHECK-NEXT: plumb.yield
func.func @bias_only_and_gelu_op(%x: tensor<2x16xf32>, %w: tensor<16x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %b = plumb.Constant() {value = dense<0.2> : tensor<8xf32>} : () -> tensor<8xf32>
  %mm = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %h = plumb.Add(%mm, %b) : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %mm2 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %g = plumb.Gelu(%mm2) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %h, %g : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Left alone: a lone MatMul, a bias of the wrong width, and a bias shaped [2, 8] (a full
// matrix, not one value per column; a constant, so no residual either).
// CHECK-LABEL: func @no_fusion
// CHECK-NOT: plumb.fusion
func.func @no_fusion(%x: tensor<2x16xf32>, %w: tensor<16x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %wide = plumb.Constant() {value = dense<0.2> : tensor<1xf32>} : () -> tensor<1xf32>
  %full = plumb.Constant() {value = dense<0.2> : tensor<2x8xf32>} : () -> tensor<2x8xf32>
  %m0 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %m2 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %r2 = plumb.Add(%m2, %wide) : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %m3 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %r3 = plumb.Add(%m3, %full) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %m0, %r2, %r3 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Residual Adds: after the bias ("matmul+bias+add", a transformer's output projection and
// skip connection) or straight after the MatMul ("matmul+add", an RNN step's x W + h R),
// before the activation. Left out: a residual broadcast to the product's shape, a Gemm with
// C, and a residual computed after the MatMul (of two converging MatMuls the later takes it).
// CHECK-LABEL: func @residual
// CHECK: plumb.fusion "matmul+bias+add"(%arg0, %arg1, %{{.+}}, %arg2)
// CHECK: plumb.MatMul
// CHECK-NEXT: plumb.Add
// CHECK-NEXT: plumb.Add
// CHECK-NEXT: plumb.yield
// CHECK: plumb.fusion "matmul+add+relu"(%arg0, %arg1, %arg2)
// CHECK: [[B:%.+]] = plumb.MatMul(%arg0, %arg1)
// CHECK-NEXT: plumb.Add([[B]], %arg3)
// CHECK: [[G:%.+]] = plumb.Gemm(%arg0, %{{.+}}, %arg2)
// CHECK-NEXT: plumb.Add([[G]], %arg2)
// CHECK-NEXT: [[M5:%.+]] = plumb.MatMul(%arg0, %arg1)
// CHECK: plumb.fusion "matmul+add"(%arg0, %arg1, [[M5]])
func.func @residual(%x: tensor<2x16xf32>, %w: tensor<16x8xf32>, %res: tensor<2x8xf32>, %row: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %b = plumb.Constant() {value = dense<0.2> : tensor<8xf32>} : () -> tensor<8xf32>
  %m0 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %h0 = plumb.Add(%b, %m0) : (tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %r0 = plumb.Add(%h0, %res) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %m1 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %r1 = plumb.Add(%res, %m1) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %a1 = plumb.Relu(%r1) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %m2 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %r2 = plumb.Add(%m2, %row) : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %none = plumb.none
  %wt = plumb.Transpose(%w) {perm = [1, 0]} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  %g = plumb.Gemm(%x, %wt, %res) {transB = 1 : i64} : (tensor<2x16xf32>, tensor<8x16xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %r3 = plumb.Add(%g, %res) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %m4 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %m5 = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %r4 = plumb.Add(%m4, %m5) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %r0, %a1, %r2, %r3, %r4 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// The GELU input is also returned, so only the bias joins the MatMul; the GELU stays for
// plumb-fuse-activation.
// CHECK-LABEL: func @gelu_input_escapes
// CHECK: [[F:%.+]] = plumb.fusion "matmul+bias"
// CHECK: plumb.yield
// CHECK-NEXT: }
// CHECK-NEXT: plumb.Div([[F]]
// CHECK: plumb.Erf
func.func @gelu_input_escapes(%x: tensor<2x16xf32>, %w: tensor<16x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %b = plumb.Constant() {value = dense<0.2> : tensor<8xf32>} : () -> tensor<8xf32>
  %s2 = plumb.Constant() {value = dense<1.41421354> : tensor<f32>} : () -> tensor<f32>
  %one = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %half = plumb.Constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %mm = plumb.MatMul(%x, %w) : (tensor<2x16xf32>, tensor<16x8xf32>) -> tensor<2x8xf32>
  %h = plumb.Add(%mm, %b) : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %d = plumb.Div(%h, %s2) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = plumb.Erf(%d) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %a = plumb.Add(%e, %one) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = plumb.Mul(%h, %a) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %g = plumb.Mul(%m, %half) : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %h, %g : tensor<2x8xf32>, tensor<2x8xf32>
}
