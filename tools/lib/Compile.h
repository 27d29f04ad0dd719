// Compiling an imported model for a backend: the pass pipeline (with --verify-each and
// --print-ir-after-all), statistics, and lowering to a Plan.
#pragma once

#include "backends/cpu/lowering/Lowering.h"
#ifdef PLUMB_HAVE_CUDA
#include "backends/cuda/lowering/Lowering.h"
#endif
#include "passes/ParityInstrumentation.h"
#include "runtime/Plan.h"
#include "tools/lib/Driver.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <ostream>

namespace plumb {

struct CompileSettings {
  std::string backend = "cpu";
  bool verifyEach = false;
  bool printIrAfterAll = false;
  uint64_t seed = 0; // inputs for --verify-each
  std::string inputs;
  // The inputs the plan is specialised for: shapes the IR leaves dynamic are taken from one
  // interpretation with them.
  std::vector<Tensor> shapeInputs;
  // CPU: the plan's weights may be freed once an executor has copied them (lowerToCpuPlan's
  // releasableWeights): for run and bench, which use neither the module nor those weights
  // afterwards. BackendRun then gives the executor the only references.
  bool releaseWeights = false;
  // Storage type of the plan's f32 tensors ("", "f32", "f16", "bf16"); only cuda takes
  // f16/bf16 (cuda::CudaLoweringOptions::dtype).
  std::string dtype;
  // Nodes kept in f32 inside an f16/bf16 cuda plan (cuda::CudaLoweringOptions::keepF32).
  std::set<std::string> keepF32;
};

// `--keep-f32 SPEC`: node names kept in f32 inside an f16/bf16 plan or the reference's
// f16/bf16 simulation. SPEC is "a,b,c", or "@FILE": the keep_f32 list of a
// `plumb bisect --dtype T --json FILE` report. Throws plumb::Error (one line) when SPEC is
// given without --dtype f16|bf16, when FILE is unreadable or has no keep_f32 list, or when a
// name is not a node of `fn` (the imported @main).
std::set<std::string> keepF32Nodes(const std::string &spec, const std::string &dtype,
                                   mlir::Operation *fn);

// Throws plumb::Error (one line) unless `dtype` ("" meaning f32) is f32, f16 or bf16 and the
// backend can compile it: f16/bf16 plans are cuda's only.
void requireDtypeForBackend(const std::string &backend, const std::string &dtype);
// "f16"/"bf16" as given; "" for f32 however spelled.
std::string reducedDtype(const std::string &dtype);

struct Compiled {
  mlir::OwningOpRef<mlir::ModuleOp> module; // after the pipeline
  Plan plan;
  int64_t opsBefore = 0, opsAfter = 0;
  std::map<std::string, int64_t> fusionsByKind;
  cpu::LoweringStats lowering;
#ifdef PLUMB_HAVE_CUDA
  cuda::CudaLoweringStats cudaLowering; // backend "cuda"
#endif
  std::vector<PassParityRecord> passParity; // with verifyEach
};

// Runs the backend's pipeline on `module` (consumed) and lowers it. Throws plumb::Error when
// a pass fails, or (with verifyEach) when a pass breaks parity, naming the pass.
Compiled compileModule(mlir::OwningOpRef<mlir::ModuleOp> module, const CompileSettings &s);

// Prints the --stats report: nodes before/after, fusions by kind, steps by kernel, peak
// intermediate bytes.
void printCompileStats(std::ostream &os, const Compiled &c, size_t peakIntermediateBytes);

} // namespace plumb
