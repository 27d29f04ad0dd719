// Unit tests for the reference interpreter's reduction, scan, softmax and TopK kernels
// (Reduction.cpp).
#include "tests/unit/RefTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

using namespace plumb;
using namespace plumb::ref;
using namespace plumb::reftest;

namespace {

constexpr double kF32Tol = 1e-6; // a few f32 ulps

using Node = NodeT<18>;

// The ONNX Reduce* example data, shape [3, 2, 2].
Tensor example() { return f32({3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2}); }

TEST(RefReduction, AllReduceOpsMatchNumpy) {
  struct Case {
    const char *op;
    std::vector<double> want;
  };
  // numpy on example() with axis=1, keepdims=True (LogSumExp in float64 rounded to f32).
  const Case cases[] = {
      {"ReduceSum", {25, 3, 70, 3, 115, 3}},
      {"ReduceMean", {12.5, 1.5, 35, 1.5, 57.5, 1.5}},
      {"ReduceMax", {20, 2, 40, 2, 60, 2}},
      {"ReduceMin", {5, 1, 30, 1, 55, 1}},
      {"ReduceProd", {100, 2, 1200, 2, 3300, 2}},
      {"ReduceL1", {25, 3, 70, 3, 115, 3}},
      {"ReduceL2",
       {20.615528106689453, 2.2360680103302, 50.0, 2.2360680103302, 81.39410400390625,
        2.2360680103302}},
      {"ReduceLogSum",
       {3.2188758850097656, 1.0986123085021973, 4.248495101928711, 1.0986123085021973,
        4.744932174682617, 1.0986123085021973}},
      {"ReduceLogSumExp",
       {20.0, 2.3132617473602295, 40.00004577636719, 2.3132617473602295, 60.0067138671875,
        2.3132617473602295}},
      {"ReduceSumSquare", {425, 5, 2500, 5, 6625, 5}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.op);
    // Opset 18: axes is input 1. Opset 13: attribute (input for ReduceSum only).
    expectValues(Node(c.op)({example(), i64({1}, {1})}), DType::F32, {3, 1, 2}, c.want, kF32Tol);
    Tensor old = std::string(c.op) == "ReduceSum"
                     ? Node(c.op).version(13)({example(), i64({1}, {1})})
                     : Node(c.op).version(13).ints("axes", {1})({example()});
    expectValues(old, DType::F32, {3, 1, 2}, c.want, kF32Tol);
  }
}

TEST(RefReduction, AxesKeepdimsAndNoop) {
  // numpy: example().sum(axis=(0, 2)) and .sum(axis=-1).
  expectValues(Node("ReduceSum").i("keepdims", 0)({example(), i64({2}, {0, 2})}), DType::F32, {2},
               {93, 126});
  expectValues(Node("ReduceSum").i("keepdims", 0)({example(), i64({1}, {-1})}), DType::F32, {3, 2},
               {6, 22, 31, 42, 56, 62});
  // No axes: reduce everything.
  expectValues(Node("ReduceSum")({example()}), DType::F32, {1, 1, 1}, {219});
  expectValues(Node("ReduceMax").i("keepdims", 0)({example(), i64({0}, {})}), DType::F32, {}, {60});
  expectValues(Node("ReduceMean").version(11).i("keepdims", 0)({example()}), DType::F32, {},
               {18.25});
  // noop_with_empty_axes: empty axes leave the input unchanged.
  expectValues(Node("ReduceSum").i("noop_with_empty_axes", 1)({example(), i64({0}, {})}),
               DType::F32, {3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2});
  expectValues(Node("ReduceL2").i("noop_with_empty_axes", 1)({example()}), DType::F32, {3, 2, 2},
               {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2});
  // Opset 18 with a stale `axes` attribute and no axes input: the attribute is used.
  expectValues(Node("ReduceMax").ints("axes", {0, 1}).i("keepdims", 0)({example()}), DType::F32,
               {2}, {60, 2});
  EXPECT_THROW(Node("ReduceSum")({example(), i64({1}, {3})}), Error);
  EXPECT_THROW(Node("ReduceSum")({example(), i64({1}, {-4})}), Error);
  EXPECT_THROW(Node("ReduceSum")({example(), i64({2}, {1, -2})}), Error); // same axis twice
  EXPECT_THROW(Node("ReduceMean").version(13).ints("axes", {7})({example()}), Error);
}

TEST(RefReduction, EmptyReductions) {
  Tensor x = f32({2, 0}, {});
  Tensor axis = i64({1}, {1});
  expectValues(Node("ReduceSum")({x, axis}), DType::F32, {2, 1}, {0, 0});
  expectValues(Node("ReduceProd")({x, axis}), DType::F32, {2, 1}, {1, 1});
  expectValues(Node("ReduceMax")({x, axis}), DType::F32, {2, 1}, {-kInf, -kInf});
  expectValues(Node("ReduceMin")({x, axis}), DType::F32, {2, 1}, {kInf, kInf});
  expectValues(Node("ReduceMean")({x, axis}), DType::F32, {2, 1}, {kNaN, kNaN});
  expectValues(Node("ReduceLogSum")({x, axis}), DType::F32, {2, 1}, {-kInf, -kInf});
  expectValues(Node("ReduceLogSumExp")({x, axis}), DType::F32, {2, 1}, {-kInf, -kInf});
  expectValues(Node("ReduceL2")({x, axis}), DType::F32, {2, 1}, {0, 0});
  expectInts(Node("ReduceMax")({i32({2, 0}, {}), axis}), DType::I32, {2, 1},
             {INT32_MIN, INT32_MIN});
  // Reducing the non-empty axis of an empty tensor gives an empty result.
  expectValues(Node("ReduceSum")({x, i64({1}, {0})}), DType::F32, {1, 0}, {});
}

TEST(RefReduction, IntegerAndBoolTypes) {
  Tensor x = i32({2, 3}, {1, -2, 3, INT32_MAX, 1, 0});
  Tensor axis = i64({1}, {1});
  expectInts(Node("ReduceSum")({x, axis}), DType::I32, {2, 1}, {2, INT32_MIN}); // wraps like numpy
  expectInts(Node("ReduceMean")({i64({2, 2}, {1, 2, -3, -4}), axis}), DType::I64, {2, 1}, {1, -3});
  expectInts(Node("ReduceL1")({x, i64({1}, {0})}), DType::I32, {1, 3}, {INT32_MIN, 3, 3});
  expectInts(Node("ReduceMax")({u8({2, 2}, {1, 200, 7, 3}), axis}), DType::U8, {2, 1}, {200, 7});
  expectInts(Node("ReduceProd")({i64({3}, {-2, 3, 4})}), DType::I64, {1}, {-24});
  expectInts(Node("ReduceL2")({i64({2}, {3, 4})}), DType::I64, {1}, {5});
  expectValues(Node("ReduceMax")({boolean({2, 2}, {0, 1, 0, 0}), axis}), DType::Bool, {2, 1},
               {1, 0});
  expectValues(Node("ReduceMin")({boolean({2, 2}, {1, 1, 0, 1}), axis}), DType::Bool, {2, 1},
               {1, 0});
  EXPECT_THROW(Node("ReduceSum")({boolean({2}, {1, 1})}), Error);
}

TEST(RefReduction, NaNAndLargeValues) {
  Tensor x = f32({2, 2}, {1, NAN, 3, 2});
  Tensor axis = i64({1}, {1});
  expectValues(Node("ReduceMax")({x, axis}), DType::F32, {2, 1}, {kNaN, 3});
  expectValues(Node("ReduceMin")({x, axis}), DType::F32, {2, 1}, {kNaN, 2});
  expectValues(Node("ReduceSum")({x, axis}), DType::F32, {2, 1}, {kNaN, 5});
  // LogSumExp must not overflow: 1000 + log(2).
  expectValues(Node("ReduceLogSumExp")({f32({2}, {1000, 1000})}), DType::F32, {1},
               {1000.6931471805599}, kF32Tol);
  expectValues(Node("ReduceLogSumExp")({f32({2}, {-INFINITY, -INFINITY})}), DType::F32, {1},
               {-kInf});
  expectValues(Node("ReduceLogSumExp")({f32({2}, {INFINITY, 1})}), DType::F32, {1}, {kInf});
}

TEST(RefReduction, AccumulatesInTheOpPrecision) {
  // Each + 1 is lost in f32 (spacing at 1e8 is 8); f64 keeps them.
  Tensor x = f32({5}, {1e8f, 1, 1, 1, 1});
  expectValues(Node("ReduceSum")({x}), DType::F32, {1}, {1e8});
  expectValues(Node("ReduceSum").truth()({x}), DType::F64, {1}, {100000004});
  expectValues(Node("ReduceSum")({f64({5}, {1e8, 1, 1, 1, 1})}), DType::F64, {1}, {100000004});
}

TEST(RefReduction, ArgMaxArgMin) {
  Tensor x = f32({2, 3}, {1, 5, 5, 7, 2, 7});
  expectInts(Node("ArgMax")({x}), DType::I64, {1, 3}, {1, 0, 1});
  expectInts(Node("ArgMax").i("axis", 1)({x}), DType::I64, {2, 1}, {1, 0});
  expectInts(Node("ArgMax").i("axis", -1).i("keepdims", 0)({x}), DType::I64, {2}, {1, 0});
  expectInts(Node("ArgMax").i("axis", 1).i("select_last_index", 1)({x}), DType::I64, {2, 1},
             {2, 2});
  expectInts(Node("ArgMin").i("axis", 1).i("keepdims", 0)({x}), DType::I64, {2}, {0, 1});
  expectInts(Node("ArgMin")
                 .i("axis", 0)
                 .i("keepdims", 0)
                 .i("select_last_index", 1)({i32({2, 2}, {3, 3, 3, 4})}),
             DType::I64, {2}, {1, 0});
  // NaN counts as the extreme value and the first one wins (numpy.argmax/argmin).
  Tensor n = f32({4}, {1, NAN, 9, NAN});
  expectInts(Node("ArgMax").i("keepdims", 0)({n}), DType::I64, {}, {1});
  expectInts(Node("ArgMin").i("keepdims", 0)({n}), DType::I64, {}, {1});
  EXPECT_THROW(Node("ArgMax").i("axis", 2)({x}), Error);
  EXPECT_THROW(Node("ArgMax").i("axis", 1)({f32({2, 0}, {})}), Error);
}

TEST(RefReduction, CumSum) {
  Tensor x = f32({5}, {1, 2, 3, 4, 5});
  Tensor axis = i32({}, {0});
  // The ONNX CumSum examples.
  expectValues(Node("CumSum")({x, axis}), DType::F32, {5}, {1, 3, 6, 10, 15});
  expectValues(Node("CumSum").i("exclusive", 1)({x, axis}), DType::F32, {5}, {0, 1, 3, 6, 10});
  expectValues(Node("CumSum").i("reverse", 1)({x, axis}), DType::F32, {5}, {15, 14, 12, 9, 5});
  expectValues(Node("CumSum").i("reverse", 1).i("exclusive", 1)({x, axis}), DType::F32, {5},
               {14, 12, 9, 5, 0});
  Tensor m = f64({2, 3}, {1, 2, 3, 4, 5, 6});
  expectValues(Node("CumSum")({m, i64({}, {0})}), DType::F64, {2, 3}, {1, 2, 3, 5, 7, 9});
  expectValues(Node("CumSum")({m, i64({1}, {-1})}), DType::F64, {2, 3}, {1, 3, 6, 4, 9, 15});
  expectInts(Node("CumSum")({i32({3}, {INT32_MAX, 1, 1}), axis}), DType::I32, {3},
             {INT32_MAX, INT32_MIN, INT32_MIN + 1});
  EXPECT_THROW(Node("CumSum")({m, i64({}, {2})}), Error);
  EXPECT_THROW(Node("CumSum")({m, i64({2}, {0, 1})}), Error);
}

TEST(RefReduction, SoftmaxFamily) {
  Tensor x = f32({2, 3}, {1, 5, 3, 7, 2, 7});
  // numpy: exp(x - max) / sum along the last axis.
  const std::vector<double> softmax = {0.01587623916566372,  0.8668133020401001,
                                       0.11731041967868805,  0.49832117557525635,
                                       0.003357661422342062, 0.49832117557525635};
  expectValues(Node("Softmax").version(13)({x}), DType::F32, {2, 3}, softmax, kF32Tol);
  expectValues(Node("Softmax").version(11)({x}), DType::F32, {2, 3}, softmax, kF32Tol);
  expectValues(Node("LogSoftmax").version(13).i("axis", 1)({x}), DType::F32, {2, 3},
               {-4.1429314613342285, -0.14293162524700165, -2.1429316997528076, -0.6965104937553406,
                -5.696510314941406, -0.6965104937553406},
               kF32Tol);
  // Hardmax: ties go to the first maximum; a NaN is the maximum (the first NaN), as ArgMax and
  // numpy.argmax (ONNX's reference) have it.
  expectValues(Node("Hardmax").version(13)({x}), DType::F32, {2, 3}, {0, 1, 0, 1, 0, 0});
  float nan = std::numeric_limits<float>::quiet_NaN();
  expectValues(Node("Hardmax").version(13)({f32({2, 3}, {1, nan, nan, nan, 5, 1})}), DType::F32,
               {2, 3}, {0, 1, 0, 1, 0, 0});
  // Large inputs do not overflow.
  expectValues(Node("Softmax")({f64({3}, {1000, 1001, 1002})}), DType::F64, {3},
               {0.09003057317038046, 0.24472847105479764, 0.6652409557748218}, 1e-14);
}

TEST(RefReduction, SoftmaxAxisSemanticsChangeAtOpset13) {
  Tensor y = f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  // Opset 11, axis 1: coerced to [2, 4] and normalised per row (numpy on y.reshape(2, 4)).
  expectValues(Node("Softmax").version(11).i("axis", 1)({y}), DType::F32, {2, 2, 2},
               {0.032058604061603546, 0.08714431524276733, 0.23688282072544098, 0.6439142823219299,
                0.032058604061603546, 0.08714431524276733, 0.23688282072544098, 0.6439142823219299},
               kF32Tol);
  // Opset 13, axis 1: along dim 1 only.
  expectValues(Node("Softmax").version(13).i("axis", 1)({y}), DType::F32, {2, 2, 2},
               {0.11920291930437088, 0.11920291930437088, 0.8807970881462097, 0.8807970881462097,
                0.11920291930437088, 0.11920291930437088, 0.8807970881462097, 0.8807970881462097},
               kF32Tol);
  // Opset 11 default axis is 1, opset 13 default is -1.
  expectValues(Node("Hardmax").version(11)({y}), DType::F32, {2, 2, 2}, {0, 0, 0, 1, 0, 0, 0, 1});
  expectValues(Node("Hardmax").version(13)({y}), DType::F32, {2, 2, 2}, {0, 1, 0, 1, 0, 1, 0, 1});
  EXPECT_THROW(Node("Softmax").i("axis", 3)({y}), Error);
  EXPECT_THROW(Node("Softmax")({i32({2}, {1, 2})}), Error);
}

TEST(RefReduction, TopK) {
  Tensor x = f32({2, 4}, {1, 4, 4, 2, 8, 6, 7, 5});
  auto out = Node("TopK").numOutputs(2).runAll({x, i64({1}, {3})});
  expectValues(out[0], DType::F32, {2, 3}, {4, 4, 2, 8, 7, 6});
  expectInts(out[1], DType::I64, {2, 3}, {1, 2, 3, 0, 2, 1}); // ties: lower index first
  out = Node("TopK").numOutputs(2).i("largest", 0).runAll({x, i64({1}, {2})});
  expectValues(out[0], DType::F32, {2, 2}, {1, 2, 5, 6});
  expectInts(out[1], DType::I64, {2, 2}, {0, 3, 3, 1});
  out = Node("TopK").numOutputs(2).i("axis", 0).runAll({x, i64({1}, {1})});
  expectValues(out[0], DType::F32, {1, 4}, {8, 6, 7, 5});
  expectInts(out[1], DType::I64, {1, 4}, {1, 1, 1, 1});
  // Opset 1: K is an attribute.
  out = Node("TopK").version(1).numOutputs(2).i("k", 1).runAll({x});
  expectInts(out[1], DType::I64, {2, 1}, {1, 0});
  // NaN counts as the largest value.
  out = Node("TopK").numOutputs(2).runAll({f32({3}, {1, NAN, 3}), i64({1}, {2})});
  expectValues(out[0], DType::F32, {2}, {kNaN, 3});
  out = Node("TopK").numOutputs(2).runAll({i64({3}, {5, -1, 9}), i64({1}, {0})});
  expectInts(out[0], DType::I64, {0}, {});
  EXPECT_THROW(Node("TopK").numOutputs(2).runAll({x, i64({1}, {5})}), Error);
  EXPECT_THROW(Node("TopK").numOutputs(2).runAll({x, i64({1}, {-1})}), Error);
  EXPECT_THROW(Node("TopK").numOutputs(2).i("axis", 2).runAll({x, i64({1}, {1})}), Error);
}

} // namespace
