// plumb-fold-conv-bn: folds an inference BatchNormalization into the preceding Conv.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <cmath>

namespace plumb {
#define GEN_PASS_DEF_PLUMBFOLDCONVBATCHNORM
#include "passes/Passes.h.inc"

std::optional<Tensor> floatConstantOf(mlir::Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c || !c.getValueAttr())
    return std::nullopt;
  auto dt = dtypeOf(c.getValueAttr().getShapedType().getElementType());
  if (!dt || !isFloat(*dt))
    return std::nullopt;
  try {
    return tensorFromAttr(c.getValueAttr());
  } catch (const plumb::Error &) {
    return std::nullopt;
  }
}

namespace {

using mlir::LogicalResult;
using mlir::PatternRewriter;
using mlir::Value;

// Per-channel statistics of the BN, as doubles, one per output channel.
struct ChannelParams {
  std::vector<double> scale, beta, mean, var;
};

std::optional<ChannelParams> channelParams(BatchNormalizationOp bn, int64_t channels) {
  std::optional<Tensor> s = floatConstantOf(bn.getScale()), b = floatConstantOf(bn.getB()),
                        m = floatConstantOf(bn.getInputMean()),
                        v = floatConstantOf(bn.getInputVar());
  if (!s || !b || !m || !v)
    return std::nullopt;
  for (const Tensor *t : {&*s, &*b, &*m, &*v})
    if (t->numel() != channels)
      return std::nullopt;
  return ChannelParams{s->toDoubles(), b->toDoubles(), m->toDoubles(), v->toDoubles()};
}

// W *= k and B = (B - mean) * k + beta per output channel (W's leading dim), in place.
void foldStatistics(const ChannelParams &p, double eps, std::vector<double> &weights,
                    std::vector<double> &bias) {
  size_t perChannel = weights.size() / bias.size();
  for (size_t c = 0; c < bias.size(); ++c) {
    double k = p.scale[c] / std::sqrt(p.var[c] + eps);
    for (size_t i = c * perChannel; i < (c + 1) * perChannel; ++i)
      weights[i] *= k;
    bias[c] = (bias[c] - p.mean[c]) * k + p.beta[c];
  }
}

// A constant holding `values` (computed in double) stored in `dtype`.
Value makeConstant(PatternRewriter &rewriter, mlir::Location loc, DType dtype, Shape shape,
                   const std::vector<double> &values) {
  Tensor t = Tensor::fromVector(DType::F64, std::move(shape), values).cast(dtype);
  mlir::DenseElementsAttr attr = attrFromTensor(rewriter.getContext(), t);
  return ConstantOp::create(rewriter, loc, attr.getType(), attr, nullptr, nullptr, nullptr,
                            nullptr);
}

// The location of a folded weight: its origins under a marker. The weight is neither an
// old initializer nor an ONNX tensor, so no tensor-name metadata; the marker also keeps
// FusedLoc from collapsing to a single origin's location (which could carry a name).
mlir::Location foldedLoc(llvm::ArrayRef<mlir::Location> locs) {
  mlir::MLIRContext *ctx = locs.front()->getContext();
  return mlir::FusedLoc::get(ctx, locs, mlir::StringAttr::get(ctx, "plumb.folded"));
}

// Erases the constants that fed the replaced ops once nothing else uses them, so that the
// folded weights do not sit beside the originals until DCE.
void eraseDeadConstants(PatternRewriter &rewriter, llvm::ArrayRef<Value> values) {
  llvm::SmallPtrSet<mlir::Operation *, 8> seen;
  for (Value v : values)
    if (auto c = v.getDefiningOp<ConstantOp>())
      if (seen.insert(c).second && c->use_empty())
        rewriter.eraseOp(c);
}

// Conv(X, W, B) -> BatchNormalization(scale, beta, mean, var) becomes
// Conv(X, W * k, (B - mean) * k + beta) with k = scale / sqrt(var + epsilon) per output
// channel, computed in double and stored in W's type.
struct FoldConvBatchNorm : mlir::OpRewritePattern<BatchNormalizationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BatchNormalizationOp bn, PatternRewriter &rewriter) const override {
    auto conv = bn.getX().getDefiningOp<ConvOp>();
    if (!conv || !conv->hasOneUse())
      return rewriter.notifyMatchFailure(bn, "input is not a Conv used only by this op");
    if (!bn.getTrainingOutputs().empty() ||
        (bn.getTrainingModeAttr() && bn.getTrainingModeAttr().getInt() != 0) ||
        (bn.getSpatialAttr() && bn.getSpatialAttr().getInt() == 0))
      return rewriter.notifyMatchFailure(bn, "not a per-channel inference BatchNormalization");
    std::optional<Tensor> w = floatConstantOf(conv.getW());
    std::optional<Tensor> b = floatConstantOf(conv.getB());
    bool hasBias = !llvm::isa<mlir::NoneType>(conv.getB().getType());
    if (!w || w->rank() < 1 || (hasBias && (!b || b->numel() != w->dim(0))))
      return rewriter.notifyMatchFailure(bn, "Conv weight or bias is not a float constant");
    int64_t channels = w->dim(0);
    std::optional<ChannelParams> p = channelParams(bn, channels);
    if (!p)
      return rewriter.notifyMatchFailure(bn, "BatchNormalization parameters are not constants");

    double eps = bn.getEpsilonAttr() ? bn.getEpsilonAttr().getValueAsDouble() : 1e-5;
    std::vector<double> weights = w->toDoubles();
    std::vector<double> bias = hasBias ? b->toDoubles() : std::vector<double>(size_t(channels));
    foldStatistics(*p, eps, weights, bias);

    rewriter.setInsertionPoint(conv);
    Value newW = makeConstant(rewriter, foldedLoc({conv.getW().getLoc(), bn.getLoc()}), w->dtype(),
                              w->shape(), weights);
    Value biasOrigin = hasBias ? conv.getB() : bn.getB();
    Value newB = makeConstant(rewriter, foldedLoc({biasOrigin.getLoc(), bn.getLoc()}), w->dtype(),
                              {channels}, bias);
    // The Conv now computes the BN's output tensor: it carries both nodes and the BN's
    // output names so that tensorNameOf finds the BN's tensor on it.
    std::vector<std::string> names;
    for (unsigned i = 0; i < bn->getNumResults(); ++i)
      names.push_back(tensorNameOf(bn, i));
    mlir::Location loc = fuseNodeLocs({conv.getLoc(), bn.getLoc()}, names);
    auto folded = ConvOp::create(rewriter, loc, bn.getY().getType(),
                                 mlir::ValueRange{conv.getX(), newW, newB}, conv->getAttrs());
    llvm::SmallVector<Value> inputs{conv.getW(), conv.getB(),       bn.getScale(),
                                    bn.getB(),   bn.getInputMean(), bn.getInputVar()};
    rewriter.replaceOp(bn, folded);
    rewriter.eraseOp(conv);
    eraseDeadConstants(rewriter, inputs);
    return mlir::success();
  }
};

struct FoldConvBatchNormPass : impl::PlumbFoldConvBatchNormBase<FoldConvBatchNormPass> {
  void runOnOperation() override {
    // The walk driver applies each match once and neither folds nor merges constants, so
    // the locations of untouched constants (their ONNX names) stay as imported.
    mlir::RewritePatternSet patterns(&getContext());
    patterns.add<FoldConvBatchNorm>(&getContext());
    mlir::walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
} // namespace plumb
