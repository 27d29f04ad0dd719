// RUN: plumb-opt %s -plumb-decompose-quantize -split-input-file | FileCheck %s

// Per-tensor QuantizeLinear to uint8: Div, Round (half to even), Add of the zero point, Clip
// to [0, 255], Cast; per-axis DequantizeLinear from int8 (axis 1 of 4-D): the scale and zero
// point reshaped to [C, 1, 1] (constants: reshaped here), Cast, Sub, Mul.
// CHECK-LABEL: func @qdq
// CHECK: [[D:%.+]] = plumb.Div(%arg0, {{%.+}}) : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
// CHECK: [[R:%.+]] = plumb.Round([[D]])
// CHECK: [[Z:%.+]] = plumb.Cast({{%.+}}) {to = 1 : i64} : (tensor<ui8>) -> tensor<f32>
// CHECK: [[A:%.+]] = plumb.Add([[R]], [[Z]])
// CHECK: [[C:%.+]] = plumb.Clip([[A]], {{%.+}}, {{%.+}})
// CHECK: [[Q:%.+]] = plumb.Cast([[C]]) {to = 2 : i64} : (tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xui8>
// CHECK: [[S:%.+]] = plumb.Constant() {value = dense<{{.+}}1.000000e-01{{.+}}2.000000e-01{{.+}}3.000000e-01{{.+}}> : tensor<3x1x1xf32>}
// CHECK: [[ZP:%.+]] = plumb.Constant() {value = dense<{{.+}}1{{.+}}-2{{.+}}0{{.+}}> : tensor<3x1x1xi8>}
// CHECK: [[XF:%.+]] = plumb.Cast(%arg1) {to = 1 : i64} : (tensor<2x3x4x5xi8>) -> tensor<2x3x4x5xf32>
// CHECK: [[ZF:%.+]] = plumb.Cast([[ZP]]) {to = 1 : i64}
// CHECK: [[SUB:%.+]] = plumb.Sub([[XF]], [[ZF]])
// CHECK: [[DQ:%.+]] = plumb.Mul([[SUB]], [[S]])
// CHECK-NOT: QuantizeLinear
// CHECK: return [[Q]], [[DQ]]
func.func @qdq(%x: tensor<2x3x4x5xf32>, %i: tensor<2x3x4x5xi8>) -> (tensor<2x3x4x5xui8>, tensor<2x3x4x5xf32>) {
  %s = plumb.Constant() {value = dense<0.05> : tensor<f32>} : () -> tensor<f32>
  %z = plumb.Constant() {value = dense<128> : tensor<ui8>} : () -> tensor<ui8>
  %q = plumb.QuantizeLinear(%x, %s, %z) : (tensor<2x3x4x5xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x3x4x5xui8>
  %sc = plumb.Constant() {value = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>} : () -> tensor<3xf32>
  %zc = plumb.Constant() {value = dense<[1, -2, 0]> : tensor<3xi8>} : () -> tensor<3xi8>
  %dq = plumb.DequantizeLinear(%i, %sc, %zc) {axis = 1 : i64} : (tensor<2x3x4x5xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<2x3x4x5xf32>
  return %q, %dq : tensor<2x3x4x5xui8>, tensor<2x3x4x5xf32>
}

// -----

// To float8: Cast(x / scale) with the node's saturate, no Round (the Cast rounds to the
// nearest float8); from float8: Cast, then * scale.
// CHECK-LABEL: func @fp8
// CHECK: [[S:%.+]] = plumb.Constant() {value = dense<5.000000e-02> : tensor<f32>}
// CHECK: [[D:%.+]] = plumb.Div(%arg0, [[S]]) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: [[Q:%.+]] = plumb.Cast([[D]]) {saturate = 0 : i64, to = 17 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf8E4M3FN>
// CHECK: [[F:%.+]] = plumb.Cast(%arg1) {to = 1 : i64} : (tensor<2x3xf8E5M2>) -> tensor<2x3xf32>
// CHECK: [[DQ:%.+]] = plumb.Mul([[F]], [[S]])
// CHECK: return [[Q]], [[DQ]]
func.func @fp8(%x: tensor<2x3xf32>, %i: tensor<2x3xf8E5M2>) -> (tensor<2x3xf8E4M3FN>, tensor<2x3xf32>) {
  %s = plumb.Constant() {value = dense<0.05> : tensor<f32>} : () -> tensor<f32>
  %none = plumb.none
  %q = plumb.QuantizeLinear(%x, %s, %none) {output_dtype = 17 : i64, saturate = 0 : i64} : (tensor<2x3xf32>, tensor<f32>, none) -> tensor<2x3xf8E4M3FN>
  %dq = plumb.DequantizeLinear(%i, %s, %none) : (tensor<2x3xf8E5M2>, tensor<f32>, none) -> tensor<2x3xf32>
  return %q, %dq : tensor<2x3xf8E4M3FN>, tensor<2x3xf32>
}

// -----

// Blocked dequantization (blocks of 2 along axis 1): x viewed as [4, 3, 2], the scale as
// [4, 3, 1] broadcast over each block, the product reshaped back. Blocks that do not divide
// the axis stay one op.
// CHECK-LABEL: func @blocked
// CHECK: [[X:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<4x6xi8>, tensor<3xi64>) -> tensor<4x3x2xi8>
// CHECK: [[S:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<4x3xf32>, tensor<3xi64>) -> tensor<4x3x1xf32>
// CHECK: [[F:%.+]] = plumb.Cast([[X]]) {to = 1 : i64} : (tensor<4x3x2xi8>) -> tensor<4x3x2xf32>
// CHECK: [[M:%.+]] = plumb.Mul([[F]], [[S]]) : (tensor<4x3x2xf32>, tensor<4x3x1xf32>) -> tensor<4x3x2xf32>
// CHECK: [[Y:%.+]] = plumb.Reshape([[M]], {{%.+}}) : (tensor<4x3x2xf32>, tensor<2xi64>) -> tensor<4x6xf32>
// CHECK: [[RAGGED:%.+]] = plumb.DequantizeLinear(%arg2, %arg3, {{%.+}}) {axis = 1 : i64, block_size = 4 : i64}
// CHECK: return [[Y]], [[RAGGED]]
func.func @blocked(%i: tensor<4x6xi8>, %s: tensor<4x3xf32>, %j: tensor<4x6xi8>, %t: tensor<4x2xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %none = plumb.none
  %dq = plumb.DequantizeLinear(%i, %s, %none) {axis = 1 : i64, block_size = 2 : i64} : (tensor<4x6xi8>, tensor<4x3xf32>, none) -> tensor<4x6xf32>
  %r = plumb.DequantizeLinear(%j, %t, %none) {axis = 1 : i64, block_size = 4 : i64} : (tensor<4x6xi8>, tensor<4x2xf32>, none) -> tensor<4x6xf32>
  return %dq, %r : tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// Blocked quantization to int4 (blocks of 2 along axis 1, a zero point per block): x and the
// parameters viewed as for DequantizeLinear, Div, Round, Add, Clip to int4's [-8, 7], Cast,
// the codes reshaped back. To float4e2m1 with a zero point that is a constant of zeros: no
// Round and no Add, the Cast rounds (it saturates: float4 has no infinity); a run-time float8
// zero point is added before the Cast.
// CHECK-LABEL: func @blocked_q
// CHECK: [[X:%.+]] = plumb.Reshape(%arg0, {{%.+}}) : (tensor<4x6xf32>, tensor<3xi64>) -> tensor<4x3x2xf32>
// CHECK: [[S:%.+]] = plumb.Reshape(%arg1, {{%.+}}) : (tensor<4x3xf32>, tensor<3xi64>) -> tensor<4x3x1xf32>
// CHECK: [[Z:%.+]] = plumb.Reshape(%arg2, {{%.+}}) : (tensor<4x3xi4>, tensor<3xi64>) -> tensor<4x3x1xi4>
// CHECK: [[D:%.+]] = plumb.Div([[X]], [[S]]) : (tensor<4x3x2xf32>, tensor<4x3x1xf32>) -> tensor<4x3x2xf32>
// CHECK: [[R:%.+]] = plumb.Round([[D]])
// CHECK: [[ZF:%.+]] = plumb.Cast([[Z]]) {to = 1 : i64} : (tensor<4x3x1xi4>) -> tensor<4x3x1xf32>
// CHECK: [[A:%.+]] = plumb.Add([[R]], [[ZF]])
// CHECK-DAG: [[LO:%.+]] = plumb.Constant() {value = dense<-8.000000e+00> : tensor<f32>}
// CHECK-DAG: [[HI:%.+]] = plumb.Constant() {value = dense<7.000000e+00> : tensor<f32>}
// CHECK: [[C:%.+]] = plumb.Clip([[A]], [[LO]], [[HI]])
// CHECK: [[Q:%.+]] = plumb.Cast([[C]]) {to = 22 : i64} : (tensor<4x3x2xf32>) -> tensor<4x3x2xi4>
// CHECK: [[Y:%.+]] = plumb.Reshape([[Q]], {{%.+}}) : (tensor<4x3x2xi4>, tensor<2xi64>) -> tensor<4x6xi4>
// CHECK: [[D4:%.+]] = plumb.Div(%arg0, {{%.+}}) : (tensor<4x6xf32>, tensor<f32>) -> tensor<4x6xf32>
// CHECK-NOT: Round
// CHECK: [[F4:%.+]] = plumb.Cast([[D4]]) {saturate = 1 : i64, to = 23 : i64} : (tensor<4x6xf32>) -> tensor<4x6xf4E2M1FN>
// CHECK: [[D8:%.+]] = plumb.Div(%arg0, {{%.+}})
// CHECK: [[Z8:%.+]] = plumb.Cast(%arg3) {to = 1 : i64} : (tensor<f8E4M3FN>) -> tensor<f32>
// CHECK: [[A8:%.+]] = plumb.Add([[D8]], [[Z8]])
// CHECK: [[F8:%.+]] = plumb.Cast([[A8]]) {saturate = 1 : i64, to = 17 : i64}
// CHECK-NOT: QuantizeLinear
// CHECK: return [[Y]], [[F4]], [[F8]]
func.func @blocked_q(%x: tensor<4x6xf32>, %s: tensor<4x3xf32>, %z: tensor<4x3xi4>, %z8: tensor<f8E4M3FN>) -> (tensor<4x6xi4>, tensor<4x6xf4E2M1FN>, tensor<4x6xf8E4M3FN>) {
  %q = plumb.QuantizeLinear(%x, %s, %z) {axis = 1 : i64, block_size = 2 : i64} : (tensor<4x6xf32>, tensor<4x3xf32>, tensor<4x3xi4>) -> tensor<4x6xi4>
  %t = plumb.Constant() {value = dense<0.5> : tensor<f32>} : () -> tensor<f32>
  %zero = plumb.Constant() {value = dense<0.0> : tensor<f4E2M1FN>} : () -> tensor<f4E2M1FN>
  %f4 = plumb.QuantizeLinear(%x, %t, %zero) : (tensor<4x6xf32>, tensor<f32>, tensor<f4E2M1FN>) -> tensor<4x6xf4E2M1FN>
  %f8 = plumb.QuantizeLinear(%x, %t, %z8) : (tensor<4x6xf32>, tensor<f32>, tensor<f8E4M3FN>) -> tensor<4x6xf8E4M3FN>
  return %q, %f4, %f8 : tensor<4x6xi4>, tensor<4x6xf4E2M1FN>, tensor<4x6xf8E4M3FN>
}

// -----

// DynamicQuantizeLinear: min and max over the whole tensor (dims kept; NaN read as 0, as the
// reference passes over it), widened to include 0, scale = range / 255, a divisor of 1 where
// the scale is 0, the zero point and the codes rounded and clipped to [0, 255]; the scale and
// zero point reshaped to scalars.
// CHECK-LABEL: func @dynamic
// CHECK: [[ZERO:%.+]] = plumb.Constant() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK: [[NAN:%.+]] = plumb.IsNaN(%arg0)
// CHECK: [[R:%.+]] = plumb.Where([[NAN]], [[ZERO]], %arg0)
// CHECK: [[MIN:%.+]] = plumb.ReduceMin([[R]], {{%.+}}) {keepdims = 1 : i64} : (tensor<4x6xf32>, none) -> tensor<1x1xf32>
// CHECK: [[LO:%.+]] = plumb.Min([[MIN]], [[ZERO]])
// CHECK: [[MAX:%.+]] = plumb.ReduceMax([[R]], {{%.+}}) {keepdims = 1 : i64}
// CHECK: [[HI:%.+]] = plumb.Max([[MAX]], [[ZERO]])
// CHECK: [[RANGE:%.+]] = plumb.Sub([[HI]], [[LO]])
// CHECK: [[SCALE:%.+]] = plumb.Div([[RANGE]], {{%.+}})
// CHECK: [[IS0:%.+]] = plumb.Equal([[SCALE]], [[ZERO]])
// CHECK: [[DIV:%.+]] = plumb.Where([[IS0]], {{%.+}}, [[SCALE]])
// CHECK: [[LS:%.+]] = plumb.Div([[LO]], [[DIV]])
// CHECK: [[ZE:%.+]] = plumb.Sub([[ZERO]], [[LS]])
// CHECK: [[ZR:%.+]] = plumb.Round([[ZE]])
// CHECK: [[ZP:%.+]] = plumb.Clip([[ZR]], [[ZERO]], {{%.+}})
// CHECK: [[XS:%.+]] = plumb.Div(%arg0, [[DIV]]) : (tensor<4x6xf32>, tensor<1x1xf32>) -> tensor<4x6xf32>
// CHECK: [[XR:%.+]] = plumb.Round([[XS]])
// CHECK: [[XA:%.+]] = plumb.Add([[XR]], [[ZP]])
// CHECK: [[XC:%.+]] = plumb.Clip([[XA]], [[ZERO]], {{%.+}})
// CHECK: [[Y:%.+]] = plumb.Cast([[XC]]) {to = 2 : i64} : (tensor<4x6xf32>) -> tensor<4x6xui8>
// CHECK: [[S:%.+]] = plumb.Reshape([[SCALE]], {{%.+}}) : (tensor<1x1xf32>, tensor<0xi64>) -> tensor<f32>
// CHECK: [[Z:%.+]] = plumb.Reshape([[ZP]], {{%.+}})
// CHECK: [[ZQ:%.+]] = plumb.Cast([[Z]]) {to = 2 : i64} : (tensor<f32>) -> tensor<ui8>
// CHECK-NOT: DynamicQuantizeLinear
// CHECK: return [[Y]], [[S]], [[ZQ]]
func.func @dynamic(%x: tensor<4x6xf32>) -> (tensor<4x6xui8>, tensor<f32>, tensor<ui8>) {
  %y, %s, %z = plumb.DynamicQuantizeLinear(%x) : (tensor<4x6xf32>) -> (tensor<4x6xui8>, tensor<f32>, tensor<ui8>)
  return %y, %s, %z : tensor<4x6xui8>, tensor<f32>, tensor<ui8>
}
