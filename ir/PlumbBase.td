// The plumb dialect, its type constraints, op base classes and the shape inference interface.
#ifndef PLUMB_BASE_TD
#define PLUMB_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "ir/PlumbInterfaces.td"

def Plumb_Dialect : Dialect {
  let name = "plumb";
  let cppNamespace = "::plumb";
  let summary = "ONNX-semantics tensor ops, fusion regions and their verifiers";
  let description = [{
    One op per ONNX operator, named exactly like the ONNX op type (`plumb.Conv`,
    `plumb.LayerNormalization`). Operands are ONNX-positional: an absent optional input is
    a value of type `none` produced by `plumb.none`. Attributes keep their ONNX names and
    kinds (INT → i64, FLOAT → f32, INTS → array of i64, STRING → string, TENSOR → elements).
    Where an ONNX attribute became an input in a later opset, both forms are accepted and
    the module's `plumb.opset` tells the interpreter which semantics apply.
  }];
  // Plain attributes (not properties): the importer and the interpreter handle every op's
  // attributes generically by their ONNX names.
  let usePropertiesForAttributes = 0;
  let hasConstantMaterializer = 0;
  let useDefaultTypePrinterParser = 1;
}

// Element types of plumb tensors: the nine the backends support plus the rest of ONNX's
// integer types and its 8- and 4-bit floats (ONNX FLOAT8E4M3FN ... FLOAT8E8M0, INT4,
// UINT4), which conformance data uses and the reference interpreter converts.
def Plumb_ElementType : AnyTypeOf<[F32, F16, BF16, F64, I64, I32, I16, I8, UI8, UI16, UI32,
                                   UI64, I1, F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ,
                                   F4E2M1FN, F8E8M0FNU, I<4>, UI<4>]>;
def Plumb_Tensor : TensorOf<[Plumb_ElementType]>;
def Plumb_OptTensor : AnyTypeOf<[Plumb_Tensor, NoneType], "tensor or none">;
def Plumb_IntTensor : TensorOf<[I64, I32]>;
def Plumb_OptIntTensor : AnyTypeOf<[Plumb_IntTensor, NoneType], "integer tensor or none">;

// Every plumb op: ONNX semantics, generic assembly `plumb.Op(%a, %b) {attrs} : (...) -> ...`.
class Plumb_Op<string mnemonic, list<Trait> traits = []>
    : Op<Plumb_Dialect, mnemonic,
         !listconcat(traits, [Plumb_ShapeInferenceOpInterface])> {
  let assemblyFormat = "`(` operands `)` attr-dict `:` functional-type(operands, results)";
}

// An op whose ONNX documentation is summarised in `doc` and illustrated by `example`.
class Plumb_DocOp<string mnemonic, string doc, string example, list<Trait> traits = []>
    : Plumb_Op<mnemonic, !listconcat(traits, [Pure])> {
  let summary = "ONNX " # mnemonic # ": " # doc;
  let description = "ONNX `" # mnemonic # "` with the operator's ONNX semantics: " # doc #
                    ".\n\nExample:\n\n```mlir\n" # example # "\n```\n";
}

class Plumb_UnaryOp<string mnemonic, string doc, dag attrs = (ins)>
    : Plumb_DocOp<mnemonic, doc,
        "%y = plumb." # mnemonic # "(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>"> {
  let arguments = !con((ins Plumb_Tensor:$X), attrs);
  let results = (outs Plumb_Tensor:$Y);
}

class Plumb_BinaryOp<string mnemonic, string doc, dag attrs = (ins)>
    : Plumb_DocOp<mnemonic, doc # " (numpy broadcasting)",
        "%c = plumb." # mnemonic #
        "(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>"> {
  let arguments = !con((ins Plumb_Tensor:$A, Plumb_Tensor:$B), attrs);
  let results = (outs Plumb_Tensor:$C);
}

class Plumb_CompareOp<string mnemonic, string doc>
    : Plumb_DocOp<mnemonic, doc # " (numpy broadcasting, bool result)",
        "%c = plumb." # mnemonic #
        "(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>"> {
  let arguments = (ins Plumb_Tensor:$A, Plumb_Tensor:$B);
  let results = (outs TensorOf<[I1]>:$C);
}

class Plumb_VariadicOp<string mnemonic, string doc>
    : Plumb_DocOp<mnemonic, doc # " (numpy broadcasting over all inputs)",
        "%s = plumb." # mnemonic #
        "(%a, %b, %c) : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>"> {
  let arguments = (ins Variadic<Plumb_Tensor>:$data_0);
  let results = (outs Plumb_Tensor:$result);
  let hasVerifier = 1;
}

// Reductions: axes as an optional input (the newest form) or, in older opsets, an attribute.
// Where an ONNX attribute and input share a name, the operand is suffixed `_in`.
class Plumb_ReduceOp<string mnemonic, string doc>
    : Plumb_DocOp<mnemonic, doc # " over `axes` (all axes when absent)",
        "%r = plumb." # mnemonic # "(%x, %axes) {keepdims = 1 : i64} : " #
        "(tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<2x3x1xf32>"> {
  let arguments = (ins Plumb_Tensor:$data, Plumb_OptIntTensor:$axes_in,
                   OptionalAttr<I64ArrayAttr>:$axes,
                   OptionalAttr<I64Attr>:$keepdims,
                   OptionalAttr<I64Attr>:$noop_with_empty_axes);
  let results = (outs Plumb_Tensor:$reduced);
}

#endif // PLUMB_BASE_TD
