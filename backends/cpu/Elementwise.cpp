// cpu.eltwise (unary activations and math) and cpu.binary (arithmetic with numpy
// broadcasting) on oneDNN's eltwise and binary primitives.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace plumb::cpu {

namespace {

using dnnl::algorithm;

struct Unary {
  algorithm alg;
  float alpha = 0, beta = 0;
};

// A Clip bound: an attribute before opset 11, else an optional input that must be constant.
// `own` inputs belong to Clip (a "sum" post-op's residual comes after them).
float clipBound(const KernelArgs &a, size_t own, size_t input, const char *attr, float def) {
  if (a.step.opset < 11)
    return float(a.number(attr, def));
  if (input >= own || !a.has(input))
    return def;
  const Tensor *t = a.constant(input);
  if (!t || t->numel() != 1 || t->dtype() != DType::F32)
    a.fail(std::string("Clip's ") + attr + " must be a constant f32 scalar; use ref.Clip");
  return t->data<float>()[0];
}

// The oneDNN eltwise ops (applied in order) that compute ONNX op `op`.
std::vector<Unary> unaryChain(const KernelArgs &a, size_t own, const std::string &op) {
  auto simple = [](algorithm alg) { return std::vector<Unary>{{alg, 0.f, 0.f}}; };
  if (op == "Relu")
    return simple(algorithm::eltwise_relu);
  if (op == "Tanh")
    return simple(algorithm::eltwise_tanh);
  if (op == "Sigmoid")
    return simple(algorithm::eltwise_logistic);
  if (op == "Exp")
    return simple(algorithm::eltwise_exp);
  if (op == "Log")
    return simple(algorithm::eltwise_log);
  if (op == "Sqrt")
    return simple(algorithm::eltwise_sqrt);
  if (op == "Abs")
    return simple(algorithm::eltwise_abs);
  if (op == "HardSwish")
    return simple(algorithm::eltwise_hardswish);
  if (op == "Softplus")
    return simple(algorithm::eltwise_soft_relu);
  if (op == "Mish")
    return simple(algorithm::eltwise_mish);
  if (op == "Neg")
    return {{algorithm::eltwise_linear, -1.f, 0.f}};
  if (op == "Gelu") {
    std::string approx = a.attrs().getString("approximate", "none");
    if (approx != "none" && approx != "tanh")
      a.fail("unknown approximate='" + approx + "'");
    return simple(approx == "tanh" ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf);
  }
  if (op == "Elu")
    return {{algorithm::eltwise_elu, float(a.number("alpha", 1.0)), 0.f}};
  if (op == "LeakyRelu")
    return {{algorithm::eltwise_relu, float(a.number("alpha", 0.01)), 0.f}};
  if (op == "HardSigmoid")
    return {
        {algorithm::eltwise_linear, float(a.number("alpha", 0.2)), float(a.number("beta", 0.5))},
        {algorithm::eltwise_clip, 0.f, 1.f}};
  if (op == "Clip") {
    // Absent bounds do not clip: infinities (not the float range) keep -inf/+inf inputs.
    bool legacy = a.step.opset < 11;
    float inf = std::numeric_limits<float>::infinity();
    float lo = clipBound(a, own, 1, "min", legacy ? std::numeric_limits<float>::lowest() : -inf);
    float hi = clipBound(a, own, 2, "max", legacy ? std::numeric_limits<float>::max() : inf);
    return {{algorithm::eltwise_clip, lo, hi}};
  }
  a.fail("unknown eltwise op '" + op + "'");
}

// attrs: "op" = ONNX op type (Relu, Tanh, Sigmoid, Exp, Log, Sqrt, Abs, Gelu, Elu, LeakyRelu,
// Clip, HardSigmoid, HardSwish, Softplus, Mish, Neg) plus that op's attributes. The first
// oneDNN op runs out of place, the rest of the chain and any post-ops in place on the output.
class EltwiseKernel final : public RuntimeKernel {
public:
  explicit EltwiseKernel(const KernelArgs &a) {
    a.requireF32(1);
    const Shape &x = a.input(0).shape;
    if (a.output(0).shape != x)
      a.fail("output shape differs from the input's");
    PostOpList user = parsePostOps(a), rest;
    std::vector<Unary> chain = unaryChain(a, user.ownInputs(a), a.requireString("op"));
    // Any layout: the op is per element (the residual of a "sum" is stored alike).
    std::vector<const BufferInfo *> same{&a.in[0], &a.out[0]};
    if (user.hasSum)
      same.push_back(&a.in.back());
    Layout layout = sameLayout(same, "cpu.eltwise");
    Desc data = layout == Layout::Plain ? plainDesc(toDims(x)) : storageDesc(toDims(x), layout);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, chain[0].alg, data,
                                  chain[0].alpha, chain[0].beta);
    auto pd =
        createPd(a, "eltwise", [&] { return dnnl::eltwise_forward::primitive_desc(d, engine()); });
    prim_ = dnnl::eltwise_forward(pd);
    for (size_t i = 1; i < chain.size(); ++i)
      rest.ops.push_back(PostOp{false, chain[i].alg, chain[i].alpha, chain[i].beta, "chain"});
    rest.ops.insert(rest.ops.end(), user.ops.begin(), user.ops.end());
    hasSum_ = user.hasSum;
    post_.init(rest, data);
    src_ = handleMemory(data);
    dst_ = handleMemory(data);
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    bind(src_, in[0]->raw());
    bind(dst_, out[0]->mutableRaw());
    prim_.execute(stream(), {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}});
    post_.run(dst_, hasSum_ ? in.back()->raw() : nullptr);
    stream().wait();
  }

private:
  dnnl::eltwise_forward prim_;
  dnnl::memory src_, dst_;
  UnfusedPostOps post_;
  bool hasSum_ = false;
};

// attrs: "op" = Add | Sub | Mul | Div | Max | Min; inputs A, B (numpy broadcasting), plus the
// residual for a "sum" post-op. oneDNN broadcasts only its second source, so a broadcast A
// is swapped with B for commutative ops and otherwise expanded into scratch memory per run.
class BinaryKernel final : public RuntimeKernel {
public:
  explicit BinaryKernel(const KernelArgs &a);
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override;

private:
  void runStrided(const float *a, const float *b, float *y) const;

  PostOpList post_;
  bool swapped_ = false, expandA_ = false;
  Shape aShape_, yShape_;
  size_t scratchBytes() const override { return expandA_ ? size_t(numElements(yShape_)) * 4 : 0; }
  dnnl::binary prim_;
  dnnl::memory src0_, src1_, dst_;
  // oneDNN 2.6 runs some broadcasts (e.g. B of 1x256x24x1 against 1x256x24x64) on its
  // reference implementation, 50-100x slower than a plain strided loop: those (without
  // post-ops) run on runStrided instead.
  bool strided_ = false;
  std::string op_;
  std::vector<int64_t> aStr_, bStr_; // element strides of A and B along y's dims (0: broadcast)
};

// y = op(a, b) over y's dims, A and B read through broadcast strides; the innermost loop has
// unit or zero strides, so it vectorises.
void BinaryKernel::runStrided(const float *a, const float *b, float *y) const {
  size_t r = yShape_.size();
  int64_t inner = r ? yShape_.back() : 1, outer = numElements(yShape_) / std::max<int64_t>(inner, 1);
  int64_t sa = r ? aStr_.back() : 0, sb = r ? bStr_.back() : 0;
  std::vector<int64_t> idx(r ? r - 1 : 0, 0);
  auto loop = [&](auto f) {
    int64_t oa = 0, ob = 0;
    for (int64_t o = 0; o < outer; ++o) {
      float *yr = y + o * inner;
      for (int64_t i = 0; i < inner; ++i)
        yr[i] = f(a[oa + i * sa], b[ob + i * sb]);
      for (size_t d = idx.size(); d > 0; --d) { // odometer over the outer dims
        ++idx[d - 1], oa += aStr_[d - 1], ob += bStr_[d - 1];
        if (idx[d - 1] < yShape_[d - 1])
          break;
        oa -= aStr_[d - 1] * yShape_[d - 1], ob -= bStr_[d - 1] * yShape_[d - 1];
        idx[d - 1] = 0;
      }
    }
  };
  if (op_ == "Add")
    loop([](float x, float z) { return x + z; });
  else if (op_ == "Sub")
    loop([](float x, float z) { return x - z; });
  else if (op_ == "Mul")
    loop([](float x, float z) { return x * z; });
  else if (op_ == "Div")
    loop([](float x, float z) { return x / z; });
  else if (op_ == "Max")
    loop([](float x, float z) { return std::isnan(x) || std::isnan(z) ? NAN : std::max(x, z); });
  else
    loop([](float x, float z) { return std::isnan(x) || std::isnan(z) ? NAN : std::min(x, z); });
}

algorithm binaryAlgorithm(const KernelArgs &a, const std::string &op, bool *commutative) {
  *commutative = op != "Sub" && op != "Div";
  if (op == "Add")
    return algorithm::binary_add;
  if (op == "Sub")
    return algorithm::binary_sub;
  if (op == "Mul")
    return algorithm::binary_mul;
  if (op == "Div")
    return algorithm::binary_div;
  if (op == "Max")
    return algorithm::binary_max;
  if (op == "Min")
    return algorithm::binary_min;
  a.fail("unknown binary op '" + op + "'");
}

BinaryKernel::BinaryKernel(const KernelArgs &a) {
  bool commutative = false;
  algorithm alg = binaryAlgorithm(a, a.requireString("op"), &commutative);
  post_ = parsePostOps(a);
  if (post_.ownInputs(a) != 2)
    a.fail("expected inputs A and B (plus the residual for a 'sum' post-op)");
  a.requireF32(a.in.size());
  aShape_ = a.input(0).shape;
  yShape_ = a.output(0).shape;
  const Shape &b = a.input(1).shape;
  size_t r = yShape_.size();
  Shape as = rightAlign(aShape_, r), bs = rightAlign(b, r);
  bool ok = aShape_.size() <= r && b.size() <= r && r <= 12;
  for (size_t d = 0; ok && d < r; ++d)
    ok = std::max(as[d], bs[d]) == yShape_[d] && broadcastsTo(aShape_, yShape_) &&
         broadcastsTo(b, yShape_);
  if (!ok)
    a.fail(shapeToString(aShape_) + " and " + shapeToString(b) + " do not broadcast to " +
           shapeToString(yShape_));
  swapped_ = as != yShape_ && bs == yShape_ && commutative;
  expandA_ = as != yShape_ && !swapped_;
  // Without broadcasting the op is per element: any layout, the same for every operand.
  std::vector<const BufferInfo *> same{&a.in[0], &a.in[1], &a.out[0]};
  if (post_.hasSum)
    same.push_back(&a.in.back());
  bool blocked = std::any_of(same.begin(), same.end(), [](const BufferInfo *bi) {
    return bi->present && bi->layout != Layout::Plain;
  });
  if (blocked && (aShape_ != yShape_ || b != yShape_))
    a.fail("cpu.binary broadcasts only plain tensors");
  Layout layout = sameLayout(same, "cpu.binary");
  Desc y = layout == Layout::Plain ? plainDesc(toDims(yShape_)) : storageDesc(toDims(yShape_), layout);
  Desc s0 = swapped_ || expandA_ || layout != Layout::Plain ? y : plainDesc(toDims(as));
  Desc s1 = layout != Layout::Plain ? y : plainDesc(toDims(swapped_ ? as : bs));
  dnnl::binary::desc d(alg, s0, s1, y);
  dnnl::primitive_attr attr;
  attr.set_post_ops(toDnnl(post_));
  auto pd = createPd(a, "binary", [&] { return dnnl::binary::primitive_desc(d, attr, engine()); });
  prim_ = dnnl::binary(pd);
  op_ = a.requireString("op");
  strided_ = post_.ops.empty() && !post_.hasSum &&
             std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
  if (strided_) {
    auto strides = [&](const Shape &s) {
      Shape al = rightAlign(s, r);
      Dims rm = rowMajorStrides(toDims(al));
      std::vector<int64_t> st(r);
      for (size_t d = 0; d < r; ++d)
        st[d] = al[d] == 1 && yShape_[d] != 1 ? 0 : rm[d];
      return st;
    };
    aStr_ = strides(aShape_), bStr_ = strides(b);
  }
  src0_ = handleMemory(s0);
  src1_ = handleMemory(s1);
  dst_ = handleMemory(y);
}

void BinaryKernel::run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) {
  void *y = out[0]->mutableRaw();
  if (post_.hasSum && in.back()->raw() != y)
    std::memcpy(y, in.back()->raw(), out[0]->nbytes());
  if (strided_) {
    runStrided(in[0]->data<float>(), in[1]->data<float>(), static_cast<float *>(y));
    return;
  }
  const void *a = in[0]->raw(), *b = in[1]->raw();
  if (expandA_) {
    float *expanded = static_cast<float *>(scratch());
    broadcastCopy(in[0]->data<float>(), aShape_, expanded, yShape_);
    a = expanded;
  }
  bind(src0_, swapped_ ? b : a);
  bind(src1_, swapped_ ? a : b);
  bind(dst_, y);
  prim_.execute(stream(), {{DNNL_ARG_SRC_0, src0_}, {DNNL_ARG_SRC_1, src1_}, {DNNL_ARG_DST, dst_}});
  stream().wait();
}

} // namespace

std::unique_ptr<RuntimeKernel> makeEltwiseKernel(const KernelArgs &a) {
  return std::make_unique<EltwiseKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeBinaryKernel(const KernelArgs &a) {
  return std::make_unique<BinaryKernel>(a);
}

} // namespace plumb::cpu
