// RUN: plumb-opt %s -split-input-file | plumb-opt -split-input-file | FileCheck %s
// Control-flow ops hold their ONNX subgraphs as regions, which may use enclosing values;
// sequences and optionals have their own types. All print and parse back unchanged.

// CHECK-LABEL: func @if_outer_values
func.func @if_outer_values(%c: tensor<i1>, %a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: plumb.If(%{{.+}}) : (tensor<i1>) -> tensor<2xf32> {
  // CHECK-NEXT: plumb.Add(%{{.+}}, %{{.+}})
  // CHECK: plumb.yield %{{.+}} : tensor<2xf32>
  // CHECK-NEXT: }, {
  // CHECK-NEXT: plumb.yield %{{.+}} : tensor<2xf32>
  %r = plumb.If(%c) : (tensor<i1>) -> tensor<2xf32> {
    %s = plumb.Add(%a, %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    plumb.yield %s : tensor<2xf32>
  }, {
    plumb.yield %b : tensor<2xf32>
  }
  return %r : tensor<2xf32>
}

// -----

// CHECK-LABEL: func @loop_carried_and_scan
func.func @loop_carried_and_scan(%m: tensor<i64>, %x: tensor<f32>) -> (tensor<f32>, tensor<?xf32>) {
  %none = plumb.none
  // CHECK: plumb.Loop(%{{.+}}, %{{.+}}, %{{.+}}) : (tensor<i64>, none, tensor<f32>) -> (tensor<f32>, tensor<?xf32>) {
  // CHECK-NEXT: ^bb0(%{{.+}}: tensor<i64>, %[[C:.+]]: tensor<i1>, %[[V:.+]]: tensor<f32>):
  // CHECK-NEXT: [[W:%.+]] = plumb.Add(%[[V]], %[[V]])
  // CHECK-NEXT: plumb.yield %[[C]], [[W]], [[W]] : tensor<i1>, tensor<f32>, tensor<f32>
  %r:2 = plumb.Loop(%m, %none, %x) : (tensor<i64>, none, tensor<f32>) -> (tensor<f32>, tensor<?xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<f32>):
    %w = plumb.Add(%v, %v) : (tensor<f32>, tensor<f32>) -> tensor<f32>
    plumb.yield %c, %w, %w : tensor<i1>, tensor<f32>, tensor<f32>
  }
  return %r#0, %r#1 : tensor<f32>, tensor<?xf32>
}

// -----

// CHECK-LABEL: func @scan
func.func @scan(%s0: tensor<2xf32>, %x: tensor<3x2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  // CHECK: plumb.Scan(%{{.+}}, %{{.+}}) {num_scan_inputs = 1 : i64} : (tensor<2xf32>, tensor<3x2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  // CHECK-NEXT: ^bb0(
  %s, %y = plumb.Scan(%s0, %x) {num_scan_inputs = 1 : i64} : (tensor<2xf32>, tensor<3x2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  ^bb0(%st: tensor<2xf32>, %xi: tensor<2xf32>):
    %n = plumb.Add(%st, %xi) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    plumb.yield %n, %n : tensor<2xf32>, tensor<2xf32>
  }
  return %s, %y : tensor<2xf32>, tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func @sequences
// CHECK-SAME: !plumb.opt<!plumb.seq<tensor<?xf32>>>
func.func @sequences(%a: tensor<2xf32>, %b: tensor<3xf32>) -> (tensor<?xf32>, tensor<i64>, !plumb.opt<!plumb.seq<tensor<?xf32>>>) {
  %none = plumb.none
  // CHECK: plumb.SequenceConstruct(%{{.+}}, %{{.+}}) : (tensor<2xf32>, tensor<3xf32>) -> !plumb.seq<tensor<?xf32>>
  %s = plumb.SequenceConstruct(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> !plumb.seq<tensor<?xf32>>
  // CHECK: plumb.SequenceInsert
  %s2 = plumb.SequenceInsert(%s, %a, %none) : (!plumb.seq<tensor<?xf32>>, tensor<2xf32>, none) -> !plumb.seq<tensor<?xf32>>
  // CHECK: plumb.SequenceMap(%{{.+}}) : (!plumb.seq<tensor<?xf32>>) -> !plumb.seq<tensor<?xf32>> {
  %m = plumb.SequenceMap(%s2) : (!plumb.seq<tensor<?xf32>>) -> !plumb.seq<tensor<?xf32>> {
  ^bb0(%x: tensor<?xf32>):
    %y = plumb.Neg(%x) : (tensor<?xf32>) -> tensor<?xf32>
    plumb.yield %y : tensor<?xf32>
  }
  %n = plumb.SequenceLength(%m) : (!plumb.seq<tensor<?xf32>>) -> tensor<i64>
  %t = plumb.ConcatFromSequence(%m) {axis = 0 : i64} : (!plumb.seq<tensor<?xf32>>) -> tensor<?xf32>
  // CHECK: plumb.Optional(%{{.+}}) : (!plumb.seq<tensor<?xf32>>) -> !plumb.opt<!plumb.seq<tensor<?xf32>>>
  %o = plumb.Optional(%m) : (!plumb.seq<tensor<?xf32>>) -> !plumb.opt<!plumb.seq<tensor<?xf32>>>
  return %t, %n, %o : tensor<?xf32>, tensor<i64>, !plumb.opt<!plumb.seq<tensor<?xf32>>>
}
