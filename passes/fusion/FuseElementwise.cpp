// plumb-fuse-elementwise: trees of elementwise ops joined by single-use edges -> "elementwise".
#include "passes/Passes.h"
#include "passes/fusion/Match.h"

namespace plumb {
#define GEN_PASS_DEF_PLUMBFUSEELEMENTWISE
#include "passes/Passes.h.inc"

using namespace mlir;

namespace {

bool isElementwiseOp(Operation *op) {
  return isa<AbsOp, NegOp, ExpOp, LogOp, SqrtOp, ReciprocalOp, SinOp, CosOp, TanOp, AsinOp, AcosOp,
             AtanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp, TanhOp, ErfOp, SigmoidOp, ReluOp,
             FloorOp, CeilOp, RoundOp, SignOp, SoftplusOp, SoftsignOp, MishOp, IdentityOp, NotOp,
             HardSwishOp, LeakyReluOp, EluOp, CeluOp, SeluOp, ThresholdedReluOp, HardSigmoidOp,
             GeluOp, IsNaNOp, IsInfOp, CastOp, CastLikeOp, ClipOp>(op) ||
         isa<AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, AndOp, OrOp, XorOp, PReluOp, EqualOp, LessOp,
             GreaterOp, LessOrEqualOp, GreaterOrEqualOp, MinOp, MaxOp, SumOp, MeanOp, WhereOp>(op);
}

bool isFloatTensor(Type t) {
  auto tensor = dyn_cast<TensorType>(t);
  return tensor && isa<FloatType>(tensor.getElementType());
}

// An elementwise op on floating-point data. Integer-only chains are shape arithmetic, which
// constant folding handles; a kernel gains nothing from them.
bool isChainOp(Operation *op) {
  if (!isFusible(op) || !isElementwiseOp(op) || op->getNumResults() != 1)
    return false;
  return isFloatTensor(op->getResult(0).getType()) ||
         llvm::any_of(op->getOperandTypes(), isFloatTensor);
}

// Whether `op` continues into its only user (and so is not the root of its tree).
bool feedsChain(Operation *op) {
  Value r = op->getResult(0);
  return r.hasOneUse() && isChainOp(*r.user_begin());
}

// The tree under `root`: producers whose only use is a member join it.
SmallVector<Operation *> collectTree(Operation *root) {
  SmallVector<Operation *> tree{root};
  for (size_t i = 0; i < tree.size(); ++i)
    for (Value v : tree[i]->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (def && v.hasOneUse() && isChainOp(def) && !llvm::is_contained(tree, def))
        tree.push_back(def);
    }
  return tree;
}

// The trees to outline, each a list of trees joined into one fusion: a tree whose root is
// also read outside it (so its result is stored anyway) joins the first tree that reads it,
// when both roots have one shape, so one kernel writes both results (an LSTM step's c, read
// by its h and by the next step, and h). Joins chain: c's tree may itself have taken another.
std::vector<SmallVector<SmallVector<Operation *>>> joinSharedTrees(
    const SmallVector<SmallVector<Operation *>> &trees) {
  llvm::DenseMap<Operation *, size_t> treeOf; // member -> index of its tree
  for (auto [i, t] : llvm::enumerate(trees))
    for (Operation *op : t)
      treeOf[op] = i;
  std::vector<size_t> into(trees.size());
  for (size_t i = 0; i < trees.size(); ++i)
    into[i] = i;
  auto find = [&](size_t i) {
    while (into[i] != i)
      i = into[i];
    return i;
  };
  for (size_t i = 0; i < trees.size(); ++i) {
    Value r = trees[i].front()->getResult(0);
    if (r.hasOneUse())
      continue;
    std::optional<size_t> reader;
    for (Operation *u : r.getUsers())
      if (auto it = treeOf.find(u); it != treeOf.end() && it->second != i &&
                                    (!reader || trees[it->second].front()->isBeforeInBlock(
                                                    trees[*reader].front())))
        reader = it->second;
    if (!reader || r.getType() != trees[*reader].front()->getResult(0).getType() ||
        find(*reader) == find(i))
      continue;
    into[find(i)] = find(*reader);
  }
  std::vector<SmallVector<SmallVector<Operation *>>> joined(trees.size());
  for (size_t i = 0; i < trees.size(); ++i)
    joined[find(i)].push_back(trees[i]);
  llvm::erase_if(joined, [](const auto &j) { return j.empty(); });
  return joined;
}

struct FuseElementwise : impl::PlumbFuseElementwiseBase<FuseElementwise> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<SmallVector<Operation *>> trees;
    forEachTopLevelOp(getOperation(), [&](Operation *op) {
      if (!isChainOp(op) || feedsChain(op))
        return;
      SmallVector<Operation *> tree = collectTree(op);
      if (int64_t(tree.size()) >= minOps)
        trees.push_back(std::move(tree));
    });
    std::vector<SmallVector<SmallVector<Operation *>>> groups;
    if (multiOutput)
      groups = joinSharedTrees(trees);
    else
      for (auto &t : trees)
        groups.push_back({t});
    for (const auto &group : groups) {
      FusionMatch all{{}, "elementwise"};
      for (const auto &t : group)
        all.add(t);
      // A join the outliner refuses (a member would read a tree's result through an op
      // outside the group) falls back to each tree alone.
      if (!applyFusion(rewriter, all) && group.size() > 1)
        for (const auto &t : group)
          applyFusion(rewriter, FusionMatch{t, "elementwise"});
    }
  }
};

} // namespace
} // namespace plumb
