// plumb: the command-line tool. Parses flags and calls the library (tools/lib/Driver.h).
#include "backends/cpu/CpuBackend.h"
#include "runtime/Error.h"
#include "tools/lib/Driver.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

// `--dtype` on the commands that compile for a backend: the cuda plan's storage type.
void addDtype(CLI::App *cmd, std::string &dtype, const std::string &help) {
  cmd->add_option("--dtype", dtype, help)->check(CLI::IsMember({"f32", "f16", "bf16"}));
}

// `--keep-f32` next to `--dtype`: nodes left in f32 inside an f16/bf16 plan.
void addKeepF32(CLI::App *cmd, std::string &spec) {
  cmd->add_option("--keep-f32", spec,
                  "with --dtype f16|bf16: nodes kept in f32, as a,b,c or @FILE (the JSON "
                  "report of plumb bisect --dtype)");
}

const char *kPlanDtype = "cuda plan storage: f32 (default), f16 or bf16 (f32 arithmetic)";

void addInputShape(CLI::App *cmd, std::vector<std::string> &specs) {
  cmd->add_option("--input-shape", specs,
                  "pin a graph input's shape, e.g. input=1x3x224x224 (repeatable)");
}

plumb::InputShapes shapesFrom(const std::vector<std::string> &specs) {
  plumb::InputShapes shapes;
  for (const auto &s : specs)
    plumb::parseInputShape(s, shapes);
  return shapes;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"plumb: compile ONNX models and check every lowering for numerical parity"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "plumb 0.1.0");

  plumb::RunCommandOptions run;
  std::vector<std::string> runShapes;
  CLI::App *runCmd = app.add_subcommand("run", "run a model and write its outputs");
  runCmd->add_option("model", run.model, "ONNX model")->required();
  runCmd->add_option("--backend", run.backend, "reference (default), cpu or cuda")
      ->check(CLI::IsMember({"reference", "cpu", "cuda"}));
  runCmd->add_option("--inputs", run.inputs, ".npz of inputs keyed by graph input name");
  runCmd->add_option("--seed", run.seed, "seed for random inputs (default 0)");
  runCmd->add_flag("--f64", run.f64, "compute every float tensor in double (the truth run)");
  runCmd->add_option("-o,--output", run.output, "write outputs to this .npz");
  addDtype(runCmd, run.dtype, kPlanDtype);
  addKeepF32(runCmd, run.keepF32);
  addInputShape(runCmd, runShapes);

  plumb::InspectCommandOptions inspect;
  std::vector<std::string> inspectShapes;
  CLI::App *inspectCmd =
      app.add_subcommand("inspect", "ops, inputs/outputs and parameter counts of a model, or "
                                    "what a compiled MODEL.plumb holds");
  inspectCmd->add_option("model", inspect.model, "ONNX model or MODEL.plumb")->required();
  inspectCmd->add_option("--json", inspect.json, "also write the report as JSON");
  inspectCmd->add_flag("--steps", inspect.steps,
                       "MODEL.plumb: every step in execution order (kernel, ONNX nodes, outputs)");
  addInputShape(inspectCmd, inspectShapes);

  plumb::ImportCommandOptions imp;
  std::vector<std::string> importShapes;
  bool fullWeights = false;
  CLI::App *importCmd =
      app.add_subcommand("import", "print the model as plumb dialect MLIR (what the importer built)");
  importCmd->add_option("model", imp.model, "ONNX model")->required();
  importCmd->add_option("-o,--output", imp.output, "write the MLIR here instead of stdout");
  importCmd->add_flag("--mlir-print-debuginfo", imp.debugInfo,
                      "print locations: ONNX node names and output tensor names");
  importCmd->add_flag("--print-weights", fullWeights, "print weights in full");
  addInputShape(importCmd, importShapes);

  plumb::CheckCommandOptions check;
  std::vector<std::string> checkShapes;
  bool noExtra = false;
  CLI::App *checkCmd = app.add_subcommand(
      "check", "compare the candidate with the f64 truth at every tensor (f32 floor)");
  checkCmd->add_option("model", check.model, "ONNX model")->required();
  checkCmd->add_option("--backend", check.backend, "candidate backend: reference, cpu or cuda");
  addDtype(checkCmd, check.dtype,
           "f16 or bf16: the cuda plan's storage type, or simulated by --backend reference");
  addKeepF32(checkCmd, check.keepF32);
  checkCmd->add_option("--inputs", check.inputs, ".npz of inputs keyed by graph input name");
  checkCmd->add_option("--seed", check.seed, "seed for random inputs (default 0)");
  checkCmd->add_option("--tolerance", check.tolerance,
                       "noise-floor[:MULT[:ABS]] | atol=A,rtol=R | preset:strict|default|loose "
                       "| corr[:MIN]");
  checkCmd->add_option("--json", check.json, "write the report as JSON");
  checkCmd->add_option("--html", check.html, "write a self-contained HTML report");
  checkCmd->add_option("--scatter-tensor", check.scatterTensor,
                       "tensor for the HTML scatter plot (default: first output)");
  checkCmd->add_flag("--no-extra-checks", noExtra, "skip batch consistency and edge inputs");
  addInputShape(checkCmd, checkShapes);

  plumb::BisectCommandOptions bisect;
  std::vector<std::string> bisectShapes;
  CLI::App *bisectCmd = app.add_subcommand(
      "bisect", "find the first tensor where two executions part, or the nodes to keep in f32");
  bisectCmd->add_option("model", bisect.model, "ONNX model")->required();
  bisectCmd->add_option("--backend", bisect.backend, "candidate backend: cpu or cuda");
  bisectCmd->add_option("--reference", bisect.reference,
                        "activations from another framework: .npz or folder of .npy keyed by "
                        "ONNX tensor name");
  addDtype(bisectCmd, bisect.dtype,
           "f16 or bf16: the cuda plan's storage type, or alone a precision bisect");
  bisectCmd->add_option("--inputs", bisect.inputs, ".npz of inputs (default: from --reference)");
  bisectCmd->add_option("--seed", bisect.seed, "seed for random inputs (precision bisect)");
  bisectCmd->add_option("--tolerance", bisect.tolerance, "as for check");
  bisectCmd->add_option("--json", bisect.json, "write the result as JSON");
  addInputShape(bisectCmd, bisectShapes);

  plumb::CompileCommandOptions comp;
  std::vector<std::string> compShapes;
  CLI::App *compCmd = app.add_subcommand("compile", "compile a model for a backend");
  compCmd->add_option("model", comp.model, "ONNX model")->required();
  compCmd->add_option("--backend", comp.backend, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  compCmd->add_option("-o,--output", comp.output, "write the compiled model (MODEL.plumb)");
  compCmd->add_flag("--plain-weights", comp.plainWeights,
                    "cpu: store weights plain instead of pre-packed for this machine's kernels");
  addDtype(compCmd, comp.dtype, kPlanDtype);
  addKeepF32(compCmd, comp.keepF32);
  compCmd->add_flag("--stats", comp.stats, "nodes before/after, fusions by kind, steps, memory");
  compCmd->add_flag("--verify-each", comp.verifyEach,
                    "interpret the module after every pass; fail naming a pass that breaks parity");
  compCmd->add_flag("--print-ir-after-all", comp.printIrAfterAll, "print the IR after every pass");
  compCmd->add_option("--inputs", comp.inputs, "inputs for --verify-each and dynamic shapes");
  compCmd->add_option("--seed", comp.seed, "seed for random inputs");
  addInputShape(compCmd, compShapes);

  plumb::BenchCommandOptions bench;
  std::vector<std::string> benchShapes;
  CLI::App *benchCmd = app.add_subcommand("bench", "latency of a model or artifact on a backend");
  benchCmd->add_option("model", bench.model, "ONNX model or MODEL.plumb")->required();
  benchCmd->add_option("--backend", bench.backend, "cpu (default), cuda or reference")
      ->check(CLI::IsMember({"reference", "cpu", "cuda"}));
  benchCmd->add_option("--threads", bench.threads, "CPU threads (default: all cores)");
  benchCmd->add_option("--iters", bench.iters, "timed iterations (default 20)");
  benchCmd->add_option("--warmup", bench.warmup, "untimed warm-up iterations (default 3)");
  benchCmd->add_option("--inputs", bench.inputs, ".npz of inputs");
  benchCmd->add_option("--seed", bench.seed, "seed for random inputs");
  addDtype(benchCmd, bench.dtype, kPlanDtype);
  addKeepF32(benchCmd, bench.keepF32);
  benchCmd->add_flag("--profile", bench.profile, "time per step, summed by kernel");
  benchCmd->add_flag("--per-op", bench.perOp,
                     "with --profile (implied): each conv/matmul step against its oneDNN "
                     "primitive alone (GFLOP/s, ratio alone/plumb, goal >= 0.8; also against "
                     "the primitive with its weights evicted from cache)");
  benchCmd->add_option("--json", bench.json, "write the measurements as JSON");
  addInputShape(benchCmd, benchShapes);

  plumb::ConformanceCommandOptions conf;
  CLI::App *confCmd =
      app.add_subcommand("conformance", "run ONNX backend test cases (model.onnx + test_data_set_*)");
  confCmd->add_option("dirs", conf.dirs, "test case folders or folders of them")->required();
  confCmd->add_option("--backend", conf.backend,
                      "reference (default), or cpu/cuda: each case compiled for that backend "
                      "(shapes from its data set's inputs) and its plan run")
      ->check(CLI::IsMember({"reference", "cpu", "cuda"}));
  confCmd->add_option("--json", conf.json, "write every case with its status and reason");
  confCmd
      ->add_option("--expected-failures", conf.expectedFailures,
                   "list of cases known to fail, one 'name reason' per line (repeatable: the "
                   "lists add up); any other failure exits 1")
      ->allow_extra_args(false);
  confCmd->add_option("--filter", conf.filter, "only cases whose name contains this");
  confCmd->add_flag("--bind-steering-inputs", conf.bindSteeringInputs,
                    "cpu/cuda: graph inputs that steer an op (axes, scales, pads, starts, "
                    "depth...) become constants holding each data set's values, so the "
                    "backend's own kernels run those ops rather than reference kernels");
  confCmd->add_flag("-v,--verbose", conf.verbose, "print every case");

  // The CPU backend's thread count (oneDNN's OpenMP pool) for the commands that run it.
  int cpuThreads = 0;
  for (CLI::App *cmd : {runCmd, checkCmd, bisectCmd})
    cmd->add_option("--threads", cpuThreads, "CPU backend threads (default: all cores)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    if (cpuThreads > 0)
      plumb::cpu::setCpuThreads(cpuThreads);
    if (*runCmd) {
      run.inputShapes = shapesFrom(runShapes);
      return plumb::runCommand(run);
    }
    if (*inspectCmd) {
      inspect.inputShapes = shapesFrom(inspectShapes);
      return plumb::inspectCommand(inspect);
    }
    if (*importCmd) {
      imp.inputShapes = shapesFrom(importShapes);
      imp.elideWeights = !fullWeights;
      return plumb::importCommand(imp);
    }
    if (*checkCmd) {
      check.inputShapes = shapesFrom(checkShapes);
      check.extraChecks = !noExtra;
      return plumb::checkCommand(check);
    }
    if (*bisectCmd) {
      bisect.inputShapes = shapesFrom(bisectShapes);
      return plumb::bisectCommand(bisect);
    }
    if (*compCmd) {
      comp.inputShapes = shapesFrom(compShapes);
      return plumb::compileCommand(comp);
    }
    if (*benchCmd) {
      bench.inputShapes = shapesFrom(benchShapes);
      return plumb::benchCommand(bench);
    }
    if (*confCmd)
      return plumb::conformanceCommand(conf);
  } catch (const plumb::Error &e) {
    std::cerr << "plumb: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "plumb: error: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
