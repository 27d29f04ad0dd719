// f16/bf16 cuda plans (`--dtype f16|bf16`) without a GPU: every fixture model compiles in
// both types with every generated kernel accepted by NVRTC; graph inputs and outputs keep
// their f32 type behind one cast kernel each; f32 intermediates and weights are stored in the
// half type, weights rounded to nearest even as an independent conversion written here says;
// library steps see one storage type; artifacts record the type. The device parity test
// (plumb check's rule for the type, at every fusion boundary) skips without a GPU.
#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/runtime/CudaBackend.h"
#include "runtime/Artifact.h"
#include "tests/TempFiles.h"
#include "tests/mlir/CudaFixtures.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Driver.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

namespace plumb {
namespace {

using cudatest::fixture;
using cudatest::kModels;

// ---- an independent f32 -> f16/bf16 rounding: decode every bit pattern by its definition
// and pick the nearest, ties to the even pattern (no bit tricks shared with runtime/DType). ----

double decodeHalf(uint16_t p) { // positive patterns only
  int e = (p >> 10) & 0x1f, m = p & 0x3ff;
  return e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
}
double decodeBf16(uint16_t p) {
  uint32_t bits = uint32_t(p) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// `inf` is the infinity pattern; rounding treats it as the next binade's first value
// (2^16 for f16, 2^128 for bf16), which is IEEE's overflow rule for round to nearest.
uint16_t nearest(float x, DType t) {
  bool half = t == DType::F16;
  uint16_t inf = half ? 0x7c00 : 0x7f80, sign = std::signbit(x) ? 0x8000 : 0;
  if (std::isnan(x))
    return inf | 0x200;
  double a = std::fabs(double(x)), top = half ? 65536.0 : std::ldexp(1.0, 128);
  auto value = [&](uint32_t p) {
    return p == inf ? top : half ? decodeHalf(uint16_t(p)) : decodeBf16(uint16_t(p));
  };
  if (a >= top)
    return sign | inf;
  uint32_t lo = 0, hi = inf; // value(lo) <= a < value(hi)
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    (value(mid) <= a ? lo : hi) = mid;
  }
  double dl = a - value(lo), dh = value(hi) - a;
  uint32_t p = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
  return uint16_t(sign | p);
}

bool sameHalfBits(uint16_t a, uint16_t b, DType t) {
  uint16_t inf = t == DType::F16 ? 0x7c00 : 0x7f80;
  auto isNan = [&](uint16_t x) { return (x & inf) == inf && (x & ~(inf | 0x8000)) != 0; };
  return isNan(a) || isNan(b) ? isNan(a) == isNan(b) : a == b;
}

TEST(CudaHalfPlan, IndependentRoundingAgreesOnKnownValues) {
  struct Case {
    float x;
    uint16_t f16, bf16;
  };
  const Case cases[] = {
      {1.0f, 0x3c00, 0x3f80},
      {-2.0f, 0xc000, 0xc000},
      {0.1f, 0x2e66, 0x3dcd},
      {65504.0f, 0x7bff, 0x4780},            // f16's largest finite; 65536 in bf16
      {65519.0f, 0x7bff, 0x4780},            // just below f16's overflow threshold
      {65520.0f, 0x7c00, 0x4780},            // ties away from the largest finite: infinity
      {std::ldexp(1.0f, -24), 0x0001, 0x3380}, // f16's smallest subnormal
      {1.0f + std::ldexp(1.0f, -11), 0x3c00, 0x3f80}, // f16 tie: to even (down)
      {1.0f + 3 * std::ldexp(1.0f, -11), 0x3c02, 0x3f80}, // f16 tie: to even (up)
      {1.0f + std::ldexp(1.0f, -8), 0x3c04, 0x3f80},      // bf16 tie: to even (down)
      {1.0f + 3 * std::ldexp(1.0f, -8), 0x3c0c, 0x3f82},  // bf16 tie: to even (up)
      {3e38f, 0x7c00, 0x7f62},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(nearest(c.x, DType::F16), c.f16) << c.x;
    EXPECT_EQ(nearest(c.x, DType::BF16), c.bf16) << c.x;
    // The runtime's conversion, which the lowering uses for weights.
    EXPECT_EQ(floatToHalf(c.x), c.f16) << c.x;
    EXPECT_EQ(floatToBf16(c.x), c.bf16) << c.x;
  }
}

// ---- the plans ----

Compiled compileIn(mlir::MLIRContext &ctx, const std::string &model, const std::string &dtype) {
  std::vector<Tensor> inputs;
  auto module = importWithInputs(ctx, fixture(model, ".onnx"), {}, fixture(model, ".inputs.npz"),
                                 0, inputs);
  static const std::string cache = testing_util::scratchPath("f16_test");
  ::setenv("PLUMB_CACHE_DIR", cache.c_str(), 1);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.dtype = dtype;
  cs.shapeInputs = inputs;
  return compileModule(std::move(module), cs);
}

std::map<int, std::vector<const Step *>> readers(const Plan &p) {
  std::map<int, std::vector<const Step *>> r;
  for (const Step &s : p.steps)
    for (int id : s.inputs)
      if (id >= 0)
        r[id].push_back(&s);
  return r;
}

std::map<int, const Step *> writers(const Plan &p) {
  std::map<int, const Step *> w;
  for (const Step &s : p.steps)
    for (int id : s.outputs)
      if (id >= 0)
        w[id] = &s;
  return w;
}

class HalfPlan : public ::testing::TestWithParam<std::tuple<const char *, const char *>> {
protected:
  std::string model() const { return std::get<0>(GetParam()); }
  std::string dtypeName() const { return std::get<1>(GetParam()); }
  DType dtype() const { return *dtypeFromName(dtypeName()); }
};

TEST_P(HalfPlan, BuffersAreStoredAsSpecified) {
  mlir::MLIRContext ctx;
  Compiled f32 = compileIn(ctx, model(), "");
  Compiled low = compileIn(ctx, model(), dtypeName());
  const Plan &p = low.plan;
  EXPECT_EQ(cuda::planStorageType(p), dtype());
  EXPECT_EQ(cuda::planStorageType(f32.plan), DType::F32);
  // Graph inputs and outputs keep the model's types.
  ASSERT_EQ(p.inputs.size(), f32.plan.inputs.size());
  ASSERT_EQ(p.outputs.size(), f32.plan.outputs.size());
  auto typeOf = [](const Plan &plan, int id) { return plan.buffers[size_t(id)].dtype; };
  for (size_t i = 0; i < p.inputs.size(); ++i)
    EXPECT_EQ(typeOf(p, p.inputs[i]), typeOf(f32.plan, f32.plan.inputs[i]));
  for (size_t i = 0; i < p.outputs.size(); ++i)
    EXPECT_EQ(typeOf(p, p.outputs[i]), typeOf(f32.plan, f32.plan.outputs[i]));
  auto rd = readers(p);
  auto wr = writers(p);
  int casts = 0;
  // An f32 input is read once, by a cast kernel into the storage type; an f32 output is
  // written by a cast kernel from it.
  for (int id : p.inputs) {
    if (p.buffers[size_t(id)].dtype != DType::F32)
      continue;
    ASSERT_EQ(rd[id].size(), 1u) << p.buffers[size_t(id)].name;
    const Step &s = *rd[id][0];
    EXPECT_EQ(s.kernel, "cuda.generated");
    EXPECT_EQ(s.attrs.getString("kind", ""), "cast");
    EXPECT_EQ(p.buffers[size_t(s.outputs[0])].dtype, dtype());
    ++casts;
  }
  for (int id : p.outputs) {
    if (p.buffers[size_t(id)].dtype != DType::F32)
      continue;
    const Step &s = *wr.at(id);
    EXPECT_EQ(s.attrs.getString("kind", ""), "cast") << p.buffers[size_t(id)].name;
    EXPECT_EQ(p.buffers[size_t(s.inputs[0])].dtype, dtype());
    ++casts;
  }
  EXPECT_GT(casts, 0);
  // Where the f32 plan has an f32 intermediate or constant, this one has the half type;
  // everything else (integers, bool) is as in the f32 plan.
  std::map<std::string, DType> f32Types;
  for (const Buffer &b : f32.plan.buffers)
    if (b.kind == BufferKind::Intermediate || b.kind == BufferKind::Constant)
      f32Types[b.name] = b.dtype;
  int halves = 0;
  for (const Buffer &b : p.buffers) {
    if (b.kind != BufferKind::Intermediate && b.kind != BufferKind::Constant)
      continue;
    EXPECT_NE(b.dtype, DType::F32) << b.name; // no fixture has a Resize/Range parameter
    auto it = f32Types.find(b.name);
    if (it == f32Types.end())
      continue; // the boundary casts' buffers
    EXPECT_EQ(b.dtype, it->second == DType::F32 ? dtype() : it->second) << b.name;
    halves += b.dtype == dtype();
  }
  EXPECT_GT(halves, 0);
  // Library steps read and write one storage type; every step records it.
  for (const Step &s : p.steps) {
    EXPECT_EQ(s.attrs.getString("plumb.dtype", ""), dtypeName()) << s.nodeNames;
    if (s.kernel != "cuda.matmul" && s.kernel != "cuda.conv")
      continue;
    for (int id : s.inputs) {
      if (id >= 0) {
        EXPECT_EQ(p.buffers[size_t(id)].dtype, dtype()) << s.kernel << " " << s.nodeNames;
      }
    }
    EXPECT_EQ(p.buffers[size_t(s.outputs[0])].dtype, dtype()) << s.nodeNames;
  }
}

TEST_P(HalfPlan, WeightsAreRoundedToNearestEven) {
  mlir::MLIRContext ctx;
  Compiled f32 = compileIn(ctx, model(), "");
  Compiled low = compileIn(ctx, model(), dtypeName());
  // Constants come in the same order in both plans (names may repeat across fusion bodies).
  std::vector<const Buffer *> half;
  for (const Buffer &b : low.plan.buffers)
    if (b.kind == BufferKind::Constant)
      half.push_back(&b);
  size_t k = 0;
  int64_t checked = 0;
  for (const Buffer &b : f32.plan.buffers) {
    if (b.kind != BufferKind::Constant)
      continue;
    ASSERT_LT(k, half.size());
    const Buffer &h = *half[k++];
    ASSERT_EQ(h.name, b.name);
    if (b.dtype != DType::F32) {
      EXPECT_EQ(h.dtype, b.dtype) << b.name;
      continue;
    }
    ASSERT_EQ(h.dtype, dtype()) << b.name;
    ASSERT_EQ(h.shape, b.shape) << b.name;
    const float *x = b.constant.data<float>();
    const uint16_t *y = h.constant.data<uint16_t>();
    for (int64_t i = 0; i < b.constant.numel(); ++i, ++checked)
      ASSERT_TRUE(sameHalfBits(y[i], nearest(x[i], dtype()), dtype()))
          << b.name << "[" << i << "] = " << x[i] << ": got 0x" << std::hex << y[i]
          << ", nearest even is 0x" << nearest(x[i], dtype());
  }
  EXPECT_GT(checked, 0);
}

TEST_P(HalfPlan, EveryKernelPassesNvrtcAndTheArtifactRecordsTheType) {
  mlir::MLIRContext ctx;
  Compiled low = compileIn(ctx, model(), dtypeName());
  const char *type = dtype() == DType::F16 ? "__half" : "__nv_bfloat16";
  int generated = 0;
  for (const Step &s : low.plan.steps) {
    if (s.kernel != "cuda.generated")
      continue;
    ++generated;
    const Tensor *cubin = s.attrs.getTensor("cubin");
    ASSERT_TRUE(cubin && cubin->numel() > 4) << s.nodeNames;
    EXPECT_EQ(std::string(static_cast<const char *>(cubin->raw()), 4), "\x7f" "ELF");
    EXPECT_NE(s.attrs.getString("ptx", "").find(".target sm_80"), std::string::npos);
    std::string src = s.attrs.getString("source", "");
    bool floatIo = false;
    for (int id : s.inputs)
      floatIo |= id >= 0 && low.plan.buffers[size_t(id)].dtype == dtype();
    for (int id : s.outputs)
      floatIo |= id >= 0 && low.plan.buffers[size_t(id)].dtype == dtype();
    if (floatIo) {
      EXPECT_NE(src.find(type), std::string::npos) << s.nodeNames;
    }
  }
  EXPECT_GT(generated, 0);
  std::string path = testing_util::scratchPath(model() + "." + dtypeName() + ".plumb");
  writeArtifact(path, low.plan);
  Plan back = readArtifact(path);
  EXPECT_EQ(cuda::planStorageType(back), dtype());
  for (size_t i = 0; i < back.buffers.size(); ++i)
    EXPECT_EQ(back.buffers[i].dtype, low.plan.buffers[i].dtype);
}

// Needs a GPU: `plumb check --backend cuda --dtype ...` passes with the type's rule at every
// fusion boundary and at the outputs.
TEST_P(HalfPlan, ChecksOnTheDeviceWithinTheHalfRule) {
  cuda::DeviceStatus st = cuda::probeDevice();
  if (!st.available)
    GTEST_SKIP() << "no CUDA device (" << st.reason << "): " << dtypeName()
                 << " parity not tested";
  CheckCommandOptions o;
  o.model = fixture(model(), ".onnx");
  o.inputs = fixture(model(), ".inputs.npz");
  o.backend = "cuda";
  o.dtype = dtypeName();
  o.extraChecks = false;
  EXPECT_EQ(checkCommand(o), 0) << model() << " in " << dtypeName();
}

INSTANTIATE_TEST_SUITE_P(Cuda, HalfPlan,
                         ::testing::Combine(::testing::ValuesIn(kModels),
                                            ::testing::Values("f16", "bf16")));

TEST(CudaHalfPlan, CastKernelsConvertBothWays) {
  for (DType t : {DType::F16, DType::BF16}) {
    cuda::GeneratedKernel in = cuda::generateKernel(cuda::castGraph(DType::F32, t, {3, 5}, "in"));
    cuda::GeneratedKernel out = cuda::generateKernel(cuda::castGraph(t, DType::F32, {3, 5}, "out"));
    std::string to = t == DType::F16 ? "__float2half_rn" : "__float2bfloat16_rn";
    std::string from = t == DType::F16 ? "__half2float" : "__bfloat162float";
    EXPECT_NE(in.source.find(to), std::string::npos) << in.source;
    EXPECT_NE(out.source.find(from), std::string::npos) << out.source;
    EXPECT_EQ(in.style, "elementwise");
  }
}

TEST(CudaHalfPlan, StorageTypeNamesAndBadOnes) {
  EXPECT_EQ(cuda::cudaStorageType(""), DType::F32);
  EXPECT_EQ(cuda::cudaStorageType("f32"), DType::F32);
  EXPECT_EQ(cuda::cudaStorageType("f16"), DType::F16);
  EXPECT_EQ(cuda::cudaStorageType("bf16"), DType::BF16);
  EXPECT_THROW(cuda::cudaStorageType("f8"), Error);
  EXPECT_NO_THROW(requireDtypeForBackend("cpu", "f32"));
  EXPECT_NO_THROW(requireDtypeForBackend("cuda", "bf16"));
  try {
    requireDtypeForBackend("cpu", "f16");
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(),
                 "--dtype f16 needs --backend cuda: the cpu backend computes in f32 only");
  }
}

} // namespace
} // namespace plumb
