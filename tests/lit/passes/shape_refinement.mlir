// RUN: plumb-opt %s -plumb-shape-refinement -plumb-dce -split-input-file --mlir-print-debuginfo | FileCheck %s

// What an exporter emits for a dynamic batch axis, once the graph input is pinned: the
// importer's one-pass inference left everything after the Reshape unknown. One sweep folds
// the shape arithmetic, makes the Reshape target a constant at the Concat's location, and
// re-infers every later type; the function's result type follows.
// CHECK-LABEL: func @pinned_batch
// CHECK-SAME: -> tensor<2x12xf32>
func.func @pinned_batch(%x: tensor<2x3x4xf32>) -> tensor<*xf32> {
  // CHECK-NOT: plumb.Shape
  // CHECK-NOT: plumb.Gather
  // CHECK: [[S:%.+]] = plumb.Constant() {value = dense<[2, 12]> : tensor<2xi64>} : () -> tensor<2xi64> loc([[CLOC:#loc[0-9]+]])
  // CHECK: [[R:%.+]] = plumb.Reshape(%arg0, [[S]]) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  // CHECK: [[E:%.+]] = plumb.Relu([[R]]) : (tensor<2x12xf32>) -> tensor<2x12xf32>
  // CHECK: return [[E]] : tensor<2x12xf32>
  %s = plumb.Shape(%x) : (tensor<2x3x4xf32>) -> tensor<?xi64>
  %i = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %d = plumb.Gather(%s, %i) {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<*xi64>
  %ax = plumb.Constant() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = plumb.Unsqueeze(%d, %ax) : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %m1 = plumb.Constant() {value = dense<[12]> : tensor<1xi64>} : () -> tensor<1xi64>
  %shape = plumb.Concat(%u, %m1) {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<?xi64> loc(fused<["target"]>["concat"])
  %r = plumb.Reshape(%x, %shape) : (tensor<2x3x4xf32>, tensor<?xi64>) -> tensor<*xf32>
  %e = plumb.Relu(%r) : (tensor<*xf32>) -> tensor<*xf32>
  return %e : tensor<*xf32>
}
// CHECK-DAG: [[CLOC]] = loc(fused<["target"]>{{\[}}[[CNAME:#loc[0-9]+]]])
// CHECK-DAG: [[CNAME]] = loc("concat")

// -----

// A static dim the IR already knew (ONNX value_info) survives when inference cannot derive
// it; a dim inference can derive fills in a dynamic one.
// CHECK-LABEL: func @keeps_known_dims
func.func @keeps_known_dims(%x: tensor<?x8xf32>, %n: tensor<2xi64>) -> (tensor<4x?xf32>, tensor<?x8xf32>) {
  // CHECK: plumb.Reshape(%arg0, %arg1) : (tensor<?x8xf32>, tensor<2xi64>) -> tensor<4x?xf32>
  %r = plumb.Reshape(%x, %n) : (tensor<?x8xf32>, tensor<2xi64>) -> tensor<4x?xf32>
  // CHECK: plumb.Neg(%arg0) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %e = plumb.Neg(%x) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %r, %e : tensor<4x?xf32>, tensor<?x8xf32>
}

// -----

// Range with integer bounds taken from a pinned shape: the element count is known, so the
// Range folds and the position-embedding Gather behind it gets a static type.
// CHECK-LABEL: func @range_positions
func.func @range_positions(%ids: tensor<2x7xi64>, %table: tensor<16x4xf32>) -> tensor<*xf32> {
  // CHECK: [[P:%.+]] = plumb.Constant() {value = dense<[0, 2, 4, 6]> : tensor<4xi64>}
  // CHECK: plumb.Gather(%arg1, [[P]]) {axis = 0 : i64} : (tensor<16x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
  %s = plumb.Shape(%ids) {start = 1 : i64} : (tensor<2x7xi64>) -> tensor<?xi64>
  %z = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %n = plumb.Gather(%s, %z) {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<*xi64>
  %two = plumb.Constant() {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %r = plumb.Range(%z, %n, %two) : (tensor<i64>, tensor<*xi64>, tensor<i64>) -> tensor<?xi64>
  %g = plumb.Gather(%table, %r) {axis = 0 : i64} : (tensor<16x4xf32>, tensor<?xi64>) -> tensor<*xf32>
  return %g : tensor<*xf32>
}

// -----

// Range with floating-point bounds, as ONNX's window expansions write it (a Cast of the size):
// ceil((limit - start) / delta) elements, 0 when negative, and the Range folds. A non-integer
// span rounds up, as the reference kernel counts.
// CHECK-LABEL: func @range_of_floats
func.func @range_of_floats(%n: tensor<i64>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  // CHECK: plumb.Constant() {value = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<5xf32>}
  // CHECK: plumb.Constant() {value = dense<[1.000000e+00, 1.750000e+00, 2.500000e+00]> : tensor<3xf32>}
  // CHECK: plumb.Constant() {value = dense<> : tensor<0xf32>}
  %five = plumb.Constant() {value = dense<5> : tensor<i64>} : () -> tensor<i64>
  %size = plumb.Cast(%five) {to = 1 : i64} : (tensor<i64>) -> tensor<f32>
  %zero = plumb.Constant() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %one = plumb.Constant() {value = dense<1.0> : tensor<f32>} : () -> tensor<f32>
  %r = plumb.Range(%zero, %size, %one) : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  %q = plumb.Constant() {value = dense<0.75> : tensor<f32>} : () -> tensor<f32>
  %three = plumb.Constant() {value = dense<3.1> : tensor<f32>} : () -> tensor<f32>
  %s = plumb.Range(%one, %three, %q) : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  %e = plumb.Range(%size, %one, %one) : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  return %r, %s, %e : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// -----

// Result shapes that follow from constant operands: CenterCropPad's target sizes on its axes,
// MaxUnpool's unpooled shape from its attributes (or its constant output_shape), AffineGrid's
// [N, H, W, 2] from its size. A MaxUnpool with a run-time output_shape keeps its declared type.
// CHECK-LABEL: func @from_constants
// CHECK: plumb.CenterCropPad{{.*}} -> tensor<2x5x7x3xf32>
// CHECK: plumb.MaxUnpool{{.*}} -> tensor<1x3x7x8xf32>
// CHECK: plumb.MaxUnpool{{.*}} -> tensor<1x3x8x10xf32>
// CHECK: plumb.AffineGrid{{.*}} -> tensor<2x4x5x2xf32>
// CHECK: plumb.MaxUnpool{{.*}} -> tensor<1x3x9x9xf32>
func.func @from_constants(%x: tensor<2x9x4x3xf32>, %p: tensor<1x3x3x4xf32>, %i: tensor<1x3x3x4xi64>, %theta: tensor<2x2x3xf32>, %rs: tensor<4xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<1x3x9x9xf32>) {
  %n = plumb.none
  %t = plumb.Constant() {value = dense<[5, 7]> : tensor<2xi64>} : () -> tensor<2xi64>
  %c = plumb.CenterCropPad(%x, %t) {axes = [1, -2]} : (tensor<2x9x4x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  %u = plumb.MaxUnpool(%p, %i, %n) {kernel_shape = [3, 2], strides = [2, 2], pads = [0, 0, 0, 0]} : (tensor<1x3x3x4xf32>, tensor<1x3x3x4xi64>, none) -> tensor<*xf32>
  %os = plumb.Constant() {value = dense<[1, 3, 8, 10]> : tensor<4xi64>} : () -> tensor<4xi64>
  %v = plumb.MaxUnpool(%p, %i, %os) {kernel_shape = [3, 2], strides = [2, 2]} : (tensor<1x3x3x4xf32>, tensor<1x3x3x4xi64>, tensor<4xi64>) -> tensor<*xf32>
  %s = plumb.Constant() {value = dense<[2, 3, 4, 5]> : tensor<4xi64>} : () -> tensor<4xi64>
  %g = plumb.AffineGrid(%theta, %s) : (tensor<2x2x3xf32>, tensor<4xi64>) -> tensor<*xf32>
  %w = plumb.MaxUnpool(%p, %i, %rs) {kernel_shape = [3, 2], strides = [2, 2]} : (tensor<1x3x3x4xf32>, tensor<1x3x3x4xi64>, tensor<4xi64>) -> tensor<1x3x9x9xf32>
  return %c, %u, %v, %g, %w : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<1x3x9x9xf32>
}

// -----

// Col2Im: [N, C * prod(block), L] -> [N, C, image...] from constant image and block shapes.
// CHECK-LABEL: func @col2im
// CHECK: plumb.Col2Im{{.*}} -> tensor<2x2x5x6xf32>
func.func @col2im(%x: tensor<2x12x12xf32>) -> tensor<*xf32> {
  %img = plumb.Constant() {value = dense<[5, 6]> : tensor<2xi64>} : () -> tensor<2xi64>
  %blk = plumb.Constant() {value = dense<[3, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %y = plumb.Col2Im(%x, %img, %blk) : (tensor<2x12x12xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// An exporter's branch on a dim (`if x.shape[0] == 2`): once the input is pinned, the
// condition folds to a constant and the If becomes the ops of the branch it takes (here the
// then branch, which reads %x from the enclosing graph), refined like the rest; a data-
// dependent If stays.
// CHECK-LABEL: func @branch_on_a_dim
// CHECK-SAME: -> (tensor<2x3xf32>, tensor<2x3xf32>)
func.func @branch_on_a_dim(%x: tensor<2x3xf32>, %c: tensor<i1>) -> (tensor<*xf32>, tensor<2x3xf32>) {
  // CHECK-NOT: plumb.Equal
  // CHECK: [[T:%.+]] = plumb.Relu(%arg0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK-NOT: plumb.Neg
  // CHECK: [[M:%.+]] = plumb.Mul([[T]], [[T]]) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: [[K:%.+]] = plumb.If(%arg1)
  // CHECK: plumb.Sqrt
  // CHECK: plumb.Abs
  // CHECK: return [[M]], [[K]]
  %s = plumb.Shape(%x) : (tensor<2x3xf32>) -> tensor<?xi64>
  %i = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %d = plumb.Gather(%s, %i) {axis = 0 : i64} : (tensor<?xi64>, tensor<i64>) -> tensor<*xi64>
  %two = plumb.Constant() {value = dense<2> : tensor<i64>} : () -> tensor<i64>
  %cond = plumb.Equal(%d, %two) : (tensor<*xi64>, tensor<i64>) -> tensor<*xi1>
  %y = plumb.If(%cond) : (tensor<*xi1>) -> tensor<*xf32> {
    %t = plumb.Relu(%x) : (tensor<2x3xf32>) -> tensor<*xf32>
    plumb.yield %t : tensor<*xf32>
  }, {
    %e = plumb.Neg(%x) : (tensor<2x3xf32>) -> tensor<*xf32>
    plumb.yield %e : tensor<*xf32>
  }
  %m = plumb.Mul(%y, %y) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %k = plumb.If(%c) : (tensor<i1>) -> tensor<2x3xf32> {
    %q = plumb.Sqrt(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    plumb.yield %q : tensor<2x3xf32>
  }, {
    %a = plumb.Abs(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
    plumb.yield %a : tensor<2x3xf32>
  }
  return %m, %k : tensor<*xf32>, tensor<2x3xf32>
}

// -----

// A Loop whose carried value keeps its shape: the body's carried argument takes the initial
// value's type and the body's types follow (its backends' plans need static bodies). One that
// grows each iteration (a Concat) keeps the types it had.
// CHECK-LABEL: func @loop_bodies
func.func @loop_bodies(%m: tensor<i64>, %x: tensor<3xf32>) -> (tensor<3xf32>, tensor<?xf32>) {
  %none = plumb.none
  %two = plumb.Constant() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  // CHECK: plumb.Loop
  // CHECK: ^bb0(%{{[a-z0-9]+}}: tensor<i64> {{.*}}, %{{[a-z0-9]+}}: tensor<i1> {{.*}}, %{{[a-z0-9]+}}: tensor<3xf32>
  // CHECK: plumb.Mul(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}) : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  %r = plumb.Loop(%m, %none, %x) : (tensor<i64>, none, tensor<3xf32>) -> tensor<3xf32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %a: tensor<?xf32>):
    %d = plumb.Mul(%a, %two) : (tensor<?xf32>, tensor<f32>) -> tensor<?xf32>
    plumb.yield %c, %d : tensor<i1>, tensor<?xf32>
  }
  // CHECK: plumb.Loop
  // CHECK: ^bb0(%{{[a-z0-9]+}}: tensor<i64> {{.*}}, %{{[a-z0-9]+}}: tensor<i1> {{.*}}, %{{[a-z0-9]+}}: tensor<?xf32>
  // CHECK: plumb.Concat(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}) {axis = 0 : i64} : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  %g = plumb.Loop(%m, %none, %x) : (tensor<i64>, none, tensor<3xf32>) -> tensor<?xf32> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %a: tensor<?xf32>):
    %d = plumb.Concat(%a, %a) {axis = 0 : i64} : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
    plumb.yield %c, %d : tensor<i1>, tensor<?xf32>
  }
  return %r, %g : tensor<3xf32>, tensor<?xf32>
}
