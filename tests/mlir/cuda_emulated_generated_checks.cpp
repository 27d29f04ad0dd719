// Generated kernels whose exactness is bitwise or whose failure is the point (part of
// cuda_emulated_test): out-of-range indices failing the run as the reference does, and the
// casts to and from float8, float4e2m1 and float8e8m0 bit for bit the reference's.
#include "tests/mlir/GeneratedPlan.h"

#include "backends/reference/Kernel.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace plumb {
namespace {

using cudatest::generatedPlan;
using cudatest::ints;
using cudatest::iota;
using cudatest::OpCase;
using cudatest::runGenerated;

// An index outside [-dim, dim) fails in the reference. The kernel cannot stop, so it neither
// reads out of bounds nor invents a value (NaN for floats, 0 for integers) and records its
// step: the run then fails with the reference's kind of one-line error naming the step and
// its node. Gather, GatherElements, GatherND, ScatterND, ScatterElements, Scatter,
// TensorScatter (a linear write past the cache) and RoiAlign (a batch index); an in-range run
// of the same plan passes.
TEST(CudaGeneratedOp, IndexOutOfRangeFailsTheRun) {
  Tensor idx = Tensor::fromVector(DType::I64, {4}, std::vector<int64_t>{1, 5, -6, -5});
  for (DType t : {DType::F32, DType::I64}) {
    Tensor data = iota(t, {5, 2});
    OpCase c{std::string("gather_out_of_range_") + dtypeName(t), "Gather", {data, idx}, {}, {}, 1};
    Plan plan = generatedPlan(c, {Tensor::zeros(t, {4, 2})});
    cudatest::PlanEmulator emu(plan, testing_util::scratchPath("emu_op_" + c.name));
    try {
      emu.run(c.data);
      ADD_FAILURE() << c.name << ": the run did not fail";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find("step 0 (cuda.generated, nodes '" + c.name +
                                           "'): an index outside [-dim, dim)"),
                std::string::npos)
          << e.what();
    }
    const Tensor &got = emu.buffer(plan.outputs.at(0));
    for (int64_t e = 0; e < 8; ++e) {
      // Output rows 0 and 3 take data rows 1 and -5 (= 0); rows 1 and 2 are out of range.
      double v = got.getAsDouble(e), want = data.getAsDouble((e < 2 ? 1 : 0) * 2 + e % 2);
      bool valid = e < 2 || e >= 6;
      if (valid)
        EXPECT_EQ(v, want) << e;
      else if (t == DType::F32)
        EXPECT_TRUE(std::isnan(v)) << e;
      else
        EXPECT_EQ(v, 0) << e;
    }
    Tensor inRange = Tensor::fromVector(DType::I64, {4}, std::vector<int64_t>{1, 4, -5, 0});
    EXPECT_NO_THROW(emu.run({data, inRange})) << c.name;
  }
  Tensor x = iota(DType::F32, {3, 4});
  OpCase elements{"gatherelements_out_of_range", "GatherElements",
                  {x, Tensor::fromVector(DType::I64, {3, 1}, std::vector<int64_t>{0, 4, -1})}, {}, {}, 1};
  elements.attrs.set("axis", testattrs::intAttr(1));
  OpCase nd{"gathernd_out_of_range", "GatherND",
            {x, Tensor::fromVector(DType::I64, {2, 2}, std::vector<int64_t>{2, 3, -4, 0})}, {}, {}, 1};
  Tensor updates = iota(DType::F32, {3, 1});
  OpCase scatter{"scatterelements_out_of_range", "ScatterElements",
                 {x, Tensor::fromVector(DType::I64, {3, 1}, std::vector<int64_t>{0, -5, 3}), updates},
                 {}, {}, 1, 13};
  scatter.attrs.set("axis", testattrs::intAttr(1));
  OpCase legacy = scatter;
  legacy.name = "scatter_out_of_range";
  legacy.op = "Scatter";
  legacy.opset = 9;
  OpCase scatterNd{"scatternd_out_of_range", "ScatterND",
                   {x, Tensor::fromVector(DType::I64, {2, 1}, std::vector<int64_t>{1, 3}), iota(DType::F32, {2, 4})},
                   {}, {}, 1, 13};
  // A linear TensorScatter writing past its cache (3 + 2 > 4), a RoiAlign box of batch 1 of 1.
  OpCase kv{"tensorscatter_past_the_cache", "TensorScatter",
            {iota(DType::F32, {2, 4, 3}), iota(DType::F32, {2, 2, 3}),
             Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{0, 3})}, {}, {}, 1, 24};
  kv.attrs.set("axis", testattrs::intAttr(1));
  OpCase roi{"roialign_batch_out_of_range", "RoiAlign",
             {iota(DType::F32, {1, 2, 5, 5}),
              Tensor::fromVector(DType::F32, {2, 4}, std::vector<float>{0, 0, 2, 2, 1, 1, 3, 3}),
              Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{0, 1})}, {}, {}, 1, 16};
  roi.attrs.set("output_height", testattrs::intAttr(2));
  roi.attrs.set("output_width", testattrs::intAttr(2));
  auto shapeOf = [](const OpCase &c) {
    if (c.op == "GatherND")
      return Shape{2};
    if (c.op == "GatherElements")
      return Shape{3, 1};
    if (c.op == "TensorScatter")
      return Shape{2, 4, 3};
    if (c.op == "RoiAlign")
      return Shape{2, 2, 2, 2};
    return Shape{3, 4};
  };
  for (const OpCase &c : {elements, nd, scatter, legacy, scatterNd, kv, roi}) {
    Shape shape = shapeOf(c);
    EXPECT_THROW(runGenerated(c, {Tensor::zeros(DType::F32, shape)}), Error) << c.name;
    OpCase inRange = c; // every index made valid (0)
    Tensor &idx = inRange.data[c.op == "GatherElements" || c.op == "GatherND" || c.op.find("Scatter") == 0 ? 1 : 2];
    idx = Tensor::fromVector(DType::I64, idx.shape(), std::vector<int64_t>(size_t(idx.numel()), 0));
    EXPECT_NO_THROW(runGenerated(inRange, {Tensor::zeros(DType::F32, shape)})) << c.name;
  }
}

// The reference's Cast of `x` to `to` (an ONNX type code) with `saturate`.
Tensor referenceCast(const OpCase &c) {
  std::vector<const Tensor *> args = {&c.data.at(0)};
  ref::KernelCall call;
  call.opType = "Cast";
  call.nodeName = c.name;
  call.opset = 23;
  call.inputs = args;
  call.attrs = &c.attrs;
  call.numOutputs = 1;
  return ref::runKernel(call).at(0);
}

// Every bit pattern of `small` (a float8 or float4 type: `count` of them) decoded to f32 by
// a generated kernel, bit for bit the reference's; returns the reference's values.
Tensor expectDecodedBitExact(DType small, int count) {
  std::vector<uint8_t> patterns(static_cast<size_t>(count));
  for (size_t b = 0; b < patterns.size(); ++b)
    patterns[b] = uint8_t(b);
  Tensor all = Tensor::fromVector(small, {count}, patterns);
  OpCase decode{std::string("cast_from_") + dtypeName(small), "Cast", {all}, {}, {}, 1, 23};
  decode.attrs.set("to", testattrs::intAttr(dtypeToOnnx(DType::F32)));
  Tensor want = referenceCast(decode);
  Tensor got = runGenerated(decode, {want}).at(0);
  for (int64_t e = 0; e < count; ++e) {
    float g = got.data<float>()[e], w = want.data<float>()[e];
    EXPECT_TRUE(std::memcmp(&g, &w, 4) == 0 || (std::isnan(g) && std::isnan(w)))
        << dtypeName(small) << " pattern " << e << ": " << g << " vs " << w;
  }
  return want;
}

// `encode` (a Cast to a one-byte type) in a generated kernel gives the reference's bits.
void expectEncodedBitExact(const OpCase &encode) {
  Tensor bits = referenceCast(encode);
  Tensor out = runGenerated(encode, {bits}).at(0);
  for (int64_t e = 0; e < bits.numel(); ++e)
    EXPECT_EQ(int(static_cast<const uint8_t *>(out.raw())[e]),
              int(static_cast<const uint8_t *>(bits.raw())[e]))
        << encode.name << " value " << encode.data[0].getAsDouble(e);
}

// Cast to and from the four float8 types and float4e2m1 in a generated kernel (they were host
// steps), bit for bit the reference's (runtime/SmallFloat.cpp): every bit pattern decoded to
// f32; f32 values at and between every pair of neighbouring values (ties to even), past the
// largest, infinities, NaN, signed zeros and values below the smallest subnormal encoded with
// saturate 1 (the default: the largest finite value) and 0 (infinity or NaN; float4, which has
// neither, saturates anyway and gives NaN the -0 pattern); then f16 in.
TEST(CudaGeneratedOp, Float8CastsAreBitExact) {
  for (DType f8 : {DType::F8E4M3FN, DType::F8E4M3FNUZ, DType::F8E5M2, DType::F8E5M2FNUZ, DType::F4E2M1}) {
    int count = f8 == DType::F4E2M1 ? 16 : 256;
    Tensor want = expectDecodedBitExact(f8, count);
    std::vector<float> values = {0.0f, -0.0f, 1e-30f, -1e-30f, INFINITY, -INFINITY, NAN, 1e30f, -1e30f};
    std::vector<float> finite;
    for (int64_t e = 0; e < count; ++e)
      if (std::isfinite(want.data<float>()[e]))
        finite.push_back(want.data<float>()[e]);
    std::sort(finite.begin(), finite.end());
    for (size_t i = 0; i + 1 < finite.size(); ++i) {
      float a = finite[i], b = finite[i + 1];
      values.insert(values.end(), {a, (a + b) / 2, std::nextafter((a + b) / 2, b), b * 1.0001f});
    }
    values.push_back(finite.back() * 1.06f); // rounds down to the largest
    values.push_back(finite.back() * 1.07f); // past the largest
    Tensor in = Tensor::fromVector(DType::F32, {int64_t(values.size())}, values);
    for (DType from : {DType::F32, DType::F16})
      for (int64_t saturate : {1, 0}) {
        OpCase encode{std::string("cast_to_") + dtypeName(f8) + "_from_" + dtypeName(from) +
                          (saturate ? "" : "_no_saturate"),
                      "Cast", {in.cast(from)}, {}, {}, 1, 23};
        encode.attrs.set("to", testattrs::intAttr(dtypeToOnnx(f8)));
        encode.attrs.set("saturate", testattrs::intAttr(saturate));
        expectEncodedBitExact(encode);
      }
  }
}

// float8e8m0 (opset 24's Cast, the MX formats' scale) in a generated kernel, bit for bit the
// reference's: every pattern decoded (2^-127 a subnormal f32, 0xff NaN); f32 values at, a
// quarter, a half (a tie) and three quarters past powers of two across the whole range
// (subnormals, 2^127 and above, where rounding up carries past the largest), signed, zeros,
// infinities and NaN, encoded with each round_mode and saturate.
TEST(CudaGeneratedOp, E8M0CastsAreBitExact) {
  expectDecodedBitExact(DType::F8E8M0, 256);
  std::vector<float> values = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, 3e-39f,
                               std::numeric_limits<float>::max()};
  for (int e = -149; e <= 127; e += 3)
    for (float f : {1.0f, 1.25f, 1.5f, 1.75f, -1.5f})
      values.push_back(std::ldexp(f, e));
  Tensor in = Tensor::fromVector(DType::F32, {int64_t(values.size())}, values);
  for (const char *mode : {"up", "down", "nearest"})
    for (int64_t saturate : {1, 0}) {
      OpCase encode{std::string("cast_to_e8m0_") + mode + (saturate ? "" : "_no_saturate"), "Cast",
                    {in}, {}, {}, 1, 24};
      encode.attrs.set("to", testattrs::intAttr(dtypeToOnnx(DType::F8E8M0)));
      encode.attrs.set("saturate", testattrs::intAttr(saturate));
      encode.attrs.set("round_mode", testattrs::stringAttr(mode));
      expectEncodedBitExact(encode);
    }
}

} // namespace
} // namespace plumb
