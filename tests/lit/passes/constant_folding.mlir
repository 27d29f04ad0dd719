// RUN: plumb-opt %s -plumb-constant-folding -split-input-file --mlir-print-debuginfo | FileCheck %s
// RUN: plumb-opt %s -plumb-constant-folding="max-bytes=8" -split-input-file | FileCheck %s --check-prefix=SMALL

// A chain of constant ops folds in one sweep; the result keeps the last op's location (its
// ONNX node and output name) and the intermediate constants go.
// CHECK-LABEL: func @chain
// SMALL-LABEL: func @chain
func.func @chain(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK-NOT: plumb.Add
  // CHECK-NOT: plumb.Mul
  // CHECK: [[C:%.+]] = plumb.Constant() {value = dense<[3.000000e+00, 5.000000e+00, 7.000000e+00]> : tensor<3xf32>} : () -> tensor<3xf32> loc([[MULLOC:#loc[0-9]+]])
  // CHECK: plumb.Sub(%arg0, [[C]])
  // Results over max-bytes (12 > 8) stay.
  // SMALL: plumb.Add
  // SMALL: plumb.Mul
  %a = plumb.Constant() {value = dense<[1.0, 2.0, 3.0]> : tensor<3xf32>} : () -> tensor<3xf32> loc(fused<["a"]>["a"])
  %b = plumb.Constant() {value = dense<0.5> : tensor<3xf32>} : () -> tensor<3xf32> loc(fused<["b"]>["b"])
  %two = plumb.Constant() {value_float = 2.0 : f32} : () -> tensor<f32> loc(fused<["two"]>["two"])
  %s = plumb.Add(%a, %b) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32> loc(fused<["s"]>["add"])
  %m = plumb.Mul(%s, %two) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32> loc(fused<["m"]>["mul"])
  %r = plumb.Sub(%x, %m) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32> loc(fused<["r"]>["sub"])
  return %r : tensor<3xf32>
}
// CHECK-DAG: [[MULLOC]] = loc(fused<["m"]>{{\[}}[[MUL:#loc[0-9]+]]])
// CHECK-DAG: [[MUL]] = loc("mul")

// -----

// Shape arithmetic on integers (the scalar form value_int included).
// CHECK-LABEL: func @shape_math
func.func @shape_math(%x: tensor<6xf32>) -> tensor<2x3xf32> {
  // CHECK-DAG: [[S:%.+]] = plumb.Constant() {value = dense<[2, 3]> : tensor<2xi64>}
  // CHECK-NOT: plumb.Concat
  // CHECK-NOT: plumb.Unsqueeze
  // CHECK: plumb.Reshape(%arg0, [[S]])
  %d0 = plumb.Constant() {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %d1 = plumb.Constant() {value_int = 3 : i64} : () -> tensor<i64>
  %ax = plumb.Constant() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %u0 = plumb.Unsqueeze(%d0, %ax) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %u1 = plumb.Unsqueeze(%d1, %ax) : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %shape = plumb.Concat(%u0, %u1) {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %r = plumb.Reshape(%x, %shape) : (tensor<6xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// A multi-result op gives one constant per result, each named after its own ONNX tensor.
// CHECK-LABEL: func @split
func.func @split() -> (tensor<1xi64>, tensor<2xi64>) {
  // CHECK-DAG: [[A:%.+]] = plumb.Constant() {value = dense<7> : tensor<1xi64>} : () -> tensor<1xi64> loc([[LA:#loc[0-9]+]])
  // CHECK-DAG: [[B:%.+]] = plumb.Constant() {value = dense<[8, 9]> : tensor<2xi64>} : () -> tensor<2xi64> loc([[LB:#loc[0-9]+]])
  // CHECK: return [[A]], [[B]]
  %x = plumb.Constant() {value = dense<[7, 8, 9]> : tensor<3xi64>} : () -> tensor<3xi64>
  %sizes = plumb.Constant() {value = dense<[1, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %a, %b = plumb.Split(%x, %sizes) {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> (tensor<1xi64>, tensor<2xi64>) loc(fused<["first", "second"]>["split"])
  return %a, %b : tensor<1xi64>, tensor<2xi64>
}
// CHECK-DAG: [[LA]] = loc(fused<["first"]>{{\[}}[[SPLIT:#loc[0-9]+]]])
// CHECK-DAG: [[LB]] = loc(fused<["second"]>{{\[}}[[SPLIT]]])
// CHECK-DAG: [[SPLIT]] = loc("split")

// -----

// An absent optional input (none) does not stop folding.
// CHECK-LABEL: func @none_operand
func.func @none_operand() -> tensor<3xf32> {
  // CHECK: [[C:%.+]] = plumb.Constant() {value = dense<[-1.000000e+00, 0.000000e+00, 1.000000e+00]> : tensor<3xf32>}
  // CHECK-NOT: plumb.Clip
  // CHECK: return [[C]]
  %x = plumb.Constant() {value = dense<[-1.0, 0.0, 5.0]> : tensor<3xf32>} : () -> tensor<3xf32>
  %n = plumb.none
  %hi = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %y = plumb.Clip(%x, %n, %hi) : (tensor<3xf32>, none, tensor<f32>) -> tensor<3xf32>
  return %y : tensor<3xf32>
}

// -----

// Ops with a non-constant operand, or a dynamic result type, stay.
// CHECK-LABEL: func @not_constant
func.func @not_constant(%x: tensor<3xf32>) -> tensor<?xi64> {
  // CHECK: plumb.Add
  // CHECK: plumb.Range
  %c = plumb.Constant() {value = dense<1.0> : tensor<3xf32>} : () -> tensor<3xf32>
  %s = plumb.Add(%x, %c) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %lo = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %hi = plumb.Constant() {value = dense<4> : tensor<i64>} : () -> tensor<i64>
  %r = plumb.Range(%lo, %hi, %hi) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %r : tensor<?xi64>
}

// -----

// An EyeLike reads only its input's shape: with a static shape it folds, whatever computes the
// input (here a graph argument), with its k and dtype; a dynamic shape stays.
// CHECK-LABEL: func @eyelike
// CHECK-DAG: plumb.Constant() {value = dense<{{\[}}[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]> : tensor<3x4xi32>}
// CHECK-DAG: plumb.Constant() {value = dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>}
// CHECK: plumb.EyeLike(%arg2)
// SMALL-LABEL: func @eyelike
// SMALL: plumb.EyeLike(%arg0)
func.func @eyelike(%x: tensor<3x4xf32>, %y: tensor<2x2xf32>, %z: tensor<?x2xf32>) -> (tensor<3x4xi32>, tensor<2x2xf32>, tensor<?x2xf32>) {
  %a = plumb.EyeLike(%x) {dtype = 6 : i64, k = 1 : i64} : (tensor<3x4xf32>) -> tensor<3x4xi32>
  %b = plumb.EyeLike(%y) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %c = plumb.EyeLike(%z) : (tensor<?x2xf32>) -> tensor<?x2xf32>
  return %a, %b, %c : tensor<3x4xi32>, tensor<2x2xf32>, tensor<?x2xf32>
}

// -----

// The scalar and list forms of Constant become the `value` form every later reader takes (a
// function expansion's Reduce axes written as value_ints were read as run-time operands).
// CHECK-LABEL: func @list_forms
// CHECK-DAG: plumb.Constant() {value = dense<[0, 2]> : tensor<2xi64>}
// CHECK-DAG: plumb.Constant() {value = dense<3> : tensor<i64>}
// CHECK-DAG: plumb.Constant() {value = dense<[1.500000e+00, 2.500000e+00]> : tensor<2xf32>}
// CHECK-NOT: value_ints
// CHECK-NOT: value_int =
// CHECK-NOT: value_floats
func.func @list_forms(%x: tensor<2x3x4xf32>) -> (tensor<1x3x1xf32>, tensor<i64>, tensor<2xf32>) {
  %axes = plumb.Constant() {value_ints = [0, 2]} : () -> tensor<2xi64>
  %r = plumb.ReduceMean(%x, %axes) {keepdims = 1 : i64} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<1x3x1xf32>
  %i = plumb.Constant() {value_int = 3 : i64} : () -> tensor<i64>
  %f = plumb.Constant() {value_floats = [1.5 : f32, 2.5 : f32]} : () -> tensor<2xf32>
  return %r, %i, %f : tensor<1x3x1xf32>, tensor<i64>, tensor<2xf32>
}
