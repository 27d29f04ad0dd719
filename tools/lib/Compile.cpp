// The compile driver: pipeline, parity instrumentation, statistics, lowering.
#include "tools/lib/Compile.h"

#include "backends/cpu/CpuBackend.h"
#include "backends/reference/Interpreter.h"
#include "passes/Passes.h"
#include "passes/fusion/Stats.h"
#include "frontend/onnx/Importer.h"
#include "runtime/Artifact.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "tools/lib/Inputs.h"

#include <iostream>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include <iostream>

using namespace mlir;

namespace plumb {

std::string reducedDtype(const std::string &dtype) { return dtype == "f32" ? "" : dtype; }

void requireDtypeForBackend(const std::string &backend, const std::string &dtype) {
  std::string d = reducedDtype(dtype);
  if (d.empty())
    return;
  if (d != "f16" && d != "bf16")
    throw Error("--dtype must be f32, f16 or bf16, got '" + dtype + "'");
  if (backend != "cuda")
    throw Error("--dtype " + d + " needs --backend cuda: the " + backend +
                " backend computes in f32 only");
}

std::set<std::string> keepF32Nodes(const std::string &spec, const std::string &dtype,
                                   Operation *fn) {
  if (spec.empty())
    return {};
  if (reducedDtype(dtype).empty())
    throw Error("--keep-f32 needs --dtype f16 or bf16 (an f32 plan keeps every node in f32)");
  std::vector<std::string> names;
  if (spec[0] == '@') {
    std::string path = spec.substr(1);
    std::ifstream f(path);
    nlohmann::json j = f ? nlohmann::json::parse(f, nullptr, false) : nlohmann::json();
    if (!f || j.is_discarded() || !j.is_object() || !j.contains("keep_f32") ||
        !j["keep_f32"].is_array())
      throw Error(path + ": --keep-f32 @FILE takes the JSON report of plumb bisect --dtype "
                         "(an object with a keep_f32 list)");
    for (const auto &n : j["keep_f32"]) {
      if (!n.is_string())
        throw Error(path + ": keep_f32 holds a non-string entry");
      names.push_back(n.get<std::string>());
    }
  } else {
    std::stringstream ss(spec);
    for (std::string n; std::getline(ss, n, ',');)
      if (!n.empty())
        names.push_back(n);
  }
  std::set<std::string> nodes;
  fn->walk([&](Operation *op) {
    for (const std::string &n : nodeNamesOf(op))
      nodes.insert(n);
  });
  for (const std::string &n : names)
    if (!nodes.count(n))
      throw Error("--keep-f32: the model has no node named '" + n + "'");
  return std::set<std::string>(names.begin(), names.end());
}

Compiled compileModule(OwningOpRef<ModuleOp> module, const CompileSettings &s) {
  requireDtypeForBackend(s.backend, s.dtype);
#ifdef PLUMB_HAVE_CUDA
  if (s.backend != "cpu" && s.backend != "cuda")
    throw Error("backend '" + s.backend + "' cannot compile (this build has: cpu, cuda)");
#else
  if (s.backend != "cpu")
    throw Error("backend '" + s.backend + "' cannot compile (this build has: cpu; configure "
                "with the CUDA toolkit for cuda)");
#endif
  Compiled c;
  MLIRContext *ctx = module->getContext();
  FusionStats before = collectFusionStats(*module);
  c.opsBefore = before.opsBefore;
  PassManager pm(ctx);
  auto records = std::make_shared<std::vector<PassParityRecord>>();
  if (s.verifyEach) {
    Operation *fn = module->lookupSymbol<func::FuncOp>("main");
    pm.addInstrumentation(
        std::make_unique<ParityInstrumentation>(*module, prepareInputs(fn, s.inputs, s.seed),
                                                records));
  }
  if (s.printIrAfterAll) {
    ctx->disableMultithreading();
    pm.enableIRPrinting([](Pass *, Operation *) { return false; },
                        [](Pass *, Operation *) { return true; }, /*printModuleScope=*/true,
                        /*printAfterOnlyOnChange=*/false, /*printAfterOnlyOnFailure=*/false,
                        llvm::errs(), OpPrintingFlags().elideLargeElementsAttrs(16));
  }
  CpuPipelineOptions pipeline;
  pipeline.packProjections = s.backend == "cuda";
  pipeline.decomposeAttention = s.backend == "cuda";
  pipeline.reductionsAsRows = s.backend == "cuda";
  pipeline.spaceDepthAsTranspose = s.backend == "cuda";
  pipeline.decomposeRotary = s.backend == "cuda";
  pipeline.decomposeQuantize = s.backend == "cuda";
  pipeline.decomposeTrilu = s.backend == "cuda";
  pipeline.decomposeOptimizers = s.backend == "cuda";
  pipeline.decomposeBatchNorm = s.backend == "cuda";
  pipeline.decomposeLosses = s.backend == "cuda";
  pipeline.decomposeMovement = s.backend == "cuda";
  pipeline.decomposeTransforms = s.backend == "cuda";
  pipeline.unrollRecurrent = s.backend == "cuda";
  pipeline.multiOutputElementwise = s.backend == "cuda";
  buildCpuPipeline(pm, pipeline);
  std::string diag;
  {
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      if (diag.empty())
        diag = d.str();
      return success();
    });
    if (failed(pm.run(*module)))
      throw Error("the " + s.backend + " pipeline failed: " + (diag.empty() ? "unknown" : diag));
  }
  for (const PassParityRecord &r : *records)
    if (!r.pass_)
      throw Error("pass '" + r.pass + "' breaks parity: " + r.detail);
  c.passParity = *records;
  FusionStats after = collectFusionStats(*module);
  c.opsAfter = after.opsAfter;
  c.fusionsByKind = after.byKind;
  std::map<std::string, Shape> hints;
  bool dynamic = false;
  module->walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      if (auto tt = dyn_cast<TensorType>(t); tt && !tt.hasStaticShape())
        dynamic = true;
  });
  // Interpret once (slow on big models) only when the IR leaves a shape open.
  if (dynamic && !s.shapeInputs.empty()) {
    ref::RunOptions ro;
    ro.onTensor = [&](const std::string &name, const Tensor &t) { hints[name] = t.shape(); };
    ref::interpret(module->lookupSymbol<func::FuncOp>("main"), s.shapeInputs, ro);
  }
#ifdef PLUMB_HAVE_CUDA
  if (s.backend == "cuda") {
    // Kernels are generated and compiled here, GPU or not; they travel in the plan.
    cuda::CudaLoweringOptions co;
    co.dtype = cuda::cudaStorageType(reducedDtype(s.dtype));
    co.keepF32 = s.keepF32;
    c.plan = cuda::lowerToCudaPlan(*module, co, &c.cudaLowering, &hints);
    c.module = std::move(module);
    return c;
  }
#endif
  c.plan = cpu::lowerToCpuPlan(*module, &c.lowering, &hints, s.releaseWeights);
  c.module = std::move(module);
  return c;
}

void printCompileStats(std::ostream &os, const Compiled &c, size_t peakIntermediateBytes) {
  os << fmt::format("nodes: {} before, {} after fusion\n", c.opsBefore, c.opsAfter);
  os << "fusions:\n";
  for (const auto &[kind, n] : c.fusionsByKind)
    os << fmt::format("  {:<36} {:>5}\n", kind, n);
  int64_t inPlace = 0;
  for (int alias : inPlaceAliases(c.plan))
    inPlace += alias >= 0;
#ifdef PLUMB_HAVE_CUDA
  if (!c.plan.steps.empty() && c.plan.steps.back().kernel.rfind("cuda.", 0) == 0) {
    const cuda::CudaLoweringStats &l = c.cudaLowering;
    os << fmt::format("steps: {} ({} on the device, {} host fallback)\n",
                      l.deviceSteps + l.hostSteps, l.deviceSteps, l.hostSteps);
    os << fmt::format("storage: {} (arithmetic in f32)\n",
                      dtypeName(cuda::planStorageType(c.plan)));
    for (const auto &[kernel, n] : l.byKernel)
      os << fmt::format("  {:<36} {:>5}\n", kernel, n);
    os << fmt::format("generated kernels: {} compiled with NVRTC, {} from the cache\n",
                      l.kernelsCompiled, l.kernelsFromCache);
    int64_t copies = l.byKernel.count("cuda.copy") ? l.byKernel.at("cuda.copy") : 0;
    os << fmt::format("in-place reshapes: {} of {} copies (the dying input's memory: no copy on "
                      "the device)\n",
                      inPlace, copies);
    os << fmt::format("computed in their reader's kernel: {} ops (movement and elementwise ops "
                      "with no step of their own)\n",
                      l.computedInReader);
    os << fmt::format("read as strided views by the kernels reading them: {} ops (reshapes, "
                      "transposes, expands, splits, slices, gathers)\n",
                      l.readAsViews);
    os << fmt::format("sibling kernels: {} ({} elementwise ops reading common values, one "
                      "kernel writing each group's results)\n",
                      l.siblingKernels, l.siblingOps);
    if (l.runTimeShapeBuffers)
      os << fmt::format("run-time shapes: {} buffers (shapes their values decide; on the host, "
                        "between host steps)\n",
                        l.runTimeShapeBuffers);
    for (const std::string &f : l.fallbacks)
      os << "fallback: " << f << "\n";
  } else
#endif
  {
    os << fmt::format("steps: {} ({} on cpu.* kernels, {} on the reference fallback)\n",
                      c.lowering.cpuSteps + c.lowering.refSteps, c.lowering.cpuSteps,
                      c.lowering.refSteps);
    for (const auto &[kernel, n] : c.lowering.byKernel)
      os << fmt::format("  {:<36} {:>5}\n", kernel, n);
    os << fmt::format("channel-blocked intermediates: {} ({} bytes; kept between conv, pool and "
                      "per-element steps without reorders)\n",
                      c.lowering.blockedBuffers, c.lowering.blockedBytes);
    os << fmt::format("in-place outputs: {} (residual sums accumulate in the residual's memory)\n",
                      inPlace);
    if (c.lowering.runTimeShapeBuffers)
      os << fmt::format("run-time shapes: {} buffers (shapes their values decide; reference "
                        "kernels around them)\n",
                        c.lowering.runTimeShapeBuffers);
  }
  os << fmt::format("peak intermediate bytes: {}\n", peakIntermediateBytes);
  for (const PassParityRecord &r : c.passParity)
    os << fmt::format("verify-each {:<28} PASS  {}\n", r.pass, r.detail);
}

int compileCommand(const CompileCommandOptions &opts) {
  MLIRContext ctx;
  std::vector<Tensor> inputs;
  OwningOpRef<ModuleOp> module =
      importWithInputs(ctx, opts.model, opts.inputShapes, opts.inputs, opts.seed, inputs);
  requireDtypeForBackend(opts.backend, opts.dtype);
  CompileSettings cs;
  cs.backend = opts.backend;
  cs.dtype = opts.dtype;
  cs.keepF32 = keepF32Nodes(opts.keepF32, opts.dtype, mainFunction(*module));
  cs.verifyEach = opts.verifyEach;
  cs.printIrAfterAll = opts.printIrAfterAll;
  cs.inputs = opts.inputs;
  cs.seed = opts.seed;
  cs.shapeInputs = inputs;
  Compiled c = compileModule(std::move(module), cs);
  ArenaAssignment arena = planBuffers(c.plan);
  if (opts.stats || opts.verifyEach)
    printCompileStats(std::cout, c, arena.peakIntermediateBytes);
  if (!opts.output.empty()) {
    std::string packed;
    if (opts.backend == "cpu" && !opts.plainWeights) {
      cpu::PrepackReport r = cpu::prepackWeights(c.plan);
      packed = fmt::format("; pre-packed {} conv/matmul weights ({:.1f} MiB), {} other "
                           "constants plain",
                           r.packed, double(r.packedBytes) / (1 << 20), r.weights - r.packed);
    }
    writeArtifact(opts.output, c.plan);
    std::cout << fmt::format("wrote {} ({} steps, {} buffers{})\n", opts.output,
                             c.plan.steps.size(), c.plan.buffers.size(), packed);
  }
  return 0;
}

} // namespace plumb
