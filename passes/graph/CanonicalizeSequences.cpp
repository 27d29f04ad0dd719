// Canonicalization patterns that take sequences out of the graph where they only carry
// tensors from one op to another, so that no sequence reaches a backend's plan: a Loop
// collecting a list, and SequenceAt of a SplitToSequence. Built into plumb_ir, like
// Canonicalize.cpp (the dialect's op registration refers to these functions).
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

#include <numeric>

using namespace mlir;

namespace plumb {

std::optional<std::vector<int64_t>> constantInts(Value v); // Canonicalize.cpp

namespace {

// An i64 constant of `values` (1-D).
Value i64s(PatternRewriter &rewriter, Location loc, llvm::ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, rewriter.getI64Type());
  return ConstantOp::create(rewriter, loc, type, DenseElementsAttr::get(type, values), nullptr,
                            nullptr, nullptr, nullptr);
}

// A Loop collecting a list (TorchScript's `outs = []; for ...: outs.append(t)` then
// torch.stack or torch.cat): a carried sequence that starts as SequenceEmpty, gains one
// element at the back each iteration (SequenceInsert without a position, nothing else reading
// it) and is read after the Loop by one ConcatFromSequence only is a scan output of the Loop
// (the elements stacked on a new axis 0), moved to the axis asked for: a Transpose for a
// stack on another axis, and a Reshape merging the new axis into `axis` for a concatenation
// (every other dim of the elements static). The sequence was the one value no backend plans.
// With no iteration the result is empty where ConcatFromSequence has nothing to concatenate.
struct CollectedSequenceAsScan : OpRewritePattern<LoopOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LoopOp op, PatternRewriter &rewriter) const override {
    Block &body = op.getBody().front();
    size_t carried = op.getVInitial().size();
    if (body.getNumArguments() != 2 + carried)
      return rewriter.notifyMatchFailure(op, "malformed body");
    auto yield = cast<YieldOp>(body.getTerminator());
    for (size_t k = 0; k < carried; ++k) {
      auto empty = op.getVInitial()[k].getDefiningOp<SequenceEmptyOp>();
      BlockArgument arg = body.getArgument(unsigned(2 + k));
      if (!empty || !arg.hasOneUse())
        continue;
      auto insert = dyn_cast<SequenceInsertOp>(*arg.getUsers().begin());
      if (!insert || insert.getInputSequence() != arg ||
          !isa<NoneType>(insert.getPosition().getType()) || !insert->hasOneUse() ||
          yield.getValues()[1 + k] != insert.getOutputSequence())
        continue;
      auto elem = dyn_cast<RankedTensorType>(insert.getTensor().getType());
      Value seq = op->getResult(unsigned(k));
      if (!elem || !seq.hasOneUse())
        continue;
      auto concat = dyn_cast<ConcatFromSequenceOp>(*seq.getUsers().begin());
      if (!concat)
        continue;
      if (succeeded(rewrite(op, k, insert, concat, elem, rewriter)))
        return success();
    }
    return rewriter.notifyMatchFailure(op, "no carried sequence collected for one concatenation");
  }

private:
  LogicalResult rewrite(LoopOp op, size_t k, SequenceInsertOp insert, ConcatFromSequenceOp concat,
                        RankedTensorType elem, PatternRewriter &rewriter) const {
    int64_t rank = elem.getRank();
    bool stack = concat.getNewAxis().value_or(0) != 0;
    int64_t axis = concat.getAxis();
    axis = axis < 0 ? axis + rank + (stack ? 1 : 0) : axis;
    if (axis < 0 || axis > rank - (stack ? 0 : 1))
      return rewriter.notifyMatchFailure(concat, "axis out of range");
    auto want = dyn_cast<RankedTensorType>(concat.getType());
    if (!want || want.getElementType() != elem.getElementType() ||
        want.getRank() != rank + (stack ? 1 : 0))
      return rewriter.notifyMatchFailure(concat, "result type does not fit the elements");
    std::vector<int64_t> merged; // a concatenation: the Reshape's shape
    if (!stack) {
      for (int64_t d = 0; d < rank; ++d) {
        if (d != axis && elem.isDynamicDim(unsigned(d)))
          return rewriter.notifyMatchFailure(concat, "elements of open dims besides the axis");
        merged.push_back(d == axis ? -1 : elem.getDimSize(unsigned(d)));
      }
    }
    // The stacked elements: [iterations, elem...], or the result itself when that is all.
    SmallVector<int64_t> stackedShape = {ShapedType::kDynamic};
    stackedShape.append(elem.getShape().begin(), elem.getShape().end());
    Type stackedType = stack && axis == 0 ? Type(want)
                                          : RankedTensorType::get(stackedShape, elem.getElementType());
    std::string concatName = tensorNameOf(concat, 0);

    // The new Loop: carried value k gone, one more scan output.
    size_t carried = op.getVInitial().size();
    SmallVector<Value> operands = {op.getM(), op.getCond()};
    SmallVector<Type> types;
    std::vector<std::string> names;
    for (size_t i = 0; i < carried; ++i)
      if (i != k)
        operands.push_back(op.getVInitial()[i]);
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      if (i != k) {
        types.push_back(op->getResult(i).getType());
        names.push_back(tensorNameOf(op, i));
      }
    types.push_back(stackedType);
    names.push_back(stack && axis == 0 ? concatName : tensorNameOf(op, unsigned(k)) + ".stacked");
    auto loop = LoopOp::create(rewriter, fuseNodeLocs({op.getLoc()}, names), types, operands,
                               op->getAttrs());
    rewriter.inlineRegionBefore(op.getBody(), loop.getBody(), loop.getBody().end());
    Block &body = loop.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> yielded(yield.getValues().begin(), yield.getValues().end());
    yielded.erase(yielded.begin() + long(1 + k));
    yielded.push_back(insert.getTensor());
    rewriter.modifyOpInPlace(yield, [&] { yield->setOperands(yielded); });
    rewriter.eraseOp(insert);
    body.eraseArgument(unsigned(2 + k));

    Value stacked = loop->getResult(loop->getNumResults() - 1);
    Value result = stacked;
    rewriter.setInsertionPoint(concat);
    if (axis > 0) { // the new axis 0 moved to `axis`
      SmallVector<int64_t> perm, shape;
      for (int64_t d = 0; d <= rank; ++d) {
        int64_t from = d < axis ? d + 1 : d == axis ? 0 : d;
        perm.push_back(from);
        shape.push_back(stackedShape[size_t(from)]);
      }
      Type movedType = stack ? Type(want) : RankedTensorType::get(shape, elem.getElementType());
      result = TransposeOp::create(
          rewriter, fuseNodeLocs({concat.getLoc()}, {stack ? concatName : concatName + ".moved"}),
          movedType, result, rewriter.getI64ArrayAttr(perm));
    }
    if (!stack) { // the new axis merged into `axis`
      result = ReshapeOp::create(rewriter, fuseNodeLocs({concat.getLoc()}, {concatName}), want,
                                 result, i64s(rewriter, concat.getLoc(), merged), nullptr);
    }
    rewriter.replaceOp(concat, result);
    SmallVector<Value> replacements;
    for (unsigned i = 0, next = 0; i < op->getNumResults(); ++i)
      replacements.push_back(i == k ? Value() : loop->getResult(next++));
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      if (i != k)
        rewriter.replaceAllUsesWith(op->getResult(i), replacements[i]);
    rewriter.eraseOp(op);
    return success();
  }
};

// SequenceAt of a SplitToSequence at a constant position is that chunk of the input: a Slice
// along the axis (and a Squeeze where SplitToSequence drops it: no split, keepdims 0), as
// TorchScript exports `x.unbind(d)[i]` or `torch.split(x, n, d)[i]`. Needs the axis's dim
// static and a constant split; a position out of range is left to the reference's error.
struct SequenceAtOfSplit : OpRewritePattern<SequenceAtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SequenceAtOp op, PatternRewriter &rewriter) const override {
    auto split = op.getInputSequence().getDefiningOp<SplitToSequenceOp>();
    auto x = split ? dyn_cast<RankedTensorType>(split.getInput().getType()) : nullptr;
    std::optional<std::vector<int64_t>> pos = constantInts(op.getPosition());
    if (!x || !pos || pos->size() != 1)
      return rewriter.notifyMatchFailure(op, "not a constant position in a ranked split");
    int64_t rank = x.getRank();
    int64_t axis = split.getAxis().value_or(0);
    axis = axis < 0 ? axis + rank : axis;
    if (axis < 0 || axis >= rank || x.isDynamicDim(unsigned(axis)))
      return rewriter.notifyMatchFailure(op, "axis out of range or of an open dim");
    int64_t dim = x.getDimSize(unsigned(axis));
    std::vector<int64_t> sizes;
    bool squeeze = false;
    if (isa<NoneType>(split.getSplit().getType())) {
      sizes.assign(size_t(dim), 1);
      squeeze = split.getKeepdims().value_or(1) == 0;
    } else {
      std::optional<std::vector<int64_t>> s = constantInts(split.getSplit());
      auto st = dyn_cast<RankedTensorType>(split.getSplit().getType());
      if (!s || !st || s->empty())
        return rewriter.notifyMatchFailure(op, "split is not constant");
      if (st.getRank() == 0) {
        if ((*s)[0] <= 0)
          return rewriter.notifyMatchFailure(op, "split size not positive");
        for (int64_t at = 0; at < dim; at += (*s)[0])
          sizes.push_back(std::min((*s)[0], dim - at));
      } else {
        sizes = *s;
        if (llvm::any_of(sizes, [](int64_t n) { return n < 0; }) ||
            std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
          return rewriter.notifyMatchFailure(op, "split sizes do not add up to the dim");
      }
    }
    int64_t count = int64_t(sizes.size()), p = (*pos)[0];
    p = p < 0 ? p + count : p;
    if (p < 0 || p >= count)
      return rewriter.notifyMatchFailure(op, "position out of range");
    int64_t start = std::accumulate(sizes.begin(), sizes.begin() + p, int64_t(0));
    SmallVector<int64_t> shape(x.getShape());
    shape[size_t(axis)] = sizes[size_t(p)];
    auto sliced = RankedTensorType::get(shape, x.getElementType());
    if (squeeze)
      shape.erase(shape.begin() + axis);
    auto type = RankedTensorType::get(shape, x.getElementType());
    if (type != op.getType() &&
        llvm::any_of(op->getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); }))
      return rewriter.notifyMatchFailure(op, "returned with a type of its own");
    Location loc = op.getLoc();
    std::string name = tensorNameOf(op, 0);
    Location sliceLoc = squeeze ? fuseNodeLocs({loc}, {name + ".chunk"}) : loc;
    Value none = NoneOp::create(rewriter, loc, rewriter.getNoneType());
    Value y = SliceOp::create(rewriter, sliceLoc, sliced, split.getInput(),
                              i64s(rewriter, loc, {start}),
                              i64s(rewriter, loc, {start + sizes[size_t(p)]}),
                              i64s(rewriter, loc, {axis}), none, nullptr, nullptr, nullptr);
    if (squeeze)
      y = moduleOpset(op) >= 13
              ? SqueezeOp::create(rewriter, loc, type, y, i64s(rewriter, loc, {axis}), nullptr)
              : SqueezeOp::create(rewriter, loc, type, y, none, rewriter.getI64ArrayAttr({axis}));
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void LoopOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<CollectedSequenceAsScan>(ctx);
}
void SequenceAtOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<SequenceAtOfSplit>(ctx);
}

} // namespace plumb
