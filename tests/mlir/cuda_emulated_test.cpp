// The CUDA backend's plans computed on the host (tests/mlir/CudaEmulator.h): every fixture
// model lowered for cuda, its generated kernels compiled by the host compiler with CUDA's
// thread model emulated, and every step's tensors compared with the reference interpreter's
// tensors of the same name, in plan order, so a failure names the first step that is wrong.
// This checks what the lowering and the generator decide (kernel bodies, indexing,
// broadcasting, row reductions, online softmax, masks, matmul/conv geometry, epilogues,
// f16/bf16 storage) without a GPU; it cannot check the device's math library or how
// cuBLASLt/cuDNN read their descriptors.
#include "tests/mlir/CudaEmulator.h"
#include "tests/mlir/CudaEmulatedModels.h"
#include "tests/mlir/CudaGraphBuilders.h"

#include "backends/cuda/codegen/Generator.h"

#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "frontend/tensorio/TensorProto.h"
#include "ir/PlumbDialect.h"
#include "parity/Metrics.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "tests/TempFiles.h"
#include "tests/TestAttrs.h"
#include "tests/mlir/CudaFixtures.h"
#include "tools/lib/Capture.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"
#include "tools/lib/SteeringInputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <set>

namespace plumb {
namespace {

using namespace cudatest;

struct Case {
  const char *model;
  const char *dtype; // the plan's storage type
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.model << " " << c.dtype; }

std::string caseName(const ::testing::TestParamInfo<Case> &p) {
  return std::string(p.param.model) + "_" + p.param.dtype;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (const char *m : kModels)
    for (const char *t : {"f32", "f16", "bf16"})
      v.push_back({m, t});
  return v;
}

class EmulatedPlan : public ::testing::TestWithParam<Case> {};

TEST_P(EmulatedPlan, EveryStepMatchesTheReference) {
  const Case &c = GetParam();
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  auto module = importWithInputs(ctx, fixture(c.model, ".onnx"), {}, fixture(c.model, ".inputs.npz"),
                                 0, inputs);
  Capture truth = captureRun(mainFunction(*module), inputs, {});
  static const std::string cache = testing_util::scratchPath("nvrtc_emulated");
  ::setenv("PLUMB_CACHE_DIR", cache.c_str(), 1);
  CompileSettings cs;
  cs.backend = "cuda";
  cs.dtype = c.dtype;
  cs.shapeInputs = inputs;
  Compiled compiled = compileModule(mlir::OwningOpRef<mlir::ModuleOp>(module->clone()), cs);
  cudatest::PlanEmulator emu(compiled.plan,
                             testing_util::scratchPath(std::string("emu_") + c.model + "_" + c.dtype));
  std::vector<Tensor> got = emu.run(inputs);
  // Every fixture lowers entirely to device kernels, so its plan is captured as one CUDA Graph
  // (a cuda.host step makes the executor run the plan step by step).
  for (const Step &s : compiled.plan.steps)
    EXPECT_NE(s.kernel, "cuda.host") << c.model << ": [" << s.nodeNames << "] runs on the host";
  // A reshape (cuda.copy) whose input is an intermediate it reads last takes that input's
  // memory: the same arena offset, so the device skips the copy. The emulator runs with
  // this placement, so the parity checks below cover it.
  {
    const Plan &plan = compiled.plan;
    ArenaAssignment arena = planBuffers(plan, 256);
    std::vector<int> lastReader(plan.buffers.size(), -1);
    for (size_t i = 0; i < plan.steps.size(); ++i)
      for (int id : plan.steps[i].inputs)
        if (id >= 0)
          lastReader[size_t(id)] = int(i);
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step &s = plan.steps[i];
      int in = s.inputs.at(0), out = s.outputs.at(0);
      if (s.kernel != "cuda.copy" || out < 0 || lastReader[size_t(in)] != int(i) ||
          plan.buffers[size_t(in)].kind != BufferKind::Intermediate ||
          plan.buffers[size_t(out)].kind != BufferKind::Intermediate)
        continue;
      EXPECT_EQ(arena.offsets[size_t(out)], arena.offsets[size_t(in)])
          << c.model << ": [" << s.nodeNames << "] copies a dying input";
    }
  }

  int compared = 0;
  bool boundaries = std::string(c.dtype) == "f32";
  for (const Step &s : compiled.plan.steps) {
    if (!boundaries)
      break;
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      if (s.outputs[i] < 0)
        continue;
      std::string name = i < s.outputNames.size() ? s.outputNames[i]
                                                  : compiled.plan.buffers[size_t(s.outputs[i])].name;
      auto it = truth.tensors.find(name);
      if (name.empty() || it == truth.tensors.end() || !isFloat(it->second.dtype()))
        continue;
      const Tensor &cand = emu.buffer(s.outputs[i]);
      parity::TensorMetrics m = parity::compareTensors(cand.cast(DType::F32), it->second);
      double tol = tolerance(c.dtype, peakOf(it->second));
      ASSERT_TRUE(m.shapeMatch) << c.model << ": step " << s.kernel << " [" << s.nodeNames << "] '"
                                << name << "'";
      ASSERT_LE(m.maxAbsErr, tol) << c.model << ": first step that differs from the reference: "
                                  << s.kernel << " (" << s.attrs.getString("style", "") << ") ["
                                  << s.nodeNames << "] tensor '" << name << "'";
      ++compared;
    }
  }
  ASSERT_EQ(got.size(), truth.outputs.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (!isFloat(truth.outputs[i].dtype())) {
      parity::TensorMetrics m = parity::compareTensors(got[i], truth.outputs[i]);
      EXPECT_EQ(m.maxAbsErr, 0) << c.model << " output " << i;
      continue;
    }
    parity::TensorMetrics m = parity::compareTensors(got[i].cast(DType::F32), truth.outputs[i]);
    EXPECT_TRUE(m.shapeMatch);
    EXPECT_LE(m.maxAbsErr, tolerance(c.dtype, peakOf(truth.outputs[i])))
        << c.model << " (" << c.dtype << ") output " << i;
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(Cuda, EmulatedPlan, ::testing::ValuesIn(cases()), caseName);

// The projection reaches ~1e5: stored in f16 it is inf, and the output with it; with the
// nodes `plumb bisect --dtype f16` names kept (tests/cli/test_parity.py checks that list),
// the projection is stored in f32 and the output is right.
TEST(CudaKeepF32, OverflowingProjectionIsRightOnlyWhenKept) {
  std::string model = std::string(PLUMB_SOURCE_DIR) + "/tests/data/parity/f16_overflow_matmul.onnx";
  auto pair = [](mlir::Operation *) { return std::set<std::string>{"project", "scale_down"}; };
  KeptPlan plain = runKept(model, "", "f16", keepNone, "overflow_plain");
  KeptPlan kept = runKept(model, "", "f16", pair, "overflow_kept");
  const Tensor &truth = plain.truth.outputs.at(0);
  int nonFinite = 0;
  for (int64_t i = 0; i < plain.got.at(0).numel(); ++i)
    nonFinite += !std::isfinite(plain.got[0].getAsDouble(i));
  EXPECT_GT(nonFinite, 0) << "the f16 plan was expected to overflow";
  ASSERT_EQ(bufferNamed(kept.compiled.plan, "projected")->dtype, DType::F32);
  ASSERT_EQ(bufferNamed(kept.compiled.plan, "scaled")->dtype, DType::F32);
  ASSERT_EQ(bufferNamed(plain.compiled.plan, "projected")->dtype, DType::F16);
  parity::TensorMetrics m = parity::compareTensors(kept.got.at(0), truth);
  EXPECT_EQ(m.nanMismatch + m.infMismatch, 0);
  EXPECT_LE(m.maxAbsErr, tolerance("f16", peakOf(truth)));
}

// The head transposes around attention (Q, V as [B, S, H, D] -> [B, H, S, D], K to
// [B, H, D, S], the output back) are not movement kernels: the attention kernel reads and
// writes through them at strides. Parity of those plans is EmulatedPlan's (every step of
// bert_tiny and gpt2_tiny against the reference); this checks the transposes are gone.
TEST(CudaAttention, ReadsAndWritesThroughHeadTransposes) {
  for (const char *model : {"bert_tiny", "gpt2_tiny"}) {
    std::vector<Tensor> inputs;
    Compiled compiled =
        compileForCuda(fixture(model, ".onnx"), fixture(model, ".inputs.npz"), "f32", inputs);
    const Plan &plan = compiled.plan;
    std::map<int, const Step *> writer;
    int attention = 0;
    for (const Step &s : plan.steps) {
      if (s.attrs.getString("style", "") == "attention") {
        ++attention;
        for (int id : s.inputs) {
          if (writer.count(id)) {
            EXPECT_NE(writer[id]->attrs.getString("style", ""), "movement")
                << model << ": [" << s.nodeNames << "] reads a transpose kernel's result";
          }
        }
        EXPECT_NE(s.nodeNames.find("Transpose"), std::string::npos)
            << model << ": [" << s.nodeNames << "] does not write through the output transpose";
      }
      for (int id : s.outputs)
        writer[id] = &s;
    }
    EXPECT_EQ(attention, 2) << model;
  }
}

// When the body does not become one attention kernel (here: 65536 heads, more than grid.y
// takes), the deferred head transposes become movement kernels again, wired as before the
// deferral: each matmul reads the transposes' results, the output transpose the second
// matmul's. (Compiled, not emulated: 131072 softmax rows take minutes on the emulator.)
TEST(CudaAttention, DeferredTransposesAreLoweredWhenTheKernelIsRefused) {
  onnx::ModelProto m = newModel("many_heads", 17);
  onnx::GraphProto *g = m.mutable_graph();
  const int64_t heads = 65536;
  for (const char *name : {"q", "k", "v"})
    floatValue(g->add_input(), name, {1, 2, heads, 1});
  // Each node named after its output.
  auto node = [&](const char *op, std::vector<std::string> in, const std::string &out) {
    return graphs::node(g, op, out, in, out);
  };
  intsAttrOf(node("Transpose", {"q"}, "qt"), "perm", {0, 2, 1, 3});
  intsAttrOf(node("Transpose", {"k"}, "kt"), "perm", {0, 2, 3, 1});
  intsAttrOf(node("Transpose", {"v"}, "vt"), "perm", {0, 2, 1, 3});
  node("MatMul", {"qt", "kt"}, "scores");
  node("Softmax", {"scores"}, "probs");
  node("MatMul", {"probs", "vt"}, "context");
  intsAttrOf(node("Transpose", {"context"}, "out"), "perm", {0, 2, 1, 3});
  floatValue(g->add_output(), "out", {1, 2, heads, 1});
  std::vector<Tensor> inputs;
  Compiled compiled = compileForCuda(saveModel(m, "many_heads.onnx"), "", "f32", inputs);
  const Plan &plan = compiled.plan;
  EXPECT_EQ(stepsOfStyle(plan, "attention"), 0);
  std::map<std::string, int> written; // node name -> the buffer its step writes
  std::map<std::string, const Step *> step;
  for (const Step &s : plan.steps) {
    written[s.nodeNames] = s.outputs.at(0);
    step[s.nodeNames] = &s;
  }
  for (const char *t : {"qt", "kt", "vt"})
    ASSERT_TRUE(step.count(t) && step[t]->attrs.getString("style", "") == "movement") << t;
  ASSERT_TRUE(step.count("scores") && step.count("context") && step.count("out"));
  EXPECT_EQ(step["scores"]->inputs, (std::vector<int>{written["qt"], written["kt"]}));
  EXPECT_EQ(step["context"]->inputs.at(1), written["vt"]);
  EXPECT_EQ(step["out"]->inputs.at(0), written["context"]);
}

// Keeping nodes must not change what the plan computes beyond rounding: every node kept
// gives an f32 plan's numbers (every float intermediate in f32); every other node kept mixes
// the types at every kind of step (generated, movement, library, casts) and stays within the
// half type's tolerance. Neither sends a step to the host.
class KeptHalfPlan : public ::testing::TestWithParam<Case> {};

TEST_P(KeptHalfPlan, AllOrAlternateNodesKept) {
  const Case &c = GetParam();
  auto every = [](int stride) {
    return [stride](mlir::Operation *fn) {
      std::set<std::string> keep;
      int i = 0;
      fn->walk([&](mlir::Operation *op) {
        for (const std::string &n : nodeNamesOf(op))
          if (i++ % stride == 0)
            keep.insert(n);
      });
      return keep;
    };
  };
  for (int stride : {1, 2}) {
    KeptPlan k = runKept(fixture(c.model, ".onnx"), fixture(c.model, ".inputs.npz"), c.dtype,
                         every(stride), std::string(c.model) + "_" + c.dtype + std::to_string(stride));
    int f32 = 0, half = 0;
    for (const Buffer &b : k.compiled.plan.buffers)
      if (b.kind == BufferKind::Intermediate && isFloat(b.dtype))
        (b.dtype == DType::F32 ? f32 : half)++;
    for (const Step &s : k.compiled.plan.steps)
      EXPECT_NE(s.kernel, "cuda.host") << c.model << ": [" << s.nodeNames << "]";
    EXPECT_GT(f32, 0) << c.model;
    if (stride == 1)
      EXPECT_EQ(half, 0) << c.model << ": every node kept, yet a buffer is stored in " << c.dtype;
    else
      EXPECT_GT(half, 0) << c.model;
    ASSERT_EQ(k.got.size(), k.truth.outputs.size());
    for (size_t i = 0; i < k.got.size(); ++i) {
      if (!isFloat(k.truth.outputs[i].dtype()))
        continue;
      parity::TensorMetrics m = parity::compareTensors(k.got[i].cast(DType::F32), k.truth.outputs[i]);
      EXPECT_LE(m.maxAbsErr, tolerance(stride == 1 ? "f32" : c.dtype, peakOf(k.truth.outputs[i])))
          << c.model << " (" << c.dtype << ", every " << stride << " node kept) output " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, KeptHalfPlan,
                         ::testing::Values(Case{"resnet_tiny", "f16"}, Case{"bert_tiny", "bf16"},
                                           Case{"gpt2_tiny", "f16"}, Case{"llama_tiny", "bf16"},
                                           Case{"mamba2_tiny", "f16"}, Case{"dit_tiny", "bf16"}),
                         caseName);

} // namespace
} // namespace plumb

namespace plumb {
namespace {

namespace fs = std::filesystem;

// One of ONNX's node test cases (its model and test_data_set_0) compiled for cuda, with the
// inputs that steer an op bound (bindSteeringInputs), and run on the emulator against the
// expected outputs (rtol 1e-3, atol 1e-5).
struct NodeCaseRun {
  enum { Passed, Failed, Skipped } outcome = Skipped;
  bool bound = false;            // steering inputs became initializers
  std::set<std::string> hostOps; // ops left on the host
  bool hostOrCopyOnly = false;   // no generated or library step: the lowering's data flow only
  std::string failure;           // what differs, or why it was skipped
  std::string kernels;           // the plan's kernels, for a failure's message
};

NodeCaseRun runNodeCase(const fs::path &dir) {
  NodeCaseRun r;
  fs::path set = dir / "test_data_set_0";
  std::vector<Tensor> inputs, want;
  try {
    for (int i = 0; fs::exists(set / ("input_" + std::to_string(i) + ".pb")); ++i)
      inputs.push_back(readTensorProtoFile((set / ("input_" + std::to_string(i) + ".pb")).string()).second);
    for (int i = 0; fs::exists(set / ("output_" + std::to_string(i) + ".pb")); ++i)
      want.push_back(readTensorProtoFile((set / ("output_" + std::to_string(i) + ".pb")).string()).second);
  } catch (const std::exception &e) {
    r.failure = e.what(); // sequences, optionals
    return r;
  }
  Compiled compiled;
  try {
    onnx::ModelProto proto;
    std::ifstream f(dir / "model.onnx", std::ios::binary);
    if (!proto.ParseFromIstream(&f))
      throw Error("unreadable model");
    static const std::string cache = testing_util::scratchPath("nvrtc_conformance");
    ::setenv("PLUMB_CACHE_DIR", cache.c_str(), 1);
    for (int attempt = 0;; ++attempt) {
      mlir::MLIRContext ctx;
      std::string bytes = proto.SerializeAsString();
      auto module = importOnnxBytes(ctx, bytes.data(), bytes.size(), (dir / "model.onnx").string());
      CompileSettings cs;
      cs.backend = "cuda";
      cs.shapeInputs = inputs;
      compiled = compileModule(std::move(module), cs);
      compiled.module = {};
      if (attempt == 3 || !bindSteeringInputs(proto, inputs, compiled))
        break;
      r.bound = true;
    }
  } catch (const std::exception &e) {
    r.failure = e.what(); // not compiled for cuda
    return r;
  }
  // A kernel NVRTC refuses is a generator bug however the plan falls back: not a pass.
  for (const std::string &f : compiled.cudaLowering.fallbacks)
    if (f.find("NVRTC rejected") != std::string::npos) {
      r.failure = f;
      r.outcome = NodeCaseRun::Failed;
      return r;
    }
  for (const Step &s : compiled.plan.steps) {
    if (s.kernel == "cuda.host")
      r.hostOps.insert(s.attrs.getString("plumb.op", "?"));
    r.kernels += " " + s.kernel + (s.attrs.has("style") ? ":" + s.attrs.getString("style", "") : "");
  }
  // Compared too: copies, host steps and the values kept on the host between them (shapes
  // their values decide) are the lowering's and the executor's, not the reference's alone.
  r.hostOrCopyOnly =
      std::all_of(compiled.plan.steps.begin(), compiled.plan.steps.end(), [](const Step &s) {
        return s.kernel == "cuda.host" || s.kernel == "cuda.copy";
      });
  try {
    cudatest::PlanEmulator emu(compiled.plan, testing_util::scratchPath("emu_onnx_" + dir.filename().string()));
    std::vector<Tensor> got = emu.run(inputs);
    if (got.size() != want.size())
      r.failure = std::to_string(got.size()) + " outputs, expected " + std::to_string(want.size());
    for (size_t i = 0; r.failure.empty() && i < got.size(); ++i) {
      if (got[i].shape() != want[i].shape()) {
        r.failure = "output " + std::to_string(i) + " shape " + shapeToString(got[i].shape());
        break;
      }
      // Older test data stores bfloat16 outputs as their raw 16 bits in an integer type.
      if (got[i].dtype() == DType::BF16 && !isFloat(want[i].dtype())) {
        Tensor bits = want[i].cast(DType::U16);
        want[i] = Tensor::copyOf(DType::BF16, bits.shape(), bits.raw());
      }
      for (int64_t e = 0; e < want[i].numel(); ++e) {
        double g = got[i].getAsDouble(e), w = want[i].getAsDouble(e);
        bool same = (std::isnan(g) && std::isnan(w)) || g == w ||
                    std::fabs(g - w) <= 1e-5 + 1e-3 * std::fabs(w);
        if (!same) {
          r.failure = "output " + std::to_string(i) + " element " + std::to_string(e) + ": " +
                    std::to_string(g) + " vs " + std::to_string(w);
          break;
        }
      }
    }
  } catch (const std::exception &ex) {
    r.failure = ex.what();
  }
  r.outcome = r.failure.empty() ? NodeCaseRun::Passed : NodeCaseRun::Failed;
  return r;
}

// Opt-in sweep (--gtest_also_run_disabled_tests): every ONNX backend node test case under
// $PLUMB_CONFORMANCE_DIR (default: Debian's libonnx-testdata node cases) through runNodeCase,
// less the cases the reference's expected-failures list explains. Cases that do not import
// or compile (sequences, dynamic shapes the cuda backend refuses) are counted, not failed.
// Minutes long: not in CI (SelectedNodeCasesRunOnTheDevice is); for finding generator bugs
// against independent data. $PLUMB_CONFORMANCE_VERBOSE set: each case with a host step is
// named with its ops, each skipped case with the reason.
TEST(CudaConformance, DISABLED_NodeCasesOnTheEmulator) {
  const char *env = std::getenv("PLUMB_CONFORMANCE_DIR");
  fs::path root = env ? env : "/usr/share/libonnx-testdata/data/node";
  if (!fs::is_directory(root))
    GTEST_SKIP() << root << " not found";
  const char *filter = std::getenv("PLUMB_CONFORMANCE_FILTER");
  // Cases whose data the reference itself disagrees with, with the reason (the conformance
  // suite's expected-failures list for Debian's data; $PLUMB_CONFORMANCE_EXPECTED otherwise).
  const char *expectedEnv = std::getenv("PLUMB_CONFORMANCE_EXPECTED");
  std::string expectedPath = expectedEnv ? expectedEnv
                             : env      ? ""
                                        : std::string(PLUMB_SOURCE_DIR) + "/tests/conformance/onnx112_node.txt";
  std::set<std::string> known;
  if (!expectedPath.empty()) {
    std::ifstream f(expectedPath);
    for (std::string line; std::getline(f, line);)
      if (!line.empty() && line[0] != '#')
        known.insert(line.substr(0, line.find_first_of(" \t")));
  }
  std::vector<fs::path> cases;
  for (const auto &e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.onnx") &&
        !known.count(e.path().filename().string()) &&
        (!filter || e.path().filename().string().find(filter) != std::string::npos))
      cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  int passed = 0, skipped = 0, failed = 0, bound = 0, hostOrCopyOnly = 0;
  std::map<std::string, int> hostOps; // cases with a host step, by op: what still leaves the device
  for (const fs::path &dir : cases) {
    NodeCaseRun r = runNodeCase(dir);
    for (const std::string &op : r.hostOps)
      ++hostOps[op];
    if (std::getenv("PLUMB_CONFORMANCE_VERBOSE") && !r.hostOps.empty()) {
      std::cout << "host step: " << dir.filename().string() << ":";
      for (const std::string &op : r.hostOps)
        std::cout << " " << op;
      std::cout << "\n";
    }
    bound += r.bound;
    if (r.outcome == NodeCaseRun::Skipped) {
      ++skipped;
      if (std::getenv("PLUMB_CONFORMANCE_VERBOSE"))
        std::cout << "skipped: " << dir.filename().string() << ": " << r.failure << "\n";
    } else if (r.outcome == NodeCaseRun::Passed) {
      ++passed;
      hostOrCopyOnly += r.hostOrCopyOnly;
    } else {
      ++failed;
      ADD_FAILURE() << dir.filename().string() << ": " << r.failure << " [" << r.kernels << " ]";
    }
  }
  std::cout << "conformance on the emulator: " << passed << " passed (" << hostOrCopyOnly
            << " of them with host or copy steps only), " << failed << " failed, " << skipped
            << " skipped (not compiled for cuda); " << bound << " with inputs bound as constants\n";
  std::vector<std::pair<int, std::string>> byCount;
  for (const auto &[op, n] : hostOps)
    byCount.push_back({-n, op});
  std::sort(byCount.begin(), byCount.end());
  std::cout << "cases with a cuda.host step, by op:";
  for (const auto &[n, op] : byCount)
    std::cout << " " << op << " " << -n;
  std::cout << "\n";
}

// The cases listed in tests/conformance/cuda_emulator_cases.txt (onnx 1.19.1's node cases,
// fetched by scripts/fetch-onnx-testdata.sh): each exercises a generator path (Resize's
// modes, reductions over empty sets, bit ops, OneHot, Pad's modes, scans, scatters, norms,
// attention...) and must run with no host step and match ONNX's expected outputs. In CI: the
// device kernels checked against ONNX's own data, not only against the reference.
TEST(CudaConformance, SelectedNodeCasesRunOnTheDevice) {
  fs::path root = fs::path(PLUMB_BINARY_DIR) / "onnx-testdata/1.19.1/node";
  if (!fs::is_directory(root))
    GTEST_SKIP() << root << " not found: scripts/fetch-onnx-testdata.sh fetches it";
  std::ifstream list(std::string(PLUMB_SOURCE_DIR) + "/tests/conformance/cuda_emulator_cases.txt");
  int n = 0;
  for (std::string line; std::getline(list, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    ++n;
    SCOPED_TRACE(line);
    // SUITE/CASE: one of Debian's ONNX 1.12 suites (libonnx-testdata), e.g. the opset-6
    // PyTorch exports of pytorch-converted.
    fs::path dir = line.find('/') == std::string::npos
                       ? root / line
                       : fs::path("/usr/share/libonnx-testdata/data") / line;
    ASSERT_TRUE(fs::exists(dir / "model.onnx")) << "no such case";
    NodeCaseRun r = runNodeCase(dir);
    EXPECT_EQ(r.outcome, NodeCaseRun::Passed) << r.failure << " [" << r.kernels << " ]";
    EXPECT_TRUE(r.hostOps.empty()) << "host steps: " << *r.hostOps.begin();
  }
  EXPECT_GT(n, 80);
}

} // namespace
} // namespace plumb
