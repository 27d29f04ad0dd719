// More plumb ops: losses, recurrent nets, quantisation, signal processing, detection and
// the remaining ONNX ops of the node conformance tests. Included from PlumbOps.td.
#ifndef PLUMB_OPS_EXTRA_TD
#define PLUMB_OPS_EXTRA_TD

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Plumb_NegativeLogLikelihoodLossOp : Plumb_DocOp<"NegativeLogLikelihoodLoss",
    "-input[n, target[n], d...] * weight[target], reduced by `reduction` (none, sum, mean)",
    "%l = plumb.NegativeLogLikelihoodLoss(%x, %t, %w) {reduction = \"mean\"} : (tensor<3x5xf32>, tensor<3xi64>, tensor<5xf32>) -> tensor<f32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_IntTensor:$target, Plumb_OptTensor:$weight,
                   OptionalAttr<I64Attr>:$ignore_index, OptionalAttr<StrAttr>:$reduction);
  let results = (outs Plumb_Tensor:$loss);
}

def Plumb_SoftmaxCrossEntropyLossOp : Plumb_DocOp<"SoftmaxCrossEntropyLoss",
    "negative log likelihood of log_softmax(scores) over axis 1; optional log_prob output",
    "%l, %lp = plumb.SoftmaxCrossEntropyLoss(%s, %t, %none) {reduction = \"mean\"} : (tensor<3x5xf32>, tensor<3xi64>, none) -> (tensor<f32>, tensor<3x5xf32>)"> {
  let arguments = (ins Plumb_Tensor:$scores, Plumb_IntTensor:$labels, Plumb_OptTensor:$weights,
                   OptionalAttr<I64Attr>:$ignore_index, OptionalAttr<StrAttr>:$reduction);
  let results = (outs Plumb_Tensor:$output, Variadic<Plumb_Tensor>:$log_prob);
}

//===----------------------------------------------------------------------===//
// Recurrent networks
//===----------------------------------------------------------------------===//

// Attributes shared by RNN, GRU and LSTM; `gates` is the number of weight blocks (1, 3, 4).
// `absent`: how many optional inputs the example leaves out (as none).
class Plumb_RecurrentOp<string mnemonic, string doc, string gates, int absent, dag inputs,
                        dag extra = (ins)>
    : Plumb_DocOp<mnemonic, doc # "; outputs Y (all steps) and the final states, any of them optional",
        "%y, %yh = plumb." # mnemonic # "(%x, %w, %r" # !interleave(!listsplat(", %none", absent), "") #
        ") {hidden_size = 4 : i64} : (tensor<5x2x3xf32>, tensor<1x" # gates #
        "x3xf32>, tensor<1x" # gates # "x4xf32>" # !interleave(!listsplat(", none", absent), "") #
        ") -> (tensor<5x1x2x4xf32>, tensor<1x2x4xf32>)"> {
  let arguments = !con(inputs, (ins OptionalAttr<F32ArrayAttr>:$activation_alpha,
                   OptionalAttr<F32ArrayAttr>:$activation_beta,
                   OptionalAttr<StrArrayAttr>:$activations, OptionalAttr<F32Attr>:$clip,
                   OptionalAttr<StrAttr>:$direction, OptionalAttr<I64Attr>:$hidden_size,
                   OptionalAttr<I64Attr>:$layout), extra);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
}

def Plumb_RNNOp : Plumb_RecurrentOp<"RNN", "Elman recurrent network, H = f(X W^T + H R^T + b)", "4", 3,
    (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_Tensor:$R, Plumb_OptTensor:$B,
         Plumb_OptIntTensor:$sequence_lens, Plumb_OptTensor:$initial_h)>;

def Plumb_GRUOp : Plumb_RecurrentOp<"GRU", "gated recurrent unit network (gates z, r, h)", "12", 3,
    (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_Tensor:$R, Plumb_OptTensor:$B,
         Plumb_OptIntTensor:$sequence_lens, Plumb_OptTensor:$initial_h),
    (ins OptionalAttr<I64Attr>:$linear_before_reset)>;

def Plumb_LSTMOp : Plumb_RecurrentOp<"LSTM", "long short-term memory network (gates i, o, f, c; optional peepholes)", "16", 5,
    (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_Tensor:$R, Plumb_OptTensor:$B,
         Plumb_OptIntTensor:$sequence_lens, Plumb_OptTensor:$initial_h,
         Plumb_OptTensor:$initial_c, Plumb_OptTensor:$P),
    (ins OptionalAttr<I64Attr>:$input_forget)>;

//===----------------------------------------------------------------------===//
// Detection and sampling
//===----------------------------------------------------------------------===//

def Plumb_NonMaxSuppressionOp : Plumb_DocOp<"NonMaxSuppression",
    "per batch and class, boxes by descending score that overlap no kept box by more than iou_threshold",
    "%i = plumb.NonMaxSuppression(%b, %s, %m, %iou, %st) : (tensor<1x6x4xf32>, tensor<1x1x6xf32>, tensor<1xi64>, tensor<1xf32>, tensor<1xf32>) -> tensor<?x3xi64>"> {
  let arguments = (ins Plumb_Tensor:$boxes, Plumb_Tensor:$scores,
                   Plumb_OptIntTensor:$max_output_boxes_per_class,
                   Plumb_OptTensor:$iou_threshold, Plumb_OptTensor:$score_threshold,
                   OptionalAttr<I64Attr>:$center_point_box);
  let results = (outs TensorOf<[I64]>:$selected_indices);
}

def Plumb_RoiAlignOp : Plumb_DocOp<"RoiAlign",
    "average or max of bilinear samples over each region of interest, pooled to a fixed size",
    "%y = plumb.RoiAlign(%x, %rois, %bi) {output_height = 5 : i64, output_width = 5 : i64} : (tensor<1x1x10x10xf32>, tensor<3x4xf32>, tensor<3xi64>) -> tensor<3x1x5x5xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$rois, Plumb_IntTensor:$batch_indices,
                   OptionalAttr<StrAttr>:$coordinate_transformation_mode,
                   OptionalAttr<StrAttr>:$mode, OptionalAttr<I64Attr>:$output_height,
                   OptionalAttr<I64Attr>:$output_width, OptionalAttr<I64Attr>:$sampling_ratio,
                   OptionalAttr<F32Attr>:$spatial_scale);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_GridSampleOp : Plumb_DocOp<"GridSample",
    "sample X at the normalised grid locations (nearest, bilinear or bicubic; zeros, border or reflection padding)",
    "%y = plumb.GridSample(%x, %g) {mode = \"bilinear\"} : (tensor<1x1x4x4xf32>, tensor<1x6x6x2xf32>) -> tensor<1x1x6x6xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$grid, OptionalAttr<I64Attr>:$align_corners,
                   OptionalAttr<StrAttr>:$mode, OptionalAttr<StrAttr>:$padding_mode);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_MaxUnpoolOp : Plumb_DocOp<"MaxUnpool",
    "scatter pooled values back to the positions given by MaxPool's indices, zeros elsewhere",
    "%y = plumb.MaxUnpool(%x, %i, %none) {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x1x2x2xf32>, tensor<1x1x2x2xi64>, none) -> tensor<1x1x4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, TensorOf<[I64]>:$I, Plumb_OptIntTensor:$output_shape,
                   I64ArrayAttr:$kernel_shape, OptionalAttr<I64ArrayAttr>:$pads,
                   OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_GlobalLpPoolOp : Plumb_GlobalPoolOp<"GlobalLpPool", "Lp norm over all spatial dims"> {
  let arguments = (ins Plumb_Tensor:$X, OptionalAttr<I64Attr>:$p);
}

def Plumb_LRNOp : Plumb_DocOp<"LRN",
    "x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta",
    "%y = plumb.LRN(%x) {size = 3 : i64} : (tensor<1x5x4x4xf32>) -> tensor<1x5x4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$beta,
                   OptionalAttr<F32Attr>:$bias, I64Attr:$size);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_UpsampleOp : Plumb_DocOp<"Upsample",
    "deprecated Resize: scale by `scales` (input since opset 9, attribute before), nearest or linear",
    "%y = plumb.Upsample(%x, %s) {mode = \"nearest\"} : (tensor<1x1x2x2xf32>, tensor<4xf32>) -> tensor<1x1x4x6xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_OptTensor:$scales_in, OptionalAttr<StrAttr>:$mode,
                   OptionalAttr<F32ArrayAttr>:$scales);
  let results = (outs Plumb_Tensor:$Y);
}

//===----------------------------------------------------------------------===//
// Element-wise and sequence helpers
//===----------------------------------------------------------------------===//

def Plumb_ShrinkOp : Plumb_UnaryOp<"Shrink", "x + bias if x < -lambd, x - bias if x > lambd, else 0",
                                   (ins OptionalAttr<F32Attr>:$bias, OptionalAttr<F32Attr>:$lambd)>;

def Plumb_DetOp : Plumb_DocOp<"Det", "determinant of the square matrices in the last two dims",
    "%d = plumb.Det(%x) : (tensor<3x2x2xf32>) -> tensor<3xf32>"> {
  let arguments = (ins Plumb_Tensor:$X);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_ReverseSequenceOp : Plumb_DocOp<"ReverseSequence",
    "reverse the first sequence_lens[b] steps along time_axis for each batch b",
    "%y = plumb.ReverseSequence(%x, %l) {batch_axis = 1 : i64, time_axis = 0 : i64} : (tensor<4x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, TensorOf<[I64]>:$sequence_lens,
                   OptionalAttr<I64Attr>:$batch_axis, OptionalAttr<I64Attr>:$time_axis);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_ScatterOp : Plumb_DocOp<"Scatter", "deprecated alias of ScatterElements (opset 9-10)",
    "%y = plumb.Scatter(%x, %i, %u) {axis = 1 : i64} : (tensor<1x5xf32>, tensor<1x2xi64>, tensor<1x2xf32>) -> tensor<1x5xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_IntTensor:$indices, Plumb_Tensor:$updates,
                   OptionalAttr<I64Attr>:$axis);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_UniqueOp : Plumb_DocOp<"Unique",
    "unique elements (or slices along `axis`) with first indices, inverse indices and counts",
    "%y, %i, %inv, %c = plumb.Unique(%x) {sorted = 1 : i64} : (tensor<6xf32>) -> (tensor<?xf32>, tensor<?xi64>, tensor<6xi64>, tensor<?xi64>)"> {
  let arguments = (ins Plumb_Tensor:$X, OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$sorted);
  let results = (outs Plumb_Tensor:$Y, Variadic<TensorOf<[I64]>>:$index_outputs);
}

def Plumb_TfIdfVectorizerOp : Plumb_DocOp<"TfIdfVectorizer",
    "counts of the pooled n-grams (with skips) in each row, as TF, IDF or TFIDF",
    "%y = plumb.TfIdfVectorizer(%x) {max_gram_length = 2 : i64, max_skip_count = 0 : i64, min_gram_length = 2 : i64, mode = \"TF\", ngram_counts = [0, 2], ngram_indexes = [0, 1], pool_int64s = [2, 3, 5, 4]} : (tensor<12xi32>) -> tensor<2xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, I64Attr:$max_gram_length, I64Attr:$max_skip_count,
                   I64Attr:$min_gram_length, StrAttr:$mode, I64ArrayAttr:$ngram_counts,
                   I64ArrayAttr:$ngram_indexes, OptionalAttr<I64ArrayAttr>:$pool_int64s,
                   OptionalAttr<StrArrayAttr>:$pool_strings,
                   OptionalAttr<F32ArrayAttr>:$weights);
  let results = (outs TensorOf<[F32]>:$Y);
}

//===----------------------------------------------------------------------===//
// Quantisation
//===----------------------------------------------------------------------===//

def Plumb_QuantizeLinearOp : Plumb_DocOp<"QuantizeLinear",
    "saturate(round_half_even(x / y_scale) + y_zero_point) to the zero point's type (uint8 when absent); scales per tensor, per axis or per block of `block_size`",
    "%q = plumb.QuantizeLinear(%x, %s, %z) : (tensor<6xf32>, tensor<f32>, tensor<ui8>) -> tensor<6xui8>"> {
  let arguments = (ins Plumb_Tensor:$x, Plumb_Tensor:$y_scale, Plumb_OptTensor:$y_zero_point,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$saturate,
                   OptionalAttr<I64Attr>:$block_size, OptionalAttr<I64Attr>:$output_dtype,
                   OptionalAttr<I64Attr>:$precision);
  let results = (outs Plumb_Tensor:$y);
}

def Plumb_DequantizeLinearOp : Plumb_DocOp<"DequantizeLinear",
    "(x - x_zero_point) * x_scale, per tensor, per slice along `axis` or per block of `block_size`",
    "%y = plumb.DequantizeLinear(%q, %s, %z) : (tensor<4xui8>, tensor<f32>, tensor<ui8>) -> tensor<4xf32>"> {
  let arguments = (ins Plumb_Tensor:$x, Plumb_Tensor:$x_scale, Plumb_OptTensor:$x_zero_point,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$block_size,
                   OptionalAttr<I64Attr>:$output_dtype);
  let results = (outs Plumb_Tensor:$y);
}

def Plumb_DynamicQuantizeLinearOp : Plumb_DocOp<"DynamicQuantizeLinear",
    "uint8 quantisation of x with scale and zero point computed from its range (including 0)",
    "%y, %s, %z = plumb.DynamicQuantizeLinear(%x) : (tensor<6xf32>) -> (tensor<6xui8>, tensor<f32>, tensor<ui8>)"> {
  let arguments = (ins Plumb_Tensor:$x);
  let results = (outs TensorOf<[UI8]>:$y, TensorOf<[F32]>:$y_scale, TensorOf<[UI8]>:$y_zero_point);
}

def Plumb_MatMulIntegerOp : Plumb_DocOp<"MatMulInteger",
    "numpy matmul of (A - a_zero_point) and (B - b_zero_point) accumulated in int32",
    "%y = plumb.MatMulInteger(%a, %b, %az, %bz) : (tensor<4x3xui8>, tensor<3x2xui8>, tensor<1xui8>, tensor<1xui8>) -> tensor<4x2xi32>"> {
  let arguments = (ins Plumb_Tensor:$A, Plumb_Tensor:$B, Plumb_OptTensor:$a_zero_point,
                   Plumb_OptTensor:$b_zero_point);
  let results = (outs TensorOf<[I32]>:$Y);
}

def Plumb_ConvIntegerOp : Plumb_DocOp<"ConvInteger",
    "Conv of (x - x_zero_point) and (w - w_zero_point) accumulated in int32",
    "%y = plumb.ConvInteger(%x, %w, %xz, %none) : (tensor<1x1x3x3xui8>, tensor<1x1x2x2xui8>, tensor<ui8>, none) -> tensor<1x1x2x2xi32>"> {
  let arguments = (ins Plumb_Tensor:$x, Plumb_Tensor:$w, Plumb_OptTensor:$x_zero_point,
                   Plumb_OptTensor:$w_zero_point,
                   OptionalAttr<StrAttr>:$auto_pad, OptionalAttr<I64ArrayAttr>:$dilations,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<I64ArrayAttr>:$kernel_shape,
                   OptionalAttr<I64ArrayAttr>:$pads, OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs TensorOf<[I32]>:$y);
}

def Plumb_QLinearMatMulOp : Plumb_DocOp<"QLinearMatMul",
    "matmul of dequantised a and b, requantised with y_scale and y_zero_point",
    "%y = plumb.QLinearMatMul(%a, %as, %az, %b, %bs, %bz, %ys, %yz) : (tensor<2x4xui8>, tensor<1xf32>, tensor<1xui8>, tensor<4x3xui8>, tensor<1xf32>, tensor<1xui8>, tensor<1xf32>, tensor<1xui8>) -> tensor<2x3xui8>"> {
  let arguments = (ins Plumb_Tensor:$a, Plumb_Tensor:$a_scale, Plumb_Tensor:$a_zero_point,
                   Plumb_Tensor:$b, Plumb_Tensor:$b_scale, Plumb_Tensor:$b_zero_point,
                   Plumb_Tensor:$y_scale, Plumb_Tensor:$y_zero_point);
  let results = (outs Plumb_Tensor:$y);
}

def Plumb_QLinearConvOp : Plumb_DocOp<"QLinearConv",
    "Conv of dequantised x and w (int32 bias B), requantised with y_scale and y_zero_point",
    "%y = plumb.QLinearConv(%x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %none) : (tensor<1x1x7x7xui8>, tensor<f32>, tensor<ui8>, tensor<1x1x1x1xui8>, tensor<1xf32>, tensor<1xui8>, tensor<f32>, tensor<ui8>, none) -> tensor<1x1x7x7xui8>"> {
  let arguments = (ins Plumb_Tensor:$x, Plumb_Tensor:$x_scale, Plumb_Tensor:$x_zero_point,
                   Plumb_Tensor:$w, Plumb_Tensor:$w_scale, Plumb_Tensor:$w_zero_point,
                   Plumb_Tensor:$y_scale, Plumb_Tensor:$y_zero_point, Plumb_OptTensor:$B,
                   OptionalAttr<StrAttr>:$auto_pad, OptionalAttr<I64ArrayAttr>:$dilations,
                   OptionalAttr<I64Attr>:$group, OptionalAttr<I64ArrayAttr>:$kernel_shape,
                   OptionalAttr<I64ArrayAttr>:$pads, OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$y);
}

//===----------------------------------------------------------------------===//
// Image and spatial ops (kernels in backends/reference/kernels/Image.cpp)
//===----------------------------------------------------------------------===//

def Plumb_CenterCropPadOp : Plumb_DocOp<"CenterCropPad",
    "centre crop or zero-pad `input_data` to `shape` along `axes` (all axes when absent)",
    "%y = plumb.CenterCropPad(%x, %s) : (tensor<20x10x3xf32>, tensor<3xi64>) -> tensor<10x7x3xf32>"> {
  let arguments = (ins Plumb_Tensor:$input_data, Plumb_IntTensor:$shape,
                   OptionalAttr<I64ArrayAttr>:$axes);
  let results = (outs Plumb_Tensor:$output_data);
}

def Plumb_Col2ImOp : Plumb_DocOp<"Col2Im",
    "sums the columns of an im2col matrix [N, C*prod(block), L] back into an image of `image_shape`",
    "%y = plumb.Col2Im(%x, %img, %blk) : (tensor<1x5x5xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x5x5xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_IntTensor:$image_shape,
                   Plumb_IntTensor:$block_shape, OptionalAttr<I64ArrayAttr>:$dilations,
                   OptionalAttr<I64ArrayAttr>:$pads, OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_AffineGridOp : Plumb_DocOp<"AffineGrid",
    "sampling grid [N, H, W, 2] (or [N, D, H, W, 3]) of the affine maps `theta` over normalised coordinates of `size`",
    "%g = plumb.AffineGrid(%theta, %size) {align_corners = 0 : i64} : (tensor<2x2x3xf32>, tensor<4xi64>) -> tensor<2x4x5x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$theta, Plumb_IntTensor:$size,
                   OptionalAttr<I64Attr>:$align_corners);
  let results = (outs Plumb_Tensor:$grid);
}

def Plumb_DeformConvOp : Plumb_DocOp<"DeformConv",
    "deformable convolution: Conv whose kernel taps are moved by `offset` (bilinear sampling) and weighted by `mask`",
    "%y = plumb.DeformConv(%x, %w, %off, %none, %none) {kernel_shape = [2, 2]} : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, tensor<1x8x2x2xf32>, none, none) -> tensor<1x1x2x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$W, Plumb_Tensor:$offset,
                   Plumb_OptTensor:$B, Plumb_OptTensor:$mask,
                   OptionalAttr<I64ArrayAttr>:$dilations, OptionalAttr<I64Attr>:$group,
                   OptionalAttr<I64ArrayAttr>:$kernel_shape, OptionalAttr<I64Attr>:$offset_group,
                   OptionalAttr<I64ArrayAttr>:$pads, OptionalAttr<I64ArrayAttr>:$strides);
  let results = (outs Plumb_Tensor:$Y);
}

def Plumb_TensorScatterOp : Plumb_DocOp<"TensorScatter",
    "writes `update` into a copy of the KV cache `past_cache` along `axis` at each batch's `write_indices` (linear or circular)",
    "%c = plumb.TensorScatter(%past, %upd, %idx) {mode = \"linear\"} : (tensor<2x2x8x4xf32>, tensor<2x2x1x4xf32>, tensor<2xi64>) -> tensor<2x2x8x4xf32>"> {
  let arguments = (ins Plumb_Tensor:$past_cache, Plumb_Tensor:$update,
                   Plumb_OptIntTensor:$write_indices, OptionalAttr<I64Attr>:$axis,
                   OptionalAttr<StrAttr>:$mode);
  let results = (outs Plumb_Tensor:$present_cache);
}

def Plumb_SwishOp : Plumb_UnaryOp<"Swish", "x * sigmoid(alpha * x)",
                                  (ins OptionalAttr<F32Attr>:$alpha)>;

//===----------------------------------------------------------------------===//
// Signal processing
//===----------------------------------------------------------------------===//

def Plumb_DFTOp : Plumb_DocOp<"DFT",
    "discrete Fourier transform along `axis` of a real [..., 1] or complex [..., 2] signal",
    "%y = plumb.DFT(%x, %none, %none) {axis = 1 : i64} : (tensor<1x10x10x1xf32>, none, none) -> tensor<1x10x10x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_OptIntTensor:$dft_length,
                   Plumb_OptIntTensor:$axis_in, OptionalAttr<I64Attr>:$axis,
                   OptionalAttr<I64Attr>:$inverse, OptionalAttr<I64Attr>:$onesided);
  let results = (outs Plumb_Tensor:$output);
}

def Plumb_STFTOp : Plumb_DocOp<"STFT",
    "short-time Fourier transform: DFTs of windowed frames every frame_step samples",
    "%y = plumb.STFT(%s, %step, %win, %none) : (tensor<1x128x1xf32>, tensor<i64>, tensor<16xf32>, none) -> tensor<1x15x9x2xf32>"> {
  let arguments = (ins Plumb_Tensor:$signal, Plumb_IntTensor:$frame_step,
                   Plumb_OptTensor:$window, Plumb_OptIntTensor:$frame_length,
                   OptionalAttr<I64Attr>:$onesided);
  let results = (outs Plumb_Tensor:$output);
}

class Plumb_WindowOp<string mnemonic, string doc> : Plumb_DocOp<mnemonic, doc # " of the given length (periodic or symmetric)",
    "%w = plumb." # mnemonic # "(%n) : (tensor<i32>) -> tensor<?xf32>"> {
  let arguments = (ins Plumb_IntTensor:$size, OptionalAttr<I64Attr>:$output_datatype,
                   OptionalAttr<I64Attr>:$periodic);
  let results = (outs Plumb_Tensor:$output);
}
def Plumb_HannWindowOp : Plumb_WindowOp<"HannWindow", "Hann window">;
def Plumb_HammingWindowOp : Plumb_WindowOp<"HammingWindow", "Hamming window">;
def Plumb_BlackmanWindowOp : Plumb_WindowOp<"BlackmanWindow", "Blackman window">;

def Plumb_MelWeightMatrixOp : Plumb_DocOp<"MelWeightMatrix",
    "[dft_length / 2 + 1, num_mel_bins] triangular filters evenly spaced on the mel scale",
    "%m = plumb.MelWeightMatrix(%bins, %len, %rate, %lo, %hi) : (tensor<i32>, tensor<i32>, tensor<i32>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>"> {
  let arguments = (ins Plumb_IntTensor:$num_mel_bins, Plumb_IntTensor:$dft_length,
                   Plumb_IntTensor:$sample_rate, Plumb_Tensor:$lower_edge_hertz,
                   Plumb_Tensor:$upper_edge_hertz, OptionalAttr<I64Attr>:$output_datatype);
  let results = (outs Plumb_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Plumb_AttentionOp : Plumb_DocOp<"Attention",
    "softmax(Q K^T * scale + mask) V over 3-D or 4-D heads (GQA, causal, softcap, KV cache); outputs Y, present_key, present_value, qk_matmul_output, all but Y optional",
    "%y = plumb.Attention(%q, %k, %v, %none, %none, %none, %none) : (tensor<2x3x4x8xf32>, tensor<2x3x6x8xf32>, tensor<2x3x6x8xf32>, none, none, none, none) -> tensor<2x3x4x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$Q, Plumb_Tensor:$K, Plumb_Tensor:$V,
                   Plumb_OptTensor:$attn_mask, Plumb_OptTensor:$past_key,
                   Plumb_OptTensor:$past_value, Plumb_OptTensor:$nonpad_kv_seqlen,
                   OptionalAttr<I64Attr>:$is_causal, OptionalAttr<I64Attr>:$kv_num_heads,
                   OptionalAttr<I64Attr>:$q_num_heads, OptionalAttr<I64Attr>:$qk_matmul_output_mode,
                   OptionalAttr<F32Attr>:$scale, OptionalAttr<F32Attr>:$softcap,
                   OptionalAttr<I64Attr>:$softmax_precision);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
}

def Plumb_RotaryEmbeddingOp : Plumb_DocOp<"RotaryEmbedding",
    "rotates (pairs of) the first rotary_embedding_dim features of each head by cos/sin caches, optionally gathered by position_ids",
    "%y = plumb.RotaryEmbedding(%x, %cos, %sin, %pos) : (tensor<2x3x4x8xf32>, tensor<50x4xf32>, tensor<50x4xf32>, tensor<2x4xi64>) -> tensor<2x3x4x8xf32>"> {
  let arguments = (ins Plumb_Tensor:$X, Plumb_Tensor:$cos_cache, Plumb_Tensor:$sin_cache,
                   Plumb_OptIntTensor:$position_ids, OptionalAttr<I64Attr>:$interleaved,
                   OptionalAttr<I64Attr>:$num_heads, OptionalAttr<I64Attr>:$rotary_embedding_dim);
  let results = (outs Plumb_Tensor:$Y);
}

#endif // PLUMB_OPS_EXTRA_TD
