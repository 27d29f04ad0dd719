// `plumb bisect`: the first ONNX tensor where another framework's activations leave the
// model's math (telling local divergence from inherited error), and precision bisection:
// the nodes to keep in f32 so that a half-precision run passes.
#include "tools/lib/Driver.h"

#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "ir/PlumbDialect.h"
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
#include <set>

using namespace mlir;

namespace plumb {
namespace {

void writeJson(const std::string &path, const nlohmann::json &j) {
  if (path.empty())
    return;
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f)
      throw Error(path + ": cannot write");
    f << j.dump(1) << "\n";
  }
  std::filesystem::rename(tmp, path);
}

NamedTensors readActivations(const std::string &path) {
  if (std::filesystem::is_directory(path))
    return readNpyDir(path);
  return readNpz(path);
}

// The op producing each named tensor.
std::map<std::string, Operation *> producers(Operation *fn) {
  std::map<std::string, Operation *> m;
  cast<func::FuncOp>(fn).walk([&](Operation *op) {
    for (unsigned i = 0; i < op->getNumResults(); ++i) {
      std::string n = tensorNameOf(op, i);
      if (!n.empty())
        m[n] = op;
    }
  });
  return m;
}

// Nodes computing `target` from the tensors in `known` (region between the last agreeing
// reference tensors and the divergent one), in topological order.
std::vector<parity::TensorInfo> regionNodes(Operation *fn, const std::string &target,
                                            const std::set<std::string> &known) {
  std::set<Operation *> region;
  std::vector<Operation *> work;
  auto prod = producers(fn);
  if (prod.count(target))
    work.push_back(prod[target]);
  while (!work.empty()) {
    Operation *op = work.back();
    work.pop_back();
    if (!op || isa<ConstantOp, NoneOp>(op) || !region.insert(op).second)
      continue;
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!def)
        continue;
      auto res = dyn_cast<OpResult>(v);
      if (res && known.count(tensorNameOf(def, res.getResultNumber())))
        continue; // an input of the region, taken from the reference
      work.push_back(def);
    }
  }
  std::vector<parity::TensorInfo> out;
  cast<func::FuncOp>(fn).walk([&](Operation *op) {
    if (region.count(op))
      out.push_back({tensorNameOf(op, 0), nodeNameOf(op), onnxOpType(op).str()});
  });
  return out;
}

std::vector<Tensor> bisectInputs(Operation *fn, const BisectCommandOptions &opts,
                                 const NamedTensors &acts) {
  if (!opts.inputs.empty())
    return prepareInputs(fn, opts.inputs, opts.seed);
  std::vector<Tensor> inputs;
  for (const std::string &name : inputNames(fn)) {
    auto it = std::find_if(acts.begin(), acts.end(), [&](const auto &kv) { return kv.first == name; });
    if (it == acts.end())
      throw Error(opts.reference + ": has no graph input '" + name +
                  "'; pass the inputs the activations were made with (--inputs IN.npz)");
    inputs.push_back(it->second);
  }
  return inputs;
}

int bisectActivations(const BisectCommandOptions &opts, Operation *fn, const NamedTensors &acts,
                      const BackendRun *backend = nullptr) {
  std::vector<Tensor> inputs = bisectInputs(fn, opts, acts);
  // A cuda plan stored in f16/bf16 is held to that type's rule; every other mode to f32's.
  auto rule = ruleFor(opts.dtype, opts.tolerance);
  ref::RunOptions f64, f32;
  f64.precision = ref::Precision::F64;
  Capture truth = captureRun(fn, inputs, f64), floor = captureRun(fn, inputs, f32);

  parity::TensorMap ref;
  std::vector<std::string> unmatched;
  std::set<std::string> known;
  for (const auto &t : tensorOrder(fn, false))
    known.insert(t.tensor);
  std::set<std::string> graphInputs;
  for (const std::string &n : inputNames(fn))
    graphInputs.insert(n);
  for (const auto &[name, t] : acts) {
    if (known.count(name))
      ref[name] = t;
    else if (!graphInputs.count(name))
      unmatched.push_back(name);
  }
  for (const std::string &n : unmatched)
    std::cerr << "note: reference tensor '" << n << "' is not a tensor of the model; ignored\n";
  std::vector<parity::TensorInfo> order;
  for (const auto &t : tensorOrder(fn, true))
    if (ref.count(t.tensor))
      order.push_back(t);
  parity::LayerComparison cmp = parity::compareLayers(order, ref, truth.tensors, &floor.tensors, *rule);
  parity::printLayerTable(std::cout, cmp);

  nlohmann::json j = {{"tool", "plumb bisect"}, {"model", opts.model},
                      {"reference", opts.reference}, {"rule", rule->describe()},
                      {"layers", nlohmann::json::array()}, {"unmatched", unmatched}};
  for (const auto &r : cmp.rows)
    j["layers"].push_back(parity::toJson(r));

  // Walk the failing tensors in order; the first one that still fails when everything
  // before it is taken from the reference is where the executions part (local divergence).
  std::set<std::string> before;
  int lastAgree = -1;
  for (const auto &row : cmp.rows) {
    if (row.verdict.pass) {
      before.insert(row.info.tensor);
      lastAgree = row.index;
      continue;
    }
    ref::RunOptions o64, o32;
    o64.precision = ref::Precision::F64;
    for (const std::string &n : before)
      o64.overrides[n] = ref[n], o32.overrides[n] = ref[n];
    Capture t2 = captureRun(fn, inputs, o64), f2 = captureRun(fn, inputs, o32);
    parity::LayerRow local = parity::compareOne(row.info, ref[row.info.tensor],
                                                t2.tensors[row.info.tensor],
                                                &f2.tensors[row.info.tensor], *rule);
    if (local.verdict.pass) { // inherited: fine on the reference's own inputs
      before.insert(row.info.tensor);
      continue;
    }
    std::vector<parity::TensorInfo> region = regionNodes(fn, row.info.tensor, before);
    std::cout << fmt::format("\nfirst divergence: '{}' (node '{}', {})\n  {}\n", row.info.tensor,
                             row.info.node, row.info.op, row.verdict.explanation);
    std::cout << "  local: it still diverges when every earlier reference tensor is fed in ("
              << local.verdict.explanation << ")\n";
    if (backend)
      std::cout << fmt::format("  backend step: {} covering ONNX nodes [{}]\n",
                               backend->stepKernel(row.info.tensor),
                               backend->stepNodes(row.info.tensor));
    if (lastAgree >= 0)
      std::cout << fmt::format("last agreeing: '{}' (node '{}')\n",
                               cmp.rows[size_t(lastAgree)].info.tensor,
                               cmp.rows[size_t(lastAgree)].info.node);
    std::cout << "nodes in between (" << region.size() << "):\n";
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto &n : region) {
      std::cout << fmt::format("  {:<40} {}\n", n.node, n.op);
      nodes.push_back({{"node", n.node}, {"op", n.op}, {"tensor", n.tensor}});
    }
    j["divergence"] = {{"tensor", row.info.tensor}, {"node", row.info.node}, {"op", row.info.op},
                       {"index", row.index}, {"explanation", row.verdict.explanation},
                       {"local", true}, {"local_explanation", local.verdict.explanation},
                       {"last_agreeing", lastAgree >= 0 ? nlohmann::json(cmp.rows[size_t(lastAgree)].info.tensor)
                                                        : nlohmann::json(nullptr)},
                       {"nodes_between", nodes}};
    if (backend)
      j["divergence"]["step"] = {{"kernel", backend->stepKernel(row.info.tensor)},
                                 {"nodes", backend->stepNodes(row.info.tensor)}};
    j["verdict"] = "DIVERGED";
    writeJson(opts.json, j);
    return 1;
  }
  std::cout << fmt::format("\nno divergence: {} reference tensors agree with the model ({})\n",
                           cmp.rows.size(), rule->describe());
  if (!cmp.pass())
    std::cout << "  (some tensors differ beyond the rule, but only through error inherited "
                 "from earlier layers)\n";
  j["divergence"] = nullptr;
  j["verdict"] = "AGREE";
  writeJson(opts.json, j);
  return 0;
}

// ddmin-style reduction: the smallest set of nodes kept in f32 (others rounded to the half
// type) for which the graph outputs still pass the half-precision rule.
int bisectPrecision(const BisectCommandOptions &opts, Operation *fn) {
  std::vector<Tensor> inputs = prepareInputs(fn, opts.inputs, opts.seed);
  auto rule = ruleFor(opts.dtype, opts.tolerance);
  ref::RunOptions f64, f32;
  f64.precision = ref::Precision::F64;
  Capture truth = captureRun(fn, inputs, f64), floor = captureRun(fn, inputs, f32);
  std::vector<std::string> outs = outputNames(fn);
  int runs = 0;
  auto passes = [&](const std::set<std::string> &keep, std::string *why) {
    ref::RunOptions o;
    o.roundTo = opts.dtype == "f16" ? DType::F16 : DType::BF16;
    o.keepF32 = keep;
    ++runs;
    std::vector<Tensor> got = ref::interpret(fn, inputs, o);
    for (size_t i = 0; i < got.size(); ++i) {
      if (!isFloat(got[i].dtype()))
        continue;
      parity::LayerRow r = parity::compareOne({outs[i], outs[i], "output"}, got[i],
                                              truth.outputs[i], &floor.outputs[i], *rule);
      if (!r.verdict.pass) {
        if (why)
          *why = "output '" + outs[i] + "': " + r.verdict.explanation;
        return false;
      }
    }
    return true;
  };
  std::vector<std::string> nodes;
  std::set<std::string> seen;
  for (const auto &t : tensorOrder(fn, true))
    if (seen.insert(t.node).second)
      nodes.push_back(t.node);
  std::string why;
  nlohmann::json j = {{"tool", "plumb bisect"}, {"model", opts.model}, {"dtype", opts.dtype},
                      {"rule", rule->describe()}};
  if (passes({}, &why)) {
    std::cout << "the whole model passes in " << opts.dtype << " (" << rule->describe()
              << "): no node needs f32\n";
    j["keep_f32"] = nlohmann::json::array();
    j["runs"] = runs;
    writeJson(opts.json, j);
    return 0;
  }
  std::cout << "all nodes in " << opts.dtype << ": FAIL, " << why << "\n";
  // Remove chunks of the kept set while the model still passes (delta debugging's
  // complement reduction): O(k log n) runs for k nodes that must stay in f32.
  std::vector<std::string> keep = nodes;
  size_t n = 2;
  while (keep.size() >= 2) {
    size_t size = (keep.size() + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < keep.size() && !reduced; start += size) {
      std::vector<std::string> rest(keep.begin(), keep.begin() + long(start));
      rest.insert(rest.end(), keep.begin() + long(std::min(keep.size(), start + size)),
                  keep.end());
      if (passes(std::set<std::string>(rest.begin(), rest.end()), nullptr)) {
        keep = std::move(rest);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= keep.size())
        break;
      n = std::min(keep.size(), n * 2);
    }
  }
  std::set<std::string> keepSet(keep.begin(), keep.end());
  bool ok = passes(keepSet, &why);
  std::cout << fmt::format("keep these {} of {} nodes in f32 so that the model passes in {} "
                           "({}; {} runs):\n",
                           keep.size(), nodes.size(), opts.dtype, rule->describe(), runs);
  for (const std::string &node : keep)
    std::cout << "  " << node << "\n";
  j["keep_f32"] = keep;
  j["nodes"] = nodes.size();
  j["runs"] = runs;
  j["passes"] = ok;
  writeJson(opts.json, j);
  return ok ? 0 : 1;
}

} // namespace

int bisectCommand(const BisectCommandOptions &given) {
  BisectCommandOptions opts = given;
  opts.dtype = reducedDtype(given.dtype);
  if (opts.backend != "reference" && opts.backend != "cpu" && opts.backend != "cuda")
    throw Error("backend '" + opts.backend +
                "' is not available (this build has: reference, cpu, cuda)");
  // With --backend cuda, --dtype is the plan's storage type, not a mode of its own.
  bool precisionMode = !opts.dtype.empty() && opts.backend == "reference";
  int modes = !opts.reference.empty() + precisionMode + (opts.backend != "reference");
  if (modes != 1)
    throw Error("bisect needs exactly one of --backend cpu|cuda, --reference ACTS or --dtype f16|bf16");
  requireDtypeForBackend(opts.backend == "reference" ? "cuda" : opts.backend, opts.dtype);
  MLIRContext ctx;
  if (opts.backend != "reference") {
    // The backend's tensors at its fusion boundaries play the external activations.
    std::vector<Tensor> inputs;
    OwningOpRef<ModuleOp> module =
        importWithInputs(ctx, opts.model, opts.inputShapes, opts.inputs, opts.seed, inputs);
    Operation *fn = mainFunction(*module);
    CompileSettings cs;
    cs.backend = opts.backend;
    cs.dtype = opts.dtype;
    cs.shapeInputs = inputs;
    BackendRun backend(OwningOpRef<ModuleOp>(module->clone()), cs);
    Capture cap = backend.run(inputs);
    NamedTensors acts;
    std::vector<std::string> names = inputNames(fn);
    for (size_t i = 0; i < names.size(); ++i)
      acts.emplace_back(names[i], inputs[i]);
    for (auto &[name, t] : cap.tensors)
      acts.emplace_back(name, t);
    BisectCommandOptions o = opts;
    o.reference = opts.backend + " backend";
    return bisectActivations(o, fn, acts, &backend);
  }
  ImportOptions io;
  io.inputShapes = opts.inputShapes;
  OwningOpRef<ModuleOp> module = importOnnxFile(ctx, opts.model, io);
  Operation *fn = mainFunction(*module);
  return opts.reference.empty() ? bisectPrecision(opts, fn)
                                : bisectActivations(opts, fn, readActivations(opts.reference));
}

} // namespace plumb
