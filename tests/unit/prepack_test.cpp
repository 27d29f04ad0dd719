// Pre-packed weights (cpu::prepackWeights, Buffer::packing): an artifact stores conv and
// matmul weights in the layouts this machine's kernels read, loading uses the mapped bytes in
// place (no reorder at all), a layout from another machine is reordered from the stored
// bytes, and every malformed or misplaced packed constant is refused in one line. The truth is
// the same plan with plain weights, run by the same kernels: outputs must match bit for bit.
#include "backends/cpu/CpuBackend.h"
#include "runtime/Artifact.h"
#include "runtime/Executor.h"
#include "runtime/Packing.h"
#include "tests/TestAttrs.h"
#include "tests/unit/ArtifactTestUtil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

using namespace plumb;
using namespace plumb::testattrs;

namespace {

// The 3x3 convolution between blocked maps below is there for the im2col route's packed
// weights; the Winograd route, which would take it on AVX2 and keeps its weights plain
// (cpu_conv_winograd_test), is off in this binary.
const bool kWinogradOff = [] {
  cpu::setWinogradConv(false);
  return true;
}();

// One step per weight layout family, each on an input of its own: a 3x3 conv with bias
// (OIhw8i8o-like blocking), a grouped conv (5-D weights), a depthwise conv, a 1-D conv, a
// 2-D matmul (B stored transposed), a Gemm with alpha folded into B (scale 0.5) and transB,
// a batched matmul over a 3-D constant B, and a 3x3 convolution between blocked maps (the
// im2col route on AVX2) with the 1x1 convolutions around it.
struct Weights {
  Plan plan;
  std::vector<Tensor> inputs;
  std::vector<std::string> weights; // the constants read as weights (all but bmm_b packed)
  Weights() {
    int seed = 1;
    auto io = [&](Shape in, Shape out) {
      int x = plan.addInput(DType::F32, in, "x" + std::to_string(seed));
      inputs.push_back(randomF32(in, unsigned(100 + seed)));
      int y = plan.addOutput(DType::F32, out, "y" + std::to_string(seed));
      return std::make_pair(x, y);
    };
    auto weight = [&](const std::string &name, Shape s) {
      weights.push_back(name);
      return plan.addConstant(name, randomF32(s, unsigned(seed++)));
    };
    auto conv = [&](Shape x, Shape w, Shape y, int64_t group, bool bias) {
      auto [xi, yi] = io(x, y);
      int wi = weight("conv_w" + std::to_string(seed), w);
      int bi = bias ? plan.addConstant("conv_b", randomF32({w[0]}, 50)) : -1;
      Step &s = plan.addStep("cpu.conv", {xi, wi, bi}, {yi}, "conv" + std::to_string(seed));
      s.attrs.set("group", intAttr(group));
      std::vector<int64_t> pads(2 * (x.size() - 2), 1);
      s.attrs.set("pads", intsAttr(pads));
    };
    conv({1, 16, 6, 6}, {32, 16, 3, 3}, {1, 32, 6, 6}, 1, true);
    conv({1, 16, 5, 5}, {16, 4, 3, 3}, {1, 16, 5, 5}, 4, false);
    conv({1, 16, 5, 5}, {16, 1, 3, 3}, {1, 16, 5, 5}, 16, false);
    conv({2, 8, 9}, {16, 8, 3}, {2, 16, 9}, 1, true);
    auto [a, y] = io({4, 24}, {4, 40});
    plan.addStep("cpu.matmul", {a, weight("mm_b", {24, 40}), -1}, {y}, "mm");
    auto [g, gy] = io({3, 12}, {3, 20});
    Step &gemm = plan.addStep("cpu.matmul", {g, weight("gemm_b", {20, 12}), -1}, {gy}, "gemm");
    gemm.attrs.set("transB", intAttr(1));
    gemm.attrs.set("alpha", floatAttr(0.5));
    auto [bx, by] = io({2, 5, 8}, {2, 5, 6});
    plan.addStep("cpu.matmul", {bx, weight("bmm_b", {2, 8, 6}), -1}, {by}, "bmm");
    // Between blocked maps: a 3x3 convolution on the im2col route (its 1x1 convolution's
    // weights, K ordered by kernel offset), fed and read by convolutions.
    auto [cx, cy] = io({1, 16, 8, 8}, {1, 16, 8, 8});
    auto blocked = [&](const std::string &name) {
      int id = plan.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 8, 8}, name);
      plan.buffers[size_t(id)].layout = Layout::ChannelBlocked;
      return id;
    };
    int t1 = blocked("t1"), t2 = blocked("t2");
    plan.addStep("cpu.conv", {cx, weight("in_w", {16, 16, 1, 1}), -1}, {t1}, "in");
    plan.addStep("cpu.conv", {t1, weight("im2col_w", {16, 16, 3, 3}), -1}, {t2}, "im2col")
        .attrs.set("pads", intsAttr({1, 1, 1, 1}));
    plan.addStep("cpu.conv", {t2, weight("out_w", {16, 16, 1, 1}), -1}, {cy}, "out");
  }
};

int bufferId(const Plan &p, const std::string &name) {
  for (const Buffer &b : p.buffers)
    if (b.name == name)
      return b.id;
  ADD_FAILURE() << "no buffer " << name;
  return -1;
}

std::vector<Tensor> runPlan(const Plan &plan, const std::vector<Tensor> &inputs) {
  Executor e(plan, cpu::cpuKernelRegistry());
  return e.run(inputs);
}

TEST(Prepack, ArtifactWeightsAreUsedInPlaceAndComputeTheSame) {
  Weights plain;
  std::vector<Tensor> want = runPlan(plain.plan, plain.inputs);

  Weights w;
  cpu::PrepackReport r = cpu::prepackWeights(w.plan);
  // The batched matmul's B is read row-major (oneDNN's choice for a 3-D B): nothing to pack.
  EXPECT_EQ(r.packed, w.weights.size() - 1);
  EXPECT_EQ(r.weights, w.weights.size() + 2); // and two biases, which stay plain
  EXPECT_TRUE(w.plan.buffers[size_t(bufferId(w.plan, "bmm_b"))].packing.empty());
  for (const std::string &name : w.weights) {
    if (name == "bmm_b")
      continue;
    const Buffer &b = w.plan.buffers[size_t(bufferId(w.plan, name))];
    EXPECT_EQ(b.packing.rfind("blocked dims=", 0), 0u) << name << ": " << b.packing;
    EXPECT_EQ(b.constant.dtype(), DType::U8) << name;
    EXPECT_EQ(b.dtype, DType::F32) << name; // the logical type stays
  }
  EXPECT_TRUE(w.plan.buffers[size_t(bufferId(w.plan, "conv_b"))].packing.empty());
  // The Gemm's alpha is folded into its packed weights.
  EXPECT_NE(w.plan.buffers[size_t(bufferId(w.plan, "gemm_b"))].packing.find("scale=0x1p-1"),
            std::string::npos);

  std::string path = tempPath("packed.plumb");
  writeArtifact(path, w.plan);
  Plan mapped = readArtifact(path);
  for (const std::string &name : w.weights) {
    if (name == "bmm_b")
      continue;
    const Buffer &a = w.plan.buffers[size_t(bufferId(w.plan, name))];
    const Buffer &b = mapped.buffers[size_t(bufferId(mapped, name))];
    EXPECT_EQ(a.packing, b.packing);
    ASSERT_EQ(a.constant.nbytes(), b.constant.nbytes());
    EXPECT_EQ(0, std::memcmp(a.constant.raw(), b.constant.raw(), a.constant.nbytes()));
  }

  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  Executor e(mapped, cpu::cpuKernelRegistry());
  cpu::SharedWeightStats after = cpu::sharedWeightStats();
  EXPECT_EQ(after.misses, before.misses) << "a weight was reordered at load";
  // Each kernel reads its weights from the mapped bytes themselves (bmm_b: plain ones).
  size_t inPlace = 0;
  for (size_t i = 0; i < e.plan().steps.size(); ++i)
    for (const PackedConstant &p : e.kernel(i).packedConstants()) {
      const Buffer &b = e.plan().buffers[size_t(e.plan().steps[i].inputs[p.input])];
      EXPECT_EQ(p.data, b.constant.raw()) << b.name;
      if (!b.packing.empty()) {
        EXPECT_EQ(p.packing, b.packing) << b.name;
      }
      ++inPlace;
    }
  EXPECT_EQ(inPlace, w.weights.size());
  expectBitwise(e.run(w.inputs), want);

  // Loaded where the heuristics would pick other routes (here: the im2col route turned off),
  // weights packed for a route take it: still in place, still the same outputs.
  int64_t route = cpu::im2colConvMaxPixels();
  cpu::setIm2colConvMaxPixels(0);
  before = cpu::sharedWeightStats();
  Executor other(mapped, cpu::cpuKernelRegistry());
  EXPECT_EQ(cpu::sharedWeightStats().misses, before.misses);
  cpu::setIm2colConvMaxPixels(route);
  expectBitwise(other.run(w.inputs), want);
}

// The dims a packed layout gives its constant, row-major: what a machine whose kernels read
// that layout plain (or any other than this one's) would have stored.
PackedLayout rowMajor(const PackedLayout &packed) {
  PackedLayout l;
  l.dims = l.padded = packed.dims;
  l.strides.assign(l.dims.size(), 1);
  for (size_t d = l.dims.size() - 1; d > 0; --d)
    l.strides[d - 1] = l.strides[d] * l.dims[d];
  l.scale = packed.scale;
  return l;
}

TEST(Prepack, AnotherMachinesLayoutIsReorderedFromTheStoredBytes) {
  Weights plain;
  std::vector<Tensor> want = runPlan(plain.plan, plain.inputs);
  Weights w;
  cpu::prepackWeights(w.plan);
  // Store every weight as if packed elsewhere: the plain bytes, described in the packed view
  // (the Gemm's transposed B as strides), times the scale.
  size_t foreign = 0;
  for (const std::string &name : w.weights) {
    if (name == "bmm_b")
      continue;
    Buffer &b = w.plan.buffers[size_t(bufferId(w.plan, name))];
    const Tensor &src = plain.plan.buffers[size_t(b.id)].constant;
    PackedLayout packed = parsePacking(b.packing, src.numel(), 4, b.constant.nbytes());
    PackedLayout l = rowMajor(packed);
    // The matmuls' B as the kernel views it: K x N for a matmul, N x K x 1 for the 1x1
    // convolution that runs a constant 2-D B; gemm_b is stored N x K (transB), mm_b K x N.
    if (name == "mm_b" && l.dims.size() == 3)
      l.strides = {1, l.dims[0], 1};
    if (name == "gemm_b" && l.dims.size() == 2)
      l.strides = {1, l.dims[0]};

    foreign += !(l == packed);
    std::vector<float> v(src.data<float>(), src.data<float>() + src.numel());
    // The im2col route's {O, 9C, 1} view orders K by kernel offset: (o, kk*C + c) is ONNX's
    // (o, c, kk).
    if (name == "im2col_w" && l.dims[1] == 9 * 16) {
      for (int64_t o = 0; o < 16; ++o)
        for (int64_t kk = 0; kk < 9; ++kk)
          for (int64_t c = 0; c < 16; ++c)
            v[size_t(o * 144 + kk * 16 + c)] = src.data<float>()[o * 144 + c * 9 + kk];
    }
    for (float &x : v)
      x *= l.scale;
    b.constant = Tensor::copyOf(DType::U8, {int64_t(v.size() * 4)}, v.data());
    b.packing = formatPacking(l);
  }
  std::string path = tempPath("foreign.plumb");
  writeArtifact(path, w.plan);
  cpu::SharedWeightStats before = cpu::sharedWeightStats();
  Executor e(readArtifact(path), cpu::cpuKernelRegistry());
  cpu::SharedWeightStats after = cpu::sharedWeightStats();
  // Those in another layout than this machine's kernels read are reordered, the rest (the
  // Gemm's B is stored transposed either way) used in place.
  EXPECT_GE(foreign, w.weights.size() - 3);
  EXPECT_EQ(after.misses - before.misses, foreign);
  expectBitwise(e.run(w.inputs), want);
}

std::string refusal(const Plan &plan) {
  try {
    Executor e(plan, cpu::cpuKernelRegistry());
  } catch (const Error &err) {
    std::string m = err.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  return "(accepted)";
}

TEST(Prepack, MalformedOrMisplacedPackingIsRefusedInOneLine) {
  Weights base;
  cpu::prepackWeights(base.plan);
  int conv = bufferId(base.plan, base.weights[0]);
  const Buffer &good = base.plan.buffers[size_t(conv)];
  PackedLayout l = parsePacking(good.packing, numElements(good.shape), 4, good.constant.nbytes());

  auto withPacking = [&](const std::string &packing) {
    Plan p = base.plan;
    p.buffers[size_t(conv)].packing = packing;
    return refusal(p);
  };
  // The layout is this machine's (OIhw8i8o with AVX2, Acdb32a with AVX-512): find a dim of
  // several blocks, an even unblocked dim and a blocked one rather than assume them.
  auto blockOf = [&](size_t k) {
    int64_t b = 1;
    for (auto [dim, size] : l.inner)
      b *= size_t(dim) == k ? size : 1;
    return b;
  };
  size_t several = 0, unblocked = 0;
  while (several < l.dims.size() && l.padded[several] / blockOf(several) < 2)
    ++several;
  while (unblocked < l.dims.size() && (blockOf(unblocked) != 1 || l.dims[unblocked] % 2 != 0))
    ++unblocked;
  ASSERT_LT(several, l.dims.size()) << good.packing;
  ASSERT_LT(unblocked, l.dims.size()) << good.packing;
  ASSERT_FALSE(l.inner.empty()) << good.packing;
  PackedLayout wide = l;
  wide.strides[several] *= 64; // spans past the stored bytes
  PackedLayout fewer = l;
  fewer.dims[unblocked] /= 2;
  fewer.padded[unblocked] /= 2;
  PackedLayout unpadded = l;
  unpadded.padded[size_t(l.inner.front().first)] -= 1;
  const std::map<std::string, std::string> bad = {
      {"", "(accepted)"}, // (a plain tensor of the wrong type, caught below)
      {"blocked", "expected 'blocked dims="},
      {"zigzag dims=1 padded=1 strides=1 inner= scale=0x1p+0", "expected 'blocked dims="},
      {formatPacking(wide), "the layout spans"},
      {formatPacking(fewer), "elements, the constant has"},
      {formatPacking(unpadded), "rounded up to its block"},
      {"blocked dims=32,16,3,3 padded=32,16,3,3 strides=144,9,3,-1 inner= scale=0x1p+0",
       "stride -1 out of range"},
      {"blocked dims=32,16,3,3 padded=32,16,3,3 strides=144,9,3,1 inner=7:8 scale=0x1p+0",
       "inner block dim 7 out of range"},
      {"blocked dims=32,16,3,3 padded=32,16,3,3 strides=144,9,3,1 inner= scale=nan",
       "bad scale"},
      {"blocked dims=99999999999999999999 padded=1 strides=1 inner= scale=0x1p+0", "bad dim"},
  };
  for (const auto &[packing, message] : bad) {
    std::string got = withPacking(packing);
    if (packing.empty())
      EXPECT_NE(got.find("has no data of type f32"), std::string::npos) << got;
    else
      EXPECT_NE(got.find(message), std::string::npos) << packing << " -> " << got;
  }

  // Valid layout, wrong scale for the kernel (a Gemm's alpha differs from the packed one).
  Plan scaled = base.plan;
  Buffer &g = scaled.buffers[size_t(bufferId(scaled, "gemm_b"))];
  PackedLayout gl = parsePacking(g.packing, numElements(g.shape), 4, g.constant.nbytes());
  gl.scale = 1.f;
  g.packing = formatPacking(gl);
  EXPECT_NE(refusal(scaled).find("was packed times 1"), std::string::npos) << refusal(scaled);

  // A packed constant reaches only conv/matmul weights: not a ref kernel, not a bias slot.
  Plan misplaced = base.plan;
  int y = misplaced.addOutput(DType::F32, good.shape, "copy");
  misplaced.addStep("ref.Identity", {conv}, {y}, "id");
  EXPECT_NE(refusal(misplaced).find("is stored pre-packed, which ref.Identity cannot read there"),
            std::string::npos)
      << refusal(misplaced);

  // Packing on a buffer that is not a constant.
  Plan onInput = base.plan;
  onInput.buffers[size_t(onInput.inputs[0])].packing = good.packing;
  EXPECT_NE(refusal(onInput).find("is packed but holds no packed bytes"), std::string::npos)
      << refusal(onInput);

  // Through the artifact reader (valid checksum): the plan check names the constant.
  Plan stored = base.plan;
  stored.buffers[size_t(conv)].packing = formatPacking(wide);
  std::string path = tempPath("badpack.plumb");
  try {
    writeArtifact(path, stored);
    FAIL() << "wrote a plan with a bad packed layout";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("the layout spans"), std::string::npos) << e.what();
  }
}

TEST(Prepack, TextFormRoundTripsAndChecksBounds) {
  PackedLayout l;
  l.dims = {32, 16, 3, 3};
  l.padded = {32, 16, 3, 3};
  l.strides = {144, 8, 48, 16};
  l.inner = {{1, 8}, {0, 8}};
  l.scale = 0.1f;
  l.padded = {32, 16, 3, 3};
  std::string text = formatPacking(l);
  EXPECT_EQ(text, "blocked dims=32,16,3,3 padded=32,16,3,3 strides=144,8,48,16 inner=1:8,0:8 "
                  "scale=0x1.99999ap-4");
  // Span: (32/8-1)*144 + (16/8-1)*8 + 2*48 + 2*16 + 64 elements.
  EXPECT_EQ(l.storageElements(), uint64_t(3 * 144 + 8 + 96 + 32 + 64));
  PackedLayout back = parsePacking(text, 32 * 16 * 9, 4, l.storageElements() * 4);
  EXPECT_TRUE(back == l);
  EXPECT_THROW(parsePacking(text, 32 * 16 * 9, 4, l.storageElements() * 4 - 1), Error);

  // A transform: 16 blocks of {O, C, 1} standing for O x C x 3 x 3 weights.
  PackedLayout u;
  u.dims = u.padded = {32, 16, 1};
  u.strides = {16, 1, 1};
  u.transform = kWinogradF2x3;
  std::string ut = formatPacking(u);
  EXPECT_EQ(ut, "blocked dims=32,16,1 padded=32,16,1 strides=16,1,1 inner= scale=0x1p+0 "
                "transform=winograd_f2x2_3x3");
  EXPECT_TRUE(parsePacking(ut, 32 * 16 * 9, 4, 16 * 32 * 16 * 4) == u);
  auto why = [](const std::string &text, int64_t numel, size_t bytes) {
    try {
      parsePacking(text, numel, 4, bytes);
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  // 15 blocks' worth of bytes; the element count of the constant itself; an unknown name.
  EXPECT_NE(why(ut, 32 * 16 * 9, 15 * 32 * 16 * 4).find("the layout spans 8192 elements"),
            std::string::npos);
  EXPECT_NE(why(ut, 32 * 16, 16 * 32 * 16 * 4).find("hold 4608 elements, the constant has 512"),
            std::string::npos);
  std::string other = ut.substr(0, ut.find("transform=")) + "transform=fft";
  EXPECT_NE(why(other, 32 * 16 * 9, 16 * 32 * 16 * 4).find("unknown transform 'fft'"),
            std::string::npos);
}

} // namespace
