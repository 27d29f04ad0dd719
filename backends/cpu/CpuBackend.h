// The CPU backend's public face: its kernel registry (oneDNN-backed cpu.* kernels plus the
// ref.* fallback) and its thread setting. Nothing here exposes oneDNN.
//
// Kernels (f32 unless said otherwise; inputs are ONNX-positional; absent optional inputs
// are buffer id -1):
//   cpu.conv        Conv. Inputs X, W, [B]. attrs: group, strides, dilations, pads, auto_pad,
//                   kernel_shape (optional check). 1 to 3 spatial dims. A k×k conv between
//                   blocked maps of <= 28×28 runs as im2col + a 1×1 conv (ConvIm2col.cpp).
//   cpu.matmul      MatMul or Gemm. Inputs A, B, [C] where C is Gemm's C or a bias fused from
//                   MatMul+Add (anything broadcasting to the output's last two dims, or to
//                   the whole output when B is 2-D and A has no batch). attrs (Gemm's, all
//                   optional): transA, transB (2-D operands only), alpha, beta. A constant
//                   2-D B runs as a 1×1 convolution over A's rows when oneDNN has its JIT
//                   1×1 kernel for the shape (faster than its sgemm on AVX2).
//   cpu.softmax     Softmax/LogSoftmax. attrs: axis, op = "Softmax" (default) | "LogSoftmax";
//                   Step::opset < 13 selects the old coerce-to-2-D meaning. oneDNN's
//                   softmax_v2 for Softmax along the last axis or with post-ops; else
//                   vec::logSoftmaxBlock / softmaxBlock (VecMath.h).
//   cpu.layer_norm  LayerNormalization, output Y only. Inputs X, Scale, [B]. attrs: axis
//                   (default -1), epsilon.
//   cpu.batch_norm  BatchNormalization (inference), output Y only. Inputs X, scale, B, mean,
//                   var. attrs: epsilon.
//   cpu.pool        attrs: op = MaxPool | AveragePool | GlobalMaxPool | GlobalAveragePool and
//                   the op's ONNX attributes (kernel_shape, strides, pads, auto_pad,
//                   dilations, ceil_mode, count_include_pad). MaxPool's Indices: use ref.
//   cpu.eltwise     attrs: op = Relu | Tanh | Sigmoid | Exp | Log | Sqrt | Abs | Gelu | Elu |
//                   LeakyRelu | Clip | HardSigmoid | HardSwish | Softplus | Mish | Neg, plus
//                   the op's attributes (alpha, beta, approximate; Clip's min/max as
//                   attributes before opset 11, else as constant inputs 1 and 2). Log and
//                   Mish run as given (artifacts compiled before), but the lowering makes
//                   them cpu.chain steps: oneDNN's are thousands of ulps off in places.
//   cpu.binary      attrs: op = Add | Sub | Mul | Div | Max | Min. Inputs A, B with numpy
//                   broadcasting.
//   cpu.copy        Reshape, Flatten, Squeeze, Unsqueeze, Identity: any dtype; the output has
//                   the input's type and element count (extra inputs are ignored).
//   cpu.transpose   Transpose of an f32 tensor. attrs: perm (default: reversed dims).
//   cpu.slice       Slice of any dtype, any steps: starts, ends, [axes], [steps] constant
//                   inputs (attributes before opset 10). oneDNN reorder between strided views.
//   cpu.split       Split of any dtype: every output planned (their shapes give the sizes; a
//                   constant `split` input or attribute must agree). attrs: axis.
//   cpu.pad         Pad of any dtype, any mode (constant, edge, reflect, wrap): pads,
//                   [constant_value], [axes] constant inputs (attributes before opset 11);
//                   negative pads crop.
//   cpu.concat      Concat of any dtype (oneDNN concat). attrs: axis.
//   cpu.gather      Gather of any dtype; indices int32/int64, constant or computed (checked
//                   on every run: out of range is a plumb::Error). attrs: axis.
//   cpu.cumsum      CumSum of f32 along a constant axis input. attrs: exclusive, reverse.
//   cpu.einsum      Einsum of f32 operands as pairwise batched matmuls. attrs: equation, which
//                   einsumSupported() must accept (explicit output, no "...", no repeated
//                   label in an operand, single-operand labels kept in the output).
//   cpu.attention   softmax(mask(scale(Q x Kt))) x V for an "attention" fusion, per batch x
//                   head over strided views (no head split/merge copies). Inputs Q, Kt, V
//                   buffers (views into them), then [mask] (f32, added; or bool, the Where
//                   condition) and [fill] (f32, Where's other operand), both broadcasting to
//                   the scores [B0, B1, S, T]. attrs: dims = [B0, B1, S, T, D, Dv];
//                   q_view, kt_view, v_view, o_view = [offset, 4 element strides] of the
//                   [B0, B1, rows, cols] matrices (default dense; Q and O need unit column
//                   stride, Kt and V one unit stride); scale_op = none | div | mul and scale;
//                   mask = none | add | where (scores where the condition holds) | where_not.
//   cpu.if          ONNX If of a run-time condition: inputs cond (one bool), then the values the
//                   branches read from the enclosing graph; Step::bodies = {then, else}, plans
//                   taking those values and giving the step's outputs, run with these kernels.
//   cpu.loop        ONNX Loop: inputs M, cond (either absent: -1), the initial carried values,
//                   then the values the body reads from the enclosing graph; attrs: carried
//                   (their count). Step::bodies = {body}: a plan taking (iteration, cond,
//                   carried..., read values...) and giving (cond, carried..., scan slices...);
//                   the step's outputs are the final carried values and the stacked scans.
//   cpu.scan        ONNX Scan: inputs [sequence_lens (opset 8's form, batched; absent: -1),]
//                   the initial states, the scan inputs, then the values the body reads from
//                   the enclosing graph; attrs: states (their count), batched (0/1),
//                   scan_input_axes (within each input, without the batch axis; normalised),
//                   scan_input_directions, scan_output_axes (may be negative),
//                   scan_output_directions (one entry per scan input or output; 1 = reverse).
//                   Step::bodies = {body}: a plan taking (states..., one slice of each scan
//                   input..., read values...) and giving (states..., scan output slices...);
//                   the step's outputs are the final states and the stacked scan outputs.
//   ref.<OpType>    any op the reference interpreter has, with its ONNX attributes.
//
// cpu.conv (source, output, residual) and cpu.pool (source, output, residual) read and write
// Layout::ChannelBlocked buffers as well as plain ones; so do cpu.eltwise, cpu.batch_norm,
// cpu.binary without broadcasting and cpu.chain without reductions or broadcasts, all their
// operands in one layout. Every other slot takes plain tensors. cpu.conv's and cpu.matmul's weight (input 1) may be a pre-packed constant
// (Buffer::packing); no other slot or kernel takes one.
//
// The compute kernels (conv, matmul, softmax, the norms, pool, eltwise, binary) also take
// attrs "post_ops" (the data-movement kernels and cpu.attention do not): a list of strings
// applied in order to their result (fused into the oneDNN primitive for conv, matmul and binary; run in place right
// after it for the others). Each has the meaning of an ONNX op sequence:
//   "relu"            Relu                   "leaky_relu[:A]"  LeakyRelu(alpha=A, 0.01)
//   "clip:LO:HI"      Clip(LO, HI)           "sigmoid"         Sigmoid
//   "tanh"            Tanh                   "sigmoid_mul"     y * Sigmoid(y)  (SiLU)
//   "gelu_erf"        Gelu                   "gelu_tanh"       Gelu(approximate=tanh)
//   "elu[:A]"         Elu(alpha=A, 1.0)      "hardswish"       HardSwish
//   "softplus"        Softplus               "linear:A:B"      y * A + B
//   "sum"             Add(y, R) where R, the residual, is the step's LAST input and has
//                     the output's shape (at most one "sum" per step).
// A configuration oneDNN cannot run is refused at prepare time with a plumb::Error that says
// to use the ref.* kernel; a lowering can catch it and fall back.
#pragma once

#include "runtime/RuntimeKernel.h"

#include <cstddef>
#include <string>

namespace plumb::cpu {

// Adds the cpu.* factories and the "ref.*" fallback to `r`.
void registerCpuKernels(KernelFactoryRegistry &r);
// Whether cpu.einsum runs this Einsum equation (otherwise lower to ref.Einsum).
bool einsumSupported(const std::string &equation);
// A process-wide registry with everything above, built on first use.
const KernelFactoryRegistry &cpuKernelRegistry();

// The channel block of Layout::ChannelBlocked tensors on this machine: oneDNN's nC...Xc with
// X = 8 (AVX2) or 16 (AVX-512), probed once from the layout oneDNN's convolutions pick; 0 when
// they prefer plain tensors (blocked buffers are then stored plain).
int channelBlock();

// oneDNN in Debian is built with OpenMP: this sets the OpenMP thread count of the calling
// thread (the one that runs the Executor). n <= 0 restores the default (all cores).
void setCpuThreads(int n);
int cpuThreads();

// cpu.conv's second route (backends/cpu/ConvIm2col.cpp: im2col + a oneDNN 1x1 convolution,
// faster than oneDNN 2.6's direct AVX2 kernel on small maps) takes convolutions whose output
// maps have at most this many pixels (default 784 = 28x28; 0 turns the route off). Read when
// a kernel is prepared; for tests and experiments that want the direct route.
void setIm2colConvMaxPixels(int64_t pixels);
int64_t im2colConvMaxPixels();

// cpu.conv's third route (backends/cpu/ConvWinograd.cpp: Winograd F(2x2, 3x3) around a oneDNN
// 1x1 convolution) for 3x3 stride-1 convolutions between channel-blocked maps; on by default.
// Read when a kernel is prepared; for tests and experiments that want the other routes.
void setWinogradConv(bool on);

// Pre-packs a plan's weights for an artifact: prepares the plan's CPU kernels once, as a
// loading executor would on this machine, and replaces every constant that its readers all
// keep in one blocked layout of their own (conv and matmul weights) by those reordered bytes
// (Buffer::packing; Alpha-scaled Gemm weights included). Loading such a plan then uses the
// stored bytes in place on a machine that chooses the same layouts (the same ISA), and
// reorders them from the stored layout on one that does not. Throws plumb::Error as an
// Executor would for a plan the kernels refuse.
struct PrepackReport {
  size_t weights = 0, packed = 0; // f32 constants read by some step; of them packed
  uint64_t plainBytes = 0;         // the plain bytes of all those constants
  uint64_t packedBytes = 0;        // the packed bytes of the packed ones
};
PrepackReport prepackWeights(Plan &plan);

// Constant weights that conv/matmul kernels reorder at prepare time are shared by every kernel
// of the process over the same constant, layout and scale (so a Session's executors hold one
// copy, not one each), and freed with the last kernel that uses them. For tests and
// diagnostics: reorders done (misses), reorders avoided (hits), reordered constants alive now.
struct SharedWeightStats {
  size_t misses = 0, hits = 0, live = 0;
};
SharedWeightStats sharedWeightStats();

} // namespace plumb::cpu
