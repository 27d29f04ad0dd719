// plumb-pack-projections: MatMuls (or Gemms) of one input by constant weights (attention's Q,
// K and V projections; SwiGLU's gate and up) become one MatMul (Gemm) by the weights side by
// side, and a Split gives each projection back.
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

// How a projection holds its weights: MatMul's W [K, N]; Gemm's B as [K, N] (transB 0) or
// [N, K] (transB 1). Only projections of one layout are packed together, so the packed op is
// the op the exporter wrote, with its weights laid out as the originals were.
enum class Layout { MatMul, GemmKN, GemmNK };

// One projection: x @ W (+ b), W a constant 2-D weight, b a constant [N] added to the product
// alone: a MatMul's only user Add, or a Gemm's C (alpha and beta 1, A not transposed).
struct Projection {
  mlir::Operation *op; // MatMulOp or GemmOp
  Layout layout;
  AddOp bias;       // a MatMul's bias Add; null: none (a Gemm's bias is its C)
  Value biasValue;  // the constant b; null: none
  Tensor w, b;
  Value x() { return op->getOperand(0); }
  Value weights() { return op->getOperand(1); }
  Value product() { return op->getResult(0); }
  Value result() { return bias ? bias.getResult() : product(); }
  int64_t k() { return layout == Layout::GemmNK ? w.dim(1) : w.dim(0); }
  int64_t n() { return layout == Layout::GemmNK ? w.dim(0) : w.dim(1); }
};

bool isOne(std::optional<llvm::APFloat> f) { return !f || f->convertToDouble() == 1.0; }

std::optional<Projection> projectionOf(mlir::Operation *op) {
  auto gemm = llvm::dyn_cast<GemmOp>(op);
  if (gemm && (gemm.getTransA().value_or(0) != 0 || !isOne(gemm.getAlpha())))
    return std::nullopt;
  std::optional<Tensor> w = floatConstantOf(op->getOperand(1));
  if (!w || w->rank() != 2)
    return std::nullopt;
  Layout layout = !gemm ? Layout::MatMul
                  : gemm.getTransB().value_or(0) ? Layout::GemmNK
                                                 : Layout::GemmKN;
  Projection p{op, layout, nullptr, Value(), *w, Tensor()};
  auto isBias = [&](const std::optional<Tensor> &b) {
    return b && b->rank() >= 1 && b->rank() <= 2 && b->numel() == p.n() &&
           b->dim(b->rank() - 1) == p.n() && b->dtype() == w->dtype();
  };
  if (gemm) {
    if (!gemm.getC() || llvm::isa<mlir::NoneType>(gemm.getC().getType()))
      return p;
    std::optional<Tensor> b = floatConstantOf(gemm.getC());
    if (!isBias(b) || !isOne(gemm.getBeta()))
      return std::nullopt; // a C over rows, or a scaled one: not a projection's bias
    p.biasValue = gemm.getC();
    p.b = b->reshaped({p.n()});
    return p;
  }
  Value y = p.product();
  if (!y.hasOneUse())
    return p;
  auto add = llvm::dyn_cast<AddOp>(*y.user_begin());
  if (!add)
    return p;
  Value other = add.getA() == y ? add.getB() : add.getA();
  std::optional<Tensor> b = floatConstantOf(other);
  if (isBias(b) && b->rank() == 1 && add.getResult().getType() == y.getType()) {
    p.bias = add;
    p.biasValue = other;
    p.b = *b;
  }
  return p;
}

// [K, N1] ... [K, Nn] side by side: [K, N1 + ... + Nn]; [N1, K] ... [Nn, K] one under another:
// [N1 + ... + Nn, K]; 1-D pieces one after another.
Tensor packed(const std::vector<Tensor> &parts, Layout layout) {
  bool stacked = layout == Layout::GemmNK || parts[0].rank() == 1;
  int64_t rows = stacked ? 1 : parts[0].dim(0), cols = 0;
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
  Shape shape = parts[0].rank() == 1       ? Shape{cols}
                : layout == Layout::GemmNK ? Shape{cols / parts[0].dim(1), parts[0].dim(1)}
                                           : Shape{rows, cols};
  return Tensor::fromVector(DType::F64, shape, all).cast(parts[0].dtype());
}


// Packs `group` (at least two projections of one input and layout, all with a bias or all
// without, weights of one type and K) into one MatMul (+ Add) or Gemm, and a Split, at the
// first one's place.
void pack(std::vector<Projection> &group, int64_t opset) {
  mlir::Operation *first = group[0].op;
  for (Projection &p : group)
    if (p.op->isBeforeInBlock(first))
      first = p.op;
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
    sizes.push_back(p.n());
    mmLocs.push_back(p.op->getLoc());
    wNames.push_back(nameOf(p.weights()));
    mmNames.push_back(nameOf(p.product()));
    if (p.biasValue) {
      bs.push_back(p.b);
      bNames.push_back(nameOf(p.biasValue));
    }
    if (p.bias) {
      addLocs.push_back(p.bias.getLoc());
      addNames.push_back(nameOf(p.bias.getResult()));
    }
    mlir::Operation *out = p.bias ? p.bias.getOperation() : p.op;
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
  Layout layout = group[0].layout;
  Value x = group[0].x();
  auto xt = llvm::cast<mlir::RankedTensorType>(group[0].product().getType());
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  llvm::SmallVector<int64_t> shape(xt.getShape());
  shape.back() = total;
  auto packedType = mlir::RankedTensorType::get(shape, xt.getElementType());
  Value w = constantOf(b, packedLoc(mmLocs, wNames), packed(ws, layout));
  auto packedBias = [&] {
    return constantOf(b, packedLoc(addLocs.empty() ? mmLocs : addLocs, bNames), packed(bs, layout));
  };
  Value y;
  if (layout == Layout::MatMul) {
    y = MatMulOp::create(b, packedLoc(mmLocs, mmNames), packedType, x, w);
    if (!bs.empty())
      y = AddOp::create(b, packedLoc(addLocs, addNames), packedType, y, packedBias());
  } else {
    Value c = !bs.empty() ? packedBias()
                          : NoneOp::create(b, b.getUnknownLoc(), b.getNoneType()).getResult();
    mlir::IntegerAttr transB = layout == Layout::GemmNK ? b.getI64IntegerAttr(1) : nullptr;
    y = GemmOp::create(b, packedLoc(mmLocs, mmNames), packedType, x, w, c, nullptr, nullptr,
                       nullptr, transB);
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
    splitIn = intsConstantOf(b, packedLoc(mmLocs, outNames, ".sizes"), sizes);
  } else {
    splitAttr = b.getI64ArrayAttr(sizes);
    splitIn = NoneOp::create(b, b.getUnknownLoc(), b.getNoneType());
  }
  auto split = SplitOp::create(b, fuseNodeLocs(outLocs, outNames), types, y, splitIn, axis,
                               nullptr, splitAttr);
  for (auto [i, p] : llvm::enumerate(group)) {
    p.result().replaceAllUsesWith(split.getResult(unsigned(i)));
    Value oldW = p.weights(), oldB = p.biasValue;
    if (p.bias)
      p.bias.erase();
    p.op->erase();
    for (Value c : {oldW, oldB})
      if (c && c.use_empty())
        if (mlir::Operation *d = c.getDefiningOp(); d && llvm::isa<ConstantOp, NoneOp>(d))
          d->erase();
  }
}

struct PackProjectionsPass : impl::PlumbPackProjectionsBase<PackProjectionsPass> {
  void runOnOperation() override {
    int64_t opset = 17;
    if (auto module = getOperation()->getParentOfType<mlir::ModuleOp>())
      if (auto a = module->getAttrOfType<mlir::IntegerAttr>(kOpsetAttr))
        opset = a.getInt();
    // Projections by input, then by (layout, bias or not, weight type, K): the groups to pack.
    std::vector<std::vector<Projection>> groups;
    llvm::DenseMap<Value, std::map<std::tuple<int, bool, int, int64_t>, size_t>> index;
    getOperation().walk([&](mlir::Operation *op) {
      if (!llvm::isa<MatMulOp, GemmOp>(op) || !llvm::isa<mlir::func::FuncOp>(op->getParentOp()))
        return;
      auto at = llvm::dyn_cast<mlir::RankedTensorType>(op->getOperand(0).getType());
      auto yt = llvm::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
      if (!at || !yt || !yt.hasStaticShape() || at.getRank() < 2)
        return;
      std::optional<Projection> p = projectionOf(op);
      if (!p || p->k() != at.getShape().back())
        return;
      auto key = std::make_tuple(int(p->layout), bool(p->biasValue), int(p->w.dtype()), p->k());
      auto &byKey = index[p->x()];
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

Value constantOf(mlir::OpBuilder &b, mlir::Location loc, const Tensor &t) {
  mlir::DenseElementsAttr attr = attrFromTensor(b.getContext(), t);
  return ConstantOp::create(b, loc, attr.getType(), attr, nullptr, nullptr, nullptr, nullptr);
}

Value intsConstantOf(mlir::OpBuilder &b, mlir::Location loc, const std::vector<int64_t> &v) {
  return constantOf(b, loc, Tensor::fromVector(DType::I64, {int64_t(v.size())}, v));
}

} // namespace plumb
