// `plumb bench`: latency of a model or compiled artifact on a backend, with warm-up,
// median/p90 and a progress line on long runs; JSON for the benchmark harness.
#include "tools/lib/Driver.h"

#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Interpreter.h"
#include "frontend/onnx/Importer.h"
#include "runtime/Artifact.h"
#include "runtime/Error.h"
#include "runtime/Executor.h"
#include "tools/lib/Backend.h"
#include "tools/lib/Inputs.h"

#include "mlir/IR/MLIRContext.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <unordered_map>

namespace plumb {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double pos = p * double(v.size() - 1);
  size_t lo = size_t(pos);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

int64_t peakRssBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;
}

// Step times from the executor's step observer: it is called right after each step, so the
// time between consecutive calls is one step.
class StepProfiler {
public:
  explicit StepProfiler(const Plan &plan) : plan_(plan), total_(plan.steps.size(), 0.0) {}
  void start() { mark_ = Clock::now(); }
  void observe(size_t step) {
    auto now = Clock::now();
    total_[step] += std::chrono::duration<double>(now - mark_).count();
    mark_ = now;
  }
  void print(int runs) const {
    std::map<std::string, std::pair<double, int>> byKernel;
    double all = 0;
    for (size_t i = 0; i < total_.size(); ++i) {
      const Step &s = plan_.steps[i];
      std::string label = s.kernel;
      if (std::string op = s.attrs.getString("op", ""); !op.empty())
        label += " " + op;
      byKernel[label].first += total_[i];
      byKernel[label].second += 1;
      all += total_[i];
    }
    std::vector<std::pair<std::string, std::pair<double, int>>> rows(byKernel.begin(),
                                                                     byKernel.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto &a, const auto &b) { return a.second.first > b.second.first; });
    std::cout << fmt::format("profile    per run, by kernel ({} runs, observer-timed)\n", runs);
    for (const auto &[label, v] : rows)
      std::cout << fmt::format("  {:>9.3f} ms {:5.1f}%  {:4} steps  {}\n", v.first * 1e3 / runs,
                               all > 0 ? 100 * v.first / all : 0.0, v.second, label);
  }

private:
  const Plan &plan_;
  std::vector<double> total_;
  Clock::time_point mark_;
};

} // namespace

int benchCommand(const BenchCommandOptions &opts) {
  if (opts.iters <= 0 || opts.warmup < 0)
    throw Error("--iters must be positive and --warmup non-negative");
  if (opts.threads > 0)
    cpu::setCpuThreads(opts.threads);
  bool artifact = opts.model.size() > 6 && opts.model.substr(opts.model.size() - 6) == ".plumb";
  if (artifact && opts.backend != "cpu")
    throw Error("a compiled artifact runs on the cpu backend");
  mlir::MLIRContext ctx;
  std::vector<Tensor> inputs;
  std::function<void()> once;
  std::unique_ptr<Executor> exec;
  std::unique_ptr<BackendRun> backend;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  auto t0 = Clock::now();
  if (artifact) {
    Plan plan = readArtifact(opts.model);
    for (int id : plan.inputs) {
      const Buffer &b = plan.buffers[size_t(id)];
      Tensor t = Tensor::zeros(DType::F32, b.shape);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.mutableData<float>()[i] = float((i * 7919 % 1000) / 1000.0 - 0.5);
      inputs.push_back(isFloat(b.dtype) ? t.cast(b.dtype) : Tensor::zeros(b.dtype, b.shape));
    }
    exec = std::make_unique<Executor>(std::move(plan), cpu::cpuKernelRegistry());
    once = [&] { exec->run(inputs); };
  } else if (opts.backend == "cpu" || opts.backend == "cuda") {
    module = importWithInputs(ctx, opts.model, opts.inputShapes, opts.inputs, opts.seed, inputs);
    CompileSettings cs;
    cs.shapeInputs = inputs;
    cs.backend = opts.backend;
    backend = std::make_unique<BackendRun>(std::move(module), cs);
    once = [&] { backend->runOutputs(inputs); };
  } else if (opts.backend == "reference") {
    ImportOptions io;
    io.inputShapes = opts.inputShapes;
    module = importOnnxFile(ctx, opts.model, io);
    inputs = prepareInputs(mainFunction(*module), opts.inputs, opts.seed);
    once = [&] { ref::interpret(mainFunction(*module), inputs); };
  } else {
    throw Error("backend '" + opts.backend + "' is not available (this build has: reference, cpu, cuda)");
  }
  double setup = secondsSince(t0);
  for (int i = 0; i < opts.warmup; ++i)
    once();
  Executor *profiled = exec ? exec.get() : backend ? backend->cpuExecutor() : nullptr;
  std::unique_ptr<StepProfiler> profiler;
  if (opts.profile) {
    if (!profiled)
      throw Error("--profile needs a compiled backend (cpu or an artifact)");
    profiler = std::make_unique<StepProfiler>(profiled->plan());
    profiled->setStepObserver([&](size_t step) { profiler->observe(step); });
  }
  std::vector<double> ms;
  auto start = Clock::now();
  bool progress = false;
  for (int i = 0; i < opts.iters; ++i) {
    auto t = Clock::now();
    if (profiler)
      profiler->start();
    once();
    ms.push_back(secondsSince(t) * 1e3);
    // A progress line once a run is long enough to wonder about it.
    if (secondsSince(start) > 2.0 || progress) {
      progress = true;
      std::cerr << fmt::format("\r[{}/{}] last {:.2f} ms", i + 1, opts.iters, ms.back())
                << std::flush;
    }
  }
  if (progress)
    std::cerr << "\n";
  double median = percentile(ms, 0.5), p90 = percentile(ms, 0.9);
  double mean = 0;
  for (double v : ms)
    mean += v / double(ms.size());
  std::cout << fmt::format("model      {}\nbackend    {}{}\nthreads    {}\nsetup      {:.3f} s "
                           "(import + compile or load)\niterations {} (+{} warm-up)\n"
                           "latency    median {:.3f} ms  p90 {:.3f} ms  min {:.3f} ms  mean {:.3f} ms\n"
                           "peak RSS   {:.1f} MiB\n",
                           opts.model, opts.backend, artifact ? " (artifact)" : "",
                           opts.threads > 0 ? std::to_string(opts.threads) : "default",
                           setup, opts.iters, opts.warmup, median, p90,
                           *std::min_element(ms.begin(), ms.end()), mean,
                           double(peakRssBytes()) / (1 << 20));
  if (profiler)
    profiler->print(opts.iters);
  if (!opts.json.empty()) {
    nlohmann::json j = {{"model", opts.model},       {"backend", opts.backend},
                        {"artifact", artifact},       {"threads", opts.threads},
                        {"setup_s", setup},           {"iters", opts.iters},
                        {"warmup", opts.warmup},      {"median_ms", median},
                        {"p90_ms", p90},              {"mean_ms", mean},
                        {"min_ms", *std::min_element(ms.begin(), ms.end())},
                        {"samples_ms", ms},           {"peak_rss_bytes", peakRssBytes()}};
    std::string tmp = opts.json + ".tmp";
    {
      std::ofstream f(tmp);
      if (!f)
        throw Error(opts.json + ": cannot write");
      f << j.dump(1) << "\n";
    }
    std::rename(tmp.c_str(), opts.json.c_str());
  }
  return 0;
}

} // namespace plumb
