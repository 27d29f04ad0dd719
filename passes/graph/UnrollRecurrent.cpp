// plumb-unroll-recurrent: RNN, GRU and LSTM with static shapes, unrolled over their (static)
// sequence into the ops each step computes, as the reference does them:
// - the input projection of every step at once: X W^T + bias, one MatMul per direction (the
//   bias is W's plus R's for the gates whose R bias is not inside a reset gate);
// - per step: that step's row of it (a Gather at a constant index), H R^T (a MatMul by the
//   transposed R constant), the gates as slices of the sum, the activations (Sigmoid, Tanh,
//   Relu), clip as a Clip, peepholes, the new state (h and c);
// - Y as the Concat of each step's h (reshaped to one step), the final states as the Concat
//   of each direction's last h (and c).
// A backend with a matrix-multiply library and generated elementwise kernels then runs the
// op as one library call and one gate kernel per step (CUDA: it was a host step). The
// weights' pieces (a direction's W and R transposed, its biases, peepholes) are ops on W, R,
// B and P, folded into constants here when those are constants (exported models), computed
// at run time when they are inputs. Initial states absent are zero constants. Every ONNX
// activation is written as its op (alpha/beta as the reference takes them: in order, by the
// functions that use them). Left as one op: more than kMaxSteps steps. (A step at or past
// a sequence's length keeps its state and gives zeros in Y: forward, the state after the last
// step; reversed, the initial state until the sequence's own last step, where it starts.) The ops producing Y, Y_h and Y_c carry the node and
// those outputs' names.
#include "passes/Passes.h"
#include "passes/graph/Folding.h"

#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/RecurrentActivations.h"
#include "ir/TensorAttr.h"

#include "mlir/IR/Builders.h"

#include <cctype>

namespace plumb {
#define GEN_PASS_DEF_PLUMBUNROLLRECURRENT
#include "passes/Passes.h.inc"

namespace {

using mlir::Operation;
using mlir::Value;

// Steps of one direction unrolled at most (each is a MatMul and a gate kernel or two).
constexpr int64_t kMaxSteps = 256;
// Largest result the pass folds into a constant (a transposed weight).
constexpr int64_t kFoldBytes = int64_t(1) << 30;

// Records the ops a builder creates, in order (to fold those with constant operands).
struct Recorder : mlir::OpBuilder::Listener {
  std::vector<Operation *> ops;
  void notifyOperationInserted(Operation *op, mlir::OpBuilder::InsertPoint) override {
    ops.push_back(op);
  }
};

struct Unroller {
  mlir::OpBuilder b;
  Operation *op;
  std::string name;
  DType dt = DType::F32;
  mlir::Type elt;
  int64_t T = 0, B = 0, I = 0, H = 0, G = 1, dirs = 1;
  bool batchFirst = false, reverse = false, linearBeforeReset = false, inputForget = false;
  double clip = 0;
  bool masked = false;           // sequence_lens shorter than T
  std::vector<ref::RecurrentActivation> acts; // per direction, G's (1 RNN, 2 GRU, 3 LSTM)

  explicit Unroller(Operation *o) : b(o), op(o), name(tensorNameOf(o, 0)) {
    if (name.empty())
      name = nodeNameOf(o);
  }

  mlir::Location loc(const std::string &suffix) {
    return fuseNodeLocs({op->getLoc()}, {name + "/" + suffix});
  }
  mlir::RankedTensorType type(llvm::ArrayRef<int64_t> shape) {
    return mlir::RankedTensorType::get(shape, elt);
  }
  Value constant(const std::vector<double> &v, const Shape &shape, const std::string &what) {
    return constantOf(b, loc(what), Tensor::fromVector(DType::F64, shape, v).cast(dt));
  }
  Value zeros(const Shape &shape, const std::string &what) {
    return constant(std::vector<double>(size_t(numElements(shape)), 0.0), shape, what);
  }
  Value ints(const std::vector<int64_t> &v, const std::string &what) {
    return intsConstantOf(b, loc(what), v);
  }
  bool given(unsigned operand) {
    return op->getNumOperands() > operand && !absent(op->getOperand(operand));
  }
  // Row `index` of `x` along `axis` (that axis dropped).
  Value gather(Value x, int64_t index, int64_t axis, const std::string &what) {
    auto t = llvm::cast<mlir::RankedTensorType>(x.getType());
    llvm::SmallVector<int64_t> shape(t.getShape());
    shape.erase(shape.begin() + axis);
    Value i = constantOf(b, loc(what + ".index"), Tensor::scalarI64(index));
    return GatherOp::create(b, loc(what), type(shape), x, i, b.getI64IntegerAttr(axis));
  }
  // [begin, end) of `x` along `axis`.
  Value slice(Value x, int64_t axis, int64_t begin, int64_t end, const std::string &what) {
    auto t = llvm::cast<mlir::RankedTensorType>(x.getType());
    if (begin == 0 && end == t.getDimSize(axis))
      return x;
    llvm::SmallVector<int64_t> shape(t.getShape());
    shape[size_t(axis)] = end - begin;
    Value none = NoneOp::create(b, loc(what + ".steps"), b.getNoneType());
    return SliceOp::create(b, loc(what), type(shape), x, ints({begin}, what + ".starts"),
                           ints({end}, what + ".ends"), ints({axis}, what + ".axes"), none,
                           nullptr, nullptr, nullptr);
  }
  Value concat(llvm::ArrayRef<Value> parts, int64_t axis, mlir::Location l) {
    if (parts.size() == 1)
      return parts[0];
    auto t = llvm::cast<mlir::RankedTensorType>(parts[0].getType());
    llvm::SmallVector<int64_t> shape(t.getShape());
    shape[size_t(axis)] = 0;
    for (Value p : parts)
      shape[size_t(axis)] += llvm::cast<mlir::RankedTensorType>(p.getType()).getDimSize(axis);
    return ConcatOp::create(b, l, type(shape), parts, b.getI64IntegerAttr(axis));
  }
  Value reshape(Value x, llvm::ArrayRef<int64_t> shape, mlir::Location l) {
    return ReshapeOp::create(b, l, type(shape), x, ints(std::vector<int64_t>(shape), "shape"),
                             nullptr);
  }
  Value matmul(Value x, Value m, const std::string &what) {
    auto xt = llvm::cast<mlir::RankedTensorType>(x.getType());
    llvm::SmallVector<int64_t> shape(xt.getShape());
    shape.back() = llvm::cast<mlir::RankedTensorType>(m.getType()).getShape().back();
    return MatMulOp::create(b, loc(what), type(shape), x, m);
  }
  // Elementwise ops of operands whose broadcast shape is x's (sub: y's).
  Value add(Value x, Value y, const std::string &what) {
    return AddOp::create(b, loc(what), x.getType(), x, y);
  }
  Value mul(Value x, Value y, const std::string &what) {
    return MulOp::create(b, loc(what), x.getType(), x, y);
  }
  Value sub(Value x, Value y, const std::string &what) {
    return SubOp::create(b, loc(what), y.getType(), x, y);
  }
  Value clipped(Value x, const std::string &what) {
    if (clip <= 0)
      return x;
    return ClipOp::create(b, loc(what + ".clip"), x.getType(), x, constant({-clip}, {}, what + ".lo"),
                          constant({clip}, {}, what + ".hi"), nullptr, nullptr);
  }
  // f(x) as ops; those with alpha/beta carry them (Affine and ScaledTanh as Mul/Add/Tanh).
  Value activation(const ref::RecurrentActivation &f, Value x, const std::string &what) {
    auto ty = x.getType();
    auto a = b.getF32FloatAttr(float(f.alpha)), be = b.getF32FloatAttr(float(f.beta));
    auto scalar = [&](double v, const char *which) { return constant({v}, {}, what + which); };
    if (f.name == "sigmoid")
      return SigmoidOp::create(b, loc(what), ty, x);
    if (f.name == "tanh")
      return TanhOp::create(b, loc(what), ty, x);
    if (f.name == "relu")
      return ReluOp::create(b, loc(what), ty, x);
    if (f.name == "leakyrelu")
      return LeakyReluOp::create(b, loc(what), ty, x, a);
    if (f.name == "thresholdedrelu")
      return ThresholdedReluOp::create(b, loc(what), ty, x, a);
    if (f.name == "elu")
      return EluOp::create(b, loc(what), ty, x, a);
    if (f.name == "hardsigmoid")
      return HardSigmoidOp::create(b, loc(what), ty, x, a, be);
    if (f.name == "softsign")
      return SoftsignOp::create(b, loc(what), ty, x);
    if (f.name == "softplus")
      return SoftplusOp::create(b, loc(what), ty, x);
    if (f.name == "affine")
      return add(mul(x, scalar(f.alpha, ".alpha"), what + ".scaled"), scalar(f.beta, ".beta"), what);
    // scaledtanh: alpha tanh(beta x)
    Value t = TanhOp::create(b, loc(what + ".tanh"), ty, mul(x, scalar(f.beta, ".beta"), what + ".in"));
    return mul(t, scalar(f.alpha, ".alpha"), what);
  }

  // Rows [begin, end) of direction d of weight `operand` ([dirs, rows, cols]), transposed:
  // [cols, end - begin], the right operand of a MatMul.
  Value transposedRows(unsigned operand, int64_t d, int64_t begin, int64_t end,
                       const std::string &what) {
    Value m = slice(gather(op->getOperand(operand), d, 0, what + ".dir"), 0, begin, end, what + ".rows");
    auto t = llvm::cast<mlir::RankedTensorType>(m.getType());
    return TransposeOp::create(b, loc(what), type({t.getDimSize(1), t.getDimSize(0)}), m,
                               b.getI64ArrayAttr({1, 0}));
  }
  // Elements [begin, end) of direction d of `operand` ([dirs, n]); zeros when absent.
  Value part(unsigned operand, int64_t d, int64_t begin, int64_t end, const std::string &what) {
    if (!given(operand))
      return zeros({end - begin}, what);
    return slice(gather(op->getOperand(operand), d, 0, what + ".dir"), 0, begin, end, what);
  }
  // Direction d's initial state (operand 5: h, 6: c) as [B, H]; zeros when absent.
  Value initial(unsigned operand, int64_t d, const std::string &what) {
    if (given(operand))
      return gather(op->getOperand(operand), d, batchFirst ? 1 : 0, what);
    return zeros({B, H}, what);
  }

  void run();
};

void Unroller::run() {
  Value x = op->getOperand(0);
  int64_t GH = G * H;
  std::vector<std::vector<Value>> hs(static_cast<size_t>(dirs));
  std::vector<Value> lastH, lastC;
  for (int64_t d = 0; d < dirs; ++d) {
    std::string dn = "d" + std::to_string(d) + ".";
    const ref::RecurrentActivation *f = &acts[size_t(d * (G == 1 ? 1 : G == 3 ? 2 : 3))];
    // X W^T + the biases outside the recurrence (all but GRU's R bias of h with
    // linear_before_reset, which the reset gate multiplies), every step at once.
    Value xw = matmul(x, transposedRows(1, d, 0, GH, dn + "w_t"), dn + "x_w");
    if (given(3)) {
      Value rb = part(3, d, GH, 2 * GH, dn + "r_bias");
      if (G == 3 && linearBeforeReset)
        rb = concat({slice(rb, 0, 0, 2 * H, dn + "r_bias_zr"), zeros({H}, dn + "no_r_bias_h")}, 0,
                    loc(dn + "r_bias_outside"));
      xw = add(xw, add(part(3, d, 0, GH, dn + "w_bias"), rb, dn + "x_bias"), dn + "x_w_b");
    }
    Value rt, rzr, rh, rhBias;
    if (G == 3 && !linearBeforeReset) {
      rzr = transposedRows(2, d, 0, 2 * H, dn + "r_zr_t");
      rh = transposedRows(2, d, 2 * H, 3 * H, dn + "r_h_t");
    } else {
      rt = transposedRows(2, d, 0, GH, dn + "r_t");
    }
    if (G == 3 && linearBeforeReset && given(3))
      rhBias = concat({zeros({2 * H}, dn + "no_r_bias_zr"), part(3, d, GH + 2 * H, 2 * GH, dn + "r_bias_h")},
                      0, loc(dn + "r_bias_inside"));
    std::vector<Value> peeps;
    if (G == 4 && given(7))
      for (int64_t g = 0; g < 3; ++g)
        peeps.push_back(part(7, d, g * H, (g + 1) * H, dn + "p" + std::to_string(g)));
    Value h = initial(5, d, dn + "h0"), c = G == 4 ? initial(6, d, dn + "c0") : Value();
    Value one = G == 1 ? Value() : constant({1.0}, {}, dn + "one");
    hs[size_t(d)].resize(size_t(T));
    for (int64_t s = 0; s < T; ++s) {
      int64_t t = (reverse || d == 1) ? T - 1 - s : s;
      std::string sn = dn + "t" + std::to_string(t) + ".";
      Value xt = gather(xw, t, batchFirst ? 1 : 0, sn + "x");
      Value h0 = h, c0 = c;
      // f(clip(x's columns of gate g + `hpart`)): a gate's activation.
      auto gate = [&](int64_t g, Value hpart, const ref::RecurrentActivation &fn,
                      const std::string &what) {
        Value xg = slice(xt, 1, g * H, (g + 1) * H, sn + "x_" + what);
        Value pre = add(xg, hpart, sn + "pre_" + what);
        return activation(fn, clipped(pre, sn + what), sn + what);
      };
      if (G == 1) { // RNN
        h = gate(0, matmul(h, rt, sn + "h_r"), f[0], "h");
      } else if (G == 3) { // GRU: z, r, h
        Value hr = matmul(h, rt ? rt : rzr, sn + "h_r");
        if (rhBias)
          hr = add(hr, rhBias, sn + "h_r_b");
        Value z = gate(0, slice(hr, 1, 0, H, sn + "h_part_z"), f[0], "z");
        Value rg = gate(1, slice(hr, 1, H, 2 * H, sn + "h_part_r"), f[0], "r");
        Value hpart = rt ? mul(rg, slice(hr, 1, 2 * H, 3 * H, sn + "h_part_h"), sn + "reset_h")
                         : matmul(mul(rg, h, sn + "reset"), rh, sn + "reset_h");
        Value cand = gate(2, hpart, f[1], "cand");
        h = add(mul(sub(one, z, sn + "keep_new"), cand, sn + "new"), mul(z, h, sn + "old"), sn + "h");
      } else { // LSTM: i, o, f, c
        // From a zero initial state the first step's gates are x's row alone (no GEMM of
        // zeros, no Add of its folded result).
        Value pre = s == 0 && !given(5) ? xt : add(xt, matmul(h, rt, sn + "h_r"), sn + "pre");
        auto preOf = [&](int64_t g, const char *what) {
          return slice(pre, 1, g * H, (g + 1) * H, sn + what);
        };
        Value pi = preOf(0, "pre_i"), po = preOf(1, "pre_o"), pf = preOf(2, "pre_f"), pc = preOf(3, "pre_c");
        if (!peeps.empty()) {
          pi = add(pi, mul(c, peeps[0], sn + "peep_i"), sn + "pre_i_p");
          pf = add(pf, mul(c, peeps[2], sn + "peep_f"), sn + "pre_f_p");
        }
        Value ig = activation(f[0], clipped(pi, sn + "i"), sn + "i");
        Value fg = inputForget ? sub(one, ig, sn + "f")
                               : activation(f[0], clipped(pf, sn + "f"), sn + "f");
        Value cand = activation(f[1], clipped(pc, sn + "cand"), sn + "cand");
        c = add(mul(fg, c, sn + "kept_c"), mul(ig, cand, sn + "new_c"), sn + "c");
        if (!peeps.empty())
          po = add(po, mul(c, peeps[1], sn + "peep_o"), sn + "pre_o_p");
        Value og = activation(f[0], clipped(po, sn + "o"), sn + "o");
        h = mul(og, activation(f[2], c, sn + "c_act"), sn + "h");
      }
      if (masked) { // past its length a sequence keeps its state and outputs zeros
        Value lens = op->getOperand(4);
        auto lt = llvm::cast<mlir::RankedTensorType>(lens.getType());
        Value now = constantOf(b, loc(sn + "step"),
                               Tensor::scalarI64(t).cast(*dtypeOf(lt.getElementType())));
        auto flags = [&](llvm::ArrayRef<int64_t> shape) {
          return mlir::RankedTensorType::get(shape, b.getI1Type());
        };
        Value on = LessOp::create(b, loc(sn + "running"), flags({B}), now, lens);
        on = ReshapeOp::create(b, loc(sn + "running_rows"), flags({B, 1}), on,
                               ints({B, 1}, sn + "rows"), nullptr);
        auto where = [&](Value next, Value prev, const std::string &what) -> Value {
          return WhereOp::create(b, loc(sn + what), next.getType(), on, next, prev);
        };
        hs[size_t(d)][size_t(t)] = where(h, zeros({B, H}, sn + "y_zero"), "y");
        h = where(h, h0, "h_kept");
        if (c)
          c = where(c, c0, "c_kept");
      } else {
        hs[size_t(d)][size_t(t)] = h;
      }
    }
    lastH.push_back(h);
    lastC.push_back(c);
  }
  // The outputs, the last op of each named as the node's output.
  auto named = [&](unsigned i) { return fuseNodeLocs({op->getLoc()}, {tensorNameOf(op, i)}); };
  auto joined = [&](const std::vector<Value> &parts, int64_t axis, mlir::Location l) {
    return concat(parts, axis, l);
  };
  // Concat of one piece per direction along the directions' axis; one piece: the reshape
  // carries the name.
  auto states = [&](const std::vector<Value> &last, unsigned i) {
    std::vector<Value> parts;
    for (Value v : last)
      parts.push_back(reshape(v, batchFirst ? llvm::ArrayRef<int64_t>{B, 1, H}
                                            : llvm::ArrayRef<int64_t>{1, B, H},
                              dirs == 1 ? named(i) : loc("state")));
    return joined(parts, batchFirst ? 1 : 0, named(i));
  };
  llvm::SmallVector<Value, 3> results(op->getNumResults());
  if (op->getNumResults() > 0 && !op->getResult(0).use_empty()) {
    std::vector<Value> perDir;
    for (int64_t d = 0; d < dirs; ++d) {
      std::vector<Value> steps;
      for (int64_t t = 0; t < T; ++t)
        steps.push_back(reshape(hs[size_t(d)][size_t(t)],
                                batchFirst ? llvm::ArrayRef<int64_t>{B, 1, 1, H}
                                           : llvm::ArrayRef<int64_t>{1, 1, B, H},
                                T == 1 && dirs == 1 ? named(0) : loc("y_step")));
      perDir.push_back(joined(steps, batchFirst ? 1 : 0, dirs == 1 ? named(0) : loc("y_dir")));
    }
    results[0] = joined(perDir, batchFirst ? 2 : 1, named(0));
  }
  if (op->getNumResults() > 1 && !op->getResult(1).use_empty())
    results[1] = states(lastH, 1);
  if (op->getNumResults() > 2 && !op->getResult(2).use_empty())
    results[2] = states(lastC, 2);
  for (unsigned i = 0; i < op->getNumResults(); ++i)
    if (results[i])
      op->getResult(i).replaceAllUsesWith(results[i]);
  op->erase();
}

// The unroller for `op` when it can be unrolled, with its sizes and options read.
std::optional<Unroller> prepare(Operation *op) {
  Unroller u(op);
  bool gru = llvm::isa<GRUOp>(op), lstm = llvm::isa<LSTMOp>(op);
  u.G = lstm ? 4 : gru ? 3 : 1;
  auto xt = staticTensorType(op->getOperand(0));
  if (!xt || xt.getRank() != 3)
    return std::nullopt;
  std::optional<DType> dt = dtypeOf(xt.getElementType());
  if (!dt || (*dt != DType::F32 && *dt != DType::F16 && *dt != DType::BF16))
    return std::nullopt;
  u.dt = *dt;
  u.elt = xt.getElementType();
  auto intAttr = [&](const char *n, int64_t def) {
    auto a = op->getAttrOfType<mlir::IntegerAttr>(n);
    return a ? a.getInt() : def;
  };
  u.batchFirst = intAttr("layout", 0) != 0;
  u.linearBeforeReset = intAttr("linear_before_reset", 0) != 0;
  u.inputForget = intAttr("input_forget", 0) != 0;
  auto dir = op->getAttrOfType<mlir::StringAttr>("direction");
  std::string direction = dir ? dir.getValue().str() : "forward";
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return std::nullopt;
  u.reverse = direction == "reverse";
  u.dirs = direction == "bidirectional" ? 2 : 1;
  if (auto c = op->getAttrOfType<mlir::FloatAttr>("clip"))
    u.clip = c.getValueAsDouble();
  u.T = xt.getDimSize(u.batchFirst ? 1 : 0);
  u.B = xt.getDimSize(u.batchFirst ? 0 : 1);
  u.I = xt.getDimSize(2);
  if (u.T < 1 || u.T > kMaxSteps || u.B < 1)
    return std::nullopt;
  // W, R, B, P: static, of X's type and the shapes ONNX gives them.
  auto r = staticTensorType(op->getOperand(2));
  if (!r || r.getRank() != 3)
    return std::nullopt;
  u.H = intAttr("hidden_size", r.getDimSize(2));
  auto shaped = [&](unsigned i, const Shape &want) {
    if (op->getNumOperands() <= i || absent(op->getOperand(i)))
      return i != 1 && i != 2;
    auto t = staticTensorType(op->getOperand(i));
    return t && t.getElementType() == u.elt && Shape(t.getShape()) == want;
  };
  int64_t GH = u.G * u.H;
  if (!shaped(1, {u.dirs, GH, u.I}) || !shaped(2, {u.dirs, GH, u.H}) ||
      !shaped(3, {u.dirs, 2 * GH}) || (lstm && !shaped(7, {u.dirs, 3 * u.H})))
    return std::nullopt;
  // sequence_lens: absent or every sequence full length; else each step masks the batch
  // entries it is at or past (t >= length), in either direction: a reversed sequence then
  // starts from the initial state at its own last step, as ONNX Runtime and the reference run it.
  if (op->getNumOperands() > 4 && !absent(op->getOperand(4))) {
    std::optional<std::vector<int64_t>> lens = constantInts(op->getOperand(4));
    if (!lens || llvm::any_of(*lens, [&](int64_t l) { return l != u.T; })) {
      auto lt = staticTensorType(op->getOperand(4));
      if (!lt || Shape(lt.getShape()) != Shape{u.B})
        return std::nullopt;
      u.masked = true;
    }
  }
  Shape state = u.batchFirst ? Shape{u.B, u.dirs, u.H} : Shape{u.dirs, u.B, u.H};
  for (unsigned i : {5u, 6u})
    if (op->getNumOperands() > i && !absent(op->getOperand(i))) {
      auto st = staticTensorType(op->getOperand(i));
      if (!st || st.getElementType() != u.elt || Shape(st.getShape()) != state)
        return std::nullopt;
    }
  // Activations, per direction, with alpha/beta as the reference reads them.
  std::vector<std::string> defaults = lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                      : gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                            : std::vector<std::string>{"Tanh"};
  ref::Attrs attrs = ref::attrsOf(op);
  const ref::AttrValue *names = attrs.find("activations");
  std::string error;
  u.acts = ref::recurrentActivations(names ? names->strings : std::vector<std::string>{},
                                     attrs.getFloats("activation_alpha"),
                                     attrs.getFloats("activation_beta"), defaults, u.dirs, error);
  if (!error.empty())
    return std::nullopt; // the op stays, and its kernel names the problem
  return u;
}

struct UnrollRecurrentPass : impl::PlumbUnrollRecurrentBase<UnrollRecurrentPass> {
  void runOnOperation() override {
    llvm::SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (llvm::isa<RNNOp, GRUOp, LSTMOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      std::optional<Unroller> u = prepare(op);
      if (!u)
        continue;
      Recorder created;
      u->b.setListener(&created);
      u->run();
      // The weights' pieces of constant W, R, B, P (and a zero initial state's products)
      // become constants; producers come first, so a chain folds whole.
      for (Operation *o : created.ops)
        foldConstantOp(o, kFoldBytes);
    }
  }
};

} // namespace
} // namespace plumb
