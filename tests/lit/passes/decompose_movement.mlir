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

// MaxUnpool: zeros of the 16 unpooled elements, X scattered at the flattened indices, reshaped;
// a larger output_shape pads zeros at the end of each dim. Before opset 11 that Pad takes its
// pads as an attribute.
// CHECK-LABEL: func @unpool
// CHECK: [[Z:%.+]] = plumb.Expand({{%.+}}, {{%.+}}) : (tensor<f32>, tensor<1xi64>) -> tensor<16xf32>
// CHECK: [[I:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<1x1x2x2xi64>, tensor<1xi64>) -> tensor<4xi64>
// CHECK: [[X:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<1x1x2x2xf32>, tensor<1xi64>) -> tensor<4xf32>
// CHECK: [[S:%.+]] = plumb.ScatterElements([[Z]], [[I]], [[X]]) {axis = 0 : i64}
// CHECK: [[U:%.+]] = plumb.Reshape([[S]], {{%.+}}) : (tensor<16xf32>, tensor<4xi64>) -> tensor<1x1x4x4xf32>
// CHECK: plumb.ScatterElements
// CHECK: [[U2:%.+]] = plumb.Reshape
// CHECK: [[G:%.+]] = plumb.Pad([[U2]], {{%.+}}, {{%.+}}, {{%.+}}) {pads = [0, 0, 0, 0, 0, 0, 1, 1]} : (tensor<1x1x4x4xf32>, none, none, none) -> tensor<1x1x5x5xf32>
// CHECK-NOT: plumb.MaxUnpool
// CHECK: return [[U]], [[G]]
module attributes {plumb.opset = 9 : i64} {
  func.func @unpool(%x: tensor<1x1x2x2xf32>, %i: tensor<1x1x2x2xi64>) -> (tensor<1x1x4x4xf32>, tensor<1x1x5x5xf32>) {
    %n = plumb.none
    %s = plumb.Constant() {value = dense<[1, 1, 5, 5]> : tensor<4xi64>} : () -> tensor<4xi64>
    %a = plumb.MaxUnpool(%x, %i, %n) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xi64>, none) -> tensor<1x1x4x4xf32>
    %b = plumb.MaxUnpool(%x, %i, %s) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xi64>, tensor<4xi64>) -> tensor<1x1x5x5xf32>
    return %a, %b : tensor<1x1x4x4xf32>, tensor<1x1x5x5xf32>
  }
}
