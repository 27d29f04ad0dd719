// plumb-cuda-run: runs a cuda artifact (`plumb compile MODEL --backend cuda -o M.plumb`) on the
// GPU without the compiler: no MLIR or LLVM, only the runtime (and the oneDNN it links), the
// CUDA executor and the tensor files. Made for machines that have a GPU but not plumb's build dependencies
// (the lent GPU machines: see backends/cuda/README.md). The artifact holds every generated
// kernel's CUBIN and PTX, so nothing is compiled there.
//
//   plumb-cuda-run M.plumb --inputs X.npz [-o OUT.npz] [--iters N] [--warmup N] [--no-graph]
//
// Prints the median and p90 latency of the timed runs twice: host to host (inputs uploaded,
// outputs downloaded, a host clock) and on the device (CUDA events around the plan's launches
// alone, inputs already there and outputs left there, as PyTorch's and ONNX Runtime's device
// benchmarks time), and writes the outputs by name. Errors: one line, exit 2.
#include "backends/cuda/runtime/CudaBackend.h"
#include "frontend/tensorio/TensorIO.h"
#include "runtime/Artifact.h"
#include "runtime/Error.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

int main(int argc, char **argv) {
  CLI::App app{"Runs a cuda .plumb artifact on the GPU (no compiler needed)"};
  std::string artifact, inputsPath, outPath;
  int iters = 20, warmup = 3;
  bool noGraph = false;
  app.add_option("artifact", artifact, "a .plumb file compiled with --backend cuda")->required();
  app.add_option("--inputs", inputsPath, ".npz with one array per graph input, by name")
      ->required();
  app.add_option("-o,--output", outPath, "write the outputs here (.npz, by output name)");
  app.add_option("--iters", iters, "timed runs")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed runs first")->check(CLI::NonNegativeNumber);
  app.add_flag("--no-graph", noGraph, "launch step by step instead of replaying a CUDA Graph");
  CLI11_PARSE(app, argc, argv);
  try {
    plumb::Plan plan = plumb::readArtifact(artifact);
    if (plan.steps.empty() || plan.steps.front().kernel.rfind("cuda.", 0) != 0)
      throw plumb::Error(artifact + ": not a cuda plan (compile with --backend cuda)");
    std::map<std::string, plumb::Tensor> byName;
    for (auto &[name, t] : plumb::readNpz(inputsPath))
      byName[name] = t;
    std::vector<plumb::Tensor> inputs;
    for (int id : plan.inputs) {
      const plumb::Buffer &b = plan.buffers[size_t(id)];
      auto it = byName.find(b.name);
      if (it == byName.end())
        throw plumb::Error(inputsPath + ": no array for input '" + b.name + "'");
      if (it->second.shape() != b.shape || it->second.dtype() != b.dtype)
        throw plumb::Error(inputsPath + ": input '" + b.name + "' is " + it->second.describe() +
                           ", the plan takes " + plumb::dtypeName(b.dtype) + "[" +
                           plumb::shapeToString(b.shape) + "]");
      inputs.push_back(it->second);
    }
    plumb::cuda::requireDevice(artifact);
    std::vector<std::string> outNames;
    for (int id : plan.outputs)
      outNames.push_back(plan.buffers[size_t(id)].name);
    plumb::cuda::CudaRunOptions opts;
    opts.useGraph = !noGraph;
    plumb::cuda::CudaExecutor exec(std::move(plan), opts);
    std::vector<plumb::Tensor> outs;
    for (int i = 0; i < warmup; ++i)
      outs = exec.run(inputs);
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      outs = exec.run(inputs);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                       .count());
    }
    auto report = [&](const char *what, std::vector<double> t) {
      std::sort(t.begin(), t.end());
      auto at = [&](double q) { return t[std::min(t.size() - 1, size_t(q * double(t.size())))]; };
      std::printf("%s: %s median %.3f ms, p90 %.3f ms over %d runs\n", artifact.c_str(), what,
                  at(0.5), at(0.9), iters);
    };
    report("host to host", ms);
    report("device", exec.deviceTimes(inputs, iters));
    if (!outPath.empty()) {
      plumb::NamedTensors named;
      for (size_t i = 0; i < outs.size(); ++i)
        named.emplace_back(outNames[i], outs[i]);
      plumb::writeNpz(outPath, named);
    }
  } catch (const std::exception &e) {
    std::cerr << "plumb-cuda-run: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
