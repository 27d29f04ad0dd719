// RUN: plumb-opt %s -plumb-unroll-recurrent -split-input-file | FileCheck %s

// An RNN of two steps: X W^T for both steps by W transposed (folded into a constant: W is
// one), R transposed by ops (R is an input), per step the step's row, H R^T from zeros, Tanh;
// Y the Concat of the steps, Y_h the last h.
// CHECK-LABEL: func @rnn
// CHECK: [[WT:%.+]] = plumb.Constant() {value = dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>}
// CHECK: [[XW:%.+]] = plumb.MatMul(%arg0, [[WT]]) : (tensor<2x1x3xf32>, tensor<3x2xf32>) -> tensor<2x1x2xf32>
// CHECK: [[RD:%.+]] = plumb.Gather(%arg1, {{%.+}}) {axis = 0 : i64}
// CHECK: [[RT:%.+]] = plumb.Transpose([[RD]]) {perm = [1, 0]} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: [[H0:%.+]] = plumb.Constant() {value = dense<0.000000e+00> : tensor<1x2xf32>}
// CHECK: [[X0:%.+]] = plumb.Gather([[XW]], {{%.+}}) {axis = 0 : i64} : (tensor<2x1x2xf32>, tensor<i64>) -> tensor<1x2xf32>
// CHECK: [[HR0:%.+]] = plumb.MatMul([[H0]], [[RT]])
// CHECK: [[P0:%.+]] = plumb.Add([[X0]], [[HR0]])
// CHECK: [[S0:%.+]] = plumb.Tanh([[P0]])
// CHECK: [[X1:%.+]] = plumb.Gather([[XW]], {{%.+}}) {axis = 0 : i64}
// CHECK: [[HR1:%.+]] = plumb.MatMul([[S0]], [[RT]])
// CHECK: [[P1:%.+]] = plumb.Add([[X1]], [[HR1]])
// CHECK: [[S1:%.+]] = plumb.Tanh([[P1]])
// CHECK: [[Y0:%.+]] = plumb.Reshape([[S0]], {{%.+}}) : (tensor<1x2xf32>, tensor<4xi64>) -> tensor<1x1x1x2xf32>
// CHECK: [[Y1:%.+]] = plumb.Reshape([[S1]], {{%.+}})
// CHECK: [[Y:%.+]] = plumb.Concat([[Y0]], [[Y1]]) {axis = 0 : i64} : (tensor<1x1x1x2xf32>, tensor<1x1x1x2xf32>) -> tensor<2x1x1x2xf32>
// CHECK: [[YH:%.+]] = plumb.Reshape([[S1]], {{%.+}}) : (tensor<1x2xf32>, tensor<3xi64>) -> tensor<1x1x2xf32>
// CHECK-NOT: plumb.RNN
// CHECK: return [[Y]], [[YH]]
module attributes {plumb.opset = 14 : i64} {
  func.func @rnn(%x: tensor<2x1x3xf32>, %r: tensor<1x2x2xf32>) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>) {
    %w = plumb.Constant() {value = dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]> : tensor<1x2x3xf32>} : () -> tensor<1x2x3xf32>
    %none = plumb.none
    %y, %yh = plumb.RNN(%x, %w, %r, %none, %none, %none) {hidden_size = 2 : i64} : (tensor<2x1x3xf32>, tensor<1x2x3xf32>, tensor<1x2x2xf32>, none, none, none) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>)
    return %y, %yh : tensor<2x1x1x2xf32>, tensor<1x1x2xf32>
  }
}

// -----

// An activation with alpha/beta is its op with them (the lists consumed in order by the
// functions that take them); a sequence longer than 256 steps is left as one op.
// CHECK-LABEL: func @activations_and_left
// CHECK: plumb.HardSigmoid({{.*}}) {alpha = 3.000000e-01 : f32, beta = 4.000000e-01 : f32}
// CHECK: plumb.Tanh
// CHECK: plumb.GRU
module attributes {plumb.opset = 14 : i64} {
  func.func @activations_and_left(%x: tensor<2x1x3xf32>, %w: tensor<1x6x3xf32>, %r: tensor<1x6x2xf32>, %long: tensor<300x1x3xf32>) -> (tensor<1x1x2xf32>, tensor<1x1x2xf32>) {
    %none = plumb.none
    %g:2 = plumb.GRU(%x, %w, %r, %none, %none, %none) {hidden_size = 2 : i64, activations = ["HardSigmoid", "Tanh"], activation_alpha = [0.3 : f32], activation_beta = [0.4 : f32]} : (tensor<2x1x3xf32>, tensor<1x6x3xf32>, tensor<1x6x2xf32>, none, none, none) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>)
    %l:2 = plumb.GRU(%long, %w, %r, %none, %none, %none) {hidden_size = 2 : i64} : (tensor<300x1x3xf32>, tensor<1x6x3xf32>, tensor<1x6x2xf32>, none, none, none) -> (tensor<300x1x1x2xf32>, tensor<1x1x2xf32>)
    return %g#1, %l#1 : tensor<1x1x2xf32>, tensor<1x1x2xf32>
  }
}

// -----

// sequence_lens given at run time to a reverse op: each step t compares t < length (Less)
// and keeps the state where it does not (Where), so a sequence starts at its own last step
// from the initial state.
// CHECK-LABEL: func @reverse_lens
// CHECK-NOT: plumb.LSTM
// CHECK: plumb.Less
// CHECK: plumb.Where
// CHECK-NOT: plumb.LSTM
module attributes {plumb.opset = 14 : i64} {
  func.func @reverse_lens(%x: tensor<2x1x3xf32>, %w4: tensor<1x8x3xf32>, %r4: tensor<1x8x2xf32>, %lens: tensor<1xi32>) -> tensor<1x1x2xf32> {
    %none = plumb.none
    %l:2 = plumb.LSTM(%x, %w4, %r4, %none, %lens, %none, %none, %none) {direction = "reverse", hidden_size = 2 : i64} : (tensor<2x1x3xf32>, tensor<1x8x3xf32>, tensor<1x8x2xf32>, none, tensor<1xi32>, none, none, none) -> (tensor<2x1x1x2xf32>, tensor<1x1x2xf32>)
    return %l#1 : tensor<1x1x2xf32>
  }
}
