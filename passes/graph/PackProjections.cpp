// plumb-pack-projections: MatMuls of one input by constant weights (attention's Q, K and V
// projections; SwiGLU's gate and up) become one MatMul by the weights side by side, and a
// Split gives each projection back.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/IR/Builders.h"

#include <map>

namespace plumb {
#define GEN_PASS_DEF_PLUMBPACKPROJECTIONS
#include "passes/Passes.h.inc"

namespace {

using mlir::Value;

// One projection: x @ W (+ b), W a constant [K, N], b a constant [N] added to the product
// alone (the product's only use).
struct Projection {
  MatMulOp matmul;
  AddOp bias; // null: none
  Tensor w, b;
  Value result() { return bias ? bias.getResult() : matmul.getResult(); }
};

std::optional<Projection> projectionOf(MatMulOp mm) {
  std::optional<Tensor> w = floatConstantOf(mm.getB());
  if (!w || w->rank() != 2)
    return std::nullopt;
  Projection p{mm, nullptr, *w, Tensor()};
  Value y = mm.getResult();
  if (!y.hasOneUse())
    return p;
  auto add = llvm::dyn_cast<AddOp>(*y.user_begin());
  if (!add)
    return p;
  Value other = add.getA() == y ? add.getB() : add.getA();
  std::optional<Tensor> b = floatConstantOf(other);
  if (b && b->rank() == 1 && b->dim(0) == w->dim(1) && b->dtype() == w->dtype() &&
      add.getResult().getType() == y.getType()) {
    p.bias = add;
    p.b = *b;
  }
  return p;
}

// [K, N1] ... [K, Nn] side by side: [K, N1 + ... + Nn]; or 1-D pieces one after another.
Tensor sideBySide(const std::vector<Tensor> &parts) {
  int64_t rows = parts[0].rank() == 2 ? parts[0].dim(0) : 1, cols = 0;
  for (const Tensor &t : parts)
    cols += t.numel() / rows;
  std::vector<double> all(size_t(rows * cols));
  int64_t at = 0;
  for (const Tensor &t : parts) {
    std::vector<double> v = t.toDoubles();
    int64_t n = t.numel() / rows;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n; ++c)
        all[size_t(r * cols + at + c)] = v[size_t(r * n + c)];
    at += n;
  }
  Shape shape = parts[0].rank() == 2 ? Shape{rows, cols} : Shape{cols};
  return Tensor::fromVector(DType::F64, shape, all).cast(parts[0].dtype());
}

Value constantOf(mlir::OpBuilder &b, mlir::Location loc, const Tensor &t) {
  mlir::DenseElementsAttr attr = attrFromTensor(b.getContext(), t);
  return ConstantOp::create(b, loc, attr.getType(), attr, nullptr, nullptr, nullptr, nullptr);
}

// Packs `group` (at least two projections of one input, all with a bias or all without,
// weights of one type and K) into MatMul (+ Add) + Split, at the first one's place.
void pack(std::vector<Projection> &group, int64_t opset) {
  mlir::Operation *first = group[0].matmul;
  for (Projection &p : group)
    if (p.matmul->isBeforeInBlock(first))
      first = p.matmul;
  mlir::OpBuilder b(first);
  std::vector<Tensor> ws, bs;
  std::vector<int64_t> sizes;
  llvm::SmallVector<mlir::Location> mmLocs, addLocs, outLocs;
  std::vector<std::string> outNames, wNames, bNames, mmNames, addNames;
  auto nameOf = [](Value v) {
    mlir::Operation *d = v.getDefiningOp();
    return d ? tensorNameOf(d, llvm::cast<mlir::OpResult>(v).getResultNumber()) : std::string();
  };
  for (Projection &p : group) {
    ws.push_back(p.w);
    sizes.push_back(p.w.dim(1));
    mmLocs.push_back(p.matmul.getLoc());
    wNames.push_back(nameOf(p.matmul.getB()));
    mmNames.push_back(nameOf(p.matmul.getResult()));
    if (p.bias) {
      bs.push_back(p.b);
      addLocs.push_back(p.bias.getLoc());
      bNames.push_back(nameOf(p.bias.getA() == p.matmul.getResult() ? p.bias.getB()
                                                                     : p.bias.getA()));
      addNames.push_back(nameOf(p.bias.getResult()));
    }
    mlir::Operation *out = p.bias ? p.bias.getOperation() : p.matmul.getOperation();
    outLocs.push_back(out->getLoc());
    outNames.push_back(tensorNameOf(out, 0));
  }
  // The packed weights and products are no ONNX tensors: their locations carry the nodes
  // and a name made of the originals' ("packed(q.weight,k.weight,v.weight)"), for --stats,
  // inspect and error messages; no parity check looks for it in the reference.
  auto packedLoc = [&](llvm::ArrayRef<mlir::Location> locs, const std::vector<std::string> &names,
                       const std::string &suffix = "") {
    std::string joined;
    for (const std::string &n : names)
      joined += (joined.empty() ? "" : ",") + n;
    return fuseNodeLocs(locs, {"packed(" + joined + ")" + suffix});
  };
  Value x = group[0].matmul.getA();
  auto xt = llvm::cast<mlir::RankedTensorType>(group[0].matmul.getResult().getType());
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  llvm::SmallVector<int64_t> shape(xt.getShape());
  shape.back() = total;
  auto packedType = mlir::RankedTensorType::get(shape, xt.getElementType());
  Value w = constantOf(b, packedLoc(mmLocs, wNames), sideBySide(ws));
  Value y = MatMulOp::create(b, packedLoc(mmLocs, mmNames), packedType, x, w);
  if (!bs.empty()) {
    Value bias = constantOf(b, packedLoc(addLocs, bNames), sideBySide(bs));
    y = AddOp::create(b, packedLoc(addLocs, addNames), packedType, y, bias);
  }
  // The Split computes the projections' tensors: it carries their nodes and names, so
  // parity checks and bisect find q, k and v where they were.
  llvm::SmallVector<mlir::Type> types;
  for (Projection &p : group)
    types.push_back(p.result().getType());
  Value splitIn;
  mlir::IntegerAttr axis = b.getI64IntegerAttr(-1);
  mlir::ArrayAttr splitAttr;
  if (opset >= 13) { // the sizes are an input since opset 13, an attribute before
    std::vector<double> v(sizes.begin(), sizes.end());
    Tensor t = Tensor::fromVector(DType::F64, {int64_t(sizes.size())}, v).cast(DType::I64);
    splitIn = constantOf(b, packedLoc(mmLocs, outNames, ".sizes"), t);
  } else {
    splitAttr = b.getI64ArrayAttr(sizes);
    splitIn = NoneOp::create(b, b.getUnknownLoc(), b.getNoneType());
  }
  auto split = SplitOp::create(b, fuseNodeLocs(outLocs, outNames), types, y, splitIn, axis,
                               nullptr, splitAttr);
  for (auto [i, p] : llvm::enumerate(group)) {
    p.result().replaceAllUsesWith(split.getResult(unsigned(i)));
    Value oldW = p.matmul.getB(), oldB;
    if (p.bias) {
      oldB = p.bias.getA() == p.matmul.getResult() ? p.bias.getB() : p.bias.getA();
      p.bias.erase();
    }
    p.matmul.erase();
    for (Value c : {oldW, oldB})
      if (c && c.use_empty())
        if (auto op = c.getDefiningOp<ConstantOp>())
          op.erase();
  }
}

struct PackProjectionsPass : impl::PlumbPackProjectionsBase<PackProjectionsPass> {
  void runOnOperation() override {
    int64_t opset = 17;
    if (auto module = getOperation()->getParentOfType<mlir::ModuleOp>())
      if (auto a = module->getAttrOfType<mlir::IntegerAttr>(kOpsetAttr))
        opset = a.getInt();
    // Projections by input, then by (bias or not, weight type, K): the groups to pack.
    std::vector<std::vector<Projection>> groups;
    llvm::DenseMap<Value, std::map<std::tuple<bool, int, int64_t>, size_t>> index;
    getOperation().walk([&](MatMulOp mm) {
      if (!llvm::isa<mlir::func::FuncOp>(mm->getParentOp()))
        return;
      auto at = llvm::dyn_cast<mlir::RankedTensorType>(mm.getA().getType());
      auto yt = llvm::dyn_cast<mlir::RankedTensorType>(mm.getResult().getType());
      if (!at || !yt || !yt.hasStaticShape() || at.getRank() < 2)
        return;
      std::optional<Projection> p = projectionOf(mm);
      if (!p || p->w.dim(0) != at.getShape().back())
        return;
      auto key = std::make_tuple(bool(p->bias), int(p->w.dtype()), p->w.dim(0));
      auto &byKey = index[mm.getA()];
      auto it = byKey.find(key);
      if (it == byKey.end()) {
        byKey[key] = groups.size();
        groups.push_back({*p});
      } else {
        groups[it->second].push_back(*p);
      }
    });
    for (std::vector<Projection> &g : groups)
      if (g.size() >= 2)
        pack(g, opset);
  }
};

} // namespace
} // namespace plumb
