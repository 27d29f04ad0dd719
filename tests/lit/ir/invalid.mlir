// RUN: plumb-opt %s -split-input-file -verify-diagnostics
// Verifiers name the attribute or operand and the allowed range.

func.func @softmax_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'plumb.Softmax' op axis 2 out of [-2, 1]}}
  %y = plumb.Softmax(%x) {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  // expected-error @+1 {{perm is not a permutation of [0, 3)}}
  %y = plumb.Transpose(%x) {perm = [2, 2, 0]} : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  return %y : tensor<4x3x2xf32>
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %none = plumb.none
  // expected-error @+1 {{input channels 3 != weight channels 2 x group 1}}
  %y = plumb.Conv(%x, %w, %none) : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_strides(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %none = plumb.none
  // expected-error @+1 {{strides has 3 entries, expected 2}}
  %y = plumb.Conv(%x, %w, %none) {strides = [1, 1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

func.func @matmul_k(%a: tensor<2x8xf32>, %b: tensor<4x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{contraction dims differ: 8 vs 4}}
  %y = plumb.MatMul(%a, %b) : (tensor<2x8xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @gemm_rank(%a: tensor<2x8x1xf32>, %b: tensor<8x4xf32>) -> tensor<2x4xf32> {
  %none = plumb.none
  // expected-error @+1 {{A and B must be 2-D, got rank 3}}
  %y = plumb.Gemm(%a, %b, %none) : (tensor<2x8x1xf32>, tensor<8x4xf32>, none) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @concat_ranks(%a: tensor<2x3xf32>, %b: tensor<2xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{inputs have different ranks 2 and 1}}
  %y = plumb.Concat(%a, %b) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

func.func @cast_code(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{unsupported target type code 8}}
  %y = plumb.Cast(%a) {to = 8 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @group_norm(%x: tensor<1x6x4x4xf32>, %s: tensor<6xf32>) -> tensor<1x6x4x4xf32> {
  // expected-error @+1 {{channels 6 not divisible by num_groups 4}}
  %y = plumb.GroupNormalization(%x, %s, %s) {num_groups = 4 : i64} : (tensor<1x6x4x4xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  return %y : tensor<1x6x4x4xf32>
}

// -----

func.func @constant_two_values() -> tensor<f32> {
  // expected-error @+1 {{expects exactly one of value, value_float, value_floats, value_int, value_ints; got 2}}
  %c = plumb.Constant() {value_float = 1.0 : f32, value_int = 1 : i64} : () -> tensor<f32>
  return %c : tensor<f32>
}

// -----

func.func @element_type(%a: tensor<2xcomplex<f32>>) -> tensor<2xcomplex<f32>> {
  // expected-error @+1 {{operand #0 must be tensor of}}
  %y = plumb.Relu(%a) : (tensor<2xcomplex<f32>>) -> tensor<2xcomplex<f32>>
  return %y : tensor<2xcomplex<f32>>
}

// -----

func.func @fusion_yield(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{yields 2 values for 1 results}}
  %f = plumb.fusion "bad" (%x) : (tensor<2xf32>) -> tensor<2xf32> {
  ^bb0(%a: tensor<2xf32>):
    plumb.yield %a, %a : tensor<2xf32>, tensor<2xf32>
  }
  return %f : tensor<2xf32>
}

// -----

func.func @if_yield_count(%c: tensor<i1>, %a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'plumb.If' op else_branch yields 0 values, expected 1}}
  %r = plumb.If(%c) : (tensor<i1>) -> tensor<2xf32> {
    plumb.yield %a : tensor<2xf32>
  }, {
    plumb.yield
  }
  return %r : tensor<2xf32>
}

// -----

func.func @if_cond_elements(%c: tensor<2xi1>, %a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{cond must hold one element}}
  %r = plumb.If(%c) : (tensor<2xi1>) -> tensor<2xf32> {
    plumb.yield %a : tensor<2xf32>
  }, {
    plumb.yield %a : tensor<2xf32>
  }
  return %r : tensor<2xf32>
}

// -----

func.func @loop_body_args(%m: tensor<i64>, %x: tensor<f32>) -> tensor<f32> {
  %none = plumb.none
  // expected-error @+1 {{'plumb.Loop' op body has 2 arguments, expected 3}}
  %r = plumb.Loop(%m, %none, %x) : (tensor<i64>, none, tensor<f32>) -> tensor<f32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>):
    plumb.yield %c, %x : tensor<i1>, tensor<f32>
  }
  return %r : tensor<f32>
}

// -----

func.func @scan_num_inputs(%s0: tensor<2xf32>, %x: tensor<3x2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{num_scan_inputs 3 out of [1, 2]}}
  %s = plumb.Scan(%s0, %x) {num_scan_inputs = 3 : i64} : (tensor<2xf32>, tensor<3x2xf32>) -> tensor<2xf32> {
  ^bb0(%a: tensor<2xf32>, %b: tensor<2xf32>):
    plumb.yield %a : tensor<2xf32>
  }
  return %s : tensor<2xf32>
}

// -----

func.func @adam_groups(%r: tensor<f32>, %t: tensor<i64>, %x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expects R, T and 4 groups of n tensors, got 3 inputs}}
  %y = plumb.Adam(%r, %t, %x) : (tensor<f32>, tensor<i64>, tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// expected-error @+1 {{optional element must be a tensor or sequence type, got 'i32'}}
func.func @opt_of_scalar(%x: !plumb.opt<i32>) {
  return
}
