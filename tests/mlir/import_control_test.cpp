// The importer and interpreter on ONNX control flow and model-local functions, beyond what
// the conformance data covers: inlining with attribute references and name scoping,
// recursion refused, Loop early exit and zero-trip scan outputs, Scan with reversed
// directions. Expected values are computed here from the inputs by plain arithmetic.
#include "backends/reference/Interpreter.h"
#include "frontend/onnx/Importer.h"
#include "ir/PlumbDialect.h"
#include "tests/TempFiles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fstream>

namespace plumb {
namespace {

// Writes a ModelProto given in protobuf text format to a temporary .onnx file.
std::string writeModel(const std::string &text, const std::string &name) {
  onnx::ModelProto m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << name;
  std::string path = testing_util::scratchPath(name + ".onnx");
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

std::vector<float> floats(const Tensor &t) {
  std::vector<float> v;
  for (int64_t i = 0; i < t.numel(); ++i)
    v.push_back(float(t.getAsDouble(i)));
  return v;
}

const char *kTensor = R"(type { tensor_type { elem_type: 1 shape { dim { dim_value: 3 } } } })";

// scaled_add(a, b) = a + alpha * b, with alpha a reference to the call's attribute; the
// graph calls it twice (alpha 2 and 0.5) and once through a second function that passes
// its own attribute on.
std::string functionModel() {
  return std::string(R"(
ir_version: 8
opset_import { domain: "" version: 17 }
opset_import { domain: "local" version: 1 }
graph {
  name: "g"
  node { name: "call1" op_type: "ScaledAdd" domain: "local" input: "x" input: "y" output: "s1"
         attribute { name: "alpha" type: FLOAT f: 2.0 } }
  node { name: "call2" op_type: "ScaledAdd" domain: "local" input: "s1" input: "y" output: "s2"
         attribute { name: "alpha" type: FLOAT f: 0.5 } }
  node { name: "call3" op_type: "Twice" domain: "local" input: "s2" input: "y" output: "out"
         attribute { name: "beta" type: FLOAT f: 3.0 } }
  input { name: "x" )") +
         kTensor + R"( }
  input { name: "y" )" +
         kTensor + R"( }
  output { name: "out" )" +
         kTensor + R"( }
}
functions {
  name: "ScaledAdd" domain: "local"
  opset_import { domain: "" version: 17 }
  input: "a" input: "b" output: "c" attribute: "alpha"
  node { name: "k" op_type: "Constant" output: "k"
         attribute { name: "value_float" type: FLOAT ref_attr_name: "alpha" } }
  node { name: "mul" op_type: "Mul" input: "b" input: "k" output: "t" }
  node { name: "add" op_type: "Add" input: "a" input: "t" output: "c" }
}
functions {
  name: "Twice" domain: "local"
  opset_import { domain: "" version: 17 } opset_import { domain: "local" version: 1 }
  input: "a" input: "b" output: "c" attribute: "beta"
  node { name: "inner" op_type: "ScaledAdd" domain: "local" input: "a" input: "b" output: "t"
         attribute { name: "alpha" type: FLOAT ref_attr_name: "beta" } }
  node { name: "dbl" op_type: "Add" input: "t" input: "t" output: "c" }
}
)";
}

TEST(ImportFunctions, InlinedWithAttributeReferencesAndScopedNames) {
  mlir::MLIRContext ctx;
  auto module = importOnnxFile(ctx, writeModel(functionModel(), "functions"));
  std::vector<std::string> nodes;
  mainFunction(*module)->walk([&](mlir::Operation *op) {
    if (!onnxOpType(op).empty())
      nodes.push_back(nodeNameOf(op));
  });
  std::vector<std::string> want = {
      "call1/k",   "call1/mul",     "call1/add",       "call2/k",         "call2/mul",
      "call2/add", "call3/inner/k", "call3/inner/mul", "call3/inner/add", "call3/dbl"};
  EXPECT_EQ(nodes, want);
  // The op producing a call's output carries the caller's tensor name (inside an inlined
  // function, in that call's scope).
  std::vector<std::string> adds;
  mainFunction(*module)->walk([&](AddOp op) { adds.push_back(tensorNameOf(op, 0)); });
  EXPECT_EQ(adds, (std::vector<std::string>{"s1", "s2", "call3/t", "out"}));

  Tensor x = Tensor::fromVector(DType::F32, {3}, std::vector<float>{1, 2, 3});
  Tensor y = Tensor::fromVector(DType::F32, {3}, std::vector<float>{10, -20, 0.25f});
  std::vector<Tensor> out = ref::interpret(mainFunction(*module), {x, y});
  ASSERT_EQ(out.size(), 1u);
  std::vector<float> got = floats(out[0]);
  for (int i = 0; i < 3; ++i) {
    float xs = floats(x)[size_t(i)], ys = floats(y)[size_t(i)];
    float s2 = (xs + 2.0f * ys) + 0.5f * ys;
    EXPECT_FLOAT_EQ(got[size_t(i)], 2 * (s2 + 3.0f * ys)) << "element " << i;
  }
}

TEST(ImportFunctions, RecursionIsRefusedWithTheCall) {
  std::string text = std::string(R"(
ir_version: 8
opset_import { domain: "" version: 17 } opset_import { domain: "local" version: 1 }
graph {
  name: "g"
  node { name: "top" op_type: "Loopy" domain: "local" input: "x" output: "y" }
  input { name: "x" )") +
                     kTensor + R"( }
  output { name: "y" )" +
                     kTensor + R"( }
}
functions {
  name: "Loopy" domain: "local" input: "a" output: "b"
  node { name: "again" op_type: "Loopy" domain: "local" input: "a" output: "b" }
}
)";
  mlir::MLIRContext ctx;
  try {
    importOnnxFile(ctx, writeModel(text, "recursive"));
    FAIL() << "a recursive function must be refused";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("recursive functions are unsupported"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("top/again"), std::string::npos) << e.what();
  }
}

// Loop: s += i while s < limit (dynamic cond), collecting s each iteration; M caps the trips.
std::string loopModel() {
  const char *scalarF = R"(type { tensor_type { elem_type: 1 shape { } } })";
  const char *scalarI = R"(type { tensor_type { elem_type: 7 shape { } } })";
  const char *scalarB = R"(type { tensor_type { elem_type: 9 shape { } } })";
  return std::string(R"(
ir_version: 8
opset_import { domain: "" version: 17 }
graph {
  name: "g"
  node { name: "loop" op_type: "Loop" input: "m" input: "" input: "s0" output: "s" output: "trace"
    attribute { name: "body" type: GRAPH g {
      name: "body"
      node { name: "fi" op_type: "Cast" input: "i" output: "fi" attribute { name: "to" type: INT i: 1 } }
      node { name: "next" op_type: "Add" input: "s_in" input: "fi" output: "s_out" }
      node { name: "more" op_type: "Less" input: "s_out" input: "limit" output: "c_out" }
      node { name: "copy" op_type: "Identity" input: "s_out" output: "scan" }
      input { name: "i" )") +
         scalarI + R"( }
      input { name: "c_in" )" +
         scalarB + R"( }
      input { name: "s_in" )" +
         scalarF + R"( }
      output { name: "c_out" )" +
         scalarB + R"( }
      output { name: "s_out" )" +
         scalarF + R"( }
      output { name: "scan" )" +
         scalarF + R"( }
    } } }
  input { name: "m" )" +
         scalarI + R"( }
  input { name: "s0" )" +
         scalarF + R"( }
  input { name: "limit" )" +
         scalarF + R"( }
  output { name: "s" )" +
         scalarF + R"( }
  output { name: "trace" type { tensor_type { elem_type: 1 shape { dim { dim_param: "n" } } } } }
}
)";
}

TEST(InterpretControlFlow, LoopStopsOnCondOrTripCountAndStacksScanOutputs) {
  mlir::MLIRContext ctx;
  auto module = importOnnxFile(ctx, writeModel(loopModel(), "loop"));
  auto run = [&](int64_t m, float s0, float limit) {
    return ref::interpret(mainFunction(*module),
                          {Tensor::scalarI64(m), Tensor::scalarF32(s0), Tensor::scalarF32(limit)});
  };
  // Reference: the same loop written in C++.
  auto expect = [&](int64_t m, float s0, float limit) {
    std::vector<float> trace;
    float s = s0;
    bool cond = true;
    for (int64_t i = 0; i < m && cond; ++i) {
      s += float(i);
      trace.push_back(s);
      cond = s < limit;
    }
    std::vector<Tensor> out = run(m, s0, limit);
    EXPECT_FLOAT_EQ(float(out[0].getAsDouble(0)), s) << "m=" << m << " limit=" << limit;
    EXPECT_EQ(out[1].shape(), Shape{int64_t(trace.size())});
    EXPECT_EQ(floats(out[1]), trace) << "m=" << m << " limit=" << limit;
  };
  expect(10, 0, 7);  // the condition ends it (0, 1, 3, 6, 10)
  expect(3, 0, 100); // the trip count ends it
  expect(0, 5, 100); // no iteration: final = initial, empty scan output
  expect(10, 50, 7); // one iteration: cond is checked after the body
}

TEST(InterpretControlFlow, ScanReversedInputAndOutputOnAxis1) {
  std::string t23 =
      R"(type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } dim { dim_value: 3 } } } })";
  std::string t2 = R"(type { tensor_type { elem_type: 1 shape { dim { dim_value: 2 } } } })";
  std::string text = R"(
ir_version: 8
opset_import { domain: "" version: 17 }
graph {
  name: "g"
  node { name: "scan" op_type: "Scan" input: "init" input: "x" output: "final" output: "ys"
    attribute { name: "num_scan_inputs" type: INT i: 1 }
    attribute { name: "scan_input_axes" type: INTS ints: 1 }
    attribute { name: "scan_input_directions" type: INTS ints: 1 }
    attribute { name: "scan_output_axes" type: INTS ints: 1 }
    attribute { name: "body" type: GRAPH g {
      name: "body"
      node { name: "acc" op_type: "Add" input: "s" input: "xi" output: "s2" }
      node { name: "out" op_type: "Identity" input: "s2" output: "y" }
      input { name: "s" )" +
                     t2 + R"( }
      input { name: "xi" )" +
                     t2 + R"( }
      output { name: "s2" )" +
                     t2 + R"( }
      output { name: "y" )" +
                     t2 + R"( }
    } } }
  input { name: "init" )" +
                     t2 + R"( }
  input { name: "x" )" +
                     t23 + R"( }
  output { name: "final" )" +
                     t2 + R"( }
  output { name: "ys" )" +
                     t23 + R"( }
}
)";
  mlir::MLIRContext ctx;
  auto module = importOnnxFile(ctx, writeModel(text, "scan"));
  std::vector<float> x = {1, 2, 3, 10, 20, 30};
  std::vector<Tensor> out = ref::interpret(
      mainFunction(*module), {Tensor::fromVector(DType::F32, {2}, std::vector<float>{100, 200}),
                              Tensor::fromVector(DType::F32, {2, 3}, x)});
  // Scanning columns from the last: row r accumulates x[r][2], x[r][1], x[r][0]; outputs
  // are written forward, step t at column t.
  std::vector<float> ys(6), fin(2);
  for (int r = 0; r < 2; ++r) {
    float s = r == 0 ? 100 : 200;
    for (int t = 0; t < 3; ++t) {
      s += x[size_t(r * 3 + (2 - t))];
      ys[size_t(r * 3 + t)] = s;
    }
    fin[size_t(r)] = s;
  }
  EXPECT_EQ(floats(out[0]), fin);
  EXPECT_EQ(out[1].shape(), (Shape{2, 3}));
  EXPECT_EQ(floats(out[1]), ys);
}

} // namespace
} // namespace plumb
