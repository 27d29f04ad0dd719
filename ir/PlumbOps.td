// The plumb ops: one per ONNX operator (ONNX semantics), plus none, fusion and yield.
#ifndef PLUMB_OPS_TD
#define PLUMB_OPS_TD

include "ir/PlumbBase.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Structural ops
//===----------------------------------------------------------------------===//

def Plumb_NoneOp : Op<Plumb_Dialect, "none", [Pure, ConstantLike]> {
  let summary = "the absent value of an optional ONNX input";
  let description = [{
    ONNX marks an absent optional input with an empty name; plumb passes a `none` value in
    its position so that operands stay ONNX-positional.

    ```mlir
    %none = plumb.none
    %y = plumb.Conv(%x, %w, %none) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
    ```
  }];
  let results = (outs NoneType:$none);
  let assemblyFormat = "attr-dict";
  let hasFolder = 1;
}

def Plumb_FusionOp : Op<Plumb_Dialect, "fusion",
    [SingleBlockImplicitTerminator<"YieldOp">, IsolatedFromAbove,
     Plumb_ShapeInferenceOpInterface]> {
  let summary = "a group of ops that a backend runs as one kernel";
  let description = [{
    The body holds the original, unfused ops; its meaning is its body (the reference
    interpreter runs it). `kind` names the pattern that formed it. Operands are bound to
    the block arguments; `plumb.yield` gives the results.

    ```mlir
    %y = plumb.fusion "conv_relu" (%x, %w, %b) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32> {
    ^bb0(%a: tensor<1x3x8x8xf32>, %c: tensor<4x3x3x3xf32>, %d: tensor<4xf32>):
      %0 = plumb.Conv(%a, %c, %d) : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
      %1 = plumb.Relu(%0) : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
      plumb.yield %1 : tensor<1x4x6x6xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind, Variadic<AnyType>:$inputs);
  let results = (outs Variadic<Plumb_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 0;
}

def Plumb_YieldOp : Op<Plumb_Dialect, "yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["FusionOp", "IfOp", "LoopOp", "ScanOp", "SequenceMapOp"]>]> {
  let summary = "returns the results of a plumb.fusion body or a control-flow body";
  let description = [{
    ```mlir
    plumb.yield %1 : tensor<1x4x6x6xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty yield */ }]>];
}

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

def Plumb_AbsOp : Plumb_UnaryOp<"Abs", "absolute value">;
def Plumb_NegOp : Plumb_UnaryOp<"Neg", "negation">;
def Plumb_ExpOp : Plumb_UnaryOp<"Exp", "e to the x">;
def Plumb_LogOp : Plumb_UnaryOp<"Log", "natural logarithm">;
def Plumb_SqrtOp : Plumb_UnaryOp<"Sqrt", "square root">;
def Plumb_ReciprocalOp : Plumb_UnaryOp<"Reciprocal", "1 / x">;
def Plumb_SinOp : Plumb_UnaryOp<"Sin", "sine">;
def Plumb_CosOp : Plumb_UnaryOp<"Cos", "cosine">;
def Plumb_TanOp : Plumb_UnaryOp<"Tan", "tangent">;
def Plumb_AsinOp : Plumb_UnaryOp<"Asin", "arcsine">;
def Plumb_AcosOp : Plumb_UnaryOp<"Acos", "arccosine">;
def Plumb_AtanOp : Plumb_UnaryOp<"Atan", "arctangent">;
def Plumb_SinhOp : Plumb_UnaryOp<"Sinh", "hyperbolic sine">;
def Plumb_CoshOp : Plumb_UnaryOp<"Cosh", "hyperbolic cosine">;
def Plumb_AsinhOp : Plumb_UnaryOp<"Asinh", "inverse hyperbolic sine">;
def Plumb_AcoshOp : Plumb_UnaryOp<"Acosh", "inverse hyperbolic cosine">;
def Plumb_AtanhOp : Plumb_UnaryOp<"Atanh", "inverse hyperbolic tangent">;
def Plumb_TanhOp : Plumb_UnaryOp<"Tanh", "hyperbolic tangent">;
def Plumb_ErfOp : Plumb_UnaryOp<"Erf", "the error function">;
def Plumb_SigmoidOp : Plumb_UnaryOp<"Sigmoid", "1 / (1 + exp(-x))">;
def Plumb_ReluOp : Plumb_UnaryOp<"Relu", "max(x, 0)">;
def Plumb_FloorOp : Plumb_UnaryOp<"Floor", "round toward -inf">;
def Plumb_CeilOp : Plumb_UnaryOp<"Ceil", "round toward +inf">;
def Plumb_RoundOp : Plumb_UnaryOp<"Round", "round half to even">;
def Plumb_SignOp : Plumb_UnaryOp<"Sign", "-1, 0 or 1">;
def Plumb_SoftplusOp : Plumb_UnaryOp<"Softplus", "log(1 + exp(x))">;
def Plumb_SoftsignOp : Plumb_UnaryOp<"Softsign", "x / (1 + |x|)">;
def Plumb_MishOp : Plumb_UnaryOp<"Mish", "x * tanh(softplus(x))">;
def Plumb_IdentityOp : Plumb_UnaryOp<"Identity", "the input unchanged"> {
  let hasCanonicalizer = 1;
}
def Plumb_NotOp : Plumb_UnaryOp<"Not", "logical not of a bool tensor">;
def Plumb_BitwiseNotOp : Plumb_UnaryOp<"BitwiseNot", "bitwise complement">;
def Plumb_HardSwishOp : Plumb_UnaryOp<"HardSwish", "x * max(0, min(1, x / 6 + 0.5))">;
def Plumb_LeakyReluOp : Plumb_UnaryOp<"LeakyRelu", "x if x >= 0 else alpha * x",
                                      (ins OptionalAttr<F32Attr>:$alpha)>;
def Plumb_EluOp : Plumb_UnaryOp<"Elu", "x if x >= 0 else alpha * (exp(x) - 1)",
                                (ins OptionalAttr<F32Attr>:$alpha)>;
def Plumb_CeluOp : Plumb_UnaryOp<"Celu", "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
                                 (ins OptionalAttr<F32Attr>:$alpha)>;
def Plumb_SeluOp : Plumb_UnaryOp<"Selu", "gamma * (x if x > 0 else alpha * (exp(x) - 1))",
                                 (ins OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$gamma)>;
def Plumb_ThresholdedReluOp : Plumb_UnaryOp<"ThresholdedRelu", "x if x > alpha else 0",
                                            (ins OptionalAttr<F32Attr>:$alpha)>;
def Plumb_HardSigmoidOp : Plumb_UnaryOp<"HardSigmoid", "max(0, min(1, alpha * x + beta))",
                                        (ins OptionalAttr<F32Attr>:$alpha,
                                             OptionalAttr<F32Attr>:$beta)>;
def Plumb_GeluOp : Plumb_UnaryOp<"Gelu", "x * Phi(x), exact (erf) or tanh-approximated",
                                 (ins OptionalAttr<StrAttr>:$approximate)>;

def Plumb_IsNaNOp : Plumb_DocOp<"IsNaN", "true where x is NaN",
    "%m = plumb.IsNaN(%x) : (tensor<4xf32>) -> tensor<4xi1>"> {
  let arguments = (ins Plumb_Tensor:$X);
  let results = (outs TensorOf<[I1]>:$Y);
}
def Plumb_IsInfOp : Plumb_DocOp<"IsInf", "true where x is +inf and/or -inf",
    "%m = plumb.IsInf(%x) {detect_negative = 0 : i64} : (tensor<4xf32>) -> tensor<4xi1>"> {
  let arguments = (ins Plumb_Tensor:$X, OptionalAttr<I64Attr>:$detect_negative,
                   OptionalAttr<I64Attr>:$detect_positive);
  let results = (outs TensorOf<[I1]>:$Y);
}

def Plumb_DropoutOp : Plumb_DocOp<"Dropout", "identity at inference; optional all-true mask",
    "%y = plumb.Dropout(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptTensor:$ratio_in,
                   Plumb_OptTensor:$training_mode, OptionalAttr<I64Attr>:$seed,
                   OptionalAttr<F32Attr>:$ratio);
  let results = (outs Plumb_Tensor:$output, Optional<TensorOf<[I1]>>:$mask);
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Plumb_CastOp : Plumb_DocOp<"Cast", "element type conversion to `to` (an ONNX type code)",
    "%y = plumb.Cast(%x) {to = 7 : i64} : (tensor<4xf32>) -> tensor<4xi64>"> {
  let arguments = (ins Plumb_Tensor:$input, I64Attr:$to, OptionalAttr<I64Attr>:$saturate,
                   OptionalAttr<StrAttr>:$round_mode);
  let results = (outs Plumb_Tensor:$output);
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}
def Plumb_CastLikeOp : Plumb_DocOp<"CastLike", "conversion to the element type of `target_type`",
    "%y = plumb.CastLike(%x, %t) : (tensor<4xf32>, tensor<1xf16>) -> tensor<4xf16>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_Tensor:$target_type,
                   OptionalAttr<I64Attr>:$saturate, OptionalAttr<StrAttr>:$round_mode);
  let results = (outs Plumb_Tensor:$output);
  let hasCanonicalizer = 1;
}

def Plumb_ClipOp : Plumb_DocOp<"Clip", "clamp to [min, max] (inputs since opset 11, attributes before)",
    "%y = plumb.Clip(%x, %lo, %hi) : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_OptTensor:$min_in,
                   Plumb_OptTensor:$max_in, OptionalAttr<F32Attr>:$min,
                   OptionalAttr<F32Attr>:$max);
  let results = (outs Plumb_Tensor:$output);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary, comparison, variadic, select
//===----------------------------------------------------------------------===//

def Plumb_AddOp : Plumb_BinaryOp<"Add", "a + b">;
def Plumb_SubOp : Plumb_BinaryOp<"Sub", "a - b">;
def Plumb_MulOp : Plumb_BinaryOp<"Mul", "a * b">;
def Plumb_DivOp : Plumb_BinaryOp<"Div", "a / b (integer division truncates)">;
def Plumb_PowOp : Plumb_BinaryOp<"Pow", "a to the power b">;
def Plumb_ModOp : Plumb_BinaryOp<"Mod", "remainder (sign of divisor, or C fmod when fmod = 1)",
                                 (ins OptionalAttr<I64Attr>:$fmod)>;
def Plumb_AndOp : Plumb_BinaryOp<"And", "logical and">;
def Plumb_OrOp : Plumb_BinaryOp<"Or", "logical or">;
def Plumb_XorOp : Plumb_BinaryOp<"Xor", "logical xor">;
def Plumb_BitShiftOp : Plumb_BinaryOp<"BitShift", "shift a by b bits in `direction`",
                                      (ins StrAttr:$direction)>;
def Plumb_BitwiseAndOp : Plumb_BinaryOp<"BitwiseAnd", "bitwise and">;
def Plumb_BitwiseOrOp : Plumb_BinaryOp<"BitwiseOr", "bitwise or">;
def Plumb_BitwiseXorOp : Plumb_BinaryOp<"BitwiseXor", "bitwise xor">;
def Plumb_PReluOp : Plumb_BinaryOp<"PRelu", "x if x >= 0 else slope * x">;

def Plumb_EqualOp : Plumb_CompareOp<"Equal", "a == b">;
def Plumb_LessOp : Plumb_CompareOp<"Less", "a < b">;
def Plumb_GreaterOp : Plumb_CompareOp<"Greater", "a > b">;
def Plumb_LessOrEqualOp : Plumb_CompareOp<"LessOrEqual", "a <= b">;
def Plumb_GreaterOrEqualOp : Plumb_CompareOp<"GreaterOrEqual", "a >= b">;

def Plumb_MinOp : Plumb_VariadicOp<"Min", "elementwise minimum">;
def Plumb_MaxOp : Plumb_VariadicOp<"Max", "elementwise maximum">;
def Plumb_SumOp : Plumb_VariadicOp<"Sum", "elementwise sum">;
def Plumb_MeanOp : Plumb_VariadicOp<"Mean", "elementwise mean">;

def Plumb_WhereOp : Plumb_DocOp<"Where", "X where condition else Y (numpy broadcasting)",
    "%z = plumb.Where(%c, %x, %y) : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>"> {
  let arguments = (ins TensorOf<[I1]>:$condition, Plumb_Tensor:$X, Plumb_Tensor:$Y);
  let results = (outs Plumb_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Reductions, scans, softmax
//===----------------------------------------------------------------------===//

def Plumb_ReduceSumOp : Plumb_ReduceOp<"ReduceSum", "sum">;
def Plumb_ReduceMeanOp : Plumb_ReduceOp<"ReduceMean", "mean">;
def Plumb_ReduceMaxOp : Plumb_ReduceOp<"ReduceMax", "maximum">;
def Plumb_ReduceMinOp : Plumb_ReduceOp<"ReduceMin", "minimum">;
def Plumb_ReduceProdOp : Plumb_ReduceOp<"ReduceProd", "product">;
def Plumb_ReduceL1Op : Plumb_ReduceOp<"ReduceL1", "sum of absolute values">;
def Plumb_ReduceL2Op : Plumb_ReduceOp<"ReduceL2", "Euclidean norm">;
def Plumb_ReduceLogSumOp : Plumb_ReduceOp<"ReduceLogSum", "log of the sum">;
def Plumb_ReduceLogSumExpOp : Plumb_ReduceOp<"ReduceLogSumExp", "log of the sum of exponentials">;
def Plumb_ReduceSumSquareOp : Plumb_ReduceOp<"ReduceSumSquare", "sum of squares">;

class Plumb_ArgOp<string mnemonic, string doc> : Plumb_DocOp<mnemonic, doc,
    "%i = plumb." # mnemonic # "(%x) {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x1xi64>"> {
  let arguments = (ins Plumb_Tensor:$data, OptionalAttr<I64Attr>:$axis,
                   OptionalAttr<I64Attr>:$keepdims, OptionalAttr<I64Attr>:$select_last_index);
  let results = (outs TensorOf<[I64]>:$reduced);
  let hasVerifier = 1;
}
def Plumb_ArgMaxOp : Plumb_ArgOp<"ArgMax", "index of the maximum along `axis`">;
def Plumb_ArgMinOp : Plumb_ArgOp<"ArgMin", "index of the minimum along `axis`">;

def Plumb_CumSumOp : Plumb_DocOp<"CumSum", "cumulative sum along the axis given as input",
    "%y = plumb.CumSum(%x, %axis) : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$x, Plumb_IntTensor:$axis, OptionalAttr<I64Attr>:$exclusive,
                   OptionalAttr<I64Attr>:$reverse);
  let results = (outs Plumb_Tensor:$y);
}

class Plumb_SoftmaxLikeOp<string mnemonic, string doc> : Plumb_DocOp<mnemonic, doc,
    "%y = plumb." # mnemonic # "(%x) {axis = -1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
  let hasVerifier = 1;
}
def Plumb_SoftmaxOp : Plumb_SoftmaxLikeOp<"Softmax", "exp(x) / sum(exp(x)) along `axis`">;
def Plumb_LogSoftmaxOp : Plumb_SoftmaxLikeOp<"LogSoftmax", "log of softmax along `axis`">;
def Plumb_HardmaxOp : Plumb_SoftmaxLikeOp<"Hardmax", "one-hot of the first maximum along `axis`">;

def Plumb_TopKOp : Plumb_DocOp<"TopK", "the K largest (or smallest) elements along `axis` and their indices",
    "%v, %i = plumb.TopK(%x, %k) {axis = -1 : i64} : (tensor<2x5xf32>, tensor<1xi64>) -> (tensor<2x3xf32>, tensor<2x3xi64>)"> {
  let arguments = (ins Plumb_Tensor:$X, TensorOf<[I64]>:$K, OptionalAttr<I64Attr>:$axis,
                   OptionalAttr<I64Attr>:$largest, OptionalAttr<I64Attr>:$sorted);
  let results = (outs Plumb_Tensor:$Values, TensorOf<[I64]>:$Indices);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

def Plumb_BatchNormalizationOp : Plumb_DocOp<"BatchNormalization",
    "(x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1), inference mode",
    "%y = plumb.BatchNormalization(%x, %s, %b, %m, %v) {epsilon = 1.0e-05 : f32} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$scale, Plumb_Tensor:$B,
                   Plumb_Tensor:$input_mean, Plumb_Tensor:$input_var,
                   OptionalAttr<F32Attr>:$epsilon, OptionalAttr<F32Attr>:$momentum,
                   OptionalAttr<I64Attr>:$training_mode, OptionalAttr<I64Attr>:$spatial);
  let results = (outs Plumb_Tensor:$Y, Variadic<Plumb_Tensor>:$training_outputs);
  let hasVerifier = 1;
}

def Plumb_LayerNormalizationOp : Plumb_DocOp<"LayerNormalization",
    "normalise over the dims from `axis` on, then * Scale + B; optional Mean and InvStdDev outputs",
    "%y = plumb.LayerNormalization(%x, %g, %b) {axis = -1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$Scale, Plumb_OptTensor:$B,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<F32Attr>:$epsilon,
                   OptionalAttr<I64Attr>:$stash_type);
  let results = (outs Plumb_Tensor:$Y, Variadic<Plumb_Tensor>:$stats);
  let hasVerifier = 1;
}

def Plumb_InstanceNormalizationOp : Plumb_DocOp<"InstanceNormalization",
    "normalise each (n, c) slice over its spatial dims, then * scale + B",
    "%y = plumb.InstanceNormalization(%x, %s, %b) : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_Tensor:$scale, Plumb_Tensor:$B,
                   OptionalAttr<F32Attr>:$epsilon);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_GroupNormalizationOp : Plumb_DocOp<"GroupNormalization",
    "normalise over groups of channels, then * scale + bias (per group before opset 21, per channel since)",
    "%y = plumb.GroupNormalization(%x, %s, %b) {num_groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$scale, Plumb_Tensor:$bias,
                   OptionalAttr<F32Attr>:$epsilon, I64Attr:$num_groups,
                   OptionalAttr<I64Attr>:$stash_type);
  let results = (outs Plumb_Tensor:$Y);
  let hasVerifier = 1;
}

def Plumb_RMSNormalizationOp : Plumb_DocOp<"RMSNormalization",
    "x / sqrt(mean(x^2 over dims from `axis`) + epsilon) * scale",
    "%y = plumb.RMSNormalization(%x, %g) {axis = -1 : i64} : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$scale, OptionalAttr<I64Attr>:$axis,
                   OptionalAttr<F32Attr>:$epsilon, OptionalAttr<I64Attr>:$stash_type);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_LpNormalizationOp : Plumb_DocOp<"LpNormalization", "divide by the Lp norm along `axis`",
    "%y = plumb.LpNormalization(%x) {p = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$p);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_MeanVarianceNormalizationOp : Plumb_DocOp<"MeanVarianceNormalization",
    "(x - mean) / std over `axes`",
    "%y = plumb.MeanVarianceNormalization(%x) : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, OptionalAttr<I64ArrayAttr>:$axes);
  let results = (outs Plumb_Tensor:$Y);
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Plumb_MatMulOp : Plumb_DocOp<"MatMul", "numpy matmul (batched, broadcasting)",
    "%c = plumb.MatMul(%a, %b) : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$A, Plumb_Tensor:$B);
  let results = (outs Plumb_Tensor:$Y);
  let hasVerifier = 1;
}

def Plumb_GemmOp : Plumb_DocOp<"Gemm", "alpha * op(A) op(B) + beta * C on 2-D tensors",
    "%y = plumb.Gemm(%a, %b, %c) {transB = 1 : i64} : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<2x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$A, Plumb_Tensor:$B, Plumb_OptTensor:$C,
                   OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$beta,
                   OptionalAttr<I64Attr>:$transA, OptionalAttr<I64Attr>:$transB);
  let results = (outs Plumb_Tensor:$Y);
  let hasVerifier = 1;
}

def Plumb_EinsumOp : Plumb_DocOp<"Einsum", "Einstein summation given by `equation`",
    "%y = plumb.Einsum(%a, %b) {equation = \"bij,bjk->bik\"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$Inputs, StrAttr:$equation);
  let results = (outs Plumb_Tensor:$Output);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Convolution, pooling, resampling, padding
//===----------------------------------------------------------------------===//

def Plumb_ConvOp : Plumb_DocOp<"Conv", "N-d cross-correlation with groups, strides, dilations and pads",
    "%y = plumb.Conv(%x, %w, %b) {pads = [1, 1, 1, 1], strides = [1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_OptTensor:$B,
                   OptionalAttr<StrAttr>:$auto_pad, OptionalAttr<I64ArrayAttr>:$dilations,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<I64ArrayAttr>:$kernel_shape,
                   OptionalAttr<I64ArrayAttr>:$pads, OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$Y);
  let hasVerifier = 1;
}

def Plumb_ConvTransposeOp : Plumb_DocOp<"ConvTranspose", "N-d transposed convolution",
    "%y = plumb.ConvTranspose(%x, %w) {strides = [2, 2]} : (tensor<1x4x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x9x9xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_OptTensor:$B,
                   OptionalAttr<StrAttr>:$auto_pad, OptionalAttr<I64ArrayAttr>:$dilations,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<I64ArrayAttr>:$kernel_shape,
                   OptionalAttr<I64ArrayAttr>:$output_padding,
                   OptionalAttr<I64ArrayAttr>:$output_shape, OptionalAttr<I64ArrayAttr>:$pads,
                   OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$Y);
  let hasVerifier = 1;
}

class Plumb_PoolOp<string mnemonic, string doc, dag extra = (ins)> : Plumb_DocOp<mnemonic, doc,
    "%y = plumb." # mnemonic # "(%x) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>"> {
  let arguments = !con((ins Plumb_Tensor:$X, OptionalAttr<StrAttr>:$auto_pad,
                   OptionalAttr<I64Attr>:$ceil_mode, OptionalAttr<I64ArrayAttr>:$dilations,
                   I64ArrayAttr:$kernel_shape, OptionalAttr<I64ArrayAttr>:$pads,
                   OptionalAttr<I64ArrayAttr>:$strides), extra);
  let hasVerifier = 1;
}
def Plumb_MaxPoolOp : Plumb_PoolOp<"MaxPool", "maximum over windows; optional flat indices",
                                   (ins OptionalAttr<I64Attr>:$storage_order)> {
  let results = (outs Plumb_Tensor:$Y, Optional<TensorOf<[I64]>>:$Indices);
}
def Plumb_AveragePoolOp : Plumb_PoolOp<"AveragePool", "mean over windows",
                                       (ins OptionalAttr<I64Attr>:$count_include_pad)> {
  let results = (outs Plumb_Tensor:$Y);
}
def Plumb_LpPoolOp : Plumb_PoolOp<"LpPool", "Lp norm over windows", (ins OptionalAttr<I64Attr>:$p)> {
  let results = (outs Plumb_Tensor:$Y);
}

class Plumb_GlobalPoolOp<string mnemonic, string doc> : Plumb_DocOp<mnemonic, doc,
    "%y = plumb." # mnemonic # "(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32>"> {
  let arguments = (ins Plumb_Tensor:$X);
  let results = (outs Plumb_Tensor:$Y);
}
def Plumb_GlobalAveragePoolOp : Plumb_GlobalPoolOp<"GlobalAveragePool", "mean over all spatial dims">;
def Plumb_GlobalMaxPoolOp : Plumb_GlobalPoolOp<"GlobalMaxPool", "maximum over all spatial dims">;

def Plumb_PadOp : Plumb_DocOp<"Pad", "pad with a constant, reflection, edge or wrap (pads as input since opset 11)",
    "%y = plumb.Pad(%x, %pads) {mode = \"constant\"} : (tensor<1x3x4x4xf32>, tensor<8xi64>) -> tensor<1x3x6x6xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptIntTensor:$pads_in,
                   Plumb_OptTensor:$constant_value, Plumb_OptIntTensor:$axes,
                   OptionalAttr<StrAttr>:$mode, OptionalAttr<I64ArrayAttr>:$pads,
                   OptionalAttr<F32Attr>:$value);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_ResizeOp : Plumb_DocOp<"Resize", "resample by `scales` or to `sizes` (nearest, linear, cubic)",
    "%y = plumb.Resize(%x, %none, %scales) {mode = \"nearest\"} : (tensor<1x3x4x4xf32>, none, tensor<4xf32>) -> tensor<1x3x8x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_OptTensor:$roi,
                   Plumb_OptTensor:$scales, Plumb_OptIntTensor:$sizes,
                   OptionalAttr<I64Attr>:$antialias, OptionalAttr<I64ArrayAttr>:$axes,
                   OptionalAttr<StrAttr>:$coordinate_transformation_mode,
                   OptionalAttr<F32Attr>:$cubic_coeff_a, OptionalAttr<I64Attr>:$exclude_outside,
                   OptionalAttr<F32Attr>:$extrapolation_value,
                   OptionalAttr<StrAttr>:$keep_aspect_ratio_policy, OptionalAttr<StrAttr>:$mode,
                   OptionalAttr<StrAttr>:$nearest_mode);
  let results = (outs Plumb_Tensor:$Y);
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Plumb_ReshapeOp : Plumb_DocOp<"Reshape", "new shape from a 1-D shape tensor (0 copies, -1 infers)",
    "%y = plumb.Reshape(%x, %s) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, TensorOf<[I64]>:$shape, OptionalAttr<I64Attr>:$allowzero);
  let results = (outs Plumb_Tensor:$reshaped);
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Plumb_TransposeOp : Plumb_DocOp<"Transpose", "permute dims by `perm` (reversed when absent)",
    "%y = plumb.Transpose(%x) {perm = [0, 2, 1]} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, OptionalAttr<I64ArrayAttr>:$perm);
  let results = (outs Plumb_Tensor:$transposed);
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Plumb_SliceOp : Plumb_DocOp<"Slice", "strided slice by starts/ends/axes/steps inputs (attributes before opset 10)",
    "%y = plumb.Slice(%x, %st, %en, %ax, %sp) : (tensor<4x6xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptIntTensor:$starts_in,
                   Plumb_OptIntTensor:$ends_in, Plumb_OptIntTensor:$axes_in,
                   Plumb_OptIntTensor:$steps, OptionalAttr<I64ArrayAttr>:$starts,
                   OptionalAttr<I64ArrayAttr>:$ends, OptionalAttr<I64ArrayAttr>:$axes);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_ConcatOp : Plumb_DocOp<"Concat", "join along `axis`",
    "%y = plumb.Concat(%a, %b) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Plumb_Tensor:$concat_result);
  let hasVerifier = 1;
}

def Plumb_SplitOp : Plumb_DocOp<"Split", "split along `axis` by the `split` sizes (input since opset 13) or equally",
    "%a, %b = plumb.Split(%x, %s) {axis = 1 : i64} : (tensor<2x8xf32>, tensor<2xi64>) -> (tensor<2x3xf32>, tensor<2x5xf32>)"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_OptIntTensor:$split_in,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$num_outputs,
                   OptionalAttr<I64ArrayAttr>:$split);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
  let hasVerifier = 1;
}

def Plumb_SqueezeOp : Plumb_DocOp<"Squeeze", "remove size-1 dims (`axes` input since opset 13)",
    "%y = plumb.Squeeze(%x, %axes) : (tensor<2x1x3xf32>, tensor<1xi64>) -> tensor<2x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptIntTensor:$axes_in,
                   OptionalAttr<I64ArrayAttr>:$axes);
  let results = (outs Plumb_Tensor:$squeezed);
  let hasCanonicalizer = 1;
}
def Plumb_UnsqueezeOp : Plumb_DocOp<"Unsqueeze", "insert size-1 dims (`axes` input since opset 13)",
    "%y = plumb.Unsqueeze(%x, %axes) : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x1x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptIntTensor:$axes_in,
                   OptionalAttr<I64ArrayAttr>:$axes);
  let results = (outs Plumb_Tensor:$expanded);
}

def Plumb_FlattenOp : Plumb_DocOp<"Flatten", "collapse to 2-D at `axis`",
    "%y = plumb.Flatten(%x) {axis = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
  let hasVerifier = 1;
}

def Plumb_ShapeOp : Plumb_DocOp<"Shape", "the input's shape as a 1-D i64 tensor (dims [start, end))",
    "%s = plumb.Shape(%x) : (tensor<2x3xf32>) -> tensor<2xi64>"> {
  let arguments = (ins Plumb_Tensor:$data, OptionalAttr<I64Attr>:$start, OptionalAttr<I64Attr>:$end);
  let results = (outs TensorOf<[I64]>:$shape);
}
def Plumb_SizeOp : Plumb_DocOp<"Size", "the input's element count as an i64 scalar",
    "%n = plumb.Size(%x) : (tensor<2x3xf32>) -> tensor<i64>"> {
  let arguments = (ins Plumb_Tensor:$data);
  let results = (outs TensorOf<[I64]>:$size);
}

def Plumb_ExpandOp : Plumb_DocOp<"Expand", "broadcast to a shape given as input",
    "%y = plumb.Expand(%x, %s) : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<3x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, TensorOf<[I64]>:$shape);
  let results = (outs Plumb_Tensor:$output);
  let hasCanonicalizer = 1;
}
def Plumb_TileOp : Plumb_DocOp<"Tile", "repeat along each dim by `repeats`",
    "%y = plumb.Tile(%x, %r) : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, TensorOf<[I64]>:$repeats);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_DepthToSpaceOp : Plumb_DocOp<"DepthToSpace", "move channel blocks into spatial blocks",
    "%y = plumb.DepthToSpace(%x) {blocksize = 2 : i64} : (tensor<1x8x2x2xf32>) -> tensor<1x2x4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, I64Attr:$blocksize, OptionalAttr<StrAttr>:$mode);
  let results = (outs Plumb_Tensor:$output);
}
def Plumb_SpaceToDepthOp : Plumb_DocOp<"SpaceToDepth", "move spatial blocks into channels",
    "%y = plumb.SpaceToDepth(%x) {blocksize = 2 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x8x2x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, I64Attr:$blocksize);
  let results = (outs Plumb_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Constants and generators
//===----------------------------------------------------------------------===//

def Plumb_ConstantOp : Plumb_DocOp<"Constant", "a constant tensor (initializers import as these)",
    "%w = plumb.Constant() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<4xf32>", [ConstantLike]> {
  let arguments = (ins OptionalAttr<ElementsAttr>:$value, OptionalAttr<F32Attr>:$value_float,
                   OptionalAttr<F32ArrayAttr>:$value_floats, OptionalAttr<I64Attr>:$value_int,
                   OptionalAttr<I64ArrayAttr>:$value_ints);
  let results = (outs Plumb_Tensor:$output);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Plumb_ConstantOfShapeOp : Plumb_DocOp<"ConstantOfShape", "a tensor of the given shape filled with `value`",
    "%z = plumb.ConstantOfShape(%s) {value = dense<0.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<2x3xf32>"> {
  let arguments = (ins TensorOf<[I64]>:$input, OptionalAttr<ElementsAttr>:$value);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_RangeOp : Plumb_DocOp<"Range", "start, start + delta, ... below limit",
    "%r = plumb.Range(%s, %l, %d) : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>"> {
  let arguments = (ins Plumb_Tensor:$start, Plumb_Tensor:$limit, Plumb_Tensor:$delta);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_EyeLikeOp : Plumb_DocOp<"EyeLike", "a 2-D identity-like matrix shaped like the input",
    "%e = plumb.EyeLike(%x) : (tensor<3x4xf32>) -> tensor<3x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, OptionalAttr<I64Attr>:$dtype, OptionalAttr<I64Attr>:$k);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_OneHotOp : Plumb_DocOp<"OneHot", "one-hot encoding of indices with depth and (off, on) values",
    "%y = plumb.OneHot(%i, %d, %v) : (tensor<3xi64>, tensor<i64>, tensor<2xf32>) -> tensor<3x?xf32>"> {
  let arguments = (ins Plumb_Tensor:$indices, Plumb_Tensor:$depth, Plumb_Tensor:$values,
                   OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_NonZeroOp : Plumb_DocOp<"NonZero", "indices of the non-zero elements, one row per dim",
    "%i = plumb.NonZero(%x) : (tensor<2x3xf32>) -> tensor<2x?xi64>"> {
  let arguments = (ins Plumb_Tensor:$X);
  let results = (outs TensorOf<[I64]>:$Y);
}

def Plumb_CompressOp : Plumb_DocOp<"Compress", "select slices where `condition` is true",
    "%y = plumb.Compress(%x, %c) {axis = 0 : i64} : (tensor<3x2xf32>, tensor<3xi1>) -> tensor<?x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, TensorOf<[I1]>:$condition, OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_TriluOp : Plumb_DocOp<"Trilu", "keep the upper or lower triangle (offset by k)",
    "%y = plumb.Trilu(%x) {upper = 0 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_OptIntTensor:$k,
                   OptionalAttr<I64Attr>:$upper);
  let results = (outs Plumb_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Indexing
//===----------------------------------------------------------------------===//

def Plumb_GatherOp : Plumb_DocOp<"Gather", "take slices along `axis` at the given indices",
    "%e = plumb.Gather(%table, %ids) {axis = 0 : i64} : (tensor<100x16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_IntTensor:$indices, OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
  let hasVerifier = 1;
}
def Plumb_GatherElementsOp : Plumb_DocOp<"GatherElements", "elementwise gather along `axis`",
    "%y = plumb.GatherElements(%x, %i) {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_IntTensor:$indices, OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
}
def Plumb_GatherNDOp : Plumb_DocOp<"GatherND", "gather slices by index tuples",
    "%y = plumb.GatherND(%x, %i) : (tensor<2x2xf32>, tensor<2x2xi64>) -> tensor<2xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, TensorOf<[I64]>:$indices, OptionalAttr<I64Attr>:$batch_dims);
  let results = (outs Plumb_Tensor:$output);
}
def Plumb_ScatterNDOp : Plumb_DocOp<"ScatterND", "copy of data with slices at index tuples replaced or reduced",
    "%y = plumb.ScatterND(%x, %i, %u) : (tensor<8xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<8xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, TensorOf<[I64]>:$indices, Plumb_Tensor:$updates,
                   OptionalAttr<StrAttr>:$reduction);
  let results = (outs Plumb_Tensor:$output);
}
def Plumb_ScatterElementsOp : Plumb_DocOp<"ScatterElements", "elementwise scatter along `axis`",
    "%y = plumb.ScatterElements(%x, %i, %u) {axis = 0 : i64} : (tensor<3x3xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<3x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_IntTensor:$indices, Plumb_Tensor:$updates,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<StrAttr>:$reduction);
  let results = (outs Plumb_Tensor:$output);
}

include "ir/PlumbOpsExtra.td"
include "ir/PlumbOpsControl.td"

#endif // PLUMB_OPS_TD
