// Resize and Upsample on the CUDA plan emulator (part of cuda_emulated_test): one-node models
// through the lowering, whose generated window kernel samples with the reference's own taps.
#include "tests/mlir/CudaEmulatedModels.h"
#include "tests/mlir/CudaGraphBuilders.h"

#include "frontend/tensorio/TensorIO.h"
#include "parity/Metrics.h"
#include "tests/TempFiles.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>

namespace plumb {
namespace {

using namespace cudatest;

// Resize as a generated window kernel whose sampling tables are the reference's own taps:
// one-node models over modes, coordinate transforms, nearest roundings, antialias, cubic with
// exclude_outside, tf_crop_and_resize with extrapolation, axes; f32 and f16 plans against the
// reference interpreter.
struct ResizeCase {
  std::string name;
  std::vector<int64_t> x;
  std::vector<float> scales; // one of scales and sizes
  std::vector<int64_t> sizes;
  std::vector<float> roi;
  std::vector<std::pair<std::string, std::string>> strings;
  std::vector<std::pair<std::string, double>> numbers; // floats; names ending in '#' are ints
  std::vector<int64_t> axes;
  DType type = DType::F32; // x's and y's
};

void PrintTo(const ResizeCase &c, std::ostream *os) { *os << c.name; }

std::string writeResizeModel(const ResizeCase &c) {
  onnx::ModelProto m = newModel(c.name, 18);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", c.x);
  onnx::NodeProto *n = g->add_node();
  n->set_op_type("Resize");
  n->set_name(c.name);
  n->add_input("x");
  auto floats = [&](const std::string &name, const std::vector<float> &v) {
    if (v.empty())
      return n->add_input("");
    floatInitializer(g, name, {int64_t(v.size())}, [&](int64_t i) { return v[size_t(i)]; });
    n->add_input(name);
  };
  floats("roi", c.roi);
  floats("scales", c.scales);
  if (!c.sizes.empty()) {
    intsInitializer(g, "sizes", c.sizes);
    n->add_input("sizes");
  }
  n->add_output("y");
  for (auto &[k, v] : c.strings)
    stringAttrOf(n, k, v);
  for (auto &[k, v] : c.numbers) {
    onnx::AttributeProto *a = n->add_attribute();
    bool integer = k.back() == '#';
    a->set_name(integer ? k.substr(0, k.size() - 1) : k);
    a->set_type(integer ? onnx::AttributeProto::INT : onnx::AttributeProto::FLOAT);
    if (integer)
      a->set_i(int64_t(v));
    else
      a->set_f(float(v));
  }
  if (!c.axes.empty())
    intsAttrOf(n, "axes", c.axes);
  floatValue(g->add_output(), "y");
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(dtypeToOnnx(c.type));
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(dtypeToOnnx(c.type));
  return saveModel(m, "resize_" + c.name + ".onnx");
}

// Upsample, which Resize replaced (opset 7-9 exports: YOLOv3's upsampling): one window kernel
// with the taps the reference computes for it (floor of x / scale for nearest, asymmetric
// linear), scales as an initializer (opset 9) or an attribute (opset 7). Was a host step.
TEST(CudaResize, UpsampleIsOneWindowKernel) {
  struct Case {
    const char *name, *mode;
    int64_t opset;
  };
  for (const Case &c : {Case{"upsample9_nearest", "nearest", 9}, Case{"upsample9_linear", "linear", 9},
                        Case{"upsample7_nearest", "nearest", 7}}) {
    onnx::ModelProto m = newModel(c.name, c.opset);
    onnx::GraphProto *g = m.mutable_graph();
    floatValue(g->add_input(), "x", {1, 2, 3, 4});
    std::vector<float> scales = {1, 1, 2, 2.5f};
    onnx::NodeProto *n = g->add_node();
    n->set_op_type("Upsample");
    n->set_name("up");
    n->add_input("x");
    n->add_output("y");
    stringAttrOf(n, "mode", c.mode);
    if (c.opset >= 9) {
      floatInitializer(g, "scales", {4}, [&](int64_t i) { return scales[size_t(i)]; });
      n->add_input("scales");
    } else {
      onnx::AttributeProto *a = n->add_attribute();
      a->set_name("scales");
      a->set_type(onnx::AttributeProto::FLOATS);
      for (float f : scales)
        a->add_floats(f);
    }
    floatValue(g->add_output(), "y");
    std::string model = saveModel(m, std::string(c.name) + ".onnx");
    for (const char *dtype : {"f32", "f16"}) {
      KeptPlan k = runKept(model, "", dtype, keepNone, std::string(c.name) + "_" + dtype);
      EXPECT_EQ(stepsOfStyle(k.compiled.plan, "window"), 1) << c.name << " " << dtype;
      graphs::expectClose(k, dtype);
    }
  }
}

// Resize of uint8 and int8 images (preprocessing inside a model), as the reference computes
// it: the taps in double, each product and sum rounded on its own, the result rounded half
// away from zero and saturated (cubic overshoots past 255 and below 0; an extrapolation of
// 300.5 saturates, -2.5 rounds to -3). One window kernel each, equal to the reference
// element for element. They were host steps.
TEST(CudaResize, IntegerImagesRoundAndSaturateAsTheReference) {
  std::vector<float> roi = {0, 0, -0.2f, 0.3f, 1, 1, 0.8f, 1.4f};
  std::vector<ResizeCase> cases = {
      {"u8_linear", {1, 3, 5, 7}, {1, 1, 1.7f, 1.3f}, {}, {}, {{"mode", "linear"}}, {}, {}, DType::U8},
      {"u8_cubic_overshoot", {1, 3, 5, 7}, {1, 1, 2.3f, 1.9f}, {}, {}, {{"mode", "cubic"}}, {}, {},
       DType::U8},
      {"i8_antialias_down", {2, 1, 9, 8}, {1, 1, 0.5f, 0.4f}, {}, {}, {{"mode", "linear"}},
       {{"antialias#", 1}}, {}, DType::I8},
      {"u8_nearest_sizes", {1, 2, 4, 6}, {}, {1, 2, 7, 5}, {}, {{"mode", "nearest"}}, {}, {}, DType::U8},
      {"u8_crop_extrapolation_saturates", {1, 1, 5, 5}, {}, {1, 1, 4, 6}, roi,
       {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}},
       {{"extrapolation_value", 300.5}}, {}, DType::U8},
      {"i8_crop_extrapolation_rounds", {1, 1, 5, 5}, {}, {1, 1, 4, 6}, roi,
       {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}},
       {{"extrapolation_value", -2.5}}, {}, DType::I8}};
  for (const ResizeCase &c : cases) {
    std::vector<int64_t> v(size_t(numElements(c.x)));
    for (size_t e = 0; e < v.size(); ++e) // extremes next to each other: cubic overshoots
      v[e] = c.type == DType::U8 ? (e * 7 % 3 == 0 ? 255 : int64_t(e * 37 % 60))
                                 : (e % 3 == 0 ? 127 : e % 3 == 1 ? -128 : int64_t(e % 17) - 8);
    std::string npz = testing_util::scratchPath("resize_" + c.name + ".npz");
    writeNpz(npz, {{"x", Tensor::fromVector(DType::I64, c.x, v).cast(c.type)}});
    KeptPlan k = runKept(writeResizeModel(c), npz, "f32", keepNone, c.name);
    EXPECT_EQ(stepsOfStyle(k.compiled.plan, "window"), 1) << c.name;
    EXPECT_EQ(graphs::stepsRunning(k.compiled.plan, "cuda.host"), 0) << c.name;
    const Tensor &truth = k.truth.outputs.at(0);
    ASSERT_EQ(k.got.at(0).dtype(), c.type) << c.name;
    ASSERT_EQ(k.got[0].shape(), truth.shape()) << c.name;
    for (int64_t e = 0; e < truth.numel(); ++e)
      ASSERT_EQ(k.got[0].getAsDouble(e), truth.getAsDouble(e)) << c.name << " element " << e;
  }
}

class ResizeKernel : public ::testing::TestWithParam<ResizeCase> {};

TEST_P(ResizeKernel, EmulatedPlanMatchesTheReference) {
  const ResizeCase &c = GetParam();
  std::string path = writeResizeModel(c);
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(path, "", dtype, keepNone, c.name + "_" + dtype);
    int windows = 0;
    for (const Step &s : k.compiled.plan.steps) {
      EXPECT_NE(s.kernel, "cuda.host") << c.name;
      windows += s.attrs.getString("style", "") == "window";
    }
    EXPECT_EQ(windows, 1) << c.name;
    const Tensor &truth = k.truth.outputs.at(0);
    parity::TensorMetrics m = parity::compareTensors(k.got.at(0).cast(DType::F32), truth);
    ASSERT_TRUE(m.shapeMatch) << c.name;
    EXPECT_LE(m.maxAbsErr, std::string(dtype) == "f32" ? 1e-5 * std::max(1.0, peakOf(truth))
                                                         : tolerance(dtype, peakOf(truth)))
        << c.name << " (" << dtype << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cuda, ResizeKernel,
    ::testing::Values(
        ResizeCase{"nearest_asymmetric_floor_x2", {1, 2, 3, 4}, {1, 1, 2, 2}, {}, {},
                   {{"mode", "nearest"}, {"coordinate_transformation_mode", "asymmetric"},
                    {"nearest_mode", "floor"}}, {}, {}},
        ResizeCase{"nearest_half_pixel_sizes", {1, 3, 4, 6}, {}, {1, 3, 7, 5}, {},
                   {{"mode", "nearest"}}, {}, {}},
        ResizeCase{"linear_half_pixel", {2, 2, 5, 4}, {1, 1, 2, 1.5f}, {}, {}, {{"mode", "linear"}}, {}, {}},
        ResizeCase{"linear_align_corners_sizes", {1, 1, 4, 5}, {}, {1, 1, 7, 3}, {},
                   {{"mode", "linear"}, {"coordinate_transformation_mode", "align_corners"}}, {}, {}},
        ResizeCase{"linear_antialias_down", {1, 2, 9, 8}, {1, 1, 0.5f, 0.4f}, {}, {},
                   {{"mode", "linear"}, {"coordinate_transformation_mode", "pytorch_half_pixel"}},
                   {{"antialias#", 1}}, {}},
        ResizeCase{"cubic_exclude_outside", {1, 1, 6, 5}, {1, 1, 1.7f, 2}, {}, {},
                   {{"mode", "cubic"}}, {{"cubic_coeff_a", -0.5}, {"exclude_outside#", 1}}, {}},
        ResizeCase{"tf_crop_and_resize_extrapolation", {1, 1, 5, 5}, {}, {1, 1, 4, 6},
                   {0, 0, -0.2f, 0.3f, 1, 1, 0.8f, 1.4f},
                   {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}},
                   {{"extrapolation_value", 10}}, {}},
        ResizeCase{"nearest_axes_ceil", {2, 3, 4, 5}, {3, 2}, {}, {},
                   {{"mode", "nearest"}, {"nearest_mode", "ceil"}}, {}, {2, 3}}),
    [](const ::testing::TestParamInfo<ResizeCase> &p) { return p.param.name; });

} // namespace
} // namespace plumb
