// cpu.attention against the reference ops it replaces, over a table of layouts (strided views
// as BERT/GPT-2 split and merge heads, or dense), scales, masks and seeds; views past the
// buffer are refused. The harness is CpuKernelHarness.h.
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace plumb;
using namespace plumb::cputest;

namespace {

// ---- cpu.attention ----

// softmax(Q Kt (scaled) (masked)) V against MatMul/Div|Mul/Add|Where/Softmax/MatMul. Q, Kt,
// V and the output are strided views into larger buffers (layout "heads": Q/K/V as slices
// of one [B0, S, 3, B1, D] projection, K read transposed, output written [B0, S, B1, Dv], as
// GPT-2/BERT's head split and merge), or dense (layout "plain").
struct AttentionCase {
  int64_t b0, b1, s, t, d, dv;
  std::string layout;  // plain | heads
  std::string scaleOp; // none | div | mul
  std::string mask;    // none | add | where | where_not
  Shape maskShape;
  unsigned seed = 0;
};

std::ostream &operator<<(std::ostream &os, const AttentionCase &c) {
  return os << "attention dims=" << c.b0 << "x" << c.b1 << "x" << c.s << "x" << c.t << "x" << c.d
            << "x" << c.dv << " layout=" << c.layout << " scale=" << c.scaleOp << " mask=" << c.mask
            << " " << shapeToString(c.maskShape) << " seed=" << c.seed;
}

std::vector<AttentionCase> attentionCases() {
  std::vector<AttentionCase> base{
      {1, 2, 5, 5, 8, 8, "plain", "none", "none", {}},
      {1, 12, 128, 128, 64, 64, "heads", "div", "add", {1, 1, 1, 128}},
      {2, 3, 70, 70, 16, 16, "heads", "div", "where", {1, 1, 70, 70}},
      {2, 3, 9, 9, 8, 8, "heads", "mul", "where_not", {2, 1, 9, 9}},
      {1, 4, 1, 1, 8, 8, "heads", "div", "where", {1, 1, 1, 1}},
      {2, 2, 7, 13, 5, 3, "plain", "mul", "add", {2, 2, 7, 13}},
      {3, 1, 33, 20, 4, 6, "plain", "div", "add", {20}},
  };
  std::vector<AttentionCase> all;
  for (unsigned seed : {1u, 2u})
    for (AttentionCase c : base) {
      c.seed = seed;
      all.push_back(c);
    }
  return all;
}

// The dense [d0, d1, d2, d3] tensor read through a strided view of `base`.
Tensor gatherView(const Tensor &base, const std::vector<int64_t> &view, const Shape &dims) {
  Tensor t = Tensor::empty(DType::F32, dims);
  float *out = t.mutableData<float>();
  for (int64_t i = 0; i < dims[0]; ++i)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t k = 0; k < dims[2]; ++k)
        for (int64_t l = 0; l < dims[3]; ++l)
          *out++ =
              base.data<float>()[view[0] + i * view[1] + j * view[2] + k * view[3] + l * view[4]];
  return t;
}

class CpuAttention : public testing::TestWithParam<AttentionCase> {};

TEST_P(CpuAttention, MatchesReference) {
  const AttentionCase &c = GetParam();
  std::ostringstream trace;
  trace << c;
  SCOPED_TRACE(trace.str());
  bool heads = c.layout == "heads";
  if (heads) {
    ASSERT_EQ(c.d, c.dv);
  }
  int64_t hd = c.b1 * c.d, row = 3 * hd; // heads: one [B0, S, 3, B1, D] projection (S == T)
  Tensor qkv = randomF32({c.b0, c.s, row}, c.seed, -2, 2);
  Tensor qb = heads ? qkv : randomF32({c.b0, c.b1, c.s, c.d}, c.seed, -2, 2);
  Tensor kb = heads ? qkv : randomF32({c.b0, c.b1, c.d, c.t}, c.seed + 1, -2, 2);
  Tensor vb = heads ? qkv : randomF32({c.b0, c.b1, c.t, c.dv}, c.seed + 2);
  std::vector<int64_t> qv = {0, c.b1 * c.s * c.d, c.s * c.d, c.d, 1};
  std::vector<int64_t> ktv = {0, c.b1 * c.d * c.t, c.d * c.t, c.t, 1};
  std::vector<int64_t> vv = {0, c.b1 * c.t * c.dv, c.t * c.dv, c.dv, 1};
  std::vector<int64_t> ov = {0, c.b1 * c.s * c.dv, c.s * c.dv, c.dv, 1};
  Shape outShape{c.b0, c.b1, c.s, c.dv};
  if (heads) {
    qv = {0, c.s * row, c.d, row, 1};
    ktv = {hd, c.s * row, c.d, 1, row}; // [D, T] read from K rows: column-major
    vv = {2 * hd, c.s * row, c.d, row, 1};
    ov = {0, c.s * hd, c.dv, hd, 1};
    outShape = {c.b0, c.s, c.b1, c.dv};
  }
  Tensor q = gatherView(qb, qv, {c.b0, c.b1, c.s, c.d});
  Tensor kt = gatherView(kb, ktv, {c.b0, c.b1, c.d, c.t});
  Tensor v = gatherView(vb, vv, {c.b0, c.b1, c.t, c.dv});
  Tensor scale = Tensor::scalarF32(c.scaleOp == "div" ? 8.f : 0.125f);
  Tensor y = refOp("MatMul", {&q, &kt});
  if (c.scaleOp != "none")
    y = refOp(c.scaleOp == "div" ? "Div" : "Mul", {&y, &scale});
  std::vector<Arg> args{{qb}, {kb}, {vb}};
  Tensor mask, fill = Tensor::scalarF32(-3.4028234663852886e38f);
  if (c.mask == "add") {
    mask = randomF32(c.maskShape, c.seed + 3, -5, 0);
    y = refOp("Add", {&y, &mask});
    args.push_back({mask});
  } else if (c.mask != "none") {
    std::mt19937 rng(c.seed + 4);
    std::vector<uint8_t> bits(size_t(numElements(c.maskShape)));
    for (size_t i = 0; i < bits.size(); ++i) // causal-like, plus random holes; never all off
      bits[i] = (i % size_t(c.maskShape.back())) == 0 || rng() % 3 != 0;
    mask = Tensor::copyOf(DType::Bool, c.maskShape, bits.data());
    if (c.mask == "where_not")
      for (uint8_t &b : bits)
        b = !b;
    Tensor cond = Tensor::copyOf(DType::Bool, c.maskShape, bits.data());
    y = c.mask == "where" ? refOp("Where", {&mask, &y, &fill}) : refOp("Where", {&cond, &fill, &y});
    args.push_back({c.mask == "where" ? mask : cond});
    args.push_back({fill, true});
  }
  y = refOp("Softmax", {&y});
  Tensor want = refOp("MatMul", {&y, &v});
  ref::Attrs attrs;
  attrs.set("dims", intsAttr({c.b0, c.b1, c.s, c.t, c.d, c.dv}));
  attrs.set("q_view", intsAttr(qv));
  attrs.set("kt_view", intsAttr(ktv));
  attrs.set("v_view", intsAttr(vv));
  attrs.set("o_view", intsAttr(ov));
  attrs.set("scale_op", stringAttr(c.scaleOp));
  attrs.set("scale", floatAttr(c.scaleOp == "div" ? 8.0 : 0.125));
  attrs.set("mask", stringAttr(c.mask));
  Tensor got = runCpu("cpu.attention", attrs, args, outShape);
  expectClose(gatherView(got, ov, {c.b0, c.b1, c.s, c.dv}), want, kDotTol);
}

INSTANTIATE_TEST_SUITE_P(Table, CpuAttention, testing::ValuesIn(attentionCases()));

TEST(CpuAttention, RefusesViewsPastTheBuffer) {
  Tensor q = randomF32({1, 2, 4, 8}, 1);
  ref::Attrs attrs;
  attrs.set("dims", intsAttr({1, 2, 4, 4, 8, 8}));
  attrs.set("q_view", intsAttr({8, 64, 32, 8, 1})); // the last row would end past q
  EXPECT_THROW(runCpu("cpu.attention", attrs, {{q}, {q}, {q}}, {1, 2, 4, 8}), Error);
  attrs.set("q_view", intsAttr({0, 64, 32, 8, 1}));
  attrs.set("kt_view", intsAttr({0, 64, 32, 2, 2})); // no contiguous matrix dim
  EXPECT_THROW(runCpu("cpu.attention", attrs, {{q}, {q}, {q}}, {1, 2, 4, 8}), Error);
}

} // namespace
