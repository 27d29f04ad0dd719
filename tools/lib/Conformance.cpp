// `plumb conformance`: runs ONNX backend test cases (model.onnx + test_data_set_*/*.pb) and
// compares with their expected outputs, with a committed list of expected failures. The
// reference interpreter runs them by default; --backend cpu|cuda compiles each case for that
// backend, its shapes fixed by the data set's inputs, and runs the plan.
#include "tools/lib/Backend.h"
#include "tools/lib/Driver.h"
#include "tools/lib/SteeringInputs.h"

#include "backends/reference/Interpreter.h"
#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "frontend/tensorio/TensorProto.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"
#ifdef PLUMB_HAVE_CUDA
#include "backends/cuda/runtime/CudaBackend.h"
#endif

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

namespace fs = std::filesystem;

namespace plumb {
namespace {

// ONNX's backend test defaults (onnx/backend/test/runner): rtol 1e-3, atol 1e-7.
constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

enum class Status { Pass, Fail, Skip };
const char *statusName(Status s) {
  return s == Status::Pass ? "pass" : s == Status::Fail ? "fail" : "skip";
}

struct CaseResult {
  std::string name, op, reason;
  Status status = Status::Pass;
  double maxAbsErr = 0;
  bool bound = false; // steering inputs became constants (--bind-steering-inputs)
};

std::vector<fs::path> collectCases(const std::vector<std::string> &dirs) {
  std::vector<fs::path> cases;
  for (const std::string &d : dirs) {
    fs::path p(d);
    if (fs::exists(p / "model.onnx")) {
      cases.push_back(p);
      continue;
    }
    if (!fs::is_directory(p))
      throw Error(d + ": not a folder of ONNX backend test cases");
    std::vector<fs::path> sub;
    for (const auto &e : fs::directory_iterator(p))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx"))
        sub.push_back(e.path());
    std::sort(sub.begin(), sub.end());
    cases.insert(cases.end(), sub.begin(), sub.end());
  }
  return cases;
}

std::string snakeCase(const std::string &op) {
  std::string s;
  for (size_t i = 0; i < op.size(); ++i) {
    char c = op[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    bool prevLower = i > 0 && !std::isupper(static_cast<unsigned char>(op[i - 1]));
    bool nextLower = i + 1 < op.size() && std::islower(static_cast<unsigned char>(op[i + 1]));
    if (upper && i > 0 && (prevLower || nextLower))
      s += '_';
    s += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// The op a case tests: the node op type whose snake_case name prefixes the case name
// (test_layer_normalization_... -> LayerNormalization), else the first node's op type.
std::string caseOp(const fs::path &modelPath, const std::string &caseName) {
  onnx::ModelProto m;
  std::ifstream f(modelPath, std::ios::binary);
  if (!m.ParseFromIstream(&f) || m.graph().node_size() == 0)
    return "?";
  std::string stem = caseName.rfind("test_", 0) == 0 ? caseName.substr(5) : caseName;
  std::string best;
  for (const auto &n : m.graph().node()) {
    std::string s = snakeCase(n.op_type());
    if (stem.rfind(s, 0) == 0 && s.size() > snakeCase(best).size())
      best = n.op_type();
  }
  return best.empty() ? m.graph().node(0).op_type() : best;
}

std::vector<fs::path> numbered(const fs::path &dir, const std::string &prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p))
      break;
    files.push_back(p);
  }
  return files;
}

// Compares one output; returns an empty string when it matches.
std::string compare(const Tensor &got, const Tensor &want, const std::string &what,
                    double &maxAbsErr) {
  if (got.dtype() != want.dtype())
    return what + ": type " + dtypeName(got.dtype()) + ", expected " + dtypeName(want.dtype());
  if (got.shape() != want.shape())
    return what + ": shape " + shapeToString(got.shape()) + ", expected " +
           shapeToString(want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.getAsDouble(i), b = want.getAsDouble(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b))
        return fmt::format("{}: element {} is {}, expected {}", what, i, a, b);
      continue;
    }
    if (isFloat(want.dtype()) || isSmallFloat(want.dtype())) {
      if (std::isinf(a) || std::isinf(b)) {
        if (a != b)
          return fmt::format("{}: element {} is {}, expected {}", what, i, a, b);
        continue;
      }
      double err = std::fabs(a - b);
      maxAbsErr = std::max(maxAbsErr, err);
      if (err > kAtol + kRtol * std::fabs(b))
        return fmt::format("{}: element {} is {:.9g}, expected {:.9g} (|diff| {:.3g} > "
                           "atol {} + rtol {} * |expected|)",
                           what, i, a, b, err, kAtol, kRtol);
    } else if (got.getAsInt(i) != want.getAsInt(i)) {
      return fmt::format("{}: element {} is {}, expected {}", what, i, got.getAsInt(i),
                         want.getAsInt(i));
    }
  }
  return "";
}

// ONNX 1.12's test data stores bfloat16 tensors with data type UINT16: read the bits as bf16.
Tensor asType(const Tensor &t, std::optional<DType> want) {
  if (want == DType::BF16 && t.dtype() == DType::U16)
    return Tensor::copyOf(DType::BF16, t.shape(), t.raw());
  return t;
}

// An input_N.pb / output_N.pb file holding a value of `type`: a TensorProto, or for
// sequence and optional values a SequenceProto / OptionalProto.
ref::RefValue readValueFile(const fs::path &p, mlir::Type type) {
  if (!mlir::isa<SeqType, OptType>(type)) {
    std::optional<DType> want;
    if (auto tt = mlir::dyn_cast<mlir::TensorType>(type))
      want = dtypeOf(tt.getElementType());
    return ref::RefValue::of(asType(readTensorProtoFile(p.string()).second, want));
  }
  std::ifstream f(p, std::ios::binary);
  std::string where = p.string();
  auto readSeq = [&](const onnx::SequenceProto &s) {
    if (s.elem_type() != onnx::SequenceProto::TENSOR && s.tensor_values_size() == 0 &&
        s.elem_type() != onnx::SequenceProto::UNDEFINED)
      throw Error(where + ": sequences of non-tensors are not supported");
    std::vector<Tensor> ts;
    for (const auto &t : s.tensor_values())
      ts.push_back(tensorFromProto(t, where, p.parent_path().string()));
    return ref::RefValue::ofSequence(std::move(ts));
  };
  if (mlir::isa<SeqType>(type)) {
    onnx::SequenceProto s;
    if (!s.ParseFromIstream(&f))
      throw Error(where + ": not a valid SequenceProto");
    return readSeq(s);
  }
  onnx::OptionalProto o;
  if (!o.ParseFromIstream(&f))
    throw Error(where + ": not a valid OptionalProto");
  if (o.has_tensor_value())
    return ref::RefValue::of(tensorFromProto(o.tensor_value(), where, p.parent_path().string()));
  if (o.has_sequence_value())
    return readSeq(o.sequence_value());
  return ref::RefValue::empty();
}

// Compares one output value (tensor, sequence or optional); empty when it matches.
std::string compareValue(const ref::RefValue &got, const ref::RefValue &want,
                         const std::string &what, double &maxAbsErr) {
  if (got.kind != want.kind)
    return what + ": " + got.describe() + ", expected " + want.describe();
  if (got.isTensor())
    return compare(got.tensor, asType(want.tensor, got.tensor.dtype()), what, maxAbsErr);
  if (got.sequence.size() != want.sequence.size())
    return what + ": " + got.describe() + ", expected " + want.describe();
  for (size_t i = 0; i < got.sequence.size(); ++i) {
    std::string d = compare(got.sequence[i], want.sequence[i],
                            what + " element " + std::to_string(i), maxAbsErr);
    if (!d.empty())
      return d;
  }
  return "";
}

bool isUnsupported(const std::string &msg) {
  return msg.find("unsupported") != std::string::npos ||
         msg.find("not supported") != std::string::npos;
}

// One data set's outputs from `opts.backend`: the reference interpreter, or the module compiled
// for cpu/cuda with these inputs fixing its shapes and run (tensor inputs only: a sequence or
// optional input is a skip, "not supported"). With --bind-steering-inputs the inputs that
// steer an op become constants (bindSteeringInputs on the case's model, `*bound` set) and it
// compiles again, up to three times.
std::vector<ref::RefValue> runSet(mlir::MLIRContext &ctx, mlir::ModuleOp module,
                                  const fs::path &modelPath, const std::vector<ref::RefValue> &inputs,
                                  const ConformanceCommandOptions &opts, bool *bound) {
  if (opts.backend == "reference")
    return ref::interpretValues(mainFunction(module), inputs);
  std::vector<Tensor> tensors;
  for (const ref::RefValue &v : inputs) {
    if (!v.isTensor())
      throw Error("--backend " + opts.backend + ": " + v.describe() + " inputs are not supported");
    tensors.push_back(v.tensor);
  }
  onnx::ModelProto proto;
  if (opts.bindSteeringInputs) {
    std::ifstream f(modelPath, std::ios::binary);
    if (!proto.ParseFromIstream(&f))
      throw Error(modelPath.string() + ": not a valid ModelProto");
  }
  for (int attempt = 0;; ++attempt) {
    CompileSettings cs;
    cs.backend = opts.backend;
    cs.shapeInputs = tensors;
    mlir::OwningOpRef<mlir::ModuleOp> m;
    if (attempt == 0) {
      m = mlir::OwningOpRef<mlir::ModuleOp>(module.clone());
    } else {
      std::string bytes = proto.SerializeAsString();
      m = importOnnxBytes(ctx, bytes.data(), bytes.size(), modelPath.string());
    }
    BackendRun run(std::move(m), cs);
    if (opts.bindSteeringInputs && attempt < 3 &&
        bindSteeringInputs(proto, tensors, run.compiled())) {
      *bound = true;
      continue;
    }
    std::vector<ref::RefValue> outputs;
    for (Tensor &t : run.runOutputs(tensors))
      outputs.push_back(ref::RefValue::of(std::move(t)));
    return outputs;
  }
}

CaseResult runCase(const fs::path &dir, const ConformanceCommandOptions &opts) {
  CaseResult r;
  r.name = dir.filename().string();
  r.op = caseOp(dir / "model.onnx", r.name);
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  try {
    module = importOnnxFile(ctx, (dir / "model.onnx").string());
  } catch (const Error &e) {
    r.status = isUnsupported(e.what()) ? Status::Skip : Status::Fail;
    r.reason = std::string("import: ") + e.what();
    return r;
  }
  mlir::Operation *fn = mainFunction(*module);
  std::vector<fs::path> sets;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  for (const fs::path &set : sets) {
    try {
      auto func = mlir::cast<mlir::func::FuncOp>(fn);
      std::vector<ref::RefValue> inputs;
      for (const fs::path &p : numbered(set, "input_")) {
        size_t i = inputs.size();
        mlir::Type type = i < func.getNumArguments() ? func.getArgument(unsigned(i)).getType()
                                                     : mlir::Type();
        inputs.push_back(readValueFile(p, type));
      }
      std::vector<ref::RefValue> outputs =
          runSet(ctx, *module, dir / "model.onnx", inputs, opts, &r.bound);
      std::vector<fs::path> expected = numbered(set, "output_");
      if (expected.size() != outputs.size())
        throw Error(fmt::format("{} outputs, expected {}", outputs.size(), expected.size()));
      for (size_t i = 0; i < outputs.size(); ++i) {
        ref::RefValue want = readValueFile(expected[i], func.getResultTypes()[i]);
        std::string diff = compareValue(outputs[i], want,
                                        set.filename().string() + " output " + std::to_string(i),
                                        r.maxAbsErr);
        if (!diff.empty())
          throw Error(diff);
      }
    } catch (const std::exception &e) {
      r.status = isUnsupported(e.what()) ? Status::Skip : Status::Fail;
      r.reason = e.what();
      return r;
    }
  }
  return r;
}

// Case name -> the list that names it, from every expected-failures file.
std::map<std::string, std::string> readExpected(const std::vector<std::string> &paths) {
  std::map<std::string, std::string> m;
  for (const std::string &path : paths) {
    std::ifstream f(path);
    if (!f)
      throw Error(path + ": cannot open expected-failures list");
    std::string line;
    while (std::getline(f, line)) {
      if (line.empty() || line[0] == '#')
        continue;
      m[line.substr(0, line.find_first_of(" \t"))] = path;
    }
  }
  return m;
}

} // namespace

int conformanceCommand(const ConformanceCommandOptions &opts) {
  if (opts.backend == "cuda") {
#ifdef PLUMB_HAVE_CUDA
    cuda::requireDevice("--backend cuda"); // once, before any case
#else
    throw Error("--backend cuda: this build has no CUDA backend");
#endif
  } else if (opts.backend != "reference" && opts.backend != "cpu") {
    throw Error("--backend " + opts.backend + ": not a backend (reference, cpu, cuda)");
  }
  if (opts.bindSteeringInputs && opts.backend == "reference")
    throw Error("--bind-steering-inputs: only with --backend cpu or cuda");
  std::vector<fs::path> cases = collectCases(opts.dirs);
  std::map<std::string, std::string> expected = readExpected(opts.expectedFailures);
  std::vector<CaseResult> results;
  std::map<std::string, std::array<int, 3>> perOp;
  int counts[3] = {0, 0, 0};
  std::vector<std::string> regressions, fixed;
  for (const fs::path &dir : cases) {
    std::string name = dir.filename().string();
    if (!opts.filter.empty() && name.find(opts.filter) == std::string::npos)
      continue;
    CaseResult r = runCase(dir, opts);
    counts[int(r.status)]++;
    perOp[r.op][size_t(r.status)]++;
    bool listed = expected.count(r.name) != 0;
    if (r.status != Status::Pass && !listed && !opts.expectedFailures.empty())
      regressions.push_back(r.name + ": " + r.reason);
    if (r.status == Status::Pass && listed)
      fixed.push_back(r.name);
    if (opts.verbose || (r.status == Status::Fail && !listed))
      std::cout << fmt::format("{:<4} {}{}{}\n", statusName(r.status), r.name,
                               r.reason.empty() ? "" : "  ", r.reason);
    results.push_back(std::move(r));
  }
  std::cout << fmt::format("\n{:<28} {:>6} {:>6} {:>6}\n", "op", "pass", "fail", "skip");
  for (const auto &[op, c] : perOp)
    std::cout << fmt::format("{:<28} {:>6} {:>6} {:>6}\n", op, c[0], c[1], c[2]);
  int total = counts[0] + counts[1] + counts[2];
  std::cout << fmt::format("\npass rate {:.1f}% of {} cases\n",
                           total ? 100.0 * counts[0] / total : 0.0, total);
  for (const std::string &f : fixed)
    std::cout << "note: " << f << " now passes; remove it from " << expected.at(f) << "\n";
  for (const std::string &r : regressions)
    std::cout << "REGRESSION (not in the expected-failures list): " << r << "\n";
  if (!opts.json.empty()) {
    nlohmann::json j;
    j["rtol"] = kRtol;
    j["atol"] = kAtol;
    j["summary"] = {{"passed", counts[0]}, {"failed", counts[1]}, {"skipped", counts[2]}};
    for (const CaseResult &r : results)
      j["cases"].push_back({{"name", r.name}, {"op", r.op}, {"status", statusName(r.status)},
                            {"reason", r.reason}, {"expected_failure", expected.count(r.name) != 0},
                            {"steering_inputs_bound", r.bound},
                            {"max_abs_error", r.maxAbsErr}});
    std::string tmp = opts.json + ".tmp";
    {
      std::ofstream f(tmp);
      if (!f)
        throw Error(opts.json + ": cannot write");
      f << j.dump(2) << "\n";
    }
    fs::rename(tmp, opts.json);
  }
  if (opts.bindSteeringInputs)
    std::cout << fmt::format("{} cases with steering inputs bound as constants\n",
                             std::count_if(results.begin(), results.end(),
                                           [](const CaseResult &r) { return r.bound; }));
  std::cout << fmt::format("{} passed, {} failed, {} skipped\n", counts[0], counts[1], counts[2]);
  return regressions.empty() ? 0 : 1;
}

} // namespace plumb
