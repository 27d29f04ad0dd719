// plumb's own types: ONNX sequences and optionals (the values of sequence and optional ops,
// Loop-carried sequences and If branches that return them).
#ifndef PLUMB_TYPES_TD
#define PLUMB_TYPES_TD

include "ir/PlumbBase.td"

class Plumb_Type<string name, string typeMnemonic> : TypeDef<Plumb_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def Plumb_SeqType : Plumb_Type<"Seq", "seq"> {
  let summary = "an ONNX sequence: an ordered list of tensors of one element type";
  let description = [{
    The element type is a tensor type; its shape says what every element is known to
    share (unranked when elements differ in rank).

    ```mlir
    %s = plumb.SequenceConstruct(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> !plumb.seq<tensor<?xf32>>
    ```
  }];
  let parameters = (ins "::mlir::TensorType":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def Plumb_OptType : Plumb_Type<"Opt", "opt"> {
  let summary = "an ONNX optional: a tensor or sequence, or nothing";
  let description = [{
    ```mlir
    %o = plumb.Optional(%x) : (tensor<5xf32>) -> !plumb.opt<tensor<5xf32>>
    ```
  }];
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
  let genVerifyDecl = 1;
}

def Plumb_Seq : Type<CPred<"::llvm::isa<::plumb::SeqType>($_self)">, "plumb sequence",
                     "::plumb::SeqType">;
def Plumb_Opt : Type<CPred<"::llvm::isa<::plumb::OptType>($_self)">, "plumb optional",
                     "::plumb::OptType">;
// Any ONNX value: tensor, sequence or optional.
def Plumb_AnyValue : AnyTypeOf<[Plumb_Tensor, Plumb_Seq, Plumb_Opt], "tensor, sequence or optional">;
def Plumb_OptAnyValue : AnyTypeOf<[Plumb_Tensor, Plumb_Seq, Plumb_Opt, NoneType],
                                  "tensor, sequence, optional or none">;

#endif // PLUMB_TYPES_TD
