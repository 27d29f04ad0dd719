// RUN: plumb-opt %s -plumb-fuse-elementwise=multi-output=true -split-input-file | FileCheck %s
// RUN: plumb-opt %s -plumb-fuse-elementwise -split-input-file | FileCheck %s --check-prefix=ONE

// An LSTM step's c and h: c's tree is also read by the next step (here: returned), so its
// result is stored anyway; it joins h's tree and one fusion yields both.
// CHECK-LABEL: func @lstm_cell
// CHECK: [[F:%.+]]:2 = plumb.fusion "elementwise"(%arg0, %arg1, %arg2, %arg3)
// CHECK-COUNT-2: plumb.Sigmoid
// CHECK: [[C:%.+]] = plumb.Add
// CHECK-NEXT: plumb.Sigmoid
// CHECK-NEXT: [[TC:%.+]] = plumb.Tanh([[C]])
// CHECK: [[H:%.+]] = plumb.Mul(%{{.+}}, [[TC]])
// CHECK-NEXT: plumb.yield [[C]], [[H]]
// CHECK-NOT: plumb.fusion
// CHECK: return [[F]]#0, [[F]]#1
// ONE-LABEL: func @lstm_cell
// ONE-COUNT-2: plumb.fusion "elementwise"
func.func @lstm_cell(%i: tensor<4x8xf32>, %f: tensor<4x8xf32>, %g: tensor<4x8xf32>, %o: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %si = plumb.Sigmoid(%i) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %sf = plumb.Sigmoid(%f) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %tg = plumb.Tanh(%g) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %kept = plumb.Mul(%sf, %g) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %new = plumb.Mul(%si, %tg) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c = plumb.Add(%kept, %new) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %so = plumb.Sigmoid(%o) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %tc = plumb.Tanh(%c) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %h = plumb.Mul(%so, %tc) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %c, %h : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Left as two fusions: a reader tree over a larger shape (it broadcasts the shared result,
// which one kernel could not write once per element), and a reader that also reads the
// shared result through a MatMul (one fusion would feed itself).
// CHECK-LABEL: func @not_joined
// CHECK-COUNT-4: plumb.fusion "elementwise"
func.func @not_joined(%x: tensor<2x16xf32>, %y: tensor<4x2x16xf32>, %w: tensor<16x16xf32>) -> (tensor<2x16xf32>, tensor<4x2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>) {
  %n = plumb.Neg(%x) : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %p = plumb.Exp(%n) : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %t = plumb.Tanh(%y) : (tensor<4x2x16xf32>) -> tensor<4x2x16xf32>
  %big = plumb.Mul(%t, %p) : (tensor<4x2x16xf32>, tensor<2x16xf32>) -> tensor<4x2x16xf32>
  %n2 = plumb.Neg(%x) : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %q = plumb.Sqrt(%n2) : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %m = plumb.MatMul(%q, %w) : (tensor<2x16xf32>, tensor<16x16xf32>) -> tensor<2x16xf32>
  %s = plumb.Sigmoid(%m) : (tensor<2x16xf32>) -> tensor<2x16xf32>
  %r = plumb.Mul(%s, %q) : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  return %p, %big, %q, %r : tensor<2x16xf32>, tensor<4x2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>
}
