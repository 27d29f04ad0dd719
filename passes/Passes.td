// plumb's passes: graph cleanups, fusion into plumb.fusion regions, and their options.
#ifndef PLUMB_PASSES_TD
#define PLUMB_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Graph passes (passes/graph/)
//===----------------------------------------------------------------------===//

def PlumbConstantFolding : Pass<"plumb-constant-folding", "mlir::func::FuncOp"> {
  let summary = "Evaluate ops whose operands are all constants with the reference kernels";
  let description = [{
    Replaces an op whose tensor operands are all `plumb.Constant` (`none` operands allowed)
    with one constant per result, computed in f32 by the reference interpreter's kernels
    (the oracle, so folding cannot change what an f32 run computes). Each constant keeps the
    folded op's location, so its ONNX tensor name stays findable. Results larger than
    `max-bytes`, results of non-static type, and ops whose kernel fails are left alone.
    An EyeLike reads only its input's shape: it folds when that shape is static, whatever
    computes the input.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"1 << 20",
           "Largest result (in bytes) to fold">
  ];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbShapeRefinement : Pass<"plumb-shape-refinement", "mlir::func::FuncOp"> {
  let summary = "Re-infer result types in SSA order, folding shape arithmetic as it becomes constant";
  let description = [{
    One forward sweep: each op's result types are re-inferred from its operands (keeping any
    static dim the IR already had, e.g. from ONNX value_info), then Shape/Size of a static
    tensor and small ops on constants (at most `max-bytes`) are folded. With the graph inputs
    pinned, the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains exporters emit for
    dynamic axes become constants and every later type becomes static. An If whose condition
    has become a constant (an exporter's branch on a dim) is replaced by the ops of the branch
    it takes, refined in turn, so the backends compile it as straight-line code. A Loop body
    whose carried values keep their shapes is refined from the initial values' types. The
    function's result types follow. Nothing is executed but the folded shape arithmetic.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"1 << 16",
           "Largest result (in bytes) to fold while refining">
  ];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbShapeFolding : Pass<"plumb-shape-folding", "mlir::func::FuncOp"> {
  let summary = "Fold Shape/Size of statically shaped tensors and the shape arithmetic after it";
  let description = [{
    Exporters emit Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains; when the shapes are
    static, Shape and Size become constants and constant folding finishes the chain. A Shape
    with `start`/`end` folds when just the selected dims are static.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbLegacyBroadcast : Pass<"plumb-legacy-broadcast", "mlir::func::FuncOp"> {
  let summary = "Broadcasting before opset 7 in numpy's form";
  let description = [{
    In a module of opset 6 or lower: a binary op with broadcast=1 and an `axis` short of
    trailing gets B reshaped to its dims followed by ones up to A's last (B [3] at axis 1 of
    A [2, 3, 4, 4] becomes [3, 1, 1]) and loses the axis; PRelu's 1-D slope of C > 1 entries
    on X of rank 3 or more (per channel) becomes [C, 1, ..., 1]. Backends broadcast
    numpy-style, trailing; the ops mean what they meant at their opset.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFoldConvBatchNorm : Pass<"plumb-fold-conv-bn", "mlir::func::FuncOp"> {
  let summary = "Fold an inference BatchNormalization into the preceding Conv's weights and bias";
  let description = [{
    Conv(X, W, B) followed by BatchNormalization(scale, beta, mean, var), all constant and the
    Conv used only by the BN, becomes Conv(X, W * k, (B - mean) * k + beta) with
    k = scale / sqrt(var + epsilon) per output channel, computed in double and stored in W's
    type. The new Conv's location fuses both nodes and names the BN's output tensor.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeAttention : Pass<"plumb-decompose-attention", "mlir::func::FuncOp"> {
  let summary = "Opset-23 Attention as MatMul, scale, masks, Softmax and MatMul";
  let description = [{
    An Attention op with static Q, K and V, 4-D or 3-D with q_num_heads/kv_num_heads (those
    split into heads by Reshape + Transpose, Y merged back), and past_key/past_value, if any,
    4-D, becomes Concat(past, new) for a KV cache (the present outputs), MatMul(Q,
    Transpose(K)) * scale, + attn_mask (Where for a boolean one; one shorter than the keys
    padded as masked out), the keys past nonpad_kv_seqlen and the causal triangle offset by
    the past as one operand, softcap * Tanh(. / softcap), Softmax, MatMul(., V); K and V heads
    repeated for grouped queries by Reshape + Expand + Reshape. The ops carry the Attention
    node (Y on the last MatMul; a read qk_matmul_output on the intermediate its mode names), so
    parity checks and bisect find them where they were. The fusion passes then take it as the
    attention bodies of older exports; others stay one Attention op.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbReductionsAsRows : Pass<"plumb-reductions-as-rows", "mlir::func::FuncOp"> {
  let summary = "Reductions as reductions over trailing axes keeping dims (row kernels)";
  let description = [{
    For backends whose reduction kernels reduce the trailing axes of a tensor, keeping dims:
    a ReduceMean/Sum/Max/Min/Prod/LogSumExp (constant axes) that drops dims becomes that form
    and a Reshape;
    one over other axes reduces a Transpose putting them last (the kept axes in order first),
    then a Reshape (the reduced axes are 1s, so no transpose back). ReduceSumSquare, ReduceL1,
    ReduceL2 and ReduceLogSum become their definitions (ReduceSum of x*x or |x|, then Sqrt or
    Log). Softmax and LogSoftmax from opset 13 over an axis that is not the last swap it with
    the last axis and back. LpNormalization (p 1 or 2) becomes x / ReduceL1|L2 and
    MeanVarianceNormalization (x - mean) / (Sqrt(ReduceMean((x - mean)^2)) + 1e-9), their
    reductions then in row form; Hardmax the Cast of Equal(positions along the axis,
    ArgMax(keepdims)); a LayerNormalization whose Mean/InvStdDev outputs are read its
    function body (statistics cast to stash_type). Tensors of f32, f16 and bf16 with static shapes; the last op
    carries the node and its output's name.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbSpaceDepthAsTranspose : Pass<"plumb-space-depth-as-transpose", "mlir::func::FuncOp"> {
  let summary = "DepthToSpace/SpaceToDepth as Reshape, Transpose, Reshape";
  let description = [{
    DepthToSpace (DCR or CRD) and SpaceToDepth with static 4-D shapes become the Reshape to
    six dims, Transpose and Reshape back that ONNX defines them by; the last Reshape carries
    the node and its output's name. For backends that move data by transposes and read
    reshapes as views (CUDA: one movement kernel instead of a host step).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeRotary : Pass<"plumb-decompose-rotary", "mlir::func::FuncOp"> {
  let summary = "Opset-23 RotaryEmbedding as Gather, Slice, Mul, Sub/Add and Concat";
  let description = [{
    A RotaryEmbedding op with static shapes and a float X (4-D, or 3-D with num_heads, viewed
    as [B, S, heads, d]) becomes the caches gathered by position_ids (as given without them),
    broadcast over the heads, the two halves (or the even and odd features when interleaved)
    of the first rotary_embedding_dim features rotated (x1 cos - x2 sin, x1 sin + x2 cos),
    concatenated (pairwise when interleaved) with the features past them. The last op
    carries the node and Y's name. Caches whose rows are longer than rotary_embedding_dim / 2
    are left as one op.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeQuantize : Pass<"plumb-decompose-quantize", "mlir::func::FuncOp"> {
  let summary = "QuantizeLinear/DequantizeLinear as Cast, Sub, Mul / Div, Round, Add, Clip, Cast";
  let description = [{
    DequantizeLinear from 4/8/16-bit integers becomes (Cast(x) - Cast(zero_point)) * scale in
    the scale's type; QuantizeLinear to them becomes Cast(Clip(Round(x / scale) + zero_point,
    range)), Round being half to even and the Clip the saturation. Per-tensor scales and zero
    points are used as they are, per-axis ones reshaped to broadcast along `axis`. To the
    float8 types (e4m3fn/fnuz, e5m2/fnuz) and float4e2m1 QuantizeLinear is
    Cast(x / scale + zero_point) with its saturate (the Add left out for a constant zero
    point of zeros), from them DequantizeLinear as from the integers. Blocked ones (block
    size dividing the axis) view x as [.., K/b, b, ..] and the scale and zero point as
    [.., K/b, 1, ..], the result reshaped back. e8m0 stays one op.
    DynamicQuantizeLinear (f32) becomes whole-tensor ReduceMin/ReduceMax (dims kept), the
    scale (range including 0, over 255) and zero point, and the quantization of x by them,
    a zero scale dividing by 1 (codes and zero point 0, as the reference gives). The last op
    carries the node and its output's name.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeOptimizers : Pass<"plumb-decompose-optimizers", "mlir::func::FuncOp"> {
  let summary = "Adagrad, Adam and Momentum as the elementwise ops of their definitions";
  let description = [{
    The preview-training optimizers (one update step of n tensor groups, R and T read at run
    time) become, per group, the elementwise ops of their ONNX definitions in the tensors'
    type: the regularized gradient g = norm_coefficient * X + G, then Adagrad's accumulated
    square and scaled step (rate R / (1 + T * decay_factor)), Adam's moments and
    bias-corrected step (a Where for T = 0) with norm_coefficient_post, Momentum's velocity
    (beta, or 1 at T = 0) and standard or Nesterov step. Statically shaped f32/f64 groups;
    each result carries the node and its output's name. For backends that generate
    elementwise kernels (CUDA).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeTrilu : Pass<"plumb-decompose-trilu", "mlir::func::FuncOp"> {
  let summary = "Trilu as Where(mask, x, 0)";
  let description = [{
    A Trilu with a static shape becomes the mask it applies and a Where of it, the input and a
    zero of the input's type (upper keeps row + k <= column, lower column <= row + k, over the
    last two dims). With a constant (or absent) k the mask is a bool [rows, cols] constant up
    to 4 MiB; otherwise a LessOrEqual of an i64 [rows, 1] constant of row indices plus k
    (plus an Add of a run-time k) and a [1, cols] one of column indices. For backends that generate elementwise kernels
    (CUDA: one kernel instead of a host step). The Where carries the node and its output's
    name.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeBatchNorm : Pass<"plumb-decompose-batchnorm", "mlir::func::FuncOp"> {
  let summary = "Inference BatchNormalization as elementwise ops";
  let description = [{
    A BatchNormalization in inference mode (no training outputs, spatial) on a static float X
    of rank 2 or more, with [C] parameters of X's type, becomes (x - mean) /
    sqrt(var + epsilon) * scale + B, the reference kernel's order, with the parameters
    reshaped to [C, 1, ..., 1]; sqrt(var + epsilon) is folded when the variance is constant.
    The final Add carries the node and Y's name. For backends that generate elementwise
    kernels (CUDA: one kernel, or none when its reader computes it, instead of a host step).
    Run after plumb-fold-conv-bn, which takes a BN after a Conv into the Conv's weights.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeLosses : Pass<"plumb-decompose-losses", "mlir::func::FuncOp"> {
  let summary = "NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss as gathers, reductions and elementwise ops";
  let description = [{
    A loss on a static f32/f16/bf16 input [N, C, d...] with target [N, d...] becomes, in the
    reference kernel's order: LogSoftmax over C (SoftmaxCrossEntropyLoss; its log_prob output
    when read), the target with ignored entries set to 0 (Equal, Where), GatherElements of the
    target's class along axis 1, the class weight (Gather) and -picked * weight, 0 where
    ignored; "sum" is a ReduceSum, "mean" that over the ReduceSum of the weights used (or the
    element count, a constant, with no weight and no ignore_index). The loss's node and name
    stay on the op giving the result. For backends that generate kernels (CUDA: device
    kernels instead of a host step).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeMovement : Pass<"plumb-decompose-movement", "mlir::func::FuncOp"> {
  let summary = "CenterCropPad and MaxUnpool as Slice, Pad, Expand and ScatterElements";
  let description = [{
    With static shapes and a constant target shape: CenterCropPad becomes a Slice of the
    axes it crops (from (in - out) / 2) and a zero Pad of the axes it grows ((out - in) / 2
    before, the rest after); MaxUnpool becomes an Expand of a 0 scalar to the unpooled
    element count, a ScatterElements of the flattened X at the flattened indices, a Reshape
    to the unpooled shape and a zero Pad at the end of each dim up to a larger output_shape.
    The last op carries the node and its output's name. For backends with movement kernels
    (CUDA: device kernels instead of a host step).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDecomposeTransforms : Pass<"plumb-decompose-transforms", "mlir::func::FuncOp"> {
  let summary = "AffineGrid, DFT and STFT as MatMuls with matrices computed at compile time";
  let description = [{
    With static shapes and constant steering operands: AffineGrid is its base grid of
    normalised (x, y[, z], 1) points times theta transposed; DFT moves its axis next to the
    (real, imaginary) dim, flattens the rest to rows and multiplies by the twiddle matrix
    [L * c, bins * 2] (1/n when inverse, zero rows past dft_length); STFT gathers its frames
    with constant indices and multiplies by the twiddles with a constant window folded into
    the rows (a run-time window multiplies the frames). Matrices are computed in double and
    stored in the op's type, at most 16 MiB of elements each. For backends with a GEMM (CUDA:
    cuBLASLt instead of a host step).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbUnrollRecurrent : Pass<"plumb-unroll-recurrent", "mlir::func::FuncOp"> {
  let summary = "RNN, GRU and LSTM unrolled over their steps into MatMuls and gate ops";
  let description = [{
    A recurrent op with a static shape (at most 256 steps), constant W, R, B and P, full-length
    sequences and Sigmoid/Tanh/Relu activations becomes, per direction, the input projection
    of every step at once (MatMul by W transposed plus the biases outside the recurrence),
    then per step the step's row (Gather), H R^T (MatMul), the gates as Slices, clip as Clip,
    peepholes, the activations and the new h (and c), in the order and form of ONNX's
    equations (GRU's linear_before_reset, LSTM's input_forget); Y is the Concat of the steps'
    h, Y_h and Y_c of the last ones. Absent initial states are zero constants. For backends
    with a GEMM library and generated elementwise kernels (CUDA: a library call and a gate
    kernel per step instead of a host step). The ops producing the outputs carry the node and
    the outputs' names.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbPackProjections : Pass<"plumb-pack-projections", "mlir::func::FuncOp"> {
  let summary = "Pack MatMuls (Gemms) of one input by constant weights into one and a Split";
  let description = [{
    Two or more MatMuls of the same input by constant 2-D weights of one type and K (each
    maybe followed by the Add of a constant bias, all or none) become one MatMul by the weights
    side by side (and one Add of the biases), then a Split into the original results, which
    carries their nodes and tensor names. Gemms (A not transposed, alpha 1; a constant [N] or
    [1, N] C with beta 1, all or none) of one input and one transB are packed the same way
    into one Gemm, the weights side by side ([K, N]) or one under another ([N, K]). Attention's Q, K and V projections and SwiGLU's gate
    and up projections are one GEMM; a backend that reads the Split's pieces in place (the
    CUDA lowering's views) pays no copy for them.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbDeadCodeElimination : Pass<"plumb-dce", "mlir::func::FuncOp"> {
  let summary = "Remove ops whose results are unused";
  let dependentDialects = ["::plumb::PlumbDialect"];
}

//===----------------------------------------------------------------------===//
// Fusion passes (passes/fusion/)
//===----------------------------------------------------------------------===//
// Each pass moves the ops it groups, unchanged, into a plumb.fusion whose body is their
// meaning (DESIGN.md invariant 2); the kind names the members ("matmul+bias+gelu"). Passes
// only group ops at function level, so fusions never nest; buildFusionPipeline orders them.

def PlumbFuseAttention : Pass<"plumb-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "Group scaled dot-product attention into a plumb.fusion \"attention\"";
  let description = [{
    MatMul(Q, K^T) [-> Div/Mul by a constant] [-> Add mask | Where(mask, s, fill)]
    -> Softmax (last axis) -> MatMul(., V), every intermediate used once. A Transpose of K
    that swaps the last two axes joins the fusion; other permutations stay outside.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseNorm : Pass<"plumb-fuse-norm", "mlir::func::FuncOp"> {
  let summary = "Group decomposed LayerNorm and RMSNorm into \"layer_norm\" / \"rms_norm\"";
  let description = [{
    LayerNorm: ReduceMean -> Sub -> Pow 2 | Mul self -> ReduceMean -> Add eps -> Sqrt ->
    Div | Reciprocal+Mul -> [Mul gamma] -> [Add beta]. RMSNorm: Pow 2 | Mul self ->
    ReduceMean -> Add eps -> Sqrt -> Div | Reciprocal+Mul -> [Mul weight]. Means over the
    last axis only; LayerNormalization ops are left alone.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseSwiGlu : Pass<"plumb-fuse-swiglu", "mlir::func::FuncOp"> {
  let summary = "Group silu(x W1) * (x W3) into a plumb.fusion \"swiglu\"";
  let description = [{
    Both projections (MatMul or Gemm, each with an optional constant bias Add) read the same
    x; the gate's SiLU is x * Sigmoid(x).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseMatMul : Pass<"plumb-fuse-matmul", "mlir::func::FuncOp"> {
  let summary = "Group MatMul/Gemm with its bias Add and activation";
  let description = [{
    MatMul or Gemm, then an Add of a per-column constant (not when Gemm has C), then a
    residual Add of a same-shaped tensor computed before the MatMul (not when Gemm has C;
    the CPU adds it as a sum post-op, CUDA as cuBLASLt's C), then an
    activation (Relu, Clip, LeakyRelu, Elu, HardSwish, Gelu, Sigmoid, Tanh, SiLU, GELU erf
    and tanh decompositions) whose input has no other use. Kinds such as "matmul+bias+gelu",
    "gemm+tanh", "matmul+bias+gelu_tanh", "matmul+bias+add"; a lone MatMul is left alone.
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseConv : Pass<"plumb-fuse-conv", "mlir::func::FuncOp"> {
  let summary = "Group Conv with its bias Add, residual Add and activation";
  let description = [{
    Conv, then an Add of a per-channel constant when Conv has no bias, then a residual Add
    (a same-shaped tensor computed before the Conv) and an activation in either order. Kinds
    such as "conv+relu", "conv+add+relu", "conv+bias+silu".
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseActivation : Pass<"plumb-fuse-activation", "mlir::func::FuncOp"> {
  let summary = "Group decomposed GELU and SiLU into \"gelu\", \"gelu_tanh\", \"silu\"";
  let description = [{
    The decompositions exporters emit, where no conv or matmul fusion absorbed them:
    0.5 * x * (1 + erf(x / sqrt 2)), 0.5 * x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    x * sigmoid(x).
  }];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

def PlumbFuseElementwise : Pass<"plumb-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Group trees of floating-point elementwise ops into \"elementwise\"";
  let description = [{
    Unary and broadcasting binary ops, Cast and Where, where each producer's only use is the
    next member: one output per group, so a kernel computes it in one pass over memory. With
    multi-output, a tree whose result is also read elsewhere joins the tree that reads it
    when both have one shape (an LSTM step's c and h): one kernel writes both results.
  }];
  let options = [
    Option<"minOps", "min-ops", "int64_t", /*default=*/"2", "Smallest group to fuse">,
    Option<"multiOutput", "multi-output", "bool", /*default=*/"false",
           "Join a shared tree to the tree that reads it (two results)">
  ];
  let dependentDialects = ["::plumb::PlumbDialect"];
}

#endif // PLUMB_PASSES_TD
