// Canonicalization patterns of plumb ops (the ops' getCanonicalizationPatterns).
//
// Built into plumb_ir (see passes/CMakeLists.txt): the dialect's op registration refers to
// these functions, so every binary that links the dialect needs them.
//
// ONNX identity: a pattern that removes an op forwards its input to the op's users, so the
// removed op's output tensor name disappears and the surviving value keeps its own name.
// That is acceptable: the removed tensor held the same values as the survivor (Identity,
// Dropout, Cast to the same type, Expand to the same shape, Transpose pairs that cancel),
// or, for the inner op of a composed Reshape/Transpose pair, was an intermediate that no
// longer exists; a comparison by name simply has one tensor fewer to compare.
#include "ir/PlumbDialect.h"
#include "passes/graph/Folding.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace plumb {

// The integers held by a constant operand (dense or resource data), or nullopt; also
// nullopt for a resource whose data was not loaded (a module printed without weights).
std::optional<std::vector<int64_t>> constantInts(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c || !c.getValueAttr() || !c.getValueAttr().getShapedType().getElementType().isIntOrIndex())
    return std::nullopt;
  try {
    return tensorFromAttr(c.getValueAttr()).toInts();
  } catch (const plumb::Error &) {
    return std::nullopt;
  }
}

namespace {

// Replaces `op` by `input` when their types agree exactly (users such as func.return need it).
LogicalResult forward(PatternRewriter &rewriter, Operation *op, Value input) {
  if (input.getType() != op->getResult(0).getType())
    return rewriter.notifyMatchFailure(op, "input and result types differ");
  rewriter.replaceOp(op, input);
  return success();
}

struct RemoveIdentity : OpRewritePattern<IdentityOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(IdentityOp op, PatternRewriter &rewriter) const override {
    return forward(rewriter, op, op.getX());
  }
};

// Dropout is the identity at inference (training_mode absent or constant false). A mask
// that is read is all true: an Expand of a true scalar to the data's (static) shape, which
// carries the mask's name.
struct RemoveInferenceDropout : OpRewritePattern<DropoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DropoutOp op, PatternRewriter &rewriter) const override {
    auto maskType = op.getMask() ? dyn_cast<RankedTensorType>(op.getMask().getType()) : nullptr;
    if (op.getMask() && !op.getMask().use_empty() && !(maskType && maskType.hasStaticShape()))
      return rewriter.notifyMatchFailure(op, "mask is used and not statically shaped");
    Value mode = op.getTrainingMode();
    if (!isa<NoneType>(mode.getType())) {
      std::optional<std::vector<int64_t>> v = constantInts(mode);
      if (!v || llvm::any_of(*v, [](int64_t x) { return x != 0; }))
        return rewriter.notifyMatchFailure(op, "training_mode is not constant false");
    }
    if (op.getData().getType() != op.getOutput().getType())
      return rewriter.notifyMatchFailure(op, "input and result types differ");
    if (op.getMask() && !op.getMask().use_empty()) {
      auto boolScalar = RankedTensorType::get({}, rewriter.getI1Type());
      auto shapeType = RankedTensorType::get({maskType.getRank()}, rewriter.getI64Type());
      Location loc = fuseNodeLocs({op.getLoc()}, {tensorNameOf(op, 1)});
      Value yes = ConstantOp::create(rewriter, loc, boolScalar, DenseElementsAttr::get(boolScalar, true),
                                     nullptr, nullptr, nullptr, nullptr);
      Value shape = ConstantOp::create(rewriter, loc, shapeType,
                                       DenseElementsAttr::get(shapeType, maskType.getShape()), nullptr,
                                       nullptr, nullptr, nullptr);
      rewriter.replaceAllUsesWith(op.getMask(), ExpandOp::create(rewriter, loc, maskType, yes, shape));
    }
    rewriter.replaceAllUsesWith(op.getOutput(), op.getData());
    rewriter.eraseOp(op);
    return success();
  }
};

struct RemoveNoopCast : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op, PatternRewriter &rewriter) const override {
    return forward(rewriter, op, op.getInput());
  }
};

// CastLike(x, t) -> Cast(x, to = t's element type): the target is read for its type only, so
// a backend need not treat it as an operand (a generated elementwise kernel would broadcast
// it into its iteration space).
struct CastLikeToCast : OpRewritePattern<CastLikeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastLikeOp op, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<TensorType>(op.getOutput().getType());
    std::optional<DType> dt = type ? dtypeOf(type.getElementType()) : std::nullopt;
    if (!dt)
      return rewriter.notifyMatchFailure(op, "no known element type");
    rewriter.replaceOpWithNewOp<CastOp>(op, type, op.getInput(),
                                        rewriter.getI64IntegerAttr(dtypeToOnnx(*dt)),
                                        op.getSaturateAttr(), op.getRoundModeAttr());
    return success();
  }
};

// Reshape(Reshape(x, s1), s2) -> Reshape(x, s2): only the element count of the inner result
// matters, unless s2 has a 0, which copies a dim of the inner result (allowzero = 0).
struct ComposeReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getData().getDefiningOp<ReshapeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a Reshape");
    bool allowZero = op.getAllowzeroAttr() && op.getAllowzeroAttr().getInt() != 0;
    if (!allowZero) {
      std::optional<std::vector<int64_t>> shape = constantInts(op.getShape());
      if (!shape || llvm::is_contained(*shape, 0))
        return rewriter.notifyMatchFailure(op, "shape may copy dims of the inner Reshape");
    }
    rewriter.modifyOpInPlace(op, [&] { op.getDataMutable().assign(inner.getData()); });
    return success();
  }
};

// A Reshape to the static type its input already has (often what ComposeReshapes leaves).
struct RemoveNoopReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getData().getType());
    if (!type || !type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "input shape is not static");
    return forward(rewriter, op, op.getData());
  }
};

// A Transpose's permutation (reversed dims when `perm` is absent), or nullopt when the
// rank is unknown.
std::optional<SmallVector<int64_t>> permOf(TransposeOp op) {
  if (ArrayAttr perm = op.getPermAttr()) {
    SmallVector<int64_t> p;
    for (Attribute a : perm)
      p.push_back(cast<IntegerAttr>(a).getInt());
    return p;
  }
  auto type = dyn_cast<RankedTensorType>(op.getData().getType());
  if (!type)
    return std::nullopt;
  SmallVector<int64_t> p;
  for (int64_t d = type.getRank() - 1; d >= 0; --d)
    p.push_back(d);
  return p;
}

// Transpose(Transpose(x, p1), p2) -> Transpose(x, q) with q[j] = p1[p2[j]].
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getData().getDefiningOp<TransposeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a Transpose");
    std::optional<SmallVector<int64_t>> p1 = permOf(inner), p2 = permOf(op);
    if (!p1 || !p2 || p1->size() != p2->size())
      return rewriter.notifyMatchFailure(op, "permutations are unknown");
    SmallVector<int64_t> composed;
    for (int64_t j : *p2) {
      if (j < 0 || j >= int64_t(p1->size()))
        return rewriter.notifyMatchFailure(op, "permutation out of range");
      composed.push_back((*p1)[size_t(j)]);
    }
    rewriter.modifyOpInPlace(op, [&] {
      op.getDataMutable().assign(inner.getData());
      op.setPermAttr(rewriter.getI64ArrayAttr(composed));
    });
    return success();
  }
};

struct RemoveIdentityTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    std::optional<SmallVector<int64_t>> p = permOf(op);
    for (size_t i = 0; p && i < p->size(); ++i)
      if ((*p)[i] != int64_t(i))
        p.reset();
    if (!p)
      return rewriter.notifyMatchFailure(op, "permutation is not the identity");
    return forward(rewriter, op, op.getData());
  }
};

// The axes of a Squeeze/Unsqueeze (input since opset 13, attribute before), normalised to
// [0, rank) and sorted; nullopt when absent or not constant.
template <typename OpTy> std::optional<std::vector<int64_t>> axesOf(OpTy op, int64_t rank) {
  std::optional<std::vector<int64_t>> axes;
  if (!isa<NoneType>(op.getAxesIn().getType()))
    axes = constantInts(op.getAxesIn());
  else if (ArrayAttr attr = op.getAxesAttr()) {
    axes = std::vector<int64_t>();
    for (Attribute a : attr)
      axes->push_back(cast<IntegerAttr>(a).getInt());
  }
  if (!axes)
    return std::nullopt;
  for (int64_t &a : *axes)
    a = a < 0 ? a + rank : a;
  llvm::sort(*axes);
  return axes;
}

// Squeeze(Unsqueeze(x, axes), axes) -> x. Both axes lists refer to the Unsqueeze's result.
struct RemoveSqueezeOfUnsqueeze : OpRewritePattern<SqueezeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SqueezeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getData().getDefiningOp<UnsqueezeOp>();
    auto type = dyn_cast<RankedTensorType>(op.getData().getType());
    if (!inner || !type)
      return rewriter.notifyMatchFailure(op, "input is not a ranked Unsqueeze");
    std::optional<std::vector<int64_t>> squeezed = axesOf(op, type.getRank());
    std::optional<std::vector<int64_t>> unsqueezed = axesOf(inner, type.getRank());
    if (!squeezed || !unsqueezed || *squeezed != *unsqueezed)
      return rewriter.notifyMatchFailure(op, "axes differ or are not constant");
    return forward(rewriter, op, inner.getData());
  }
};

// Expand to the static shape the input already has is the identity (ONNX Expand broadcasts
// both ways, so the result type, not the shape operand, decides).
struct RemoveNoopExpand : OpRewritePattern<ExpandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandOp op, PatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!type || !type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "input shape is not static");
    return forward(rewriter, op, op.getInput());
  }
};

// OptionalHasElement of a plain tensor or sequence is true, of an absent input false: a
// constant, which the backends (whose plans hold no optionals) take.
struct FoldPlainHasElement : OpRewritePattern<OptionalHasElementOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OptionalHasElementOp op, PatternRewriter &rewriter) const override {
    Type in = op.getInput().getType();
    auto result = dyn_cast<RankedTensorType>(op.getOutput().getType());
    if (isa<OptType>(in) || !result || !result.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "an optional input, or an open result type");
    bool present = !isa<NoneType>(in);
    rewriter.replaceOpWithNewOp<ConstantOp>(op, result, DenseElementsAttr::get(result, present),
                                            nullptr, nullptr, nullptr, nullptr);
    return success();
  }
};

// OptionalGetElement of a plain tensor or sequence is that value.
struct FoldPlainGetElement : OpRewritePattern<OptionalGetElementOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OptionalGetElementOp op, PatternRewriter &rewriter) const override {
    if (isa<OptType>(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "an optional input");
    return forward(rewriter, op, op.getInput());
  }
};

} // namespace

void OptionalHasElementOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                       MLIRContext *ctx) {
  results.add<FoldPlainHasElement>(ctx);
}
void OptionalGetElementOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                       MLIRContext *ctx) {
  results.add<FoldPlainGetElement>(ctx);
}
void IdentityOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<RemoveIdentity>(ctx);
}
void DropoutOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<RemoveInferenceDropout>(ctx);
}
void CastOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<RemoveNoopCast>(ctx);
}
void CastLikeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<CastLikeToCast>(ctx);
}
void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeReshapes, RemoveNoopReshape>(ctx);
}
void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeTransposes, RemoveIdentityTranspose>(ctx);
}
void SqueezeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<RemoveSqueezeOfUnsqueeze>(ctx);
}
void ExpandOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<RemoveNoopExpand>(ctx);
}

} // namespace plumb
