// Ops the CUDA pipeline writes as other ops, or that needed a kernel form of their own, on
// the plan emulator (part of cuda_emulated_test): the losses (plumb-decompose-losses),
// one-element constants moved by movement kernels, MaxUnpool and CenterCropPad
// (plumb-decompose-movement), AffineGrid/DFT/STFT as GEMMs (plumb-decompose-transforms),
// the training optimizers (plumb-decompose-optimizers).
// Each ran on the host before; each test asserts no host step and values against the
// reference interpreter.
#include "tests/mlir/CudaGraphBuilders.h"

#include "frontend/tensorio/TensorIO.h"
#include "frontend/tensorio/TensorProto.h"
#include "tests/TempFiles.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plumb {
namespace {

using namespace cudatest;
using cudatest::graphs::expectBitExact;
using cudatest::graphs::expectClose;
using cudatest::graphs::node;
using cudatest::graphs::stepsRunning;

// The losses (plumb-decompose-losses; each ran on the host): SoftmaxCrossEntropyLoss over the
// classes on axis 1 of a 4-D input, weighted, an item ignored, both outputs read; with int32
// labels and no reduction; NegativeLogLikelihoodLoss reduced each way where the ignored item's
// log-probability is -inf (its loss is 0: the reference skips it, where 0 * inf would be NaN)
// and where every item is ignored (mean 0 / 0: NaN, as the reference). No host step; values,
// NaNs and Infs against the reference in f32 and f16, and the model made f64.
TEST(CudaLosses, LossesAreDeviceKernels) {
  onnx::ModelProto m = newModel("losses", 13);
  onnx::GraphProto *g = m.mutable_graph();
  auto typed = [&](const std::string &name, std::vector<int64_t> dims, int type) {
    onnx::ValueInfoProto *v = g->add_input();
    floatValue(v, name, dims);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  };
  typed("scores", {2, 3, 2, 2}, onnx::TensorProto::FLOAT);
  typed("labels", {2, 2, 2}, onnx::TensorProto::INT64);
  typed("logits", {4, 5}, onnx::TensorProto::FLOAT);
  typed("classes", {4}, onnx::TensorProto::INT32);
  typed("logp", {3, 4}, onnx::TensorProto::FLOAT);
  typed("target", {3}, onnx::TensorProto::INT64);
  typed("all_ignored", {3}, onnx::TensorProto::INT64);
  floatInitializer(g, "w3", {3}, [](int64_t i) { return 0.5f + 0.75f * float(i); });
  floatInitializer(g, "w4", {4}, [](int64_t i) { return 1.0f + 0.25f * float(i); });
  auto loss = [&](const std::string &op, const std::string &name, std::vector<std::string> in,
                  std::vector<std::string> out, const std::string &reduction, std::optional<int64_t> ignore) {
    onnx::NodeProto *n = node(g, op, name, in, out[0]);
    for (size_t i = 1; i < out.size(); ++i)
      n->add_output(out[i]);
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name("reduction");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(reduction);
    if (ignore)
      intAttrOf(n, "ignore_index", *ignore);
    for (const std::string &o : out)
      floatValue(g->add_output(), o);
  };
  loss("SoftmaxCrossEntropyLoss", "sce", {"scores", "labels", "w3"}, {"sce_loss", "sce_log_prob"}, "mean", -1);
  loss("SoftmaxCrossEntropyLoss", "sce_plain", {"logits", "classes"}, {"sce_plain_loss"}, "none", {});
  for (const char *how : {"none", "sum", "mean"})
    loss("NegativeLogLikelihoodLoss", std::string("nll_") + how, {"logp", "target"},
         {std::string("nll_") + how}, how, 0);
  loss("NegativeLogLikelihoodLoss", "nll_all_ignored", {"logp", "all_ignored", "w4"}, {"nll_all_ignored"},
       "mean", 1);
  std::string model = saveModel(m, "losses.onnx");
  std::string npz = testing_util::scratchPath("losses.npz");
  auto wave = [](Shape s, float f) {
    std::vector<float> v(size_t(numElements(s)));
    for (size_t e = 0; e < v.size(); ++e)
      v[e] = 2 * std::sin(f * float(e) + 0.3f);
    return Tensor::fromVector(DType::F32, s, v);
  };
  auto i64 = [](Shape s, std::vector<int64_t> v) { return Tensor::fromVector(DType::I64, s, v); };
  std::vector<float> logp = {-1, -2, -3, -4, -INFINITY, -0.5f, -1, -2, -3, -2, -1, -0.25f};
  writeNpz(npz, {{"scores", wave({2, 3, 2, 2}, 0.37f)},
                 {"labels", i64({2, 2, 2}, {0, 2, 1, -1, 2, 0, 1, 1})},
                 {"logits", wave({4, 5}, 0.53f)},
                 {"classes", i64({4}, {4, 0, 2, 1}).cast(DType::I32)},
                 {"logp", Tensor::fromVector(DType::F32, {3, 4}, logp)},
                 {"target", i64({3}, {2, 0, 3})},
                 {"all_ignored", i64({3}, {1, 1, 1})}});
  // The same model in f64 (its float tensors and data made double): the reductions and
  // the row kernels compute in double.
  onnx::ModelProto m64 = m;
  onnx::GraphProto *g64 = m64.mutable_graph();
  for (onnx::TensorProto &t : *g64->mutable_initializer())
    if (t.data_type() == onnx::TensorProto::FLOAT) {
      std::string name = t.name(); // *t is replaced
      tensorToProto(tensorFromProto(t, "losses").cast(DType::F64), name, &t);
    }
  for (auto *values : {g64->mutable_input(), g64->mutable_output()})
    for (onnx::ValueInfoProto &v : *values)
      if (v.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT)
        v.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::DOUBLE);
  std::string model64 = saveModel(m64, "losses_f64.onnx");
  std::string npz64 = testing_util::scratchPath("losses_f64.npz");
  std::vector<std::pair<std::string, Tensor>> data64;
  for (auto &[name, t] : readNpz(npz))
    data64.push_back({name, t.dtype() == DType::F32 ? t.cast(DType::F64) : t});
  writeNpz(npz64, data64);
  for (const char *dtype : {"f32", "f16", "f64"}) {
    bool f64 = std::string(dtype) == "f64";
    KeptPlan k = runKept(f64 ? model64 : model, f64 ? npz64 : npz, f64 ? "f32" : dtype, keepNone,
                         std::string("losses_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    expectClose(k, f64 ? "f32" : dtype);
    ASSERT_EQ(k.got.size(), 7u);
    EXPECT_EQ(k.got[0].dtype(), f64 ? DType::F64 : DType::F32) << dtype;
    EXPECT_EQ(k.got[3].getAsDouble(1), 0.0) << dtype << ": the ignored item of nll_none";
    EXPECT_TRUE(std::isnan(k.got[6].getAsDouble(0))) << dtype << ": every item ignored";
  }
}

// A target outside [0, C) that is not ignored: the reference refuses it, and so does the
// CUDA plan. Past the classes, GatherElements' index check fails the run; a negative one is
// made C first (it would otherwise be read from the end). An ignored -1 is not an error.
TEST(CudaLosses, TargetsOutsideTheClassesFailTheRun) {
  onnx::ModelProto m = newModel("loss_targets", 13);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "logp", {4, 3});
  int64Value(g->add_input(), "target", {4});
  node(g, "NegativeLogLikelihoodLoss", "nll", {"logp", "target"}, "loss");
  intAttrOf(node(g, "NegativeLogLikelihoodLoss", "nll_ignoring", {"logp", "target"}, "loss_ignoring"),
            "ignore_index", -1);
  floatValue(g->add_output(), "loss");
  floatValue(g->add_output(), "loss_ignoring");
  std::string model = saveModel(m, "loss_targets.onnx");
  auto inputs = [](std::vector<int64_t> target) {
    return std::vector<Tensor>{Tensor::fromVector(DType::F32, {4, 3}, std::vector<float>(12, -1.0f)),
                               Tensor::fromVector(DType::I64, {4}, target)};
  };
  std::string npz = testing_util::scratchPath("loss_targets.npz");
  std::vector<Tensor> valid = inputs({0, 2, 1, 2});
  writeNpz(npz, {{"logp", valid[0]}, {"target", valid[1]}});
  std::vector<Tensor> bound;
  Compiled c = compileForCuda(model, npz, "f32", bound);
  EXPECT_EQ(stepsRunning(c.plan, "cuda.host"), 0);
  cudatest::PlanEmulator emu(c.plan, testing_util::scratchPath("emu_loss_targets"));
  std::vector<Tensor> got = emu.run(valid);
  EXPECT_FLOAT_EQ(float(got.at(0).getAsDouble(0)), 1.0f);
  for (int64_t bad : {-1, 3, -3}) {
    try {
      emu.run(inputs({0, bad, 1, 2}));
      ADD_FAILURE() << "target " << bad << ": the run did not fail";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find("an index outside [-dim, dim)"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("nodes 'nll')"), std::string::npos) << e.what();
    }
  }
}

// One-element constants moved by movement kernels: an Expand of a constant scalar too large to
// fold (2 MiB), a Concat with a constant [1, 1] piece, a Gather from a constant [1] table, and
// an inference Dropout whose all-true mask is read (an Expand of a true scalar). A one-element
// constant is folded into a kernel's source, and the movement writers read their data from a
// buffer: NVRTC rejected these kernels and each ran on the host. No host step, values bit for
// bit the reference's.
TEST(CudaMovement, OneElementConstantsAreMoved) {
  onnx::ModelProto m = newModel("moved_constants", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {1, 3});
  int64Value(g->add_input(), "ids", {4});
  graphs::scalar(g, "half", 0.5f);
  graphs::ints(g, "big", {512, 1024});
  floatInitializer(g, "piece", {1, 1}, [](int64_t) { return 7.0f; });
  floatInitializer(g, "table", {1}, [](int64_t) { return -2.5f; });
  node(g, "Expand", "fill", {"half", "big"}, "filled");
  intAttrOf(node(g, "Concat", "join", {"x", "piece"}, "joined"), "axis", 1);
  node(g, "Gather", "pick", {"table", "ids"}, "picked");
  node(g, "Dropout", "drop", {"x"}, "kept")->add_output("mask");
  for (const char *o : {"filled", "joined", "picked", "kept", "mask"})
    floatValue(g->add_output(), o);
  g->mutable_output(4)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::BOOL);
  std::string model = saveModel(m, "moved_constants.onnx");
  std::string npz = testing_util::scratchPath("moved_constants.npz");
  writeNpz(npz, {{"x", Tensor::fromVector(DType::F32, {1, 3}, std::vector<float>{1, -2, 3})},
                 {"ids", Tensor::fromVector(DType::I64, {4}, std::vector<int64_t>{0, -1, 0, 0})}});
  KeptPlan k = runKept(model, npz, "f32", keepNone, "moved_constants");
  EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0);
  ASSERT_EQ(k.got.size(), 5u);
  expectBitExact(k);
}

// MaxUnpool of a MaxPool's Indices with the same overlapping window (3x3, stride 2, pads 1;
// 5x7 pooled to 3x4 and unpooled to 5x7) and an output_shape one larger: one
// window kernel gathering each output from the windows covering it (plumb-decompose-movement
// marks it); at opset 10. CenterCropPad cropping one axis and growing another. Each ran on
// the host. No host step; values against the reference in f32 and f16. (An unpool of indices
// from elsewhere is a plane-by-plane scatter: lit decompose_movement.mlir and ONNX's
// maxunpool case in the CI list.)
TEST(CudaMovement, UnpoolAndCenterCropArePlainMovement) {
  onnx::ModelProto m = newModel("unpool", 10);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 5, 7});
  for (const char *op : {"MaxPool", "MaxUnpool"}) {
    bool pool = std::string(op) == "MaxPool";
    onnx::NodeProto *n = pool ? node(g, op, "pool", {"x"}, "pooled")
                              : node(g, op, "unpool", {"pooled", "where", "unpooled_shape"}, "y");
    if (pool)
      n->add_output("where");
    intsAttrOf(n, "kernel_shape", {3, 3});
    intsAttrOf(n, "strides", {2, 2});
    intsAttrOf(n, "pads", {1, 1, 1, 1});
  }
  graphs::ints(g, "unpooled_shape", {2, 3, 6, 8});
  floatValue(g->add_output(), "y");
  onnx::ModelProto c = newModel("center_crop", 18);
  onnx::GraphProto *cg = c.mutable_graph();
  floatValue(cg->add_input(), "x", {2, 9, 4, 3});
  graphs::ints(cg, "target", {5, 7});
  intsAttrOf(node(cg, "CenterCropPad", "crop", {"x", "target"}, "y"), "axes", {1, -2});
  floatValue(cg->add_output(), "y");
  for (auto [model, tag] : {std::pair{saveModel(m, "unpool.onnx"), "unpool"},
                            std::pair{saveModel(c, "center_crop.onnx"), "center_crop"}})
    for (const char *dtype : {"f32", "f16"}) {
      KeptPlan k = runKept(model, "", dtype, keepNone, std::string(tag) + "_" + dtype);
      EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << tag << " " << dtype;
      if (std::string(tag) == "unpool") {
        EXPECT_EQ(stepsOfStyle(k.compiled.plan, "window"), 2) << dtype; // the pool, the unpool
      }
      expectClose(k, dtype);
    }
}

// Transforms as MatMuls with matrices computed at compile time (plumb-decompose-transforms;
// each ran on the host): a complex inverse DFT along axis 1 (moved next to the real/imaginary
// dim and back), a real onesided DFT truncated by dft_length, a real DFT zero-padded by it;
// STFTs with a constant window (folded into the matrix) and a run-time one (multiplying the
// frames); a 3-D AffineGrid with align_corners. No host step; values against the reference in
// f32 and f16.
TEST(CudaMatMul, TransformsAreProductsWithConstantMatrices) {
  onnx::ModelProto m = newModel("transforms", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "z", {2, 6, 3, 2});
  floatValue(g->add_input(), "x", {3, 10, 1});
  floatValue(g->add_input(), "signal", {2, 40, 1});
  floatValue(g->add_input(), "window", {8});
  floatValue(g->add_input(), "theta", {2, 3, 4});
  graphs::ints(g, "len6", {6});
  graphs::ints(g, "len16", {16});
  graphs::ints(g, "step", {5});
  graphs::ints(g, "grid_size", {2, 1, 3, 4, 5});
  g->mutable_initializer(0)->clear_dims(); // scalars: dft_length, frame_step
  g->mutable_initializer(1)->clear_dims();
  g->mutable_initializer(2)->clear_dims();
  floatInitializer(g, "hann", {8}, [](int64_t i) { return 0.5f - 0.5f * std::cos(2 * 3.14159265f * float(i) / 8); });
  onnx::NodeProto *inv = node(g, "DFT", "inverse", {"z"}, "inv");
  intAttrOf(inv, "axis", 1);
  intAttrOf(inv, "inverse", 1);
  onnx::NodeProto *trunc = node(g, "DFT", "truncated", {"x", "len6"}, "trunc");
  intAttrOf(trunc, "onesided", 1);
  node(g, "DFT", "padded", {"x", "len16"}, "padded");
  node(g, "STFT", "stft_const", {"signal", "step", "hann"}, "spec_const");
  node(g, "STFT", "stft_runtime", {"signal", "step", "window"}, "spec_runtime");
  intAttrOf(node(g, "AffineGrid", "grid", {"theta", "grid_size"}, "grid"), "align_corners", 1);
  for (const char *o : {"inv", "trunc", "padded", "spec_const", "spec_runtime", "grid"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "transforms.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("transforms_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.matmul"), 6) << dtype;
    expectClose(k, dtype);
  }
}

// The preview-training optimizers (plumb-decompose-optimizers; each ran on the host): Adagrad
// with decay and two groups, Adam with norm_coefficient_post, Momentum standard and Nesterov,
// all with weight decay (norm_coefficient), as generated kernels. Run at T = 0 (Adam without
// bias correction, Momentum taking the whole gradient) and T = 5 from the same model: each
// result within f32 rounding of the reference (which computes in double).
TEST(CudaTraining, OptimizerStepsAreDeviceKernels) {
  onnx::ModelProto m = newModel("optimizers", 17);
  onnx::OperatorSetIdProto *training = m.add_opset_import();
  training->set_domain("ai.onnx.preview.training");
  training->set_version(1);
  onnx::GraphProto *g = m.mutable_graph();
  onnx::ValueInfoProto *r = g->add_input(), *t = g->add_input();
  floatValue(r, "R");
  int64Value(t, "T");
  for (onnx::ValueInfoProto *scalar : {r, t}) // shape [] (no shape at all would be dynamic)
    scalar->mutable_type()->mutable_tensor_type()->mutable_shape();
  const std::vector<std::string> tensors = {"X1", "X2", "G1", "G2", "V1", "V2", "H1", "H2"};
  for (const std::string &name : tensors)
    floatValue(g->add_input(), name, name.back() == '1' ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{5});
  auto optimizer = [&](const std::string &op, const std::string &name, std::vector<std::string> in,
                       std::vector<std::string> out) {
    onnx::NodeProto *n = g->add_node();
    n->set_op_type(op);
    n->set_domain("ai.onnx.preview.training");
    n->set_name(name);
    in.insert(in.begin(), {"R", "T"});
    for (const std::string &i : in)
      n->add_input(i);
    for (const std::string &o : out) {
      n->add_output(o);
      floatValue(g->add_output(), o);
    }
    return n;
  };
  onnx::NodeProto *ada = optimizer("Adagrad", "adagrad", {"X1", "X2", "G1", "G2", "H1", "H2"},
                                   {"ada_x1", "ada_x2", "ada_h1", "ada_h2"});
  floatAttrOf(ada, "decay_factor", 0.1f);
  floatAttrOf(ada, "epsilon", 1e-3f);
  floatAttrOf(ada, "norm_coefficient", 0.01f);
  onnx::NodeProto *adam = optimizer("Adam", "adam", {"X1", "G1", "V1", "H1"}, {"adam_x", "adam_v", "adam_h"});
  floatAttrOf(adam, "alpha", 0.8f);
  floatAttrOf(adam, "beta", 0.95f);
  floatAttrOf(adam, "epsilon", 1e-3f);
  floatAttrOf(adam, "norm_coefficient", 0.02f);
  floatAttrOf(adam, "norm_coefficient_post", 0.05f);
  for (const char *mode : {"standard", "nesterov"}) {
    onnx::NodeProto *mom = optimizer("Momentum", std::string("momentum_") + mode, {"X2", "G2", "V2"},
                                     {std::string(mode) + "_x", std::string(mode) + "_v"});
    floatAttrOf(mom, "alpha", 0.9f);
    floatAttrOf(mom, "beta", 0.7f);
    floatAttrOf(mom, "norm_coefficient", 0.03f);
    stringAttrOf(mom, "mode", mode);
  }
  std::string model = saveModel(m, "optimizers.onnx");
  for (int64_t step : {0, 5}) {
    std::vector<std::pair<std::string, Tensor>> data = {
        {"R", Tensor::scalarF32(0.1f)}, {"T", Tensor::fromVector(DType::I64, {}, std::vector<int64_t>{step})}};
    for (const std::string &name : tensors) {
      Shape shape = name.back() == '1' ? Shape{3, 4} : Shape{5};
      std::vector<float> v(size_t(numElements(shape)));
      for (size_t e = 0; e < v.size(); ++e) // the squared-gradient sums H positive
        v[e] = name[0] == 'H' ? 0.5f + 0.1f * float(e) : std::sin(0.7f * float(e) + float(name[0]));
      data.push_back({name, Tensor::fromVector(DType::F32, shape, v)});
    }
    std::string npz = testing_util::scratchPath("optimizers_" + std::to_string(step) + ".npz");
    writeNpz(npz, data);
    KeptPlan k = runKept(model, npz, "f32", keepNone, "optimizers_" + std::to_string(step));
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << "T = " << step;
    SCOPED_TRACE("T = " + std::to_string(step));
    expectClose(k, "f32");
  }
}

} // namespace
} // namespace plumb
