// The data-movement kernels (cpu.slice, cpu.split, cpu.concat, cpu.pad, cpu.gather,
// cpu.cumsum) against the reference kernels of the same ONNX ops, over a table of shapes,
// axes, negative and clamped starts, steps, pads, dtypes and seeds: they move bytes (CumSum
// adds in the reference's order), so the outputs must be equal bit for bit. Then the one-line
// errors for what they cannot run. The harness is CpuKernelHarness.h.
#include "tests/unit/CpuKernelHarness.h"

#include <gtest/gtest.h>

#include <cctype>
#include <limits>
#include <optional>
#include <sstream>

using namespace plumb;
using namespace plumb::cputest;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// An input after the data: starts, pads, indices, a Pad value...
struct Extra {
  std::vector<double> v;
  std::optional<Shape> shape; // default: 1-D
  bool constant = true;
  std::optional<DType> dtype = DType::I64; // unset: the data's
  bool present = true;
};

Extra ints(std::vector<double> v) { return {std::move(v), std::nullopt}; }
Extra absent() {
  Extra e;
  e.present = false;
  return e;
}
Extra runtime(std::vector<double> v, std::optional<Shape> shape = std::nullopt) {
  return {std::move(v), shape, false};
}
Extra scalar(double v, std::optional<DType> dtype = DType::I64) {
  return {{v}, Shape{}, true, dtype};
}

struct MoveCase {
  std::string op;
  std::vector<Shape> data; // one data input, or Concat's inputs
  std::vector<Extra> extras;
  std::vector<std::pair<std::string, ref::AttrValue>> attrs;
  size_t outputs = 1; // Split's
  int64_t opset = 17;
  DType dtype = DType::F32;
  unsigned seed = 1;
};

std::ostream &operator<<(std::ostream &os, const MoveCase &c) {
  os << c.op << " opset " << c.opset << " " << dtypeName(c.dtype) << " data";
  for (const Shape &s : c.data)
    os << " " << join(s);
  for (const Extra &e : c.extras) {
    os << (e.present ? e.constant ? " const" : " runtime" : " absent");
    if (e.present) {
      os << " [";
      for (double v : e.v)
        os << v << " ";
      os << "]";
    }
  }
  for (const auto &[name, v] : c.attrs)
    os << " " << name << "="
       << (v.kind == ref::AttrValue::Kind::Ints     ? join(v.ints)
           : v.kind == ref::AttrValue::Kind::String ? v.s
                                                    : std::to_string(v.i));
  return os << " outputs=" << c.outputs << " seed=" << c.seed;
}

std::pair<std::string, ref::AttrValue> attr(const std::string &n, int64_t v) {
  return {n, intAttr(v)};
}

std::vector<MoveCase> sliceCases() {
  auto s = [](Shape x, std::vector<double> st, std::vector<double> en, std::vector<double> ax,
              std::vector<double> steps = {}) {
    return MoveCase{"Slice",
                    {x},
                    {ints(st), ints(en), ax.empty() ? absent() : ints(ax),
                     steps.empty() ? absent() : ints(steps)},
                    {}};
  };
  double mx = double(kMax), mn = double(kMin);
  std::vector<MoveCase> v{
      s({2, 3, 4}, {1}, {3}, {1}),
      s({2, 3, 4}, {0, 1}, {2, -1}, {0, 2}),
      s({4, 6}, {-3}, {mx}, {-1}),
      s({4, 6}, {-100}, {100}, {0}),
      s({5, 7}, {1, 0}, {5, 7}, {}, {2, 3}),
      s({5, 7}, {-1}, {mn}, {1}, {-1}),
      s({5, 7, 3}, {4, 6}, {0, -100}, {0, 1}, {-2, -3}),
      s({3, 4}, {2}, {1}, {0}),
      s({1, 16, 32}, {0, 8}, {1, 16}, {0, 1}),
      s({2, 3, 8, 5}, {0}, {4}, {2}, {1}),
      s({3, 4}, {1, 1}, {2, 3}, {}),
      s({64, 256}, {0}, {128}, {1}),
      s({4, 5}, {0}, {5}, {1}, {10}),
      s({2, 6, 4}, {1, 5}, {2, 0}, {0, -2}, {1, -2}),
  };
  MoveCase old{"Slice", {{3, 5}}, {}, {}};
  old.opset = 9;
  old.attrs = {
      {"starts", intsAttr({1, -4})}, {"ends", intsAttr({3, 4})}, {"axes", intsAttr({0, 1})}};
  v.push_back(old);
  return v;
}

std::vector<MoveCase> splitCases() {
  auto s = [](Shape x, int64_t axis, size_t n, Extra split) {
    return MoveCase{"Split", {x}, {split}, {attr("axis", axis)}, n};
  };
  std::vector<MoveCase> v{
      s({6, 4}, 0, 2, ints({2, 4})),   s({2, 9, 3}, 1, 3, ints({3, 3, 3})),
      s({2, 9, 3}, 1, 3, absent()),    s({2, 3, 3}, -1, 2, ints({1, 2})),
      s({4, 10}, 1, 2, ints({0, 10})), s({1, 64, 96}, 2, 3, ints({32, 32, 32})),
  };
  MoveCase chunks = s({10, 3}, 0, 3, absent());
  chunks.opset = 18;
  chunks.attrs.push_back(attr("num_outputs", 3));
  v.push_back(chunks);
  MoveCase old = s({4, 7}, 1, 2, absent());
  old.opset = 11;
  old.extras.clear();
  old.attrs.push_back({"split", intsAttr({3, 4})});
  v.push_back(old);
  return v;
}

std::vector<MoveCase> concatCases() {
  auto c = [](std::vector<Shape> xs, int64_t axis) {
    return MoveCase{"Concat", xs, {}, {attr("axis", axis)}};
  };
  MoveCase old{"Concat", {{2, 3}, {2, 4}}, {}, {}};
  old.opset = 1; // axis defaults to 1
  return {c({{2, 3}, {2, 5}}, 1),
          c({{1, 4, 3}, {2, 4, 3}, {3, 4, 3}}, 0),
          c({{2, 3, 4}, {2, 0, 4}, {2, 1, 4}}, -2),
          c({{5}, {7}}, 0),
          c({{3, 4}}, 1),
          c({{2, 2, 64}, {2, 2, 64}}, 2),
          c({{0, 3}, {0, 2}}, 1),
          old};
}

std::vector<MoveCase> padCases() {
  auto p = [](Shape x, std::vector<double> pads, Extra value, Extra axes = absent()) {
    return MoveCase{"Pad", {x}, {ints(pads), value, axes}, {}};
  };
  std::vector<MoveCase> v{
      p({2, 3}, {1, 2, 0, 1}, scalar(0, std::nullopt)),
      p({1, 2, 4, 4}, {0, 0, 1, 1, 0, 0, 1, 1}, scalar(3, std::nullopt)),
      p({3, 5}, {-1, 2, 1, -2}, scalar(-2, std::nullopt)),
      p({2, 3, 4}, {1, 2}, absent(), ints({-1})),
      p({4}, {0, 0}, absent()),
      p({3}, {-3, 0}, absent()),
      p({2, 1, 30}, {0, 0, 3, 0, 0, 0}, scalar(1, std::nullopt)), // mamba2's causal conv padding
  };
  for (std::string mode : {"edge", "reflect", "wrap"}) {
    std::vector<MoveCase> m{p({2, 3, 4}, {1, 2, 3, 0, 1, 2}, absent()),
                            p({1, 3, 5, 5}, {0, 0, 2, 2, 0, 0, 2, 2}, absent()),
                            p({3, 5}, {-1, 4, 1, -2}, absent()), p({2, 2}, {0, 3, 0, 0}, absent())};
    for (MoveCase c : m) {
      c.attrs.push_back({"mode", stringAttr(mode)});
      v.push_back(c);
    }
  }
  v[3].opset = 18;
  MoveCase old{"Pad", {{2, 3}}, {}, {{"pads", intsAttr({0, 1, 1, 0})}, {"value", floatAttr(5)}}};
  old.opset = 2;
  v.push_back(old);
  return v;
}

std::vector<MoveCase> gatherCases() {
  auto g = [](Shape x, Extra idx, int64_t axis) {
    return MoveCase{"Gather", {x}, {idx}, {attr("axis", axis)}};
  };
  Extra i32 = ints({1, -2, 0});
  i32.dtype = DType::I32;
  Extra big = runtime({}, Shape{1, 64});
  for (int64_t i = 0; i < 64; ++i)
    big.v.push_back(double((i * 37) % 100 - 50));
  Extra bigConst = big;
  bigConst.constant = true;
  return {g({10, 4}, ints({3, 0, 9}), 0),
          g({10, 4}, runtime({3, -1, 0, 2, 2, -10}, Shape{2, 3}), 0),
          g({3, 5, 2}, scalar(-1), 1),
          g({3, 5, 2}, runtime({1, 0, -2, 1}), -1),
          g({7}, runtime({6, 5, 4, 3, 2, 1, 0}), 0),
          g({2, 1024}, ints({0, -1, 512, 3, 7}), 1),
          g({100, 512}, big, 0),
          g({100, 512}, bigConst, 0),
          g({4, 3}, i32, 0),
          g({4, 3}, runtime({}, Shape{0}), 0)};
}

std::vector<MoveCase> cumSumCases() {
  auto c = [](Shape x, int64_t axis, int64_t exclusive, int64_t reverse) {
    return MoveCase{"CumSum",
                    {x},
                    {scalar(double(axis))},
                    {attr("exclusive", exclusive), attr("reverse", reverse)}};
  };
  std::vector<MoveCase> v{
      c({5}, 0, 0, 0),         c({2, 64, 3000}, 1, 0, 0),     c({4, 2048}, -1, 1, 0),
      c({2, 300, 3}, 1, 0, 1), c({1, 1, 33, 2, 16}, 2, 1, 1), c({3, 0, 2}, 0, 0, 0)};
  for (int64_t ex : {0, 1})
    for (int64_t rev : {0, 1})
      v.push_back(c({3, 4}, 1, ex, rev));
  v.push_back({"CumSum", {{6, 2}}, {scalar(0, DType::I32)}, {}});
  return v;
}

std::vector<MoveCase> moveCases() {
  std::vector<MoveCase> all;
  auto add = [&](std::vector<MoveCase> family, std::vector<DType> dtypes) {
    for (unsigned seed : {1u, 2u})
      for (DType dt : dtypes)
        for (MoveCase c : family) {
          c.seed = seed;
          c.dtype = dt;
          all.push_back(c);
        }
  };
  std::vector<DType> bytes = {DType::F32, DType::I64, DType::I32, DType::F16, DType::U8};
  for (auto family : {sliceCases, splitCases, concatCases, padCases, gatherCases})
    add(family(), bytes);
  add(cumSumCases(), {DType::F32});
  return all;
}

Tensor extraTensor(const Extra &e, DType data) {
  Shape shape = e.shape.value_or(Shape{int64_t(e.v.size())});
  return Tensor::fromVector(DType::F64, shape, e.v).cast(e.dtype.value_or(data));
}

void expectSame(const Tensor &got, Tensor want) {
  if (want.dtype() != got.dtype())
    want = want.cast(got.dtype()); // the reference computes f16 in f32
  ASSERT_EQ(got.shape(), want.shape());
  size_t es = dtypeSize(got.dtype());
  const auto *g = static_cast<const unsigned char *>(got.raw());
  const auto *w = static_cast<const unsigned char *>(want.raw());
  for (size_t i = 0; i < got.nbytes(); ++i)
    if (g[i] != w[i]) {
      int64_t e = int64_t(i / es);
      FAIL() << "element " << e << " differs: got " << got.getAsDouble(e) << ", reference "
             << want.getAsDouble(e);
    }
}

class CpuMovement : public testing::TestWithParam<MoveCase> {};

TEST_P(CpuMovement, MatchesReference) {
  const MoveCase &c = GetParam();
  std::ostringstream trace;
  trace << c;
  SCOPED_TRACE(trace.str());
  std::vector<Tensor> ts;
  std::vector<Arg> args;
  for (size_t k = 0; k < c.data.size(); ++k) {
    ts.push_back(randomF32(c.data[k], c.seed + 100 * unsigned(k), -100, 100).cast(c.dtype));
    args.push_back({ts.back()});
  }
  for (const Extra &e : c.extras) {
    ts.push_back(e.present ? extraTensor(e, c.dtype) : Tensor());
    args.push_back({ts.back(), e.constant});
  }
  std::vector<const Tensor *> refIn;
  for (const Tensor &t : ts)
    refIn.push_back(t.defined() ? &t : nullptr);
  ref::Attrs attrs;
  for (const auto &[name, v] : c.attrs)
    attrs.set(name, v);
  std::vector<Tensor> want = refOps(c.op, refIn, attrs, c.opset, c.outputs);
  std::vector<BufferInfo> outs;
  for (const Tensor &w : want) {
    BufferInfo o;
    o.present = true;
    o.dtype = c.dtype;
    o.shape = w.shape();
    outs.push_back(o);
  }
  std::string kernel = "cpu." + c.op;
  for (char &ch : kernel)
    ch = char(std::tolower(static_cast<unsigned char>(ch)));
  std::vector<Tensor> got = runCpuOutputs(kernel, attrs, args, outs, c.opset);
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    expectSame(got[i], want[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, CpuMovement, testing::ValuesIn(moveCases()));

// Prepares `kernel` with one output of `outShape`; expects a one-line plumb::Error saying `what`.
void expectRefused(const std::string &kernel, const std::vector<Arg> &args, const ref::Attrs &attrs,
                   const Shape &outShape, const std::string &what, DType outType = DType::F32) {
  BufferInfo o;
  o.present = true;
  o.dtype = outType;
  o.shape = outShape;
  try {
    runCpuOutputs(kernel, attrs, args, {o});
    ADD_FAILURE() << kernel << " accepted a configuration it should refuse (" << what << ")";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(CpuMovement, RefusesWhatItCannotRun) {
  Tensor x = randomF32({4, 6}, 1);
  Tensor one = Tensor::fromVector(DType::I64, {1}, std::vector<int64_t>{1});
  Tensor zero = Tensor::fromVector(DType::I64, {1}, std::vector<int64_t>{0});
  ref::Attrs none, axis1, mirror, edge, bad;
  axis1.set("axis", intAttr(1));
  mirror.set("mode", stringAttr("mirror"));
  edge.set("mode", stringAttr("edge"));
  bad.set("axis", intAttr(5));
  Tensor pads = Tensor::fromVector(DType::I64, {4}, std::vector<int64_t>{1, 1, 1, 1});
  expectRefused("cpu.slice", {{x}, {one, false}, {one, true}}, none, {0, 6}, "lower to ref.Slice");
  expectRefused("cpu.slice", {{x}, {zero, true}, {one, true}}, none, {2, 6}, "planned output 0");
  expectRefused("cpu.slice", {{x}, {zero, true}, {one, true}, {zero, true}, {zero, true}}, none,
                {1, 6}, "step 0");
  expectRefused("cpu.pad", {{x}, {pads, true}}, mirror, {6, 8}, "unknown mode 'mirror'");
  expectRefused("cpu.pad", {{x}, {pads, false}}, none, {6, 8}, "lower to ref.Pad");
  expectRefused("cpu.pad", {{randomF32({0, 6}, 1)}, {pads, true}}, edge, {2, 8},
                "cannot pad an empty axis");
  expectRefused("cpu.cumsum", {{x.cast(DType::I64)}, {zero, true}}, none, {4, 6}, "f32",
                DType::I64);
  expectRefused("cpu.cumsum", {{x}, {zero, false}}, none, {4, 6}, "ref.CumSum");
  expectRefused("cpu.gather", {{x}, {x}}, none, {4, 6, 6}, "not int32 or int64");
  expectRefused("cpu.gather", {{x}, {Tensor::scalarI64(6)}}, axis1, {4}, "out of range");
  expectRefused("cpu.concat", {{x}, {randomF32({3, 6}, 2)}}, axis1, {4, 12}, "does not match");
  expectRefused("cpu.concat", {{x}}, bad, {4, 6}, "axis 5 out of");
  expectRefused("cpu.split", {{x}}, axis1, {4, 5}, "cover 5 of the 6");
}

TEST(CpuMovement, GatherChecksComputedIndicesOnEveryRun) {
  Tensor x = randomF32({5, 3}, 1);
  Tensor bad = Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{1, 5});
  BufferInfo o;
  o.present = true;
  o.shape = {2, 3};
  try {
    runCpuOutputs("cpu.gather", {}, {{x}, {bad}}, {o});
    ADD_FAILURE() << "an index past the axis was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("index 5 is out of range [-5, 4]"), std::string::npos)
        << e.what();
  }
}

} // namespace
