// `plumb check`: the candidate run against the f64 truth, tensor by tensor, with the f32
// reference as the noise floor; plus batch consistency and edge inputs; terminal, JSON, HTML.
#include "tools/lib/Driver.h"

#include "frontend/onnx/Importer.h"
#include "parity/Html.h"
#include "runtime/Error.h"
#include "tools/lib/Backend.h"
#include "tools/lib/Capture.h"
#include "tools/lib/Inputs.h"
#include "tools/lib/ParityRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

using namespace mlir;

namespace plumb {
namespace {

struct CheckResult {
  std::string name, verdict, detail; // verdict: PASS, FAIL or SKIP
};

// The three runs every comparison needs.
struct Runs {
  Capture truth, floor, candidate;
};

class Checker {
public:
  // `opts.dtype` is "" for f32 (reducedDtype); `keep`: nodes the f16/bf16 simulation leaves
  // in f32 (--keep-f32).
  Checker(const CheckCommandOptions &opts, Operation *fn, BackendRun *backend,
          std::set<std::string> keep)
      : opts_(opts), fn_(fn), backend_(backend), rule_(ruleFor(opts.dtype, opts.tolerance)),
        keep_(std::move(keep)) {}

  Runs runAll(const std::vector<Tensor> &inputs, bool keepAll) const;
  parity::LayerComparison forward(const Runs &runs) const;
  CheckResult batchConsistency() const;
  std::vector<CheckResult> edgeInputs() const;
  const parity::ToleranceRule &rule() const { return *rule_; }
  std::string candidateName() const {
    std::string kept =
        keep_.empty() ? "" : ", " + std::to_string(keep_.size()) + " nodes kept in f32";
    if (backend_)
      return opts_.backend + " backend" + (opts_.dtype.empty() ? "" : " in " + opts_.dtype) +
             kept + " (fusion boundaries)";
    return opts_.dtype.empty() ? "reference f32" : "reference f32 rounded to " + opts_.dtype + kept;
  }
  BackendRun *backend() const { return backend_; }

private:
  CheckResult compareOutputs(const std::string &name, const Runs &runs) const;

  const CheckCommandOptions &opts_;
  Operation *fn_;
  BackendRun *backend_;
  std::unique_ptr<parity::ToleranceRule> rule_;
  std::set<std::string> keep_;
};

Runs Checker::runAll(const std::vector<Tensor> &inputs, bool keepAll) const {
  ref::RunOptions truth, floor, cand;
  truth.precision = ref::Precision::F64;
  Runs r;
  r.truth = captureRun(fn_, inputs, truth);
  r.floor = captureRun(fn_, inputs, floor);
  if (backend_) {
    r.candidate = backend_->run(inputs);
  } else if (opts_.dtype.empty()) {
    r.candidate = r.floor; // without a backend the candidate is the f32 reference itself
  } else {
    cand.roundTo = opts_.dtype == "f16" ? DType::F16 : DType::BF16;
    cand.keepF32 = keep_;
    r.candidate = captureRun(fn_, inputs, cand);
  }
  if (!keepAll) // edge and batch checks compare outputs only
    r.truth.tensors.clear(), r.floor.tensors.clear(), r.candidate.tensors.clear();
  return r;
}

parity::LayerComparison Checker::forward(const Runs &runs) const {
  return parity::compareLayers(tensorOrder(fn_, true), runs.candidate.tensors, runs.truth.tensors,
                               &runs.floor.tensors, *rule_);
}

CheckResult Checker::compareOutputs(const std::string &name, const Runs &runs) const {
  std::vector<std::string> names = outputNames(fn_);
  std::string worst;
  double worstRatio = -1;
  for (size_t i = 0; i < runs.truth.outputs.size(); ++i) {
    if (!isFloat(runs.truth.outputs[i].dtype()))
      continue;
    parity::LayerRow row = parity::compareOne({names[i], names[i], "output"},
                                              runs.candidate.outputs[i], runs.truth.outputs[i],
                                              &runs.floor.outputs[i], *rule_);
    if (!row.verdict.pass)
      return {name, "FAIL", "output '" + names[i] + "': " + row.verdict.explanation};
    if (row.floorRatio > worstRatio)
      worstRatio = row.floorRatio, worst = names[i];
  }
  return {name, "PASS",
          worst.empty() ? "no float outputs"
                        : fmt::format("worst output '{}' at {} x floor", worst,
                                      parity::formatNumber(worstRatio))};
}

// Batch N against each of its rows run alone: a kernel that mixes batch rows, or a layout
// that changes with the batch size, shows up here.
CheckResult Checker::batchConsistency() const {
  auto fn = cast<func::FuncOp>(fn_);
  if (backend_)
    return {"batch consistency", "SKIP", "the backend is compiled for the input shapes given"};
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (!hasDynamicBatch(fn_, i))
      return {"batch consistency", "SKIP", "the batch dim of input '" + inputNames(fn_)[i] +
                                               "' is fixed"};
  constexpr int64_t kBatch = 3;
  std::vector<Tensor> batched = prepareInputs(fn_, "", opts_.seed + 1, {kBatch, 1});
  Runs whole = runAll(batched, false);
  std::vector<std::string> names = outputNames(fn_);
  for (int64_t b = 0; b < kBatch; ++b) {
    std::vector<Tensor> row;
    for (const Tensor &t : batched)
      row.push_back(sliceBatch(t, b));
    Runs single = runAll(row, false);
    Runs mixed;
    mixed.truth = single.truth;
    mixed.floor = single.floor;
    for (const Tensor &t : whole.candidate.outputs)
      mixed.candidate.outputs.push_back(t.rank() > 0 && t.dim(0) == kBatch ? sliceBatch(t, b) : t);
    CheckResult r = compareOutputs("batch consistency", mixed);
    if (r.verdict != "PASS")
      return {r.name, r.verdict, fmt::format("row {} of batch {}: {}", b, kBatch, r.detail)};
  }
  return {"batch consistency", "PASS",
          fmt::format("batch {} matches each row run alone", kBatch)};
}

std::vector<CheckResult> Checker::edgeInputs() const {
  std::vector<CheckResult> out;
  auto fn = cast<func::FuncOp>(fn_);
  std::vector<Tensor> base = prepareInputs(fn_, opts_.inputs, opts_.seed, {1, 1});
  auto scaled = [&](double k) {
    std::vector<Tensor> v;
    for (const Tensor &t : base) {
      if (!isFloat(t.dtype())) {
        v.push_back(t);
        continue;
      }
      Tensor d = t.cast(DType::F64);
      for (int64_t i = 0; i < d.numel(); ++i)
        d.mutableData<double>()[i] *= k;
      v.push_back(d.cast(t.dtype()));
    }
    return v;
  };
  auto attempt = [&](const std::string &name, const std::vector<Tensor> &inputs) {
    try {
      out.push_back(compareOutputs(name, runAll(inputs, false)));
    } catch (const Error &e) {
      out.push_back({name, "SKIP", std::string("the model rejects these inputs: ") + e.what()});
    }
  };
  attempt("edge: zero inputs", scaled(0.0));
  attempt("edge: large inputs (x100)", scaled(100.0));
  bool inner = false;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    inner = inner || hasDynamicInner(fn_, i);
  if (inner && backend_)
    out.push_back({"edge: sequence length 1", "SKIP",
                   "the backend is compiled for the input shapes given"});
  else if (inner)
    attempt("edge: sequence length 1", prepareInputs(fn_, "", opts_.seed, {1, 1}));
  else
    out.push_back({"edge: sequence length 1", "SKIP", "no input has a free non-batch dim"});
  return out;
}

void writeFileAtomically(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f)
      throw Error(path + ": cannot write");
    f << text;
    if (!f)
      throw Error(path + ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

} // namespace

int checkCommand(const CheckCommandOptions &given) {
  CheckCommandOptions opts = given;
  opts.dtype = reducedDtype(given.dtype);
  if (opts.backend != "reference" && opts.backend != "cpu" && opts.backend != "cuda")
    throw Error("backend '" + opts.backend +
                "' is not available (this build has: reference, cpu, cuda)");
  // The reference candidate simulates f16/bf16 (rounding every node); cuda compiles for it.
  requireDtypeForBackend(opts.backend == "reference" ? "cuda" : opts.backend, opts.dtype);
  MLIRContext ctx;
  std::vector<Tensor> inputs;
  OwningOpRef<ModuleOp> module;
  if (opts.backend == "reference") { // keep dynamic dims: batch consistency varies them
    ImportOptions io;
    io.inputShapes = opts.inputShapes;
    module = importOnnxFile(ctx, opts.model, io);
    inputs = prepareInputs(mainFunction(*module), opts.inputs, opts.seed);
  } else {
    module = importWithInputs(ctx, opts.model, opts.inputShapes, opts.inputs, opts.seed, inputs);
  }
  Operation *fn = mainFunction(*module);
  std::set<std::string> keep = keepF32Nodes(opts.keepF32, opts.dtype, fn);
  std::unique_ptr<BackendRun> backend;
  if (opts.backend != "reference") {
    CompileSettings cs;
    cs.backend = opts.backend;
    cs.dtype = opts.dtype;
    cs.keepF32 = keep;
    cs.shapeInputs = inputs;
    backend = std::make_unique<BackendRun>(OwningOpRef<ModuleOp>(module->clone()), cs);
  }
  Checker checker(opts, fn, backend.get(), keep);
  Runs runs = checker.runAll(inputs, true);
  parity::LayerComparison layers = checker.forward(runs);

  std::vector<CheckResult> checks;
  {
    double worst = 0;
    std::string at;
    for (const auto &r : layers.rows)
      if (r.floorRatio > worst || at.empty())
        worst = r.floorRatio, at = r.info.tensor;
    std::string name = opts.dtype.empty() ? "forward" : "forward in " + opts.dtype;
    if (layers.pass())
      checks.push_back({name, "PASS", fmt::format("{} tensors; worst {} x floor at '{}'",
                                                  layers.rows.size(),
                                                  parity::formatNumber(worst), at)});
    else {
      const auto &f = layers.rows[size_t(layers.firstFailure)];
      std::string where = fmt::format("node '{}', {}", f.info.node, f.info.op);
      if (backend)
        where = fmt::format("step {} covering ONNX nodes [{}]",
                            backend->stepKernel(f.info.tensor), backend->stepNodes(f.info.tensor));
      checks.push_back({name, "FAIL", fmt::format("first failure at '{}' ({}): {}", f.info.tensor,
                                                  where, f.verdict.explanation)});
    }
  }
  if (opts.extraChecks) {
    checks.push_back(checker.batchConsistency());
    for (CheckResult &r : checker.edgeInputs())
      checks.push_back(std::move(r));
  }
  bool pass = true;
  for (const CheckResult &c : checks)
    pass = pass && c.verdict != "FAIL";

  // Terminal report, in the style of a parity checklist.
  parity::printLayerTable(std::cout, layers);
  std::cout << "\n=== plumb parity report ===\n"
            << fmt::format("model:      {}\ncandidate:  {}\ntruth:      reference f64\n"
                           "floor:      reference f32\nrule:       {}\n",
                           opts.model, checker.candidateName(), checker.rule().describe());
  for (const CheckResult &c : checks)
    std::cout << fmt::format("{:<28} {:<5} {}\n", c.name + ":", c.verdict, c.detail);
  std::cout << fmt::format("{:<28} {}\n", "overall:", pass ? "PASS" : "FAIL");

  if (!opts.json.empty() || !opts.html.empty()) {
    nlohmann::json j = {{"tool", "plumb check"},
                        {"model", opts.model},
                        {"mode", opts.dtype.empty() ? "f32" : opts.dtype},
                        {"candidate", checker.candidateName()},
                        {"truth", "reference f64"},
                        {"floor", "reference f32"},
                        {"rule", checker.rule().describe()},
                        {"verdict", pass ? "PASS" : "FAIL"},
                        {"layers", nlohmann::json::array()},
                        {"checks", nlohmann::json::array()}};
    for (const auto &r : layers.rows)
      j["layers"].push_back(parity::toJson(r));
    j["first_failure"] = nullptr;
    if (!layers.pass()) {
      const auto &f = layers.rows[size_t(layers.firstFailure)];
      j["first_failure"] = {{"index", f.index}, {"tensor", f.info.tensor},
                            {"node", f.info.node}, {"op", f.info.op}};
    }
    for (const CheckResult &c : checks)
      j["checks"].push_back({{"name", c.name}, {"verdict", c.verdict}, {"detail", c.detail}});
    std::vector<std::string> outs = outputNames(fn);
    std::string chosen = opts.scatterTensor.empty() ? outs.front() : opts.scatterTensor;
    auto t = runs.truth.tensors.find(chosen), c = runs.candidate.tensors.find(chosen);
    if (t == runs.truth.tensors.end() || c == runs.candidate.tensors.end())
      throw Error("--scatter-tensor '" + chosen + "' is not a tensor of the model");
    j["scatter"] = parity::scatterJson(chosen, t->second, c->second);
    j["histogram"] = parity::histogramJson(chosen, t->second, c->second);
    if (!opts.json.empty())
      writeFileAtomically(opts.json, j.dump(1) + "\n");
    if (!opts.html.empty())
      writeFileAtomically(opts.html, parity::renderHtml(j));
  }
  return pass ? 0 : 1;
}

} // namespace plumb
