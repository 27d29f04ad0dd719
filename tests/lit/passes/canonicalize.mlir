// RUN: plumb-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func @identity
func.func @identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: plumb.Identity
  // CHECK: [[R:%.+]] = plumb.Relu(%arg0)
  %i = plumb.Identity(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %r = plumb.Relu(%i) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: return [[R]]
  return %r : tensor<2x3xf32>
}

// -----

// Dropout is the identity at inference (training_mode absent or false); a mask that is read
// is all true, an Expand of a true scalar (statically shaped: else the Dropout stays). In
// training mode it stays.
// CHECK-LABEL: func @dropout
func.func @dropout(%x: tensor<4xf32>, %y: tensor<?xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi1>, tensor<?xi1>) {
  %n = plumb.none
  %f = plumb.Constant() {value = dense<false> : tensor<i1>} : () -> tensor<i1>
  %t = plumb.Constant() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  // CHECK-DAG: [[YES:%.+]] = plumb.Constant() {value = dense<true> : tensor<i1>}
  // CHECK-DAG: [[SHAPE:%.+]] = plumb.Constant() {value = dense<4> : tensor<1xi64>}
  // CHECK: [[T:%.+]] = plumb.Dropout(%arg0, %{{.+}}, [[YES]]) : (tensor<4xf32>, none, tensor<i1>) -> tensor<4xf32>
  // CHECK: [[MASK:%.+]] = plumb.Expand([[YES]], [[SHAPE]]) : (tensor<i1>, tensor<1xi64>) -> tensor<4xi1>
  // CHECK: {{%.+}}, [[DYN:%[a-z_0-9]+]] = plumb.Dropout(%arg1
  // CHECK-NOT: plumb.Dropout
  %a = plumb.Dropout(%x, %n, %n) : (tensor<4xf32>, none, none) -> tensor<4xf32>
  %b, %unused = plumb.Dropout(%x, %n, %f) : (tensor<4xf32>, none, tensor<i1>) -> (tensor<4xf32>, tensor<4xi1>)
  %c = plumb.Dropout(%x, %n, %t) : (tensor<4xf32>, none, tensor<i1>) -> tensor<4xf32>
  %d, %mask = plumb.Dropout(%x, %n, %n) : (tensor<4xf32>, none, none) -> (tensor<4xf32>, tensor<4xi1>)
  %e, %dmask = plumb.Dropout(%y, %n, %n) : (tensor<?xf32>, none, none) -> (tensor<?xf32>, tensor<?xi1>)
  // CHECK: return %arg0, [[T]], %arg0, [[MASK]], [[DYN]]
  return %a, %c, %d, %mask, %dmask : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi1>, tensor<?xi1>
}

// -----

// CHECK-LABEL: func @cast
func.func @cast(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf16>) {
  // CHECK: [[H:%.+]] = plumb.Cast(%arg0) {to = 10 : i64} : (tensor<4xf32>) -> tensor<4xf16>
  // CHECK-NOT: plumb.Cast
  %a = plumb.Cast(%x) {to = 1 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  %b = plumb.Cast(%x) {to = 10 : i64} : (tensor<4xf32>) -> tensor<4xf16>
  // CHECK: return %arg0, [[H]]
  return %a, %b : tensor<4xf32>, tensor<4xf16>
}

// -----

// CastLike is a Cast to its target's element type (the target is not read); to its own
// type it is then the identity.
// CHECK-LABEL: func @cast_like
func.func @cast_like(%x: tensor<4xf32>, %t: tensor<1xbf16>, %u: tensor<2x3xf32>) -> (tensor<4xbf16>, tensor<4xf32>) {
  // CHECK: [[B:%.+]] = plumb.Cast(%arg0) {saturate = 1 : i64, to = 16 : i64} : (tensor<4xf32>) -> tensor<4xbf16>
  // CHECK-NOT: plumb.CastLike
  %a = plumb.CastLike(%x, %t) {saturate = 1 : i64} : (tensor<4xf32>, tensor<1xbf16>) -> tensor<4xbf16>
  %b = plumb.CastLike(%x, %u) : (tensor<4xf32>, tensor<2x3xf32>) -> tensor<4xf32>
  // CHECK: return [[B]], %arg0
  return %a, %b : tensor<4xbf16>, tensor<4xf32>
}

// -----

// Reshape of Reshape uses the outer shape directly; a 0 in it (copy a dim of the inner
// result) blocks the rewrite. A Reshape back to the input's own static type disappears.
// CHECK-LABEL: func @reshape
func.func @reshape(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<6x2x2xf32>, tensor<2x3x4xf32>) {
  %s1 = plumb.Constant() {value = dense<[6, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %s2 = plumb.Constant() {value = dense<[4, -1]> : tensor<2xi64>} : () -> tensor<2xi64>
  %s3 = plumb.Constant() {value = dense<[0, 2, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  %s4 = plumb.Constant() {value = dense<[2, 3, 4]> : tensor<3xi64>} : () -> tensor<3xi64>
  // CHECK-DAG: [[S1:%.+]] = plumb.Constant() {value = dense<[6, 4]> : tensor<2xi64>}
  // CHECK-DAG: [[S2:%.+]] = plumb.Constant() {value = dense<[4, -1]> : tensor<2xi64>}
  // CHECK-DAG: [[S3:%.+]] = plumb.Constant() {value = dense<[0, 2, 2]> : tensor<3xi64>}
  // CHECK: [[I:%.+]] = plumb.Reshape(%arg0, [[S1]])
  // CHECK: [[A:%.+]] = plumb.Reshape(%arg0, [[S2]])
  // CHECK: [[B:%.+]] = plumb.Reshape([[I]], [[S3]])
  // CHECK-NOT: plumb.Reshape
  %i = plumb.Reshape(%x, %s1) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %a = plumb.Reshape(%i, %s2) : (tensor<6x4xf32>, tensor<2xi64>) -> tensor<4x6xf32>
  %b = plumb.Reshape(%i, %s3) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<6x2x2xf32>
  %c = plumb.Reshape(%i, %s4) : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  // CHECK: return [[A]], [[B]], %arg0
  return %a, %b, %c : tensor<4x6xf32>, tensor<6x2x2xf32>, tensor<2x3x4xf32>
}

// -----

// Transposes compose (q[j] = p1[p2[j]]); an identity permutation disappears, including an
// absent perm (reverse) applied twice.
// CHECK-LABEL: func @transpose
func.func @transpose(%x: tensor<2x3x4xf32>) -> (tensor<3x4x2xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  // CHECK: [[T:%.+]] = plumb.Transpose(%arg0) {perm = [1, 2, 0]} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  // CHECK-NOT: plumb.Transpose
  %a = plumb.Transpose(%x) {perm = [0, 2, 1]} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %b = plumb.Transpose(%a) {perm = [2, 1, 0]} : (tensor<2x4x3xf32>) -> tensor<3x4x2xf32>
  %c = plumb.Transpose(%x) : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %d = plumb.Transpose(%c) : (tensor<4x3x2xf32>) -> tensor<2x3x4xf32>
  %e = plumb.Transpose(%x) {perm = [0, 1, 2]} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: return [[T]], %arg0, %arg0
  return %b, %d, %e : tensor<3x4x2xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// Squeeze(Unsqueeze(x)) with the same axes (input or attribute form, negative or not) is x;
// different axes stay.
// CHECK-LABEL: func @squeeze_unsqueeze
func.func @squeeze_unsqueeze(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x1x3xf32>) {
  %ax = plumb.Constant() {value = dense<[0, 2]> : tensor<2xi64>} : () -> tensor<2xi64>
  %neg = plumb.Constant() {value = dense<[-2, 0]> : tensor<2xi64>} : () -> tensor<2xi64>
  %zero = plumb.Constant() {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %u = plumb.Unsqueeze(%x, %ax) : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<1x2x1x3xf32>
  %a = plumb.Squeeze(%u, %neg) : (tensor<1x2x1x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %n = plumb.none
  %v = plumb.Unsqueeze(%x, %n) {axes = [1]} : (tensor<2x3xf32>, none) -> tensor<2x1x3xf32>
  %b = plumb.Squeeze(%v, %n) {axes = [-2]} : (tensor<2x1x3xf32>, none) -> tensor<2x3xf32>
  // CHECK: [[U:%.+]] = plumb.Unsqueeze(%arg0
  // CHECK: [[C:%.+]] = plumb.Squeeze([[U]]
  %c = plumb.Squeeze(%u, %zero) : (tensor<1x2x1x3xf32>, tensor<1xi64>) -> tensor<2x1x3xf32>
  // CHECK: return %arg0, %arg0, [[C]]
  return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x1x3xf32>
}

// -----

// CHECK-LABEL: func @expand
func.func @expand(%x: tensor<3x4xf32>, %y: tensor<3x1xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %s = plumb.Constant() {value = dense<[1, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  // CHECK: [[E:%.+]] = plumb.Expand(%arg1
  %a = plumb.Expand(%x, %s) : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  %b = plumb.Expand(%y, %s) : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  // CHECK: return %arg0, [[E]]
  return %a, %b : tensor<3x4xf32>, tensor<3x4xf32>
}

// -----

// OptionalHasElement of a plain tensor is true and of an absent input false; OptionalGetElement
// of a plain tensor is the tensor: no optional reaches a backend's plan. An optional input
// stays as it is.
// CHECK-LABEL: func @plain_optionals
func.func @plain_optionals(%x: tensor<4xf32>, %o: !plumb.opt<tensor<4xf32>>) -> (tensor<i1>, tensor<i1>, tensor<4xf32>, tensor<i1>) {
  // CHECK-DAG: [[T:%.+]] = plumb.Constant() {value = dense<true> : tensor<i1>}
  // CHECK-DAG: [[F:%.+]] = plumb.Constant() {value = dense<false> : tensor<i1>}
  // CHECK-DAG: [[K:%.+]] = plumb.OptionalHasElement(%arg1)
  // CHECK-NOT: plumb.OptionalGetElement
  // CHECK: return [[T]], [[F]], %arg0, [[K]]
  %none = plumb.none
  %a = plumb.OptionalHasElement(%x) : (tensor<4xf32>) -> tensor<i1>
  %b = plumb.OptionalHasElement(%none) : (none) -> tensor<i1>
  %c = plumb.OptionalGetElement(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %d = plumb.OptionalHasElement(%o) : (!plumb.opt<tensor<4xf32>>) -> tensor<i1>
  return %a, %b, %c, %d : tensor<i1>, tensor<i1>, tensor<4xf32>, tensor<i1>
}

// -----

// A Loop collecting a list (a carried sequence from SequenceEmpty, one SequenceInsert at the
// back per iteration, one ConcatFromSequence after) gives the elements as a scan output: a
// stack on axis 1 is a Transpose of it, a concatenation on axis 1 a Transpose and a Reshape
// merging the new axis. The other carried value and scan output keep their places. A list
// read by anything else (SequenceLength here) stays a sequence.
// CHECK-LABEL: func @collected_lists
func.func @collected_lists(%x: tensor<2x3xf32>, %m: tensor<i64>) -> (tensor<2x3xf32>, tensor<?xf32>, tensor<2x?x3xf32>, tensor<2x?xf32>, tensor<i64>) {
  // CHECK: [[L:%.+]]:3 = plumb.Loop(%arg1, %{{.+}}, %{{.+}}) : (tensor<i64>, none, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<?xf32>, tensor<?x2x3xf32>)
  // CHECK: ^bb0(%{{.+}}: tensor<i64>, %{{.+}}: tensor<i1>, %{{.+}}: tensor<2x3xf32>):
  // CHECK-NOT: plumb.SequenceInsert
  // CHECK: plumb.yield %arg3, %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} : tensor<i1>, tensor<2x3xf32>, tensor<f32>, tensor<2x3xf32>
  // CHECK: plumb.Transpose([[L]]#2) {perm = [1, 0, 2]} : (tensor<?x2x3xf32>) -> tensor<2x?x3xf32>
  // CHECK: [[C:%.+]] = plumb.Loop(%arg1, %{{.+}}) : (tensor<i64>, none) -> tensor<?x2x3xf32>
  // CHECK: [[MOVED:%.+]] = plumb.Transpose([[C]]) {perm = [1, 0, 2]} : (tensor<?x2x3xf32>) -> tensor<2x?x3xf32>
  // CHECK: plumb.Reshape([[MOVED]], %{{.+}}) : (tensor<2x?x3xf32>, tensor<2xi64>) -> tensor<2x?xf32>
  // CHECK: plumb.SequenceLength
  %none = plumb.none
  %zero = plumb.Constant() {value = dense<0.0> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %l0 = plumb.SequenceEmpty() {dtype = 1 : i64} : () -> !plumb.seq<tensor<*xf32>>
  %l:3 = plumb.Loop(%m, %none, %zero, %l0) : (tensor<i64>, none, tensor<2x3xf32>, !plumb.seq<tensor<*xf32>>) -> (tensor<2x3xf32>, !plumb.seq<tensor<*xf32>>, tensor<?xf32>) {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %acc: tensor<2x3xf32>, %list: !plumb.seq<tensor<*xf32>>):
    %next = plumb.Add(%acc, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %fi = plumb.Cast(%i) {to = 1 : i64} : (tensor<i64>) -> tensor<f32>
    %item = plumb.Mul(%next, %fi) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %more = plumb.SequenceInsert(%list, %item, %none) : (!plumb.seq<tensor<*xf32>>, tensor<2x3xf32>, none) -> !plumb.seq<tensor<*xf32>>
    %sum = plumb.ReduceSum(%next, %none) {keepdims = 0 : i64} : (tensor<2x3xf32>, none) -> tensor<f32>
    plumb.yield %c, %next, %more, %sum : tensor<i1>, tensor<2x3xf32>, !plumb.seq<tensor<*xf32>>, tensor<f32>
  }
  %stacked = plumb.ConcatFromSequence(%l#1) {axis = 1 : i64, new_axis = 1 : i64} : (!plumb.seq<tensor<*xf32>>) -> tensor<2x?x3xf32>
  %p0 = plumb.SequenceEmpty() {dtype = 1 : i64} : () -> !plumb.seq<tensor<*xf32>>
  %p = plumb.Loop(%m, %none, %p0) : (tensor<i64>, none, !plumb.seq<tensor<*xf32>>) -> !plumb.seq<tensor<*xf32>> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %parts: !plumb.seq<tensor<*xf32>>):
    %more = plumb.SequenceInsert(%parts, %x, %none) : (!plumb.seq<tensor<*xf32>>, tensor<2x3xf32>, none) -> !plumb.seq<tensor<*xf32>>
    plumb.yield %c, %more : tensor<i1>, !plumb.seq<tensor<*xf32>>
  }
  %catted = plumb.ConcatFromSequence(%p) {axis = 1 : i64} : (!plumb.seq<tensor<*xf32>>) -> tensor<2x?xf32>
  %q0 = plumb.SequenceEmpty() {dtype = 1 : i64} : () -> !plumb.seq<tensor<*xf32>>
  %q = plumb.Loop(%m, %none, %q0) : (tensor<i64>, none, !plumb.seq<tensor<*xf32>>) -> !plumb.seq<tensor<*xf32>> {
  ^bb0(%i: tensor<i64>, %c: tensor<i1>, %parts: !plumb.seq<tensor<*xf32>>):
    %more = plumb.SequenceInsert(%parts, %x, %none) : (!plumb.seq<tensor<*xf32>>, tensor<2x3xf32>, none) -> !plumb.seq<tensor<*xf32>>
    plumb.yield %c, %more : tensor<i1>, !plumb.seq<tensor<*xf32>>
  }
  %n = plumb.SequenceLength(%q) : (!plumb.seq<tensor<*xf32>>) -> tensor<i64>
  return %l#0, %l#2, %stacked, %catted, %n : tensor<2x3xf32>, tensor<?xf32>, tensor<2x?x3xf32>, tensor<2x?xf32>, tensor<i64>
}

// -----

// SequenceAt of a SplitToSequence at a constant position is that chunk: a Slice along the
// axis, squeezed where SplitToSequence drops it (no split, keepdims 0: `x.unbind(1)[-1]`),
// for a scalar split (chunks of 4, the last of 2: `torch.split(x, 4, 1)[1]`) and listed sizes.
// The split itself is gone once nothing else reads it.
// CHECK-LABEL: func @split_sequence_at
func.func @split_sequence_at(%x: tensor<2x6xf32>) -> (tensor<2xf32>, tensor<2x?xf32>, tensor<1x6xf32>) {
  // CHECK-NOT: plumb.SplitToSequence
  // CHECK-DAG: [[FIVE:%.+]] = plumb.Constant() {value = dense<5> : tensor<1xi64>}
  // CHECK-DAG: [[SIX:%.+]] = plumb.Constant() {value = dense<6> : tensor<1xi64>}
  // CHECK-DAG: [[ONE:%.+]] = plumb.Constant() {value = dense<1> : tensor<1xi64>}
  // CHECK-DAG: [[FOUR:%.+]] = plumb.Constant() {value = dense<4> : tensor<1xi64>}
  // CHECK-DAG: [[ZERO:%.+]] = plumb.Constant() {value = dense<0> : tensor<1xi64>}
  // CHECK: [[LAST:%.+]] = plumb.Slice(%arg0, [[FIVE]], [[SIX]], [[ONE]], %{{.+}}) : {{.+}} -> tensor<2x1xf32>
  // CHECK: [[SQ:%.+]] = plumb.Squeeze([[LAST]], [[ONE]]) : (tensor<2x1xf32>, tensor<1xi64>) -> tensor<2xf32>
  // CHECK: [[SECOND:%.+]] = plumb.Slice(%arg0, [[FOUR]], [[SIX]], [[ONE]], %{{.+}}) : {{.+}} -> tensor<2x2xf32>
  // CHECK: [[FIRST:%.+]] = plumb.Slice(%arg0, [[ZERO]], [[ONE]], [[ZERO]], %{{.+}}) : {{.+}} -> tensor<1x6xf32>
  // CHECK: [[ID:%.+]] = plumb.Identity([[SECOND]]) : (tensor<2x2xf32>) -> tensor<2x?xf32>
  // CHECK: return [[SQ]], [[ID]], [[FIRST]]
  %none = plumb.none
  %minus1 = plumb.Constant() {value = dense<-1> : tensor<i64>} : () -> tensor<i64>
  %one = plumb.Constant() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %zero = plumb.Constant() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %four = plumb.Constant() {value = dense<4> : tensor<i64>} : () -> tensor<i64>
  %halves = plumb.Constant() {value = dense<[1, 1]> : tensor<2xi64>} : () -> tensor<2xi64>
  %cols = plumb.SplitToSequence(%x, %none) {axis = 1 : i64, keepdims = 0 : i64} : (tensor<2x6xf32>, none) -> !plumb.seq<tensor<2xf32>>
  %last = plumb.SequenceAt(%cols, %minus1) : (!plumb.seq<tensor<2xf32>>, tensor<i64>) -> tensor<2xf32>
  %chunks = plumb.SplitToSequence(%x, %four) {axis = 1 : i64} : (tensor<2x6xf32>, tensor<i64>) -> !plumb.seq<tensor<2x?xf32>>
  %second = plumb.SequenceAt(%chunks, %one) : (!plumb.seq<tensor<2x?xf32>>, tensor<i64>) -> tensor<2x?xf32>
  %rows = plumb.SplitToSequence(%x, %halves) {axis = 0 : i64} : (tensor<2x6xf32>, tensor<2xi64>) -> !plumb.seq<tensor<1x6xf32>>
  %first = plumb.SequenceAt(%rows, %zero) : (!plumb.seq<tensor<1x6xf32>>, tensor<i64>) -> tensor<1x6xf32>
  %s2 = plumb.Identity(%second) : (tensor<2x?xf32>) -> tensor<2x?xf32>
  return %last, %s2, %first : tensor<2xf32>, tensor<2x?xf32>, tensor<1x6xf32>
}
