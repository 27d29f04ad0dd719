// Shared by the artifact and C API tests: a small plan with weights, and file helpers.
#pragma once

#include "backends/reference/AttrValues.h"
#include "runtime/Plan.h"
#include "tests/TempFiles.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

namespace plumb {

// y = Relu(x @ w + b) with a 3x4 weight and a bias, and an i64 constant nobody reads.
inline Plan smallPlan() {
  Plan p;
  int x = p.addInput(DType::F32, {2, 3}, "x");
  std::vector<float> w(12), b(4);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = float(i) * 0.25f - 1.0f;
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = 0.5f - float(i) * 0.3f;
  int wid = p.addConstant("w", Tensor::fromVector(DType::F32, {3, 4}, w));
  int bid = p.addConstant("b", Tensor::fromVector(DType::F32, {4}, b));
  p.addConstant("unused", Tensor::fromVector(DType::I64, {3}, std::vector<int64_t>{1, 2, 3}));
  int t = p.addBuffer(BufferKind::Intermediate, DType::F32, {2, 4}, "t");
  int y = p.addOutput(DType::F32, {2, 4}, "y");
  p.addStep("cpu.matmul", {x, wid, bid}, {t}, "MatMul_0");
  Step &relu = p.addStep("ref.Relu", {t}, {y}, "Relu_1");
  relu.attrs.set("unused_tensor_attr",
                 ref::tensorAttr(Tensor::fromVector(DType::F32, {2}, std::vector<float>{1.0f, 2.0f})));
  return p;
}

// A per-process path removed when the test binary exits (tests/TempFiles.h).
inline std::string tempPath(const std::string &name) {
  return testing_util::scratchPath("artifact_" + name);
}

inline std::string readBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// Outputs equal bit for bit (an artifact's plan against the plan it was written from).
inline void expectBitwise(const std::vector<Tensor> &got, const std::vector<Tensor> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].nbytes(), want[i].nbytes());
    EXPECT_EQ(0, std::memcmp(got[i].raw(), want[i].raw(), got[i].nbytes())) << "output " << i;
  }
}

// Expected Relu(x @ w + b), computed here by hand.
inline std::vector<float> expected(const Plan &p, const std::vector<float> &x) {
  const float *w = p.buffers[1].constant.data<float>();
  const float *b = p.buffers[2].constant.data<float>();
  std::vector<float> y(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      float acc = b[j];
      for (int k = 0; k < 3; ++k)
        acc += x[size_t(i * 3 + k)] * w[k * 4 + j];
      y[size_t(i * 4 + j)] = acc > 0 ? acc : 0;
    }
  return y;
}

} // namespace plumb
