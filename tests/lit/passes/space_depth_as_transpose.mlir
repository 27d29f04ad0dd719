// RUN: plumb-opt %s -plumb-space-depth-as-transpose -split-input-file | FileCheck %s

// DepthToSpace in both modes and SpaceToDepth as ONNX defines them: Reshape to six dims,
// Transpose, Reshape to the result (which carries the node).
// CHECK-LABEL: func @space_depth
// CHECK: [[A:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<1x8x2x3xf32>, tensor<6xi64>) -> tensor<1x2x2x2x2x3xf32>
// CHECK: [[AT:%.+]] = plumb.Transpose([[A]]) {perm = [0, 3, 4, 1, 5, 2]} : (tensor<1x2x2x2x2x3xf32>) -> tensor<1x2x2x2x3x2xf32>
// CHECK: [[DCR:%.+]] = plumb.Reshape([[AT]], {{%.+}}) : (tensor<1x2x2x2x3x2xf32>, tensor<4xi64>) -> tensor<1x2x4x6xf32>
// CHECK: [[B:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<1x8x2x3xf32>, tensor<6xi64>) -> tensor<1x2x2x2x2x3xf32>
// CHECK: plumb.Transpose([[B]]) {perm = [0, 1, 4, 2, 5, 3]}
// CHECK: [[C:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<1x2x4x6xf32>, tensor<6xi64>) -> tensor<1x2x2x2x3x2xf32>
// CHECK: [[CT:%.+]] = plumb.Transpose([[C]]) {perm = [0, 3, 5, 1, 2, 4]} : (tensor<1x2x2x2x3x2xf32>) -> tensor<1x2x2x2x2x3xf32>
// CHECK: [[S2D:%.+]] = plumb.Reshape([[CT]], {{%.+}}) : (tensor<1x2x2x2x2x3xf32>, tensor<4xi64>) -> tensor<1x8x2x3xf32>
// CHECK-NOT: plumb.DepthToSpace
// CHECK-NOT: plumb.SpaceToDepth
// CHECK: return [[DCR]], {{%.+}}, [[S2D]]
func.func @space_depth(%x: tensor<1x8x2x3xf32>, %y: tensor<1x2x4x6xf32>) -> (tensor<1x2x4x6xf32>, tensor<1x2x4x6xf32>, tensor<1x8x2x3xf32>) {
  %dcr = plumb.DepthToSpace(%x) {blocksize = 2 : i64} : (tensor<1x8x2x3xf32>) -> tensor<1x2x4x6xf32>
  %crd = plumb.DepthToSpace(%x) {blocksize = 2 : i64, mode = "CRD"} : (tensor<1x8x2x3xf32>) -> tensor<1x2x4x6xf32>
  %s2d = plumb.SpaceToDepth(%y) {blocksize = 2 : i64} : (tensor<1x2x4x6xf32>) -> tensor<1x8x2x3xf32>
  return %dcr, %crd, %s2d : tensor<1x2x4x6xf32>, tensor<1x2x4x6xf32>, tensor<1x8x2x3xf32>
}
