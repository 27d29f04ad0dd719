// The plumb CLI's commands as library functions (tools/plumb.cpp only parses flags).
// Each returns the process exit code; bad input throws plumb::Error (exit 2 in main).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace plumb {

using InputShapes = std::map<std::string, std::vector<int64_t>>;

// Parses "name=1x3x224x224" (a '?' or -1 keeps a dim dynamic) into `shapes`.
void parseInputShape(const std::string &spec, InputShapes &shapes);

struct RunCommandOptions {
  std::string model;
  std::string backend = "reference";
  std::string inputs; // .npz keyed by graph input name; empty: random from seed
  uint64_t seed = 0;
  bool f64 = false;
  std::string output; // .npz to write; empty: print a summary only
  InputShapes inputShapes;
  std::string dtype; // "", "f32", "f16" or "bf16": the cuda plan's storage type
  std::string keepF32; // --keep-f32 (keepF32Nodes in tools/lib/Compile.h)
};
int runCommand(const RunCommandOptions &opts);

struct InspectCommandOptions {
  std::string model;
  InputShapes inputShapes;
  std::string json; // write the report as JSON here too
  bool steps = false; // MODEL.plumb: list every step in execution order
};
int inspectCommand(const InspectCommandOptions &opts);

struct ImportCommandOptions {
  std::string model;
  InputShapes inputShapes;
  std::string output;     // .mlir to write; empty: stdout
  bool debugInfo = false; // print locations (ONNX node and tensor names)
  bool elideWeights = true; // print large constants as opaque blobs
};
int importCommand(const ImportCommandOptions &opts);

struct CheckCommandOptions {
  std::string model;
  std::string backend = "reference";
  std::string inputs;
  uint64_t seed = 0;
  InputShapes inputShapes;
  // "", "f32", "f16" or "bf16": with --backend reference, simulate that precision in the
  // candidate; with --backend cuda, the plan's storage type.
  std::string dtype;
  std::string keepF32; // --keep-f32: for the simulation and the cuda plan alike
  std::string tolerance; // parity::parseToleranceRule syntax; empty: the mode's default
  std::string json, html;
  std::string scatterTensor; // tensor for the HTML scatter plot (default: first output)
  bool extraChecks = true;   // batch consistency and edge inputs
};
int checkCommand(const CheckCommandOptions &opts);

struct BisectCommandOptions {
  std::string model;
  std::string backend = "reference";
  std::string reference; // .npz or folder of .npy keyed by ONNX tensor name
  std::string inputs;
  uint64_t seed = 0;
  InputShapes inputShapes;
  // With --backend reference: precision bisect (find nodes to keep in f32); with --backend
  // cuda: the plan's storage type.
  std::string dtype;
  std::string tolerance;
  std::string json;
};
int bisectCommand(const BisectCommandOptions &opts);

struct CompileCommandOptions {
  std::string model;
  std::string backend = "cpu";
  std::string output; // MODEL.plumb
  InputShapes inputShapes;
  std::string inputs; // inputs for --verify-each and for shapes the IR leaves dynamic
  uint64_t seed = 0;
  bool stats = false, verifyEach = false, printIrAfterAll = false;
  std::string dtype; // "", "f32", "f16" or "bf16": the cuda plan's storage type
  std::string keepF32;
  // cpu artifacts store conv/matmul weights pre-packed (cpu::prepackWeights) unless set.
  bool plainWeights = false;
};
int compileCommand(const CompileCommandOptions &opts);

struct BenchCommandOptions {
  std::string model; // ONNX model or compiled MODEL.plumb
  std::string backend = "cpu";
  int threads = 0; // 0: the backend's default (all cores)
  int iters = 20, warmup = 3;
  std::string inputs;
  uint64_t seed = 0;
  InputShapes inputShapes;
  std::string json;
  std::string dtype;    // "", "f32", "f16" or "bf16": the cuda plan's storage type
  std::string keepF32;
  bool profile = false; // time per step, summed by kernel, after the timed runs
  // With profile: each conv/matmul step against its oneDNN primitive timed alone (implies
  // profile).
  bool perOp = false;
};
int benchCommand(const BenchCommandOptions &opts);

struct ConformanceCommandOptions {
  std::vector<std::string> dirs; // test case folders, or folders of them
  std::string backend = "reference";
  std::string json;
  std::vector<std::string> expectedFailures; // files: one "case_name  reason" per line
  std::string filter;           // only cases whose name contains this
  bool verbose = false;
  // cpu/cuda: graph inputs that steer an op become constants holding each data set's values
  // (bindSteeringInputs), so the backend's own kernels run those ops.
  bool bindSteeringInputs = false;
};
int conformanceCommand(const ConformanceCommandOptions &opts);

} // namespace plumb
