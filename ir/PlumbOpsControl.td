// Control flow (If, Loop, Scan, SequenceMap: ops whose ONNX subgraphs are regions), sequence
// and optional ops, and the preview-training optimizers. Included from PlumbOps.td.
#ifndef PLUMB_OPS_CONTROL_TD
#define PLUMB_OPS_CONTROL_TD

include "ir/PlumbTypes.td"

//===----------------------------------------------------------------------===//
// Control flow. Bodies are ONNX subgraphs: single-block regions that may use values of the
// enclosing graph (not isolated from above) and end in plumb.yield. The interpreter runs
// them; fusion leaves them alone. An If of a constant condition becomes its branch
// (plumb-shape-refinement); the CPU lowering makes any other If a cpu.if step with a plan per
// branch and a Loop a cpu.loop step with a plan for its body, and refuses the rest naming the
// node.
//===----------------------------------------------------------------------===//

class Plumb_RegionOp<string mnemonic, string doc, string example, list<Trait> traits = []>
    : Plumb_Op<mnemonic, !listconcat(traits, [SingleBlock, RecursiveMemoryEffects])> {
  let summary = "ONNX " # mnemonic # ": " # doc;
  let description = "ONNX `" # mnemonic # "`: " # doc #
                    ".\n\nExample:\n\n```mlir\n" # example # "\n```\n";
  let hasVerifier = 1;
}

def Plumb_IfOp : Plumb_RegionOp<"If", "runs then_branch when cond is true, else else_branch; "
    "the results are the branch's yielded values",
    "%r = plumb.If(%c) : (tensor<i1>) -> tensor<2xf32> {\n"
    "  plumb.yield %a : tensor<2xf32>\n"
    "}, {\n"
    "  plumb.yield %b : tensor<2xf32>\n"
    "}"> {
  let arguments = (ins TensorOf<[I1]>:$cond);
  let results = (outs Variadic<Plumb_AnyValue>:$outputs);
  let regions = (region SizedRegion<1>:$then_branch, SizedRegion<1>:$else_branch);
  let assemblyFormat = [{
    `(` operands `)` attr-dict `:` functional-type(operands, results) $then_branch `,` $else_branch
  }];
}

def Plumb_LoopOp : Plumb_RegionOp<"Loop", "runs body while iter < M (when given) and cond "
    "(when given); the body gets (iter, cond, carried...) and yields (cond, carried..., "
    "scan outputs...); results are the final carried values, then the scan outputs stacked on "
    "a new axis 0",
    "%n = plumb.Loop(%m, %none, %x) : (tensor<i64>, none, tensor<f32>) -> tensor<f32> {\n"
    "^bb0(%i: tensor<i64>, %c: tensor<i1>, %v: tensor<f32>):\n"
    "  %w = plumb.Add(%v, %v) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
    "  plumb.yield %c, %w : tensor<i1>, tensor<f32>\n"
    "}"> {
  let arguments = (ins Plumb_OptTensor:$M, Plumb_OptTensor:$cond,
                   Variadic<Plumb_AnyValue>:$v_initial);
  let results = (outs Variadic<Plumb_AnyValue>:$v_final_and_scan_outputs);
  let regions = (region SizedRegion<1>:$body);
  let hasCanonicalizer = 1;
  let assemblyFormat = [{
    `(` operands `)` attr-dict `:` functional-type(operands, results) $body
  }];
}

def Plumb_ScanOp : Plumb_RegionOp<"Scan", "runs body once per slice of the scan inputs along "
    "their scan axes, carrying states; the body yields (states..., scan output slices...). "
    "Opset 8's form takes sequence_lens first and a batch axis 0",
    "%s, %y = plumb.Scan(%s0, %x) {num_scan_inputs = 1 : i64} : (tensor<2xf32>, tensor<3x2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>) {\n"
    "^bb0(%s: tensor<2xf32>, %xi: tensor<2xf32>):\n"
    "  %n = plumb.Add(%s, %xi) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n"
    "  plumb.yield %n, %n : tensor<2xf32>, tensor<2xf32>\n"
    "}"> {
  let arguments = (ins Variadic<Plumb_OptAnyValue>:$initial_state_and_scan_inputs,
                   I64Attr:$num_scan_inputs,
                   OptionalAttr<I64ArrayAttr>:$scan_input_axes,
                   OptionalAttr<I64ArrayAttr>:$scan_input_directions,
                   OptionalAttr<I64ArrayAttr>:$scan_output_axes,
                   OptionalAttr<I64ArrayAttr>:$scan_output_directions,
                   OptionalAttr<I64ArrayAttr>:$directions);
  let results = (outs Variadic<Plumb_Tensor>:$final_state_and_scan_outputs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` operands `)` attr-dict `:` functional-type(operands, results) $body
  }];
}

def Plumb_SequenceMapOp : Plumb_RegionOp<"SequenceMap", "runs body on each element of the "
    "input sequence (and the same-position element of each additional sequence, or the whole "
    "additional tensor); each yielded value becomes an element of an output sequence",
    "%o = plumb.SequenceMap(%s) : (!plumb.seq<tensor<?xf32>>) -> !plumb.seq<tensor<?xf32>> {\n"
    "^bb0(%x: tensor<?xf32>):\n"
    "  plumb.yield %x : tensor<?xf32>\n"
    "}"> {
  let arguments = (ins Plumb_Seq:$input_sequence, Variadic<Plumb_AnyValue>:$additional_inputs);
  let results = (outs Variadic<Plumb_Seq>:$out_sequence);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` operands `)` attr-dict `:` functional-type(operands, results) $body
  }];
}

//===----------------------------------------------------------------------===//
// Sequences and optionals
//===----------------------------------------------------------------------===//

def Plumb_SequenceConstructOp : Plumb_DocOp<"SequenceConstruct", "a sequence of the inputs, in order",
    "%s = plumb.SequenceConstruct(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> !plumb.seq<tensor<?xf32>>"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$inputs);
  let results = (outs Plumb_Seq:$output_sequence);
}
def Plumb_SequenceEmptyOp : Plumb_DocOp<"SequenceEmpty", "an empty sequence of element type `dtype` (f32 by default)",
    "%s = plumb.SequenceEmpty() {dtype = 7 : i64} : () -> !plumb.seq<tensor<*xi64>>"> {
  let arguments = (ins OptionalAttr<I64Attr>:$dtype);
  let results = (outs Plumb_Seq:$output);
}
def Plumb_SequenceAtOp : Plumb_DocOp<"SequenceAt", "the element at `position` (negative counts from the back)",
    "%t = plumb.SequenceAt(%s, %p) : (!plumb.seq<tensor<?xf32>>, tensor<i64>) -> tensor<?xf32>"> {
  let arguments = (ins Plumb_Seq:$input_sequence, Plumb_IntTensor:$position);
  let results = (outs Plumb_Tensor:$tensor);
  let hasCanonicalizer = 1;
}
def Plumb_SequenceInsertOp : Plumb_DocOp<"SequenceInsert", "the sequence with `tensor` inserted at `position` (at the back when absent)",
    "%o = plumb.SequenceInsert(%s, %t, %none) : (!plumb.seq<tensor<?xf32>>, tensor<2xf32>, none) -> !plumb.seq<tensor<?xf32>>"> {
  let arguments = (ins Plumb_Seq:$input_sequence, Plumb_Tensor:$tensor,
                   Plumb_OptIntTensor:$position);
  let results = (outs Plumb_Seq:$output_sequence);
}
def Plumb_SequenceEraseOp : Plumb_DocOp<"SequenceErase", "the sequence without the element at `position` (the last when absent)",
    "%o = plumb.SequenceErase(%s, %none) : (!plumb.seq<tensor<?xf32>>, none) -> !plumb.seq<tensor<?xf32>>"> {
  let arguments = (ins Plumb_Seq:$input_sequence, Plumb_OptIntTensor:$position);
  let results = (outs Plumb_Seq:$output_sequence);
}
def Plumb_SequenceLengthOp : Plumb_DocOp<"SequenceLength", "the number of elements, as an i64 scalar",
    "%n = plumb.SequenceLength(%s) : (!plumb.seq<tensor<?xf32>>) -> tensor<i64>"> {
  let arguments = (ins Plumb_Seq:$input_sequence);
  let results = (outs TensorOf<[I64]>:$length);
}
def Plumb_SplitToSequenceOp : Plumb_DocOp<"SplitToSequence", "splits along `axis` into a sequence: "
    "chunks of size `split` (scalar), of the listed sizes (1-D), or of size 1 when absent "
    "(then dropping the axis unless keepdims)",
    "%s = plumb.SplitToSequence(%x, %none) {axis = 0 : i64} : (tensor<3x2xf32>, none) -> !plumb.seq<tensor<2xf32>>"> {
  let arguments = (ins Plumb_Tensor:$input, Plumb_OptIntTensor:$split,
                   OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$keepdims);
  let results = (outs Plumb_Seq:$output_sequence);
}
def Plumb_ConcatFromSequenceOp : Plumb_DocOp<"ConcatFromSequence", "concatenates the elements "
    "along `axis` (stacks them on a new axis when new_axis = 1)",
    "%t = plumb.ConcatFromSequence(%s) {axis = 0 : i64} : (!plumb.seq<tensor<2xf32>>) -> tensor<?xf32>"> {
  let arguments = (ins Plumb_Seq:$input_sequence, I64Attr:$axis, OptionalAttr<I64Attr>:$new_axis);
  let results = (outs Plumb_Tensor:$concat_result);
}
def Plumb_OptionalOp : Plumb_DocOp<"Optional", "an optional holding the input, or an empty "
    "optional of `type` when the input is absent",
    "%o = plumb.Optional(%x) : (tensor<5xf32>) -> !plumb.opt<tensor<5xf32>>"> {
  let arguments = (ins Plumb_OptAnyValue:$input, OptionalAttr<TypeAttr>:$type);
  let results = (outs Plumb_Opt:$output);
}
def Plumb_OptionalHasElementOp : Plumb_DocOp<"OptionalHasElement", "true when the optional "
    "holds a value (a plain tensor or sequence input counts as present, an absent input as empty)",
    "%b = plumb.OptionalHasElement(%o) : (!plumb.opt<tensor<5xf32>>) -> tensor<i1>"> {
  let arguments = (ins Plumb_OptAnyValue:$input);
  let results = (outs TensorOf<[I1]>:$output);
  let hasCanonicalizer = 1;
}
def Plumb_OptionalGetElementOp : Plumb_DocOp<"OptionalGetElement", "the value an optional "
    "holds (an error when empty); a tensor or sequence input passes through",
    "%t = plumb.OptionalGetElement(%o) : (!plumb.opt<tensor<5xf32>>) -> tensor<5xf32>"> {
  let arguments = (ins Plumb_AnyValue:$input);
  let results = (outs AnyTypeOf<[Plumb_Tensor, Plumb_Seq]>:$output);
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Training optimizers (domain ai.onnx.preview.training): one deterministic update step for
// n tensors. Operands are (R, T, X1..Xn, G1..Gn, state groups...); results are the updated
// X group then the updated state groups.
//===----------------------------------------------------------------------===//

def Plumb_AdagradOp : Plumb_DocOp<"Adagrad", "H' = H + g*g, X' = X - r * g / (sqrt(H') + epsilon) "
    "with g = G + norm_coefficient * X and r = R / (1 + T * decay_factor)",
    "%x2, %h2 = plumb.Adagrad(%r, %t, %x, %g, %h) : (tensor<f32>, tensor<i64>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$inputs, OptionalAttr<F32Attr>:$decay_factor,
                   OptionalAttr<F32Attr>:$epsilon, OptionalAttr<F32Attr>:$norm_coefficient);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
  let hasVerifier = 1;
}
def Plumb_AdamOp : Plumb_DocOp<"Adam", "Adam with bias correction and optional weight decay "
    "before (norm_coefficient) and after (norm_coefficient_post) the step",
    "%x2, %v2, %h2 = plumb.Adam(%r, %t, %x, %g, %v, %h) : (tensor<f32>, tensor<i64>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$inputs, OptionalAttr<F32Attr>:$alpha,
                   OptionalAttr<F32Attr>:$beta, OptionalAttr<F32Attr>:$epsilon,
                   OptionalAttr<F32Attr>:$norm_coefficient,
                   OptionalAttr<F32Attr>:$norm_coefficient_post);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
  let hasVerifier = 1;
}
def Plumb_MomentumOp : Plumb_DocOp<"Momentum", "SGD with standard or Nesterov momentum "
    "(`mode`), V' = alpha * V + beta * g (beta = 1 at T = 0)",
    "%x2, %v2 = plumb.Momentum(%r, %t, %x, %g, %v) {alpha = 0.9 : f32, beta = 1.0 : f32, mode = \"standard\", norm_coefficient = 0.0 : f32} : (tensor<f32>, tensor<i64>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$inputs, F32Attr:$alpha, F32Attr:$beta,
                   StrAttr:$mode, F32Attr:$norm_coefficient);
  let results = (outs Variadic<Plumb_Tensor>:$outputs);
  let hasVerifier = 1;
}

#endif // PLUMB_OPS_CONTROL_TD
