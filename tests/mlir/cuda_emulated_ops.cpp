// One-node models on the CUDA plan emulator (part of cuda_emulated_test): conv geometry
// handed to cuDNN, norms over trailing dims and TopK through the lowering (Resize and
// Upsample: cuda_emulated_resize.cpp). Each
// movement/window/row op alone against its reference kernel is in
// cuda_emulated_generated_ops.cpp.
#include "tests/mlir/CudaEmulator.h"
#include "tests/mlir/CudaEmulatedModels.h"

#include "backends/cuda/codegen/Generator.h"

#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "ir/PlumbDialect.h"
#include "parity/Metrics.h"
#include "runtime/Error.h"
#include "tests/TempFiles.h"
#include "tests/TestAttrs.h"
#include "tests/mlir/CudaFixtures.h"
#include "tests/mlir/CudaGraphBuilders.h"
#include "tools/lib/Capture.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <optional>
#include <set>

namespace plumb {
namespace {

using namespace cudatest;
using cudatest::graphs::node;
using cudatest::graphs::stepsRunning;
using cudatest::graphs::expectBitExact;
using cudatest::graphs::expectClose;
using cudatest::graphs::floats;
using cudatest::graphs::stepOf;

// Norms over several trailing dims (GroupNormalization, InstanceNormalization, ReduceMean
// over H and W with constant axes) as generated row kernels, in f32 and bf16 plans: no host
// step, and the outputs within the storage type's tolerance of the reference.
TEST(CudaNorms, GroupAndInstanceNormsRunAsRowKernels) {
  std::string model = std::string(PLUMB_SOURCE_DIR) + "/tests/data/cuda/norms.onnx";
  for (const char *dtype : {"f32", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("norms_") + dtype);
    // group norm, instance norm, the spatial mean
    EXPECT_EQ(stepsOfStyle(k.compiled.plan, "row"), 3) << dtype;
    const Tensor &truth = k.truth.outputs.at(0);
    parity::TensorMetrics m = parity::compareTensors(k.got.at(0).cast(DType::F32), truth);
    EXPECT_LE(m.maxAbsErr, tolerance(dtype, peakOf(truth))) << dtype;
  }
}

// Reductions in every form the row kernels do not take directly (plumb-reductions-as-rows):
// dropped dims, axes that are not trailing (a channel, the batch, two apart), ReduceL1/L2/
// SumSquare/LogSum by their definitions, ReduceProd, ReduceLogSumExp (max-shifted, in the
// kernel), Softmax/LogSoftmax over a leading axis. Each ran on the host before; now no host
// step (stepsOfStyle fails on one), one row kernel per reduction, and every output within the
// storage type's tolerance of the reference.
TEST(CudaReductions, EveryFormIsARowKernel) {
  onnx::ModelProto m = newModel("reductions", 18);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 8, 5, 6});
  struct Reduction {
    const char *op;
    std::vector<int64_t> axes;
    int64_t keepdims;
  };
  std::vector<Reduction> reductions = {
      {"ReduceMean", {1}, 1},     {"ReduceMean", {2, 3}, 0}, {"ReduceMax", {1}, 0},
      {"ReduceSum", {-1}, 0},     {"ReduceMin", {0, 2}, 1},  {"ReduceL2", {1, 3}, 1},
      {"ReduceL1", {-1}, 1},      {"ReduceSumSquare", {0}, 0}, {"ReduceLogSum", {2}, 0},
      {"ReduceProd", {1}, 1},     {"ReduceLogSumExp", {-1}, 0}, {"ReduceLogSumExp", {0, 3}, 1}};
  auto add = [&](onnx::NodeProto *n) {
    floatValue(g->add_output(), n->output(0));
    return n;
  };
  node(g, "Exp", "exp", {"x"}, "ex"); // ReduceLogSum of positive values
  for (size_t i = 0; i < reductions.size(); ++i) {
    const Reduction &r = reductions[i];
    std::string id = std::to_string(i), in = std::string(r.op) == "ReduceLogSum" ? "ex" : "x";
    intsInitializer(g, "axes" + id, r.axes);
    intAttrOf(add(node(g, r.op, "r" + id, {in, "axes" + id}, "y" + id)), "keepdims", r.keepdims);
  }
  intAttrOf(add(node(g, "Softmax", "softmax", {"x"}, "channel_softmax")), "axis", 1);
  intAttrOf(add(node(g, "LogSoftmax", "logsoftmax", {"x"}, "batch_logsoftmax")), "axis", 0);
  std::string model = saveModel(m, "reductions.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("reductions_") + dtype);
    EXPECT_EQ(stepsOfStyle(k.compiled.plan, "row"), int(reductions.size()) + 2) << dtype;
    ASSERT_EQ(k.got.size(), reductions.size() + 2);
    expectClose(k, dtype);
  }
}

// LpNormalization (L2 over the channels, L1 over the last axis) and MeanVarianceNormalization
// (its default axes N, H, W) as their reductions in row form and the elementwise ops that
// apply them, Hardmax over the channels as the one-hot of an ArgMax, a LayerNormalization
// over the last two axes with its Mean and InvStdDev read as its function body
// (plumb-reductions-as-rows): host steps before; now row kernels for the norms (one each, two
// for MVN's and the LayerNorm's mean and variance), every output within the storage type's
// tolerance.
TEST(CudaReductions, NormalizationsAreRowKernels) {
  onnx::ModelProto m = newModel("normalizations", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 8, 5, 6});
  onnx::NodeProto *l2 = node(g, "LpNormalization", "l2", {"x"}, "l2");
  intAttrOf(l2, "axis", 1);
  onnx::NodeProto *l1 = node(g, "LpNormalization", "l1", {"x"}, "l1");
  intAttrOf(l1, "p", 1);
  node(g, "MeanVarianceNormalization", "mvn", {"x"}, "mvn");
  intAttrOf(node(g, "Hardmax", "hardmax", {"x"}, "hardmax"), "axis", 1);
  graphs::floats(g, "gamma", {5, 6});
  graphs::floats(g, "beta", {6});
  onnx::NodeProto *ln = node(g, "LayerNormalization", "ln", {"x", "gamma", "beta"}, "ln");
  ln->add_output("ln_mean");
  ln->add_output("ln_inv_std");
  intAttrOf(ln, "axis", 2);
  for (const char *o : {"l2", "l1", "mvn", "hardmax", "ln", "ln_mean", "ln_inv_std"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "normalizations.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("normalizations_") + dtype);
    EXPECT_EQ(stepsOfStyle(k.compiled.plan, "row"), 6) << dtype;
    expectClose(k, dtype);
  }
}

// Trilu (plumb-decompose-trilu) as its mask: upper with k = 1 of a batch of matrices and lower
// with k = -1 read by a Relu, one sibling kernel (both read x); upper with k given at run time
// (2) adds it to the row indices in a kernel of its own, compares in another and masks in a
// third. Host steps before; now bit for bit the reference's (elements are kept or zeroed).
TEST(CudaMovement, TriluIsAnElementwiseKernel) {
  onnx::ModelProto m = newModel("trilu", 14);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 5, 7});
  onnx::ValueInfoProto *kin = g->add_input();
  kin->set_name("k");
  kin->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  kin->mutable_type()->mutable_tensor_type()->mutable_shape();
  intsInitializer(g, "one", {1});
  intsInitializer(g, "minus_one", {-1});
  node(g, "Trilu", "upper", {"x", "one"}, "upper");
  intAttrOf(node(g, "Trilu", "lower", {"x", "minus_one"}, "lower_in"), "upper", 0);
  node(g, "Relu", "relu", {"lower_in"}, "lower");
  node(g, "Trilu", "run_time_k", {"x", "k"}, "run_time_k");
  for (const char *o : {"upper", "lower", "run_time_k"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "trilu.onnx");
  std::vector<float> x(70);
  for (size_t e = 0; e < x.size(); ++e)
    x[e] = std::sin(0.37f * float(e)) + 0.5f; // zeros of the mask differ from the kept values
  std::string npz = testing_util::scratchPath("trilu.npz");
  writeNpz(npz, {{"x", Tensor::fromVector(DType::F32, {2, 5, 7}, x)}, {"k", Tensor::scalarI64(2)}});
  KeptPlan k = runKept(model, npz, "f32", keepNone, "trilu");
  EXPECT_EQ(stepOf(k.compiled.plan, "upper"), stepOf(k.compiled.plan, "relu"));
  EXPECT_EQ(stepsOfStyle(k.compiled.plan, "elementwise"), 4);
  EXPECT_EQ(k.compiled.plan.steps.size(), 4u);
  ASSERT_EQ(k.got.size(), 3u);
  expectBitExact(k);
}

// An opset-6 model (tests/data/cpu/make_models.py): an Add with broadcast=1, axis=1, a PRelu
// with a per-channel slope and a Pad with its pads and fill as attributes, on x whose W equals
// C. No host step (the PRelu and the Pad ran on the host), values against the reference in
// f32 and f16.
TEST(CudaMovement, Opset6FormsRunOnTheDevice) {
  std::string model = std::string(PLUMB_SOURCE_DIR) + "/tests/data/cpu/legacy_opset6.onnx";
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("opset6_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    expectClose(k, dtype);
  }
}

// BatchNormalization after something other than a Conv (plumb-decompose-batchnorm; it ran
// on the host): DenseNet's BN after a Concat, then ReLU, before a Conv; BatchNorm1d on a
// Linear's [N, C] output; a BN whose statistics are graph inputs. Each BN with what is around
// it is one generated kernel; values against the reference in f32 and f16.
TEST(CudaNorms, BatchNormOutsideAConvIsAGeneratedKernel) {
  onnx::ModelProto m = newModel("batchnorm", 15);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "a", {1, 3, 5, 5});
  floatValue(g->add_input(), "b", {1, 5, 5, 5});
  floatValue(g->add_input(), "x", {4, 6});
  floatValue(g->add_input(), "mean", {6});
  floatValue(g->add_input(), "var", {6});
  auto params = [&](const std::string &p, int64_t c) {
    floatInitializer(g, p + "_scale", {c}, [](int64_t i) { return 0.5f + 0.25f * float(i % 3); });
    floatInitializer(g, p + "_bias", {c}, [](int64_t i) { return 0.1f * float(i) - 0.2f; });
    floatInitializer(g, p + "_mean", {c}, [](int64_t i) { return 0.05f * float(i); });
    floatInitializer(g, p + "_var", {c}, [](int64_t i) { return 0.5f + 0.3f * float(i); });
  };
  params("dense", 8);
  params("linear", 6);
  floats(g, "conv_w", {4, 8, 3, 3});
  floats(g, "fc_w", {6, 6});
  intAttrOf(node(g, "Concat", "concat", {"a", "b"}, "cat"), "axis", 1);
  node(g, "BatchNormalization", "dense_bn",
       {"cat", "dense_scale", "dense_bias", "dense_mean", "dense_var"}, "bn1");
  node(g, "Relu", "dense_relu", {"bn1"}, "r1");
  node(g, "Conv", "conv", {"r1", "conv_w"}, "y1");
  node(g, "MatMul", "fc", {"x", "fc_w"}, "h");
  node(g, "BatchNormalization", "linear_bn",
       {"h", "linear_scale", "linear_bias", "linear_mean", "linear_var"}, "y2");
  node(g, "BatchNormalization", "run_time_bn",
       {"h", "linear_scale", "linear_bias", "mean", "var"}, "y3");
  for (const char *o : {"y1", "y2", "y3"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "batchnorm.onnx");
  std::string npz = testing_util::scratchPath("batchnorm.npz");
  auto wave = [](Shape s, float f, float base) {
    std::vector<float> v(size_t(numElements(s)));
    for (size_t e = 0; e < v.size(); ++e)
      v[e] = base + std::sin(f * float(e) + 0.3f);
    return Tensor::fromVector(DType::F32, s, v);
  };
  writeNpz(npz, {{"a", wave({1, 3, 5, 5}, 0.37f, 0)},
                 {"b", wave({1, 5, 5, 5}, 0.53f, 0)},
                 {"x", wave({4, 6}, 0.71f, 0)},
                 {"mean", wave({6}, 1.1f, 0)},
                 {"var", wave({6}, 0.9f, 1.5f)}});
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, npz, dtype, keepNone, std::string("batchnorm_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsRunning(plan, "cuda.host"), 0) << dtype;
    EXPECT_EQ(stepOf(plan, "concat"), stepOf(plan, "dense_relu")) << dtype;
    EXPECT_EQ(stepOf(plan, "concat"), stepOf(plan, "dense_bn")) << dtype;
    expectClose(k, dtype);
  }
}

// Gemms whose C is not a bias cuBLASLt's epilogue adds: a scalar with alpha and beta, an
// [M, 1] column, an [N] row scaled by beta != 1 (with transA and transB). C is broadcast to
// [M, N] by one generated kernel and given to cuBLASLt as C with beta; each Gemm ran on the
// host before ("Gemm's C broadcasts partially"). Outputs within the tolerance, both types.
TEST(CudaMatMul, GemmBroadcastsAnyC) {
  onnx::ModelProto m = newModel("gemm_c", 13);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "a", {6, 4});
  floatValue(g->add_input(), "at", {4, 6});
  graphs::floats(g, "b", {4, 8});
  graphs::floats(g, "bt", {8, 4});
  graphs::scalar(g, "c_scalar", 0.75f);
  floatInitializer(g, "c_column", {6, 1}, [](int64_t i) { return float(i) - 2.5f; });
  floatInitializer(g, "c_row", {8}, [](int64_t i) { return 0.5f * float(i) - 1.0f; });
  onnx::NodeProto *s = node(g, "Gemm", "scalar_c", {"a", "b", "c_scalar"}, "scalar_c");
  floatAttrOf(s, "alpha", 0.5f);
  floatAttrOf(s, "beta", 2.0f);
  node(g, "Gemm", "column_c", {"a", "b", "c_column"}, "column_c");
  onnx::NodeProto *r = node(g, "Gemm", "scaled_row_c", {"at", "bt", "c_row"}, "scaled_row_c");
  intAttrOf(r, "transA", 1);
  intAttrOf(r, "transB", 1);
  floatAttrOf(r, "beta", 0.25f);
  for (const char *o : {"scalar_c", "column_c", "scaled_row_c"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "gemm_c.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("gemm_c_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.matmul"), 3) << dtype;
    expectClose(k, dtype);
  }
}

// DepthToSpace (DCR, CRD) and SpaceToDepth through plumb-space-depth-as-transpose: each one
// generated kernel reading its input through the reshape view (they ran on the host), and
// computed inside its reader's kernel when an elementwise op reads it (here a Relu: one
// kernel for both); bit for bit the reference's in f32 (data is only moved).
TEST(CudaMovement, SpaceDepthIsATranspose) {
  onnx::ModelProto m = newModel("space_depth", 13);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 12, 3, 6});
  intAttrOf(node(g, "DepthToSpace", "dcr", {"x"}, "dcr"), "blocksize", 2);
  onnx::NodeProto *crd = node(g, "DepthToSpace", "crd", {"x"}, "crd");
  intAttrOf(crd, "blocksize", 2);
  stringAttrOf(crd, "mode", "CRD");
  intAttrOf(node(g, "SpaceToDepth", "s2d", {"x"}, "s2d"), "blocksize", 3);
  intAttrOf(node(g, "DepthToSpace", "shuffle", {"x"}, "shuffled"), "blocksize", 2);
  node(g, "Relu", "relu", {"shuffled"}, "relu");
  for (const char *o : {"dcr", "crd", "s2d", "relu"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "space_depth.onnx");
  KeptPlan k = runKept(model, "", "f32", keepNone, "space_depth");
  // a composite kernel per transpose (the Relu's computes its shuffle), then the last
  // reshape of each of the three moved outputs copied into the graph output
  EXPECT_EQ(stepsOfStyle(k.compiled.plan, "elementwise"), 4);
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.copy"), 3);
  EXPECT_EQ(k.compiled.plan.steps.size(), 7u);
  ASSERT_EQ(k.got.size(), 4u);
  expectBitExact(k);
}

// GridSample through the lowering in every storage type: one window kernel (no host step),
// the grid read in the plan's type, outputs within the type's tolerance of the reference.
TEST(CudaGridSample, IsOneWindowKernelInEveryStorageType) {
  onnx::ModelProto m = newModel("grid_sample", 16);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 8, 9});
  floatValue(g->add_input(), "grid", {2, 5, 7, 2});
  onnx::NodeProto *n = node(g, "GridSample", "sample", {"x", "grid"}, "y");
  stringAttrOf(n, "mode", "bicubic");
  stringAttrOf(n, "padding_mode", "border");
  floatValue(g->add_output(), "y");
  std::string model = saveModel(m, "grid_sample.onnx");
  for (const char *dtype : {"f32", "f16", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("grid_sample_") + dtype);
    EXPECT_EQ(stepsOfStyle(k.compiled.plan, "window"), 1) << dtype;
    expectClose(k, dtype);
  }
}

// TopK with a constant K through the lowering: one window kernel writing both results (no
// host step, so the plan can be one CUDA Graph), values and indices as the reference's in an
// f32 plan, values within f16 rounding in an f16 plan.
TEST(CudaTopK, ConstantKIsOneWindowKernel) {
  onnx::ModelProto m = newModel("topk", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {3, 7, 50});
  onnx::TensorProto *k = g->add_initializer();
  k->set_name("k");
  k->set_data_type(onnx::TensorProto::INT64);
  k->add_dims(1);
  k->add_int64_data(5);
  onnx::NodeProto *n = g->add_node();
  n->set_op_type("TopK");
  n->set_name("top5");
  n->add_input("x");
  n->add_input("k");
  n->add_output("values");
  n->add_output("indices");
  floatValue(g->add_output(), "values");
  onnx::ValueInfoProto *idx = g->add_output();
  idx->set_name("indices");
  idx->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  std::string model = saveModel(m, "topk.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan kp = runKept(model, "", dtype, keepNone, std::string("topk_") + dtype);
    EXPECT_EQ(stepsOfStyle(kp.compiled.plan, "window"), 1) << dtype;
    ASSERT_EQ(kp.got.size(), 2u);
    const Tensor &values = kp.truth.outputs.at(0), &indices = kp.truth.outputs.at(1);
    ASSERT_EQ(kp.got[0].shape(), (Shape{3, 7, 5}));
    parity::TensorMetrics mv = parity::compareTensors(kp.got[0].cast(DType::F32), values);
    EXPECT_LE(mv.maxAbsErr, std::string(dtype) == "f32" ? 0.0 : tolerance(dtype, peakOf(values)))
        << dtype;
    if (std::string(dtype) == "f32") { // f16 rounding may tie values and reorder equal ones
      for (int64_t e = 0; e < indices.numel(); ++e)
        ASSERT_EQ(kp.got[1].getAsInt(e), indices.getAsInt(e)) << "element " << e;
    }
  }
}

// Conv geometry as the lowering hands it to cuDNN: 1-D (as 2-D with H = 1), 2-D and 3-D
// convs with per-dim pads, strides, dilations, groups, bias and a fused ReLU, each a one-node
// ONNX model whose output the emulated plan must reproduce. A forward conv whose pads cuDNN's
// symmetric descriptor cannot say (explicit asymmetric pads, an odd SAME_UPPER/SAME_LOWER
// total) runs as a Pad kernel by the difference and then cuDNN; a ConvTranspose runs with the
// smaller pads and a Slice kernel crops the difference off cuDNN's result. One whose
// output_shape exceeds its full size (negative pads: rows no input reaches, holding the bias)
// gets zero rows added to its input by a Pad kernel, a stride's worth of output each.
struct ConvCase {
  std::string name;
  std::vector<int64_t> x, w; // NC(D)HW input, M×C/group×k... weights
  std::vector<int64_t> pads, strides, dilations;
  int64_t group;
  bool bias, relu;
  const char *expectKernel;
  std::string op = "Conv"; // or ConvTranspose (weights C_in×C_out/group×k...)
  std::vector<int64_t> outputPadding = {};
  std::string autoPad = ""; // set: auto_pad instead of pads
  std::vector<int64_t> prePad = {}; // the Pad kernel's pads (begin..., end...), when one
  std::vector<int64_t> skip = {};   // set: a graph input of this shape added to the conv (before the Relu)
  std::vector<int64_t> outputShape = {}; // a ConvTranspose's output_shape, when set
};

void PrintTo(const ConvCase &c, std::ostream *os) { *os << c.name; }

std::string writeConvModel(const ConvCase &c) {
  onnx::ModelProto m = newModel(c.name, 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", c.x);
  auto init = [&](const std::string &name, const std::vector<int64_t> &dims) {
    // deterministic, sign-mixed, not symmetric under flips
    floatInitializer(g, name, dims, [&](int64_t i) {
      return float(std::sin(0.7 * double(i) + double(name.size())));
    });
  };
  init("w", c.w);
  int64_t outChannels = c.op == "Conv" ? c.w[0] : c.w[1] * c.group;
  onnx::NodeProto *conv = g->add_node();
  conv->set_op_type(c.op);
  conv->set_name(c.name + "_conv");
  conv->add_input("x");
  conv->add_input("w");
  if (c.bias) {
    init("b", {outChannels});
    conv->add_input("b");
  }
  conv->add_output(c.relu || !c.skip.empty() ? "y" : "out");
  if (!c.skip.empty()) { // a residual connection: Add(conv, skip) (skip first, as exporters vary)
    floatValue(g->add_input(), "skip", c.skip);
    onnx::NodeProto *add = g->add_node();
    add->set_op_type("Add");
    add->set_name(c.name + "_add");
    add->add_input("skip");
    add->add_input("y");
    add->add_output(c.relu ? "sum" : "out");
  }
  if (c.autoPad.empty())
    intsAttrOf(conv, "pads", c.pads);
  else
    stringAttrOf(conv, "auto_pad", c.autoPad);
  intsAttrOf(conv, "strides", c.strides);
  intsAttrOf(conv, "dilations", c.dilations);
  if (!c.outputPadding.empty())
    intsAttrOf(conv, "output_padding", c.outputPadding);
  if (!c.outputShape.empty())
    intsAttrOf(conv, "output_shape", c.outputShape);
  intAttrOf(conv, "group", c.group);
  if (c.relu) {
    onnx::NodeProto *relu = g->add_node();
    relu->set_op_type("Relu");
    relu->set_name(c.name + "_relu");
    relu->add_input(c.skip.empty() ? "y" : "sum");
    relu->add_output("out");
  }
  floatValue(g->add_output(), "out");
  return saveModel(m, "conv_" + c.name + ".onnx");
}

class ConvGeometry : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGeometry, EmulatedPlanMatchesTheReference) {
  const ConvCase &c = GetParam();
  KeptPlan k = runKept(writeConvModel(c), "", "f32", keepNone, "conv_" + c.name);
  const Plan &plan = k.compiled.plan;
  // The conv step comes first, or second after the Pad kernel making its input.
  size_t at = c.prePad.empty() ? 0 : 1;
  ASSERT_GT(plan.steps.size(), at) << c.name;
  const Step &step = plan.steps[at];
  EXPECT_EQ(step.kernel, c.expectKernel) << c.name;
  if (!c.prePad.empty()) {
    // The padded input: its shape is the input's grown by the pads, and cuDNN gets the rest.
    const Step &pad = plan.steps.front();
    EXPECT_EQ(pad.kernel, "cuda.generated");
    Shape want = c.x;
    size_t sp = c.x.size() - 2;
    for (size_t d = 0; d < sp; ++d)
      want[d + 2] += c.prePad[d] + c.prePad[d + sp];
    EXPECT_EQ(plan.buffers[size_t(pad.outputs.at(0))].shape, want) << c.name;
    EXPECT_EQ(step.inputs.at(0), pad.outputs.at(0));
  }
  // A ConvTranspose with more padding on one side: cuDNN's larger result, then a Slice
  // kernel cropping it to the output.
  if (std::string(c.expectKernel) == "cuda.convtranspose") {
    const Shape &full = plan.buffers[size_t(step.outputs.at(0))].shape;
    if (full != k.truth.outputs.at(0).shape()) {
      ASSERT_GT(plan.steps.size(), at + 1) << c.name;
      EXPECT_EQ(plan.steps[at + 1].attrs.getString("style", ""), "movement") << c.name;
      EXPECT_EQ(plan.steps[at + 1].inputs.at(0), step.outputs.at(0)) << c.name;
    }
  }
  // The fusion passes pair Conv (not ConvTranspose) with a following Relu; the lowering
  // makes that Relu the cuDNN step's activation.
  if (std::string(c.expectKernel) == "cuda.conv") {
    // The residual joins the cuDNN call (its z) when the conv has a bias; else Add and Relu
    // are one generated kernel after it.
    bool joined = !c.skip.empty() && c.bias;
    EXPECT_EQ(step.attrs.getString("activation", "none"),
              c.relu && (c.skip.empty() || joined) ? "relu" : "none");
    if (joined) {
      ASSERT_EQ(step.inputs.size(), 4u) << c.name;
      EXPECT_EQ(plan.buffers[size_t(step.inputs[3])].name, "skip") << c.name;
    } else {
      EXPECT_LE(step.inputs.size(), 3u) << c.name;
    }
    if (!c.skip.empty() && !c.bias) {
      EXPECT_EQ(plan.steps.at(at + 1).attrs.getString("style", ""), "elementwise") << c.name;
    }
  }
  for (const Step &s : plan.steps)
    EXPECT_TRUE(s.kernel != "cuda.host" || std::string(c.expectKernel) == "cuda.host") << s.nodeNames;
  ASSERT_EQ(k.got.size(), 1u);
  const Tensor &truth = k.truth.outputs.at(0);
  parity::TensorMetrics m = parity::compareTensors(k.got[0], truth);
  ASSERT_TRUE(m.shapeMatch) << c.name;
  EXPECT_LE(m.maxAbsErr, 1e-4 * std::max(1.0, peakOf(truth))) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cuda, ConvGeometry,
    ::testing::Values(
        ConvCase{"conv1d_pad_stride_dilation", {2, 3, 17}, {4, 3, 3}, {2, 2}, {2}, {2}, 1, false,
                 false, "cuda.conv"},
        ConvCase{"conv2d_grouped_bias_relu", {1, 4, 9, 11}, {6, 2, 3, 2}, {1, 0, 1, 0}, {2, 1},
                 {1, 2}, 2, true, true, "cuda.conv"},
        ConvCase{"conv3d_per_dim_geometry", {1, 2, 5, 7, 6}, {4, 1, 2, 3, 2}, {0, 1, 2, 0, 1, 2},
                 {2, 1, 1}, {2, 1, 2}, 2, true, true, "cuda.conv"},
        ConvCase{"conv3d_patch_embed", {1, 4, 4, 8, 8}, {8, 4, 1, 2, 2}, {0, 0, 0, 0, 0, 0},
                 {1, 2, 2}, {1, 1, 1}, 1, true, false, "cuda.conv"},
        ConvCase{"conv3d_asymmetric_pads", {1, 2, 4, 5, 5}, {3, 2, 2, 2, 2},
                 {0, 1, 0, 1, 0, 1}, {1, 1, 1}, {1, 1, 1}, 1, true, false, "cuda.conv", "Conv",
                 {}, "", {0, 1, 0, 1, 0, 1}},
        ConvCase{"conv2d_asymmetric_pads_relu", {1, 3, 7, 6}, {5, 3, 3, 3}, {2, 0, 1, 1},
                 {2, 1}, {1, 1}, 1, true, true, "cuda.conv", "Conv", {}, "", {1, 0, 0, 1}},
        ConvCase{"conv2d_same_upper_stride2", {1, 3, 8, 9}, {4, 3, 3, 3}, {}, {2, 2}, {1, 1}, 1,
                 true, false, "cuda.conv", "Conv", {}, "SAME_UPPER", {0, 0, 1, 0}},
        ConvCase{"conv2d_same_lower_even_kernel", {1, 2, 6, 5}, {3, 2, 2, 4}, {}, {1, 1},
                 {1, 1}, 1, false, false, "cuda.conv", "Conv", {}, "SAME_LOWER", {1, 1, 0, 0}},
        ConvCase{"conv1d_same_upper_symmetric", {2, 3, 10}, {4, 3, 3}, {}, {1}, {1}, 1, true,
                 false, "cuda.conv", "Conv", {}, "SAME_UPPER"},
        ConvCase{"conv2d_residual_bias_relu", {2, 4, 6, 5}, {4, 4, 3, 3}, {1, 1, 1, 1}, {1, 1},
                 {1, 1}, 1, true, true, "cuda.conv", "Conv", {}, "", {}, {2, 4, 6, 5}},
        ConvCase{"conv2d_residual_stride2_no_relu", {1, 3, 8, 8}, {6, 3, 1, 1}, {0, 0, 0, 0},
                 {2, 2}, {1, 1}, 1, true, false, "cuda.conv", "Conv", {}, "", {}, {1, 6, 4, 4}},
        ConvCase{"conv2d_residual_without_bias", {1, 4, 5, 5}, {4, 4, 3, 3}, {1, 1, 1, 1}, {1, 1},
                 {1, 1}, 1, false, true, "cuda.conv", "Conv", {}, "", {}, {1, 4, 5, 5}},
        ConvCase{"conv2d_valid", {1, 2, 7, 7}, {3, 2, 3, 2}, {}, {2, 1}, {1, 2}, 1, true, true,
                 "cuda.conv", "Conv", {}, "VALID"},
        ConvCase{"convtranspose2d_upsample_x2", {1, 4, 5, 6}, {4, 3, 4, 4}, {1, 1, 1, 1}, {2, 2},
                 {1, 1}, 1, true, false, "cuda.convtranspose", "ConvTranspose"},
        ConvCase{"convtranspose2d_grouped_outpad_relu", {2, 4, 4, 5}, {4, 2, 3, 2},
                 {1, 0, 1, 0}, {2, 3}, {1, 2}, 2, true, true, "cuda.convtranspose",
                 "ConvTranspose", {1, 2}},
        ConvCase{"convtranspose1d_dilated", {1, 3, 7}, {3, 2, 3}, {2, 2}, {2}, {2}, 1, false,
                 false, "cuda.convtranspose", "ConvTranspose", {1}},
        ConvCase{"convtranspose3d", {1, 2, 3, 4, 3}, {2, 3, 2, 3, 2}, {0, 1, 0, 0, 1, 0},
                 {2, 1, 2}, {1, 1, 1}, 1, true, false, "cuda.convtranspose", "ConvTranspose"},
        ConvCase{"convtranspose_asymmetric_pads_cropped", {1, 2, 4, 4}, {2, 2, 3, 3},
                 {0, 1, 1, 0}, {2, 2}, {1, 1}, 1, false, false, "cuda.convtranspose",
                 "ConvTranspose"},
        ConvCase{"convtranspose_same_upper_stride2", {1, 3, 5, 4}, {3, 2, 3, 3}, {}, {2, 2},
                 {1, 1}, 1, true, false, "cuda.convtranspose", "ConvTranspose", {}, "SAME_UPPER"},
        ConvCase{"convtranspose_same_lower_outpad", {2, 2, 3, 5}, {2, 2, 2, 3}, {}, {3, 2},
                 {1, 1}, 1, true, false, "cuda.convtranspose", "ConvTranspose", {1, 0},
                 "SAME_LOWER"},
        // full size 9 x 7, output_shape 10 x 8: a row and a column past it at the end
        ConvCase{"convtranspose_output_shape_past_full_bias_relu", {1, 2, 3, 3}, {2, 3, 3, 3},
                 {0, 0, 0, 0}, {3, 2}, {1, 1}, 1, true, true, "cuda.convtranspose",
                 "ConvTranspose", {}, "", {0, 0, 1, 1}, {}, {10, 8}},
        // full size 8 x 15, output_shape 12 x 18 with SAME_UPPER: pads (-2, -1) begin and
        // (-2, -2) end, a zero row and column on each side of the input
        ConvCase{"convtranspose_output_shape_past_full_both_sides", {1, 3, 4, 5}, {3, 2, 2, 3},
                 {}, {2, 3}, {1, 1}, 1, true, false, "cuda.convtranspose", "ConvTranspose", {},
                 "SAME_UPPER", {1, 1, 1, 1}, {}, {12, 18}}),
    [](const ::testing::TestParamInfo<ConvCase> &p) { return p.param.name; });

} // namespace
} // namespace plumb
