// Casts to narrower types and QDQ models on the CUDA plan emulator (part of
// cuda_emulated_test): a narrowing Cast inside a kernel, int8/uint8/int16 QDQ pairs, FP8 QDQ
// and blocked int4 weights through plumb-decompose-quantize, each against the reference.
// Float8 conversions alone, bit for bit, are in cuda_emulated_generated_ops.cpp.
#include "tests/mlir/CudaEmulatedModels.h"
#include "tests/mlir/CudaGraphBuilders.h"

#include "frontend/tensorio/TensorIO.h"
#include "parity/Metrics.h"
#include "tests/TempFiles.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace plumb {
namespace {

using namespace cudatest;
using cudatest::graphs::expectBitExact;
using cudatest::graphs::expectClose;
using cudatest::graphs::node;
using cudatest::graphs::stepsRunning;

// A round trip through a narrower float type inside one kernel (x.half().float() + x, and
// the same through bf16 and float8 e4m3fn / e5m2) rounds where the model's Cast does: the
// kernel computes in f32, so the cast goes through the type's storage. Each chain one
// elementwise kernel (the float8 casts were host steps), within f32's tolerance of the
// reference (the rounding itself is 2^-11 to 2^-3 relative: far outside it).
TEST(CudaElementwise, NarrowingCastsRoundInsideAKernel) {
  onnx::ModelProto m = newModel("narrowing_casts", 19);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {3, 50});
  int n = 0;
  for (DType t : {DType::F16, DType::BF16, DType::F8E4M3FN, DType::F8E5M2}) {
    std::string id = std::to_string(n++);
    intAttrOf(node(g, "Cast", "narrow" + id, {"x"}, "narrow" + id), "to", dtypeToOnnx(t));
    intAttrOf(node(g, "Cast", "widen" + id, {"narrow" + id}, "widen" + id), "to", onnx::TensorProto::FLOAT);
    node(g, "Add", "sum" + id, {"widen" + id, "x"}, "sum" + id);
    floatValue(g->add_output(), "sum" + id);
  }
  std::string model = saveModel(m, "narrowing_casts.onnx");
  std::vector<float> x(150);
  for (size_t e = 0; e < x.size(); ++e) // not on f16's grid (seeded inputs are)
    x[e] = 3.0f * std::sin(0.731f * float(e) + 0.1f);
  std::string npz = testing_util::scratchPath("narrowing_casts.npz");
  writeNpz(npz, {{"x", Tensor::fromVector(DType::F32, {3, 50}, x)}});
  KeptPlan k = runKept(model, npz, "f32", keepNone, "narrowing_casts");
  // The four chains read x: one sibling kernel writes the four sums.
  EXPECT_EQ(stepsOfStyle(k.compiled.plan, "elementwise"), 1);
  EXPECT_EQ(k.compiled.plan.steps.at(0).outputs.size(), 4u);
  expectClose(k, "f32");
}

// A QDQ model (plumb-decompose-quantize): activations quantized per tensor to uint8 and per
// channel to int8 and int16, dequantized, and a per-column int8 weight dequantized into a
// MatMul. Every QuantizeLinear/DequantizeLinear ran on the host; now none does, the
// quantize/dequantize pairs are generated elementwise kernels, and the f32 plan matches the
// reference (the same roundings: half to even, saturation at the type's range).
TEST(CudaQuantize, QdqPairsAreGeneratedKernels) {
  onnx::ModelProto m = newModel("qdq", 19);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 4, 6});
  auto initializer = [&](const std::string &name, int type, std::vector<int64_t> dims,
                         std::vector<int64_t> ints, std::vector<float> floats = {}) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims)
      t->add_dims(d);
    for (int64_t v : ints)
      t->add_int32_data(int32_t(v));
    for (float f : floats)
      t->add_float_data(f);
  };
  using TP = onnx::TensorProto;
  initializer("s", TP::FLOAT, {}, {}, {0.02f});
  initializer("z", TP::UINT8, {}, {128});
  initializer("sc", TP::FLOAT, {3}, {}, {0.01f, 0.015f, 0.03f});
  initializer("zc", TP::INT8, {3}, {5, -7, 0});
  initializer("s16", TP::FLOAT, {3}, {}, {1e-4f, 2e-4f, 5e-5f});
  initializer("z16", TP::INT16, {3}, {100, -3000, 0});
  std::vector<int64_t> w(6 * 5);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = int64_t((i * 37) % 255) - 127;
  initializer("w", TP::INT8, {6, 5}, w);
  initializer("ws", TP::FLOAT, {5}, {}, {0.01f, 0.02f, 0.005f, 0.03f, 0.012f});
  node(g, "QuantizeLinear", "q", {"x", "s", "z"}, "xq");
  node(g, "DequantizeLinear", "dq", {"xq", "s", "z"}, "xd");
  node(g, "QuantizeLinear", "qc", {"xd", "sc", "zc"}, "xqc");
  node(g, "DequantizeLinear", "dqc", {"xqc", "sc", "zc"}, "xdc");
  node(g, "QuantizeLinear", "q16", {"xdc", "s16", "z16"}, "x16");
  node(g, "DequantizeLinear", "dq16", {"x16", "s16", "z16"}, "xd16");
  intAttrOf(node(g, "DequantizeLinear", "dqw", {"w", "ws"}, "wd"), "axis", 1);
  node(g, "MatMul", "mm", {"xd16", "wd"}, "y");
  floatValue(g->add_output(), "y");
  floatValue(g->add_output(), "xqc");
  std::string model = saveModel(m, "qdq.onnx");
  KeptPlan k = runKept(model, "", "f32", keepNone, "qdq");
  EXPECT_GE(stepsOfStyle(k.compiled.plan, "elementwise"), 1); // and no host step
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.matmul"), 1);
  ASSERT_EQ(k.got.size(), 2u);
  EXPECT_EQ(k.got[1].dtype(), DType::I8);
  // The int8 codes exactly; the MatMul of dequantized values within f32 rounding.
  EXPECT_EQ(parity::compareTensors(k.got[1], k.truth.outputs[1]).maxAbsErr, 0.0);
  expectClose(k, "f32");
}

// Dynamic quantization as ONNX Runtime's quantize_dynamic writes a MatMul: x quantized to
// uint8 by DynamicQuantizeLinear (scale and zero point from its range), MatMulInteger with an
// int8 weight, the int32 sum cast to f32 and scaled by x_scale * w_scale. Both ops were host
// steps; now DynamicQuantizeLinear is its reductions and elementwise ops
// (plumb-decompose-quantize) and MatMulInteger a generated kernel: no host step, and every
// output bit for bit the reference's (the codes, the scale, the zero point, the exact sums and
// the same f32 products). A second DynamicQuantizeLinear of zeros (scale 0) gives codes and
// zero point 0, as the reference does, not NaN. A third of square roots with NaN among them
// (x < 0) has the range of the others, as the reference passes over NaN.
TEST(CudaQuantize, DynamicQuantizationRunsOnTheDevice) {
  onnx::ModelProto m = newModel("dynamic_quantization", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 8, 16});
  onnx::TensorProto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::INT8);
  w->add_dims(16);
  w->add_dims(12);
  for (int i = 0; i < 16 * 12; ++i)
    w->add_int32_data((i * 53) % 255 - 127);
  floatInitializer(g, "ws", {}, [](int64_t) { return 0.0125f; });
  floatInitializer(g, "nothing", {}, [](int64_t) { return 0.0f; });
  node(g, "DynamicQuantizeLinear", "dql", {"x"}, "xq");
  g->mutable_node(g->node_size() - 1)->add_output("xs");
  g->mutable_node(g->node_size() - 1)->add_output("xz");
  node(g, "MatMulInteger", "mmi", {"xq", "w", "xz"}, "acc");
  intAttrOf(node(g, "Cast", "acc_float", {"acc"}, "accf"), "to", onnx::TensorProto::FLOAT);
  node(g, "Mul", "scale", {"xs", "ws"}, "ys");
  node(g, "Mul", "rescale", {"accf", "ys"}, "y");
  node(g, "Mul", "zeros", {"x", "nothing"}, "z");
  node(g, "DynamicQuantizeLinear", "dql_zeros", {"z"}, "zq");
  g->mutable_node(g->node_size() - 1)->add_output("zs");
  g->mutable_node(g->node_size() - 1)->add_output("zz");
  node(g, "Sqrt", "roots", {"x"}, "r"); // NaN where x < 0
  node(g, "DynamicQuantizeLinear", "dql_nan", {"r"}, "nq");
  g->mutable_node(g->node_size() - 1)->add_output("ns");
  g->mutable_node(g->node_size() - 1)->add_output("nz");
  for (const char *o : {"y", "xq", "xs", "xz", "zq", "zs", "zz", "nq", "ns", "nz"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "dynamic_quantization.onnx");
  KeptPlan k = runKept(model, "", "f32", keepNone, "dynamic_quantization");
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0);
  ASSERT_EQ(k.got.size(), 10u);
  EXPECT_TRUE(std::isfinite(k.got[8].getAsDouble(0))); // NaN passed over: a finite scale
  EXPECT_EQ(k.got[1].dtype(), DType::U8);
  EXPECT_EQ(k.got[4].dtype(), DType::U8);
  EXPECT_EQ(k.got[5].getAsDouble(0), 0.0); // the zeros' scale
  expectBitExact(k);
}

// An FP8 QDQ model (plumb-decompose-quantize with float8): activations quantized to
// float8e4m3fn per tensor (values past 448 x scale: saturated, the default) with a zero
// zero point, dequantized, into a MatMul by a float8e5m2 weight dequantized per column. The
// Q/DQ were host steps; now generated kernels, the e4m3fn codes bit for bit the reference's
// and the MatMul within f32 rounding.
TEST(CudaQuantize, Float8QdqPairsAreGeneratedKernels) {
  onnx::ModelProto m = newModel("qdq_fp8", 19);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {4, 16});
  auto raw = [&](const std::string &name, DType t, std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
    onnx::TensorProto *p = g->add_initializer();
    p->set_name(name);
    p->set_data_type(dtypeToOnnx(t));
    for (int64_t d : dims)
      p->add_dims(d);
    p->set_raw_data(std::string(bytes.begin(), bytes.end()));
  };
  graphs::scalar(g, "s", 0.05f);
  raw("z", DType::F8E4M3FN, {}, {0});
  std::vector<uint8_t> w(16 * 8);
  for (size_t i = 0; i < w.size(); ++i) // e5m2 patterns below 0x7c: finite
    w[i] = uint8_t((i * 29) % 0x7c) | (i % 3 == 0 ? 0x80 : 0);
  raw("w", DType::F8E5M2, {16, 8}, w);
  floatInitializer(g, "ws", {8}, [](int64_t i) { return 0.01f * float(i + 1); });
  node(g, "QuantizeLinear", "q", {"x", "s", "z"}, "xq");
  node(g, "DequantizeLinear", "dq", {"xq", "s", "z"}, "xd");
  intAttrOf(node(g, "DequantizeLinear", "dqw", {"w", "ws"}, "wd"), "axis", 1);
  node(g, "MatMul", "mm", {"xd", "wd"}, "y");
  floatValue(g->add_output(), "y");
  onnx::ValueInfoProto *codes = g->add_output();
  codes->set_name("xq");
  codes->mutable_type()->mutable_tensor_type()->set_elem_type(dtypeToOnnx(DType::F8E4M3FN));
  std::string model = saveModel(m, "qdq_fp8.onnx");
  std::vector<float> x(64);
  for (size_t e = 0; e < x.size(); ++e) // up to 30: past 448 x 0.05 = 22.4, so some saturate
    x[e] = 30.0f * std::sin(0.37f * float(e) + 0.2f);
  std::string npz = testing_util::scratchPath("qdq_fp8.npz");
  writeNpz(npz, {{"x", Tensor::fromVector(DType::F32, {4, 16}, x)}});
  KeptPlan k = runKept(model, npz, "f32", keepNone, "qdq_fp8");
  EXPECT_GE(stepsOfStyle(k.compiled.plan, "elementwise"), 1); // and no host step
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.matmul"), 1);
  ASSERT_EQ(k.got.size(), 2u);
  ASSERT_EQ(k.got[1].dtype(), DType::F8E4M3FN);
  ASSERT_EQ(k.got[1].numel(), k.truth.outputs[1].numel());
  EXPECT_EQ(std::memcmp(k.got[1].raw(), k.truth.outputs[1].raw(), size_t(k.got[1].numel())), 0);
  expectClose(k, "f32");
}

// Weight-only int4 quantization as LLM exports write it: an int4 weight [512, 1024] with
// per-block scales and int4 zero points (blocks of 32 along K), DequantizeLinear into a
// MatMul. The weight is past the constant-folding cap, so the dequantization runs each time:
// it was a host step (blocked, and int4); now x viewed as [16, 32, 1024] times the scales
// viewed as [16, 1, 1024] in one generated kernel. The MatMul within f32 rounding.
TEST(CudaQuantize, BlockedInt4WeightsAreDequantizedOnTheDevice) {
  const int64_t K = 512, N = 1024, block = 32;
  onnx::ModelProto m = newModel("int4_weights", 21);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {4, K});
  // int4 in ONNX files: two values a byte, the first in the low nibble
  auto packed = [&](const std::string &name, std::vector<int64_t> dims, auto value) {
    onnx::TensorProto *p = g->add_initializer();
    p->set_name(name);
    p->set_data_type(dtypeToOnnx(DType::I4));
    int64_t n = 1;
    for (int64_t d : dims) {
      p->add_dims(d);
      n *= d;
    }
    std::string bytes(size_t((n + 1) / 2), '\0');
    for (int64_t i = 0; i < n; ++i)
      bytes[size_t(i / 2)] = char(uint8_t(bytes[size_t(i / 2)]) | ((uint8_t(value(i)) & 0xF) << (i % 2 * 4)));
    p->set_raw_data(bytes);
  };
  packed("w", {K, N}, [](int64_t i) { return int((i * 7 + i / 1000) % 16) - 8; });
  packed("z", {K / block, N}, [](int64_t i) { return int(i % 5) - 2; });
  floatInitializer(g, "s", {K / block, N}, [](int64_t i) { return 0.002f * float(1 + i % 9); });
  onnx::NodeProto *dq = node(g, "DequantizeLinear", "dqw", {"w", "s", "z"}, "wd");
  intAttrOf(dq, "axis", 0);
  intAttrOf(dq, "block_size", block);
  node(g, "MatMul", "mm", {"x", "wd"}, "y");
  floatValue(g->add_output(), "y");
  std::string model = saveModel(m, "int4_weights.onnx");
  KeptPlan k = runKept(model, "", "f32", keepNone, "int4_weights");
  EXPECT_EQ(stepsOfStyle(k.compiled.plan, "elementwise"), 1); // and no host step
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.matmul"), 1);
  expectClose(k, "f32");
}

// Quantization to 4-bit codes (QuantizeLinear, then DequantizeLinear back): x [4, 64] to int4
// in blocks of 16 along the row with per-block scales and int4 zero points (activation
// quantization for int4 kernels), and to float4e2m1 in blocks of 32 (the MXFP4 layout, with
// values past 6 x scale saturating) and per tensor. Each ran on the host (blocked, 4-bit
// outputs); now generated kernels, the codes bit for bit the reference's (int4 stored
// sign-extended, float4 as its pattern) and the dequantized values within f32 rounding.
TEST(CudaQuantize, BlockedAndFourBitCodesAreGeneratedKernels) {
  onnx::ModelProto m = newModel("q4", 23);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {4, 64});
  auto raw = [&](const std::string &name, DType t, std::vector<int64_t> dims, auto value) {
    onnx::TensorProto *p = g->add_initializer();
    p->set_name(name);
    p->set_data_type(dtypeToOnnx(t));
    int64_t n = 1;
    for (int64_t d : dims) {
      p->add_dims(d);
      n *= d;
    }
    std::string bytes(size_t((n + 1) / 2), '\0'); // two a byte, the first in the low nibble
    for (int64_t i = 0; i < n; ++i)
      bytes[size_t(i / 2)] = char(uint8_t(bytes[size_t(i / 2)]) | ((uint8_t(value(i)) & 0xF) << (i % 2 * 4)));
    p->set_raw_data(bytes);
  };
  floatInitializer(g, "s4", {4, 4}, [](int64_t i) { return 0.05f * float(1 + i % 3); });
  raw("z4", DType::I4, {4, 4}, [](int64_t i) { return int(i % 5) - 2; });
  floatInitializer(g, "sf", {4, 2}, [](int64_t i) { return i % 2 ? 0.25f : 0.5f; });
  graphs::scalar(g, "st", 0.4f);
  raw("zf", DType::F4E2M1, {}, [](int64_t) { return 0; });
  onnx::NodeProto *q = node(g, "QuantizeLinear", "q_int4", {"x", "s4", "z4"}, "x_int4");
  intAttrOf(q, "axis", 1);
  intAttrOf(q, "block_size", 16);
  onnx::NodeProto *dq = node(g, "DequantizeLinear", "dq_int4", {"x_int4", "s4", "z4"}, "y_int4");
  intAttrOf(dq, "axis", 1);
  intAttrOf(dq, "block_size", 16);
  q = node(g, "QuantizeLinear", "q_mxfp4", {"x", "sf"}, "x_mxfp4");
  intAttrOf(q, "axis", 1);
  intAttrOf(q, "block_size", 32);
  intAttrOf(q, "output_dtype", dtypeToOnnx(DType::F4E2M1));
  node(g, "QuantizeLinear", "q_fp4", {"x", "st", "zf"}, "x_fp4");
  node(g, "DequantizeLinear", "dq_fp4", {"x_fp4", "st", "zf"}, "y_fp4");
  auto output = [&](const std::string &name, DType t) {
    onnx::ValueInfoProto *o = g->add_output();
    o->set_name(name);
    o->mutable_type()->mutable_tensor_type()->set_elem_type(dtypeToOnnx(t));
  };
  output("x_int4", DType::I4);
  floatValue(g->add_output(), "y_int4");
  output("x_mxfp4", DType::F4E2M1);
  output("x_fp4", DType::F4E2M1);
  floatValue(g->add_output(), "y_fp4");
  std::string model = saveModel(m, "q4.onnx");
  std::vector<float> x(256);
  for (size_t e = 0; e < x.size(); ++e) // up to 4: past the int4 range at scale 0.05
    x[e] = 4.0f * std::sin(0.53f * float(e) + 0.3f);
  x[7] = NAN; // float4 has no NaN: the -0 pattern
  std::string npz = testing_util::scratchPath("q4.npz");
  writeNpz(npz, {{"x", Tensor::fromVector(DType::F32, {4, 64}, x)}});
  KeptPlan k = runKept(model, npz, "f32", keepNone, "q4");
  EXPECT_GE(stepsOfStyle(k.compiled.plan, "elementwise"), 1);
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0);
  ASSERT_EQ(k.got.size(), 5u);
  for (size_t o : {0u, 2u, 3u}) {
    SCOPED_TRACE("output " + std::to_string(o));
    ASSERT_EQ(k.got[o].dtype(), k.truth.outputs[o].dtype());
    ASSERT_EQ(k.got[o].numel(), k.truth.outputs[o].numel());
    EXPECT_EQ(std::memcmp(k.got[o].raw(), k.truth.outputs[o].raw(), size_t(k.got[o].numel())), 0);
  }
  expectClose(k, "f32");
}

} // namespace
} // namespace plumb
