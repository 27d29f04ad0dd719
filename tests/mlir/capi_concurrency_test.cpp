// One C API session hammered from 8 threads with different inputs: every output must equal,
// bit for bit, what the same session computes single-threaded for that input, and that must
// agree with the reference interpreter (f64 truth, f32 noise floor) on real fixture models.
#include "plumb/plumb.h"

#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Interpreter.h"
#include "frontend/onnx/Importer.h"
#include "parity/Compare.h"
#include "runtime/Artifact.h"
#include "tests/TempFiles.h"
#include "tools/lib/Compile.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <unistd.h>

namespace plumb {
namespace {

constexpr int kThreads = 8, kRunsPerThread = 12, kVariants = 6;

// Input variant v of `base`: floats get N(0, 0.5) noise, integer ids are shuffled among the
// values the fixture already uses (so they stay in the embedding's range).
std::vector<Tensor> variant(const std::vector<Tensor> &base, int v) {
  std::mt19937_64 rng(uint64_t(1000 + v));
  std::vector<Tensor> out;
  for (const Tensor &t : base) {
    Tensor c = t.clone();
    if (v == 0) {
      out.push_back(c);
      continue;
    }
    if (t.dtype() == DType::F32) {
      std::normal_distribution<float> noise(0.0f, 0.5f);
      for (int64_t i = 0; i < c.numel(); ++i)
        c.mutableData<float>()[i] += noise(rng);
    } else if (t.dtype() == DType::I64) {
      std::vector<int64_t> ids = t.toInts();
      std::shuffle(ids.begin(), ids.end(), rng);
      std::memcpy(c.mutableRaw(), ids.data(), c.nbytes());
    }
    out.push_back(c);
  }
  return out;
}

struct Fixture {
  std::string artifact;
  std::vector<std::vector<Tensor>> inputs;         // per variant
  std::vector<std::vector<Tensor>> truth, floor32; // reference f64 / f32 outputs per variant
};

Fixture prepare(const std::string &model) {
  Fixture f;
  mlir::MLIRContext ctx;
  std::vector<Tensor> base;
  std::string dir = std::string(PLUMB_SOURCE_DIR) + "/tests/models/";
  auto module =
      importWithInputs(ctx, dir + model + ".onnx", {}, dir + model + ".inputs.npz", 0, base);
  mlir::Operation *fn = mainFunction(*module);
  ref::RunOptions f64;
  f64.precision = ref::Precision::F64;
  for (int v = 0; v < kVariants; ++v) {
    f.inputs.push_back(variant(base, v));
    f.truth.push_back(ref::interpret(fn, f.inputs.back(), f64));
    f.floor32.push_back(ref::interpret(fn, f.inputs.back()));
  }
  CompileSettings cs;
  cs.shapeInputs = base;
  Compiled c = compileModule(mlir::OwningOpRef<mlir::ModuleOp>(module->clone()), cs);
  f.artifact = testing_util::scratchPath("hammer_" + model + ".plumb");
  // As `plumb compile -o` writes it: conv and matmul weights pre-packed, used in place by
  // every executor of the session.
  EXPECT_GT(cpu::prepackWeights(c.plan).packed, 0u);
  writeArtifact(f.artifact, c.plan);
  return f;
}

// Runs `in` through the session into freshly allocated output buffers.
plumb_status runOnce(plumb_session *s, const std::vector<Tensor> &in,
                     std::vector<std::vector<char>> &outBytes) {
  std::vector<plumb_tensor> ti(in.size()), to(plumb_session_output_count(s));
  for (size_t i = 0; i < in.size(); ++i) {
    plumb_tensor_info info;
    plumb_session_input_info(s, i, &info);
    ti[i] = {info.dtype, info.rank, info.shape, const_cast<void *>(in[i].raw()), in[i].nbytes()};
  }
  outBytes.assign(to.size(), {});
  for (size_t i = 0; i < to.size(); ++i) {
    plumb_tensor_info info;
    plumb_session_output_info(s, i, &info);
    outBytes[i].assign(info.size_bytes, '\x7f');
    to[i] = {info.dtype, info.rank, info.shape, outBytes[i].data(), info.size_bytes};
  }
  return plumb_session_run(s, ti.data(), ti.size(), to.data(), to.size());
}

// `maxRuns`: the session's max_concurrent_runs (0: default); with a cap below kThreads the
// other callers wait for an executor instead of running.
void hammer(const std::string &model, int maxRuns = 0) {
  Fixture f = prepare(model);
  plumb_options opts;
  plumb_options_init(&opts);
  opts.num_threads = 2; // each run's OpenMP team; fixed so results are reproducible bitwise
  opts.max_concurrent_runs = maxRuns;
  plumb_session *s = nullptr;
  ASSERT_EQ(plumb_session_create_from_file(f.artifact.c_str(), &opts, &s), PLUMB_OK)
      << plumb_last_error();

  // Single-threaded baseline per variant, checked against the reference interpreter.
  std::vector<std::vector<std::vector<char>>> baseline(kVariants);
  parity::NoiseFloorRule rule;
  for (int v = 0; v < kVariants; ++v) {
    ASSERT_EQ(runOnce(s, f.inputs[size_t(v)], baseline[size_t(v)]), PLUMB_OK) << plumb_last_error();
    for (size_t o = 0; o < baseline[size_t(v)].size(); ++o) {
      plumb_tensor_info info;
      plumb_session_output_info(s, o, &info);
      Tensor got = Tensor::copyOf(DType(info.dtype), Shape(info.shape, info.shape + info.rank),
                                  baseline[size_t(v)][o].data());
      const Tensor &truth = f.truth[size_t(v)][o];
      Tensor floor = f.floor32[size_t(v)][o];
      parity::LayerRow row = parity::compareOne({info.name, "", ""}, got, truth, &floor, rule);
      EXPECT_TRUE(row.verdict.pass) << model << " variant " << v << " output " << info.name << ": "
                                    << row.verdict.explanation;
    }
  }
  // Different variants really give different outputs (or the bitwise check proves little).
  EXPECT_NE(baseline[0][0], baseline[1][0]);

  std::atomic<int> mismatches{0}, failures{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        int v = (t + i) % kVariants;
        std::vector<std::vector<char>> out;
        if (runOnce(s, f.inputs[size_t(v)], out) != PLUMB_OK) {
          ++failures;
          continue;
        }
        if (out != baseline[size_t(v)])
          ++mismatches;
        ++done;
      }
    });
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0) << plumb_last_error();
  EXPECT_EQ(mismatches.load(), 0) << "of " << kThreads * kRunsPerThread << " concurrent runs";
  EXPECT_EQ(done.load(), kThreads * kRunsPerThread);
  plumb_session_destroy(s);
  std::remove(f.artifact.c_str());
}

// Conv, pooling and matmul oneDNN kernels with post-ops.
TEST(CApiConcurrency, ResnetTiny) { hammer("resnet_tiny"); }
// MatMul, layer norm, softmax and the ref.* fallback (Gather, shape ops) with i64 inputs.
TEST(CApiConcurrency, Gpt2Tiny) { hammer("gpt2_tiny"); }
// One executor for every caller: runs queue for it.
TEST(CApiConcurrency, ResnetTinyOneRunAtATime) { hammer("resnet_tiny", 1); }

} // namespace
} // namespace plumb
