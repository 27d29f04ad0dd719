// RUN: plumb-opt %s -plumb-decompose-movement -split-input-file | FileCheck %s

// CenterCropPad: axis 0 cropped 20 -> 10 from (20 - 10) / 2 = 5; axis -2 grown 8 -> 11 with
// (11 - 8) / 2 = 1 zero before and 2 after, as the reference centres them; the Pad carries the
// node.
// CHECK-LABEL: func @crop
// CHECK-DAG: [[AX:%.+]] = plumb.Constant() {value = dense<0> : tensor<1xi64>}
// CHECK-DAG: [[END:%.+]] = plumb.Constant() {value = dense<15> : tensor<1xi64>}
// CHECK-DAG: [[START:%.+]] = plumb.Constant() {value = dense<5> : tensor<1xi64>}
// CHECK: [[S:%.+]] = plumb.Slice(%arg0, [[START]], [[END]], [[AX]], {{%.+}}) : ({{.*}}) -> tensor<10x8x3xf32>
// CHECK: [[P:%.+]] = plumb.Constant() {value = dense<[0, 1, 0, 0, 2, 0]> : tensor<6xi64>}
// CHECK: [[Y:%.+]] = plumb.Pad([[S]], [[P]], {{%.+}}, {{%.+}}) : ({{.*}}) -> tensor<10x11x3xf32>
// CHECK-NOT: plumb.CenterCropPad
// CHECK: return [[Y]]
module attributes {plumb.opset = 18 : i64} {
  func.func @crop(%x: tensor<20x8x3xf32>) -> tensor<10x11x3xf32> {
    %s = plumb.Constant() {value = dense<[10, 11]> : tensor<2xi64>} : () -> tensor<2xi64>
    %y = plumb.CenterCropPad(%x, %s) {axes = [0, -2]} : (tensor<20x8x3xf32>, tensor<2xi64>) -> tensor<10x11x3xf32>
    return %y : tensor<10x11x3xf32>
  }
}

// -----

// MaxUnpool: per (n, c) plane, zeros of the plane's 16 unpooled elements, X scattered along
// the plane's row at the indices less the plane's offset, reshaped; a larger output_shape pads
// zeros at the end of each dim. Before opset 11 that Pad takes its pads as an attribute. Two
// planes: offsets 0 and 16. An unpool whose scatter would check more than 2^28 indices stays.
// CHECK-LABEL: func @unpool
// CHECK: [[Z:%.+]] = plumb.Expand({{%.+}}, {{%.+}}) : (tensor<f32>, tensor<2xi64>) -> tensor<2x16xf32>
// CHECK: [[I:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<1x2x2x2xi64>, tensor<2xi64>) -> tensor<2x4xi64>
// CHECK: [[OFF:%.+]] = plumb.Constant() {value = dense<{{\[}}[0], [16]]> : tensor<2x1xi64>}
// CHECK: [[IP:%.+]] = plumb.Sub([[I]], [[OFF]])
// CHECK: [[X:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<1x2x2x2xf32>, tensor<2xi64>) -> tensor<2x4xf32>
// CHECK: [[S:%.+]] = plumb.ScatterElements([[Z]], [[IP]], [[X]]) {axis = 1 : i64}
// CHECK: [[U:%.+]] = plumb.Reshape([[S]], {{%.+}}) : (tensor<2x16xf32>, tensor<4xi64>) -> tensor<1x2x4x4xf32>
// CHECK: plumb.ScatterElements
// CHECK: [[U2:%.+]] = plumb.Reshape
// CHECK: [[G:%.+]] = plumb.Pad([[U2]], {{%.+}}, {{%.+}}, {{%.+}}) {pads = [0, 0, 0, 0, 0, 0, 1, 1]} : (tensor<1x2x4x4xf32>, none, none, none) -> tensor<1x2x5x5xf32>
// CHECK: [[BIG:%.+]] = plumb.MaxUnpool
// CHECK: return [[U]], [[G]], [[BIG]]
module attributes {plumb.opset = 9 : i64} {
  func.func @unpool(%x: tensor<1x2x2x2xf32>, %i: tensor<1x2x2x2xi64>, %bx: tensor<1x64x112x112xf32>, %bi: tensor<1x64x112x112xi64>) -> (tensor<1x2x4x4xf32>, tensor<1x2x5x5xf32>, tensor<1x64x224x224xf32>) {
    %n = plumb.none
    %s = plumb.Constant() {value = dense<[1, 2, 5, 5]> : tensor<4xi64>} : () -> tensor<4xi64>
    %a = plumb.MaxUnpool(%x, %i, %n) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>, none) -> tensor<1x2x4x4xf32>
    %b = plumb.MaxUnpool(%x, %i, %s) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>, tensor<4xi64>) -> tensor<1x2x5x5xf32>
    %c = plumb.MaxUnpool(%bx, %bi, %n) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x64x112x112xf32>, tensor<1x64x112x112xi64>, none) -> tensor<1x64x224x224xf32>
    return %a, %b, %c : tensor<1x2x4x4xf32>, tensor<1x2x5x5xf32>, tensor<1x64x224x224xf32>
  }
}

// -----

// A MaxUnpool of a MaxPool's Indices with the same window is not rewritten but marked: the
// window kernel gathers each output from the windows covering it. With another window (here
// other strides) the indices may lie outside it: the plane-by-plane scatter.
// CHECK-LABEL: func @paired
// CHECK: [[Y:%.+]], [[I:%.+]] = plumb.MaxPool(%arg0)
// CHECK: plumb.MaxUnpool([[Y]], [[I]], {{%.+}}) {kernel_shape = [2, 2], plumb.indices_in_window = 1 : i64, strides = [2, 2]}
// CHECK: plumb.ScatterElements
// CHECK-NOT: plumb.MaxUnpool
module attributes {plumb.opset = 11 : i64} {
  func.func @paired(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x3x3xf32>) {
    %n = plumb.none
    %y, %i = plumb.MaxPool(%x) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>)
    %a = plumb.MaxUnpool(%y, %i, %n) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>, none) -> tensor<1x2x4x4xf32>
    %b = plumb.MaxUnpool(%y, %i, %n) {kernel_shape = [2, 2], strides = [1, 1]} : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>, none) -> tensor<1x2x3x3xf32>
    return %a, %b : tensor<1x2x4x4xf32>, tensor<1x2x3x3xf32>
  }
}
