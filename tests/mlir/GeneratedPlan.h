// One generated kernel as a plan of one cuda.generated step, run on the plan emulator: shared
// by the one-op table (cuda_emulated_generated_ops.cpp) and the index-check and small-float
// cast tests (cuda_emulated_generated_checks.cpp).
#pragma once

#include "tests/mlir/CudaEmulator.h"
#include "tests/mlir/GeneratedOpCase.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "tests/TempFiles.h"
#include "tests/TestAttrs.h"

#include <algorithm>
#include <string>
#include <vector>

namespace plumb::cudatest {

// A plan of one cuda.generated step: the kernel generated for `c`'s op, its outputs shaped
// and typed as `want`.
inline Plan generatedPlan(const OpCase &c, const std::vector<Tensor> &want) {
  cuda::KernelGraph g;
  g.kind = c.op;
  g.label = c.name;
  g.opset = opsetOf(c);
  cuda::KNode n;
  n.op = c.op;
  n.name = c.name;
  n.attrs = c.attrs;
  size_t operands = c.data.size() + c.constants.size();
  size_t d = 0;
  for (size_t i = 0; i < operands; ++i) {
    auto k = std::find_if(c.constants.begin(), c.constants.end(), [&](auto &p) { return p.first == i; });
    const Tensor &t = k != c.constants.end() ? k->second : c.data.at(d++);
    int id = g.addValue(t.dtype(), t.shape());
    n.operands.push_back(id);
    if (k != c.constants.end())
      g.intConstants[id] = t.toInts();
    else
      g.inputs.push_back(id);
  }
  for (const Tensor &w : want) {
    n.results.push_back(g.addValue(w.dtype(), w.shape()));
    g.outputs.push_back(n.results.back());
  }
  g.nodes.push_back(n);
  cuda::GeneratedKernel k = cuda::generateKernel(g);
  // NVRTC too: the emulator compiles the source as host C++, which accepts kernels NVRTC
  // refuses (a warp shuffle of a bool), and a refused kernel falls back to the host.
  static const std::string cache = testing_util::scratchPath("nvrtc_ops");
  cuda::NvrtcOptions nvrtc;
  nvrtc.cacheDir = cache;
  cuda::compileKernel(k.source, "[" + c.name + "]", nvrtc);
  Plan plan;
  std::vector<int> in, out;
  for (const Tensor &t : c.data)
    in.push_back(plan.addInput(t.dtype(), t.shape(), "in" + std::to_string(in.size())));
  for (const Tensor &w : want)
    out.push_back(plan.addOutput(w.dtype(), w.shape(), "out" + std::to_string(out.size())));
  Step &s = plan.addStep("cuda.generated", in, out, c.name);
  s.attrs.set("style", testattrs::stringAttr(k.style));
  s.attrs.set("source", testattrs::stringAttr(k.source));
  s.attrs.set("grid", testattrs::intsAttr({k.grid[0], k.grid[1], k.grid[2]}));
  s.attrs.set("block", testattrs::intsAttr({k.block[0], k.block[1], k.block[2]}));
  if (k.indexChecks)
    s.attrs.set("index_checks", testattrs::intAttr(1));
  return plan;
}

inline std::vector<Tensor> runGenerated(const OpCase &c, const std::vector<Tensor> &want) {
  Plan plan = generatedPlan(c, want); // the emulator holds a reference to it
  cudatest::PlanEmulator emu(plan, testing_util::scratchPath("emu_op_" + c.name));
  return emu.run(c.data);
}

} // namespace plumb::cudatest
