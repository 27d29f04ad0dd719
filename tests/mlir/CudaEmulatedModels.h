// Shared by the emulated-plan tests (cuda_emulated_test.cpp: fixture plans, --keep-f32,
// the conformance sweep; cuda_emulated_ops.cpp: one-node models and single generated
// ops): tolerances, one-node ONNX model writers and compiling + emulating a model.
#pragma once

#include "tests/mlir/CudaEmulator.h"

#include "frontend/onnx/Importer.h"
#include "parity/Metrics.h"
#include "tests/TempFiles.h"
#include "tools/lib/Capture.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace plumb::cudatest {

// Largest tolerated |candidate - truth| for a tensor whose truth peaks at `peak`. f32 plans:
// a few ulps of f32 accumulated through the step (1e-4 relative to the tensor's scale).
// f16/bf16 plans: storage rounding at every step boundary, compounding through the model;
// 8 roundings' worth of the type's unit roundoff (2^-11, 2^-8) of the peak. Outputs of
// such plans are checked, not every boundary (the error of a deep tensor in half precision
// depends on how many roundings came before it).
inline double tolerance(const std::string &dtype, double peak) {
  double scale = std::max(1.0, peak);
  if (dtype == "f32")
    return 1e-4 * scale;
  return 8 * (dtype == "f16" ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8)) * scale;
}

inline double peakOf(const Tensor &t) {
  double p = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::isfinite(t.getAsDouble(i)))
      p = std::max(p, std::fabs(t.getAsDouble(i)));
  return p;
}

// One-node ONNX models written here (tests/data holds the larger ones).
inline onnx::ModelProto newModel(const std::string &name, int64_t opset) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name(name);
  return m;
}

// A float graph input or output; `dims` empty leaves the shape to inference.
inline void floatValue(onnx::ValueInfoProto *v, const std::string &name, const std::vector<int64_t> &dims = {}) {
  v->set_name(name);
  onnx::TypeProto::Tensor *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->mutable_shape()->add_dim()->set_dim_value(d);
}
// An int64 graph input or output (indices, targets, step counts); `dims` as floatValue's.
inline void int64Value(onnx::ValueInfoProto *v, const std::string &name, const std::vector<int64_t> &dims = {}) {
  floatValue(v, name, dims);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
}

inline void intsAttrOf(onnx::NodeProto *n, const std::string &name, const std::vector<int64_t> &v) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t i : v)
    a->add_ints(i);
}

inline void intAttrOf(onnx::NodeProto *n, const std::string &name, int64_t v) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void floatAttrOf(onnx::NodeProto *n, const std::string &name, float v) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

inline void stringAttrOf(onnx::NodeProto *n, const std::string &name, const std::string &v) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

// A 1-D int64 initializer holding `v`.
inline void intsInitializer(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &v) {
  onnx::TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(int64_t(v.size()));
  for (int64_t x : v)
    t->add_int64_data(x);
}

// A float initializer of shape `dims` whose element i is fill(i).
inline void floatInitializer(onnx::GraphProto *g, const std::string &name,
                             const std::vector<int64_t> &dims,
                             const std::function<float(int64_t)> &fill) {
  onnx::TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i)
    t->add_float_data(fill(i));
}

inline std::string saveModel(const onnx::ModelProto &m, const std::string &file) {
  std::string path = testing_util::scratchPath(file);
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

// --keep-f32 (CudaLoweringOptions::keepF32) in f16/bf16 plans.
struct KeptPlan {
  Compiled compiled;
  std::vector<Tensor> got;
  Capture truth;
};

inline KeptPlan runKept(const std::string &model, const std::string &npz, const char *dtype,
                 const std::function<std::set<std::string>(mlir::Operation *)> &keep,
                 const std::string &tag) {
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  auto module = importWithInputs(ctx, model, {}, npz, 0, inputs);
  KeptPlan k;
  k.truth = captureRun(mainFunction(*module), inputs, {});
  static const std::string cache = testing_util::scratchPath("nvrtc_kept");
  ::setenv("PLUMB_CACHE_DIR", cache.c_str(), 1);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.dtype = dtype;
  cs.keepF32 = keep(mainFunction(*module));
  cs.shapeInputs = inputs;
  k.compiled = compileModule(mlir::OwningOpRef<mlir::ModuleOp>(module->clone()), cs);
  k.compiled.module = {}; // it belongs to `ctx`; the plan is what the tests read
  cudatest::PlanEmulator emu(k.compiled.plan, testing_util::scratchPath("emu_kept_" + tag));
  k.got = emu.run(inputs);
  return k;
}

// `model` (inputs from `npz`, or seeded random ones, returned in `inputs`) compiled for cuda
// with storage `dtype`, not run: for tests of what the plan holds.
inline Compiled compileForCuda(const std::string &model, const std::string &npz,
                               const char *dtype, std::vector<Tensor> &inputs) {
  mlir::MLIRContext ctx;
  auto module = importWithInputs(ctx, model, {}, npz, 0, inputs);
  static const std::string cache = testing_util::scratchPath("nvrtc_compile_only");
  ::setenv("PLUMB_CACHE_DIR", cache.c_str(), 1);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.dtype = dtype;
  cs.shapeInputs = inputs;
  Compiled c = compileModule(mlir::OwningOpRef<mlir::ModuleOp>(module->clone()), cs);
  c.module = {}; // it belongs to `ctx`
  return c;
}

// runKept's `keep` for plans that keep no node in f32.
inline std::set<std::string> keepNone(mlir::Operation *) { return {}; }

// How many of the plan's steps are generated kernels of `style`; fails the test (naming the
// nodes) for every step left on the host.
inline int stepsOfStyle(const Plan &plan, const std::string &style) {
  int n = 0;
  for (const Step &s : plan.steps) {
    EXPECT_NE(s.kernel, "cuda.host") << "[" << s.nodeNames << "] runs on the host";
    n += s.attrs.getString("style", "") == style;
  }
  return n;
}

inline const Buffer *bufferNamed(const Plan &plan, const std::string &name) {
  for (const Buffer &b : plan.buffers)
    if (b.name == name)
      return &b;
  return nullptr;
}

} // namespace plumb::cudatest
