// RUN: plumb-opt %s -plumb-decompose-rotary -split-input-file | FileCheck %s

// 4-D X with position_ids: the caches gathered and viewed per position [B, 1, S, d/2]; the
// halves rotated (x1 cos - x2 sin, x1 sin + x2 cos) and concatenated; the Concat is Y.
// CHECK-LABEL: func @halves
// CHECK: [[C:%.+]] = plumb.Gather(%arg1, %arg3) {axis = 0 : i64} : (tensor<16x4xf32>, tensor<2x5xi64>) -> tensor<2x5x4xf32>
// CHECK: [[CH:%.+]] = plumb.Reshape([[C]], {{%.+}}) : (tensor<2x5x4xf32>, tensor<4xi64>) -> tensor<2x1x5x4xf32>
// CHECK: plumb.Gather(%arg2, %arg3)
// CHECK: [[X1:%.+]] = plumb.Slice(%arg0, {{%.+}}) : (tensor<2x3x5x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x3x5x4xf32>
// CHECK: [[X2:%.+]] = plumb.Slice(%arg0
// CHECK: [[A:%.+]] = plumb.Mul([[X1]], [[CH]])
// CHECK: [[Y1:%.+]] = plumb.Sub([[A]],
// CHECK: [[Y2:%.+]] = plumb.Add(
// CHECK: [[Y:%.+]] = plumb.Concat([[Y1]], [[Y2]]) {axis = -1 : i64} : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>) -> tensor<2x3x5x8xf32>
// CHECK-NOT: plumb.RotaryEmbedding
// CHECK: return [[Y]]
func.func @halves(%x: tensor<2x3x5x8xf32>, %cos: tensor<16x4xf32>, %sin: tensor<16x4xf32>, %pos: tensor<2x5xi64>) -> tensor<2x3x5x8xf32> {
  %y = plumb.RotaryEmbedding(%x, %cos, %sin, %pos) : (tensor<2x3x5x8xf32>, tensor<16x4xf32>, tensor<16x4xf32>, tensor<2x5xi64>) -> tensor<2x3x5x8xf32>
  return %y : tensor<2x3x5x8xf32>
}

// -----

// 3-D X with 3 heads, interleaved, rotary_embedding_dim 6 of 8, caches per position: X viewed
// as [B, S, heads, d], even/odd features (step 2), the rotated pairs side by side, the last
// two features passed through, merged back to [B, S, heads * d].
// CHECK-LABEL: func @interleaved
// CHECK: [[H:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<2x5x24xf32>, tensor<4xi64>) -> tensor<2x5x3x8xf32>
// CHECK: plumb.Reshape(%arg1, {{%.+}}) : (tensor<2x5x3xf32>, tensor<4xi64>) -> tensor<2x5x1x3xf32>
// CHECK: plumb.Slice([[H]], {{%.+}}) : ({{.*}}) -> tensor<2x5x3x3xf32>
// CHECK: [[P:%.+]] = plumb.Concat({{%.+}}, {{%.+}}) {axis = -1 : i64} : (tensor<2x5x3x3x1xf32>, tensor<2x5x3x3x1xf32>) -> tensor<2x5x3x3x2xf32>
// CHECK: [[R:%.+]] = plumb.Reshape([[P]], {{%.+}}) : (tensor<2x5x3x3x2xf32>, tensor<4xi64>) -> tensor<2x5x3x6xf32>
// CHECK: [[REST:%.+]] = plumb.Slice([[H]], {{%.+}}) : ({{.*}}) -> tensor<2x5x3x2xf32>
// CHECK: [[ALL:%.+]] = plumb.Concat([[R]], [[REST]]) {axis = -1 : i64}
// CHECK: [[Y:%.+]] = plumb.Reshape([[ALL]], {{%.+}}) : (tensor<2x5x3x8xf32>, tensor<3xi64>) -> tensor<2x5x24xf32>
// CHECK: return [[Y]]
func.func @interleaved(%x: tensor<2x5x24xf32>, %cos: tensor<2x5x3xf32>, %sin: tensor<2x5x3xf32>) -> tensor<2x5x24xf32> {
  %none = plumb.none
  %y = plumb.RotaryEmbedding(%x, %cos, %sin, %none) {interleaved = 1 : i64, num_heads = 3 : i64, rotary_embedding_dim = 6 : i64} : (tensor<2x5x24xf32>, tensor<2x5x3xf32>, tensor<2x5x3xf32>, none) -> tensor<2x5x24xf32>
  return %y : tensor<2x5x24xf32>
}
