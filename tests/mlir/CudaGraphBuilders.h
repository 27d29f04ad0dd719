// Builders and checks shared by the emulator tests of kernels without steps of their own
// (cuda_emulated_composite.cpp, cuda_emulated_views.cpp, cuda_emulated_fusions.cpp): ONNX
// nodes and initializers in a few words, outputs against the reference interpreter's.
#pragma once

#include "tests/mlir/CudaEmulatedModels.h"

#include <algorithm>

namespace plumb::cudatest::graphs {

inline onnx::NodeProto *node(onnx::GraphProto *g, const std::string &op, const std::string &name,
                             const std::vector<std::string> &in, const std::string &out) {
  onnx::NodeProto *n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string &i : in)
    n->add_input(i);
  n->add_output(out);
  return n;
}

// A 1-D int64 initializer; a float one of `dims` (a fixed pattern); a float scalar one.
inline void ints(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &v) {
  intsInitializer(g, name, v);
}

inline void floats(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &dims) {
  floatInitializer(g, name, dims, [](int64_t i) { return float(i % 7) * 0.25f - 0.6f; });
}

inline void scalar(onnx::GraphProto *g, const std::string &name, float v) {
  onnx::TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(v);
}

// Each output of the emulated plan within the dtype's tolerance of the reference's, with its
// NaNs and Infs where the reference has them.
inline void expectClose(const KeptPlan &k, const std::string &dtype) {
  ASSERT_EQ(k.got.size(), k.truth.outputs.size());
  for (size_t i = 0; i < k.got.size(); ++i) {
    const Tensor &truth = k.truth.outputs[i];
    ASSERT_EQ(k.got[i].shape(), truth.shape()) << dtype;
    parity::TensorMetrics m = parity::compareTensors(k.got[i].cast(DType::F32), truth);
    EXPECT_LE(m.maxAbsErr, tolerance(dtype, peakOf(truth))) << dtype << " output " << i;
    // maxAbsErr is over the finite pairs: a NaN or an Inf must be where the reference has it.
    EXPECT_EQ(m.nanMismatch + m.infMismatch, 0) << dtype << " output " << i;
  }
}

// Each output of the emulated plan bit for bit the reference's (plans that only move or
// select elements).
inline void expectBitExact(const KeptPlan &k) {
  ASSERT_EQ(k.got.size(), k.truth.outputs.size());
  for (size_t i = 0; i < k.got.size(); ++i) {
    ASSERT_EQ(k.got[i].shape(), k.truth.outputs[i].shape()) << i;
    EXPECT_EQ(parity::compareTensors(k.got[i], k.truth.outputs[i]).maxAbsErr, 0.0) << "output " << i;
  }
}

// How many steps run `kernel` (cuda.matmul, cuda.copy...).
inline int stepsRunning(const Plan &plan, const std::string &kernel) {
  return int(std::count_if(plan.steps.begin(), plan.steps.end(),
                           [&](const Step &s) { return s.kernel == kernel; }));
}

// The steps computing node `name` (nodeNames lists a step's nodes, comma-separated), and the
// first of them (null when none does).
inline std::vector<const Step *> stepsOf(const Plan &plan, const std::string &name) {
  std::vector<const Step *> found;
  for (const Step &s : plan.steps) {
    std::string list = s.nodeNames + ",";
    for (size_t at = 0, comma; (comma = list.find(',', at)) != std::string::npos; at = comma + 1) {
      size_t b = list.find_first_not_of(' ', at);
      if (b < comma && list.substr(b, comma - b) == name) {
        found.push_back(&s);
        break;
      }
    }
  }
  return found;
}

inline const Step *stepOf(const Plan &plan, const std::string &name) {
  std::vector<const Step *> found = stepsOf(plan, name);
  return found.empty() ? nullptr : found[0];
}

} // namespace plumb::cudatest::graphs
