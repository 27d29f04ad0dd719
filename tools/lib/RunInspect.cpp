// `plumb run` and `plumb inspect`.
#include "tools/lib/Driver.h"

#include "backends/reference/Interpreter.h"
#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "ir/PlumbDialect.h"
#include "backends/cpu/CpuBackend.h"
#ifdef PLUMB_HAVE_CUDA
#include "backends/cuda/runtime/CudaBackend.h"
#endif
#include "runtime/Artifact.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "runtime/Executor.h"
#include "tools/lib/Backend.h"
#include "tools/lib/Inputs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>
#include <fstream>
#include <iostream>

using namespace mlir;

namespace plumb {

void parseInputShape(const std::string &spec, InputShapes &shapes) {
  size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw Error("--input-shape '" + spec + "': expected NAME=DxDx...");
  std::vector<int64_t> dims;
  std::string rest = spec.substr(eq + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t x = rest.find('x', pos);
    std::string d = rest.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    if (d == "?" || d == "-1") {
      dims.push_back(-1);
    } else {
      if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos)
        throw Error("--input-shape '" + spec + "': dim '" + d + "' is not a number");
      dims.push_back(std::stoll(d));
    }
    if (x == std::string::npos)
      break;
    pos = x + 1;
  }
  shapes[spec.substr(0, eq)] = dims;
}

namespace {

struct Summary {
  double min = 0, max = 0, mean = 0;
  int64_t nonFinite = 0;
};

Summary summarize(const Tensor &t) {
  Summary s;
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.getAsDouble(i);
    if (!std::isfinite(v)) {
      ++s.nonFinite;
      continue;
    }
    s.min = n == 0 ? v : std::min(s.min, v);
    s.max = n == 0 ? v : std::max(s.max, v);
    sum += v;
    ++n;
  }
  s.mean = n ? sum / double(n) : 0;
  return s;
}

} // namespace

namespace {

// `plumb run MODEL.plumb`: the compiled plan alone (no MLIR involved in running it).
int runArtifact(const RunCommandOptions &opts, std::vector<std::string> &names,
                std::vector<Tensor> &outputs) {
  Plan plan = readArtifact(opts.model);
  std::vector<Tensor> inputs;
  NamedTensors given;
  if (!opts.inputs.empty())
    given = readNpz(opts.inputs);
  std::mt19937_64 rng(opts.seed);
  for (int id : plan.inputs) {
    const Buffer &b = plan.buffers[size_t(id)];
    auto it = std::find_if(given.begin(), given.end(), [&](auto &kv) { return kv.first == b.name; });
    if (!opts.inputs.empty()) {
      if (it == given.end())
        throw Error(opts.inputs + ": missing input '" + b.name + "'");
      inputs.push_back(it->second);
      continue;
    }
    Tensor t = Tensor::zeros(DType::F64, b.shape);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int> coin(0, 1);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<double>()[i] = isFloat(b.dtype) ? normal(rng) : double(coin(rng));
    inputs.push_back(t.cast(b.dtype));
  }
  for (int id : plan.outputs)
    names.push_back(plan.buffers[size_t(id)].name);
  bool onDevice = !plan.steps.empty() && plan.steps.back().kernel.rfind("cuda.", 0) == 0;
  if (onDevice) {
#ifdef PLUMB_HAVE_CUDA
    cuda::requireDevice(opts.model + " (compiled for cuda)");
    cuda::CudaExecutor exec(std::move(plan));
    outputs = exec.run(inputs);
    return 0;
#else
    throw Error(opts.model + ": compiled for cuda, and this build has no CUDA backend");
#endif
  }
  Executor exec(std::move(plan), cpu::cpuKernelRegistry());
  outputs = exec.run(inputs);
  return 0;
}

} // namespace

int runCommand(const RunCommandOptions &opts) {
  if (opts.backend != "reference" && opts.backend != "cpu" && opts.backend != "cuda")
    throw Error("backend '" + opts.backend +
                "' is not available (this build has: reference, cpu, cuda)");
  if (opts.f64 && opts.backend != "reference")
    throw Error("--f64 runs the reference interpreter; drop --backend " + opts.backend);
  requireDtypeForBackend(opts.backend, opts.dtype);
  std::vector<std::string> names;
  std::vector<Tensor> outputs;
  bool artifact = opts.model.size() > 6 && opts.model.substr(opts.model.size() - 6) == ".plumb";
  MLIRContext ctx;
  std::vector<Tensor> inputs;
  OwningOpRef<ModuleOp> module;
  Operation *fn = nullptr;
  if (!artifact) {
    if (opts.backend == "cpu" || opts.backend == "cuda") {
      module = importWithInputs(ctx, opts.model, opts.inputShapes, opts.inputs, opts.seed, inputs);
    } else {
      ImportOptions io;
      io.inputShapes = opts.inputShapes;
      module = importOnnxFile(ctx, opts.model, io);
      inputs = prepareInputs(mainFunction(*module), opts.inputs, opts.seed);
    }
    fn = mainFunction(*module);
    names = outputNames(fn);
  }
  if (artifact) {
    if (!opts.keepF32.empty())
      throw Error(opts.model + ": --keep-f32 applies when compiling; this artifact is compiled");
    runArtifact(opts, names, outputs);
  } else if (opts.backend == "cpu" || opts.backend == "cuda") {
    CompileSettings cs;
    cs.shapeInputs = inputs;
    cs.backend = opts.backend;
    cs.releaseWeights = true; // the module is not used after compiling
    cs.dtype = opts.dtype;
    cs.keepF32 = keepF32Nodes(opts.keepF32, opts.dtype, fn);
    BackendRun backend(std::move(module), cs);
    outputs = backend.runOutputs(inputs);
  } else {
    ref::RunOptions ro;
    ro.precision = opts.f64 ? ref::Precision::F64 : ref::Precision::F32;
    outputs = ref::interpret(fn, inputs, ro);
  }
  NamedTensors named;
  for (size_t i = 0; i < outputs.size(); ++i) {
    Summary s = summarize(outputs[i]);
    std::cout << fmt::format("{:<24} {:<20} min {:<12.6g} max {:<12.6g} mean {:<12.6g}", names[i],
                             outputs[i].describe(), s.min, s.max, s.mean);
    if (s.nonFinite)
      std::cout << "  (" << s.nonFinite << " non-finite)";
    std::cout << "\n";
    named.emplace_back(names[i], outputs[i]);
  }
  if (!opts.output.empty()) {
    writeNpz(opts.output, named);
    std::cout << "wrote " << named.size() << " outputs to " << opts.output << "\n";
  }
  return 0;
}

int importCommand(const ImportCommandOptions &opts) {
  MLIRContext ctx;
  ImportOptions io;
  io.inputShapes = opts.inputShapes;
  OwningOpRef<ModuleOp> module = importOnnxFile(ctx, opts.model, io);
  OpPrintingFlags flags;
  if (opts.debugInfo)
    flags.enableDebugInfo();
  if (opts.elideWeights)
    flags.elideLargeElementsAttrs(16).elideLargeResourceString(64);
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, flags);
  os.flush();
  if (opts.output.empty()) {
    std::cout << text;
    return 0;
  }
  std::string tmp = opts.output + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f)
      throw Error(opts.output + ": cannot write");
    f << text;
  }
  std::rename(tmp.c_str(), opts.output.c_str());
  return 0;
}

namespace {

void writeJson(const std::string &path, const nlohmann::json &j) {
  if (path.empty())
    return;
  std::ofstream f(path);
  if (!f)
    throw Error(path + ": cannot write");
  f << j.dump(2) << "\n";
}

// A step's kernel as --stats counts it: a generated CUDA kernel names its style too.
std::string kernelLabel(const Step &st) {
  std::string style = st.attrs.getString("style", "");
  return style.empty() ? st.kernel : st.kernel + ":" + style;
}

// "f32[2x3]"; for a run-time-shaped buffer, "i64[run-time: 1x4]" with the compile-time sample.
std::string bufferType(const Buffer &b) {
  return std::string(dtypeName(b.dtype)) + "[" + (b.runTimeShape ? "run-time: " : "") +
         shapeToString(b.shape) + "]";
}

// The steps of `plan` in execution order, each with the ONNX nodes it implements and what it
// writes; a control-flow step's bodies (an If's branches, a Loop's or a Scan's body) follow
// it, indented, as plans of their own.
nlohmann::json printSteps(const Plan &plan, size_t depth) {
  std::string pad(2 * depth, ' ');
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &st = plan.steps[i];
    std::vector<std::string> outs;
    nlohmann::json jo = nlohmann::json::array();
    for (int id : st.outputs) {
      if (id < 0)
        continue;
      outs.push_back(bufferType(plan.buffers[size_t(id)]));
      jo.push_back({{"name", plan.buffers[size_t(id)].name}, {"type", outs.back()}});
    }
    // Joined first: a width given to fmt::join would pad each of several outputs.
    std::string types = fmt::format("{}", fmt::join(outs, " "));
    std::cout << fmt::format("{}  {:>4}  {:<28} {:<24} {}\n", pad, i, kernelLabel(st), types,
                             st.nodeNames);
    nlohmann::json entry = {{"step", i},
                            {"kernel", kernelLabel(st)},
                            {"nodes", st.nodeNames},
                            {"inputs", st.inputs.size()},
                            {"outputs", jo}};
    if (!st.bodies.empty()) {
      nlohmann::json bodies = nlohmann::json::array();
      for (size_t b = 0; b < st.bodies.size(); ++b) {
        std::cout << pad << "        "
                  << (st.bodies.size() == 2 ? (b == 0 ? "then branch" : "else branch") : "body")
                  << "\n";
        bodies.push_back(printSteps(st.bodies[b], depth + 4));
      }
      entry["bodies"] = bodies;
    }
    list.push_back(entry);
  }
  return list;
}

// `inspect --steps`: the plan in execution order, so a user sees where the compiler fused,
// kept or split their nodes, and what control-flow bodies became.
void listSteps(const Plan &plan, nlohmann::json &j) {
  std::cout << "\nsteps in order\n";
  j["steps_in_order"] = printSteps(plan, 0);
}

// `plumb inspect MODEL.plumb`: what a compiled artifact holds (read and checksum-verified as a
// session would): its inputs and outputs, steps by kernel, constants (pre-packed or plain) and
// the arena its temporaries need.
int inspectArtifact(const InspectCommandOptions &opts) {
  Plan plan = readArtifact(opts.model);
  nlohmann::json j;
  j["artifact"] = opts.model;
  j["format_version"] = kArtifactVersion;
  std::cout << fmt::format("artifact  {}\nformat    version {} (checksum verified)\n", opts.model,
                           kArtifactVersion);
  auto printBuffers = [&](const char *title, const std::vector<int> &ids, const char *key) {
    std::cout << "\n" << title << "\n";
    for (int id : ids) {
      const Buffer &b = plan.buffers[size_t(id)];
      std::string ty = bufferType(b);
      std::cout << fmt::format("  {:<28} {}\n", b.name, ty);
      j[key].push_back({{"name", b.name}, {"type", ty}});
    }
  };
  printBuffers("inputs", plan.inputs, "inputs");
  printBuffers("outputs", plan.outputs, "outputs");
  int64_t constants = 0, packed = 0, constantBytes = 0, packedBytes = 0;
  for (const Buffer &b : plan.buffers) {
    if (b.kind != BufferKind::Constant)
      continue;
    ++constants;
    constantBytes += int64_t(b.constant.nbytes());
    if (!b.packing.empty()) {
      ++packed;
      packedBytes += int64_t(b.constant.nbytes());
    }
  }
  int64_t peak = int64_t(planBuffers(plan).peakIntermediateBytes);
  std::cout << fmt::format("\nconstants {} ({} bytes); pre-packed for the CPU kernels: {} "
                           "({} bytes)\npeak intermediate bytes {}\n",
                           constants, constantBytes, packed, packedBytes, peak);
  j["constants"] = {{"count", constants},
                    {"bytes", constantBytes},
                    {"packed", packed},
                    {"packed_bytes", packedBytes}};
  j["peak_intermediate_bytes"] = peak;
  std::map<std::string, int64_t> kernels;
  for (const Step &st : plan.steps)
    ++kernels[st.kernel];
  std::cout << "\nsteps (" << plan.steps.size() << ")\n";
  for (const auto &[k, n] : kernels) {
    std::cout << fmt::format("  {:<28} {:>6}\n", k, n);
    j["steps"][k] = n;
  }
  if (opts.steps)
    listSteps(plan, j);
  writeJson(opts.json, j);
  return 0;
}

} // namespace

int inspectCommand(const InspectCommandOptions &opts) {
  if (opts.model.size() > 6 && opts.model.substr(opts.model.size() - 6) == ".plumb")
    return inspectArtifact(opts);
  if (opts.steps)
    throw Error(opts.model + ": --steps lists a compiled MODEL.plumb's steps; run plumb compile "
                             "first");
  MLIRContext ctx;
  ImportOptions io;
  io.inputShapes = opts.inputShapes;
  ModelInfo info;
  OwningOpRef<ModuleOp> module = importOnnxFile(ctx, opts.model, io, &info);
  auto fn = cast<func::FuncOp>(mainFunction(*module));
  std::map<std::string, int64_t> histogram;
  int64_t nodes = 0;
  fn.walk([&](Operation *op) {
    StringRef t = onnxOpType(op);
    if (t.empty() || (isa<ConstantOp>(op) && nodeNameOf(op) == tensorNameOf(op, 0)))
      return; // initializers are listed as parameters, not nodes
    ++histogram[t.str()];
    ++nodes;
  });
  nlohmann::json j;
  j["model"] = opts.model;
  j["ir_version"] = info.irVersion;
  j["opset"] = info.opset;
  j["producer"] = info.producer;
  std::cout << fmt::format("model     {}\nproducer  {}\nopset     {}  (IR version {})\n",
                           opts.model, info.producer, info.opset, info.irVersion);
  auto printValues = [&](const char *title, std::vector<std::string> names, TypeRange types,
                         const char *key) {
    std::cout << "\n" << title << "\n";
    for (size_t i = 0; i < names.size(); ++i) {
      std::string ty = typeToString(types[i]);
      std::cout << fmt::format("  {:<28} {}\n", names[i], ty);
      j[key].push_back({{"name", names[i]}, {"type", ty}});
    }
  };
  printValues("inputs", inputNames(fn), fn.getArgumentTypes(), "inputs");
  printValues("outputs", outputNames(fn), fn.getResultTypes(), "outputs");
  std::cout << fmt::format("\nparameters\n  trainable  {:>12}  in {} tensors\n"
                           "  buffers    {:>12}  in {} tensors (integer initializers, "
                           "BatchNorm statistics, Constant nodes)\n  weight bytes {:>10}\n",
                           info.trainableParams, info.trainableTensors, info.bufferElements,
                           info.bufferTensors, info.weightBytes);
  j["parameters"] = {{"trainable", info.trainableParams},
                     {"trainable_tensors", info.trainableTensors},
                     {"buffer_elements", info.bufferElements},
                     {"buffer_tensors", info.bufferTensors},
                     {"weight_bytes", info.weightBytes}};
  std::cout << "\nops (" << nodes << " nodes)\n";
  std::vector<std::pair<std::string, int64_t>> sorted(histogram.begin(), histogram.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  for (const auto &[op, n] : sorted) {
    std::cout << fmt::format("  {:<28} {:>6}\n", op, n);
    j["ops"][op] = n;
  }
  j["nodes"] = nodes;
  writeJson(opts.json, j);
  return 0;
}

} // namespace plumb
