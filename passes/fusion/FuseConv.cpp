// plumb-fuse-conv: Conv + per-channel bias Add + residual Add + activation -> plumb.fusion.
#include "passes/Passes.h"
#include "passes/fusion/Activations.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBFUSECONV
#include "passes/Passes.h.inc"

using namespace mlir;

namespace {

// A constant shaped [C, 1, ..] or [1, C, 1, ..] against a conv output [N, C, spatial..]: it
// adds one value per output channel, which is what a conv kernel's bias does.
bool isPerChannelBias(Value c, ConvOp conv) {
  std::optional<SmallVector<int64_t>> shape = isConstant(c) ? staticShape(c) : std::nullopt;
  auto weight = dyn_cast<RankedTensorType>(conv.getW().getType());
  if (!shape || !weight || weight.isDynamicDim(0))
    return false;
  int64_t rank = weight.getRank(), channels = weight.getDimSize(0);
  size_t channelDim = shape->size() == size_t(rank) ? 1 : 0;
  if (shape->size() != size_t(rank) && shape->size() != size_t(rank - 1))
    return false;
  for (auto [i, d] : llvm::enumerate(*shape))
    if (d != (i == channelDim ? channels : 1))
      return false;
  return true;
}

std::optional<FusionMatch> matchConv(ConvOp conv) {
  FusionMatch m{{conv}, "conv"};
  Value cur = conv.getResult();
  if (isa<NoneType>(conv.getB().getType()))
    if (auto add = soleUser<AddOp>(cur); add && isPerChannelBias(otherOperand(add, cur), conv)) {
      m.add(add);
      m.kind += "+bias";
      cur = add.getResult();
    }
  // One residual Add and one activation, in whichever order the model applies them.
  bool haveResidual = false, haveActivation = false;
  while (!haveResidual || !haveActivation) {
    std::optional<ActivationMatch> act = haveActivation ? std::nullopt : matchActivation(cur);
    if (act) {
      m.add(act->ops);
      m.kind += "+" + act->name;
      cur = act->output;
      haveActivation = true;
      continue;
    }
    auto add = haveResidual ? nullptr : soleUser<AddOp>(cur);
    if (!add || !isResidualAdd(add, cur, conv))
      break;
    m.add(add);
    m.kind += "+add";
    cur = add.getResult();
    haveResidual = true;
  }
  if (m.ops.size() < 2)
    return std::nullopt;
  return m;
}

struct FuseConv : impl::PlumbFuseConvBase<FuseConv> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    forEachTopLevelOp(getOperation(), [&](Operation *op) {
      auto conv = dyn_cast<ConvOp>(op);
      if (!conv || !isFusible(conv))
        return;
      if (std::optional<FusionMatch> m = matchConv(conv))
        applyFusion(rewriter, *m);
    });
  }
};

} // namespace
} // namespace plumb
