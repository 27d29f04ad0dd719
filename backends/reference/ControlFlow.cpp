// The interpreter's control flow: If, Loop, Scan (both the opset-8 batched form and the
// opset-9+ form) and SequenceMap, each body run by a nested walker that sees the enclosing
// values.
#include "backends/reference/Walker.h"

#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include <limits>

using namespace mlir;

namespace plumb::ref {
namespace {

[[noreturn]] void failAt(Operation *op, const std::string &msg) {
  throw Error("node '" + nodeNameOf(op) + "' (" + onnxOpType(op).str() + "): " + msg);
}

bool truthy(Operation *op, const RefValue *v, const char *what) {
  if (!v || !v->isTensor() || v->tensor.numel() != 1)
    failAt(op, std::string(what) + " must be a one-element tensor, got " +
                   (v ? v->describe() : std::string("nothing")));
  return v->tensor.getAsDouble(0) != 0;
}

Tensor boolScalar(bool b) {
  return Tensor::fromVector(DType::Bool, {}, std::vector<uint8_t>{uint8_t(b)});
}

// Slice `index` of `t` along `axis`, without that axis.
Tensor take(const Tensor &t, int64_t axis, int64_t index) {
  Tensor s = sliceAlong(t, axis, index, 1);
  Shape shape = t.shape();
  shape.erase(shape.begin() + axis);
  return s.reshaped(shape);
}

// Stacks per-iteration outputs on `axis`; with no iterations, an empty tensor whose other
// dims come from the result type where it knows them.
Tensor stackOutputs(Operation *op, unsigned result, const std::vector<Tensor> &parts, int64_t axis,
                    Precision precision) {
  if (!parts.empty()) {
    for (const Tensor &p : parts)
      if (p.dtype() != parts[0].dtype() || p.shape() != parts[0].shape())
        failAt(op, "scan output " + std::to_string(result) + " changes from " +
                       parts[0].describe() + " to " + p.describe() + " between iterations");
    int64_t rank = parts[0].rank() + 1;
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
      failAt(op, "scan output axis " + std::to_string(axis) + " out of range");
    return stackAlong(parts, a);
  }
  auto type = dyn_cast<TensorType>(op->getResult(result).getType());
  std::optional<DType> dt = type ? dtypeOf(type.getElementType()) : std::nullopt;
  if (!dt)
    failAt(op, "cannot tell the element type of empty scan output " + std::to_string(result));
  if (precision == Precision::F64 && isFloat(*dt))
    dt = DType::F64;
  Shape shape{0};
  if (auto ranked = dyn_cast<RankedTensorType>(type)) {
    shape.assign(size_t(ranked.getRank()), 0);
    for (int64_t d = 0; d < ranked.getRank(); ++d)
      if (d != axis && !ranked.isDynamicDim(unsigned(d)))
        shape[size_t(d)] = ranked.getDimSize(unsigned(d));
    bool known = true;
    for (int64_t d = 0; d < ranked.getRank(); ++d)
      known = known && (d == axis || !ranked.isDynamicDim(unsigned(d)));
    if (!known)
      shape = {0};
  }
  return Tensor::zeros(*dt, shape);
}

std::vector<int64_t> intsOr(Operation *op, StringRef name, size_t n, int64_t def) {
  std::vector<int64_t> v(n, def);
  if (auto a = op->getAttrOfType<ArrayAttr>(name))
    for (size_t i = 0; i < a.size() && i < n; ++i)
      v[i] = cast<IntegerAttr>(a[i]).getInt();
  return v;
}

const Tensor &tensorOf(Operation *op, const RefValue *v, const std::string &what) {
  if (!v || !v->isTensor())
    failAt(op, what + " must be a tensor, got " + (v ? v->describe() : std::string("nothing")));
  return v->tensor;
}

} // namespace

std::vector<RefValue> Walker::runBody(Region &body, const std::vector<RefValue> &args) const {
  // Bodies that run per iteration (Loop, Scan, SequenceMap) produce per-iteration values,
  // not graph tensors: they are neither reported nor overridden by name.
  RunOptions quiet = opts_;
  quiet.onTensor = nullptr;
  quiet.overrides.clear();
  Walker inner(quiet, opset_, this);
  return inner.runBlock(body.front(), args);
}

std::vector<RefValue> Walker::runRegionOp(Operation *op, const std::vector<const RefValue *> &in) {
  if (isa<IfOp>(op))
    return runIf(op, in);
  if (isa<LoopOp>(op))
    return runLoop(op, in);
  if (isa<ScanOp>(op))
    return runScan(op, in);
  if (isa<SequenceMapOp>(op))
    return runSequenceMap(op, in);
  failAt(op, "unsupported op with regions");
}

std::vector<RefValue> Walker::runIf(Operation *op, const std::vector<const RefValue *> &in) {
  auto ifOp = cast<IfOp>(op);
  Region &branch = truthy(op, in[0], "cond") ? ifOp.getThenBranch() : ifOp.getElseBranch();
  // A branch runs once: its tensors are graph tensors like any other (reported by name).
  Walker inner(opts_, opset_, this);
  return inner.runBlock(branch.front(), {});
}

std::vector<RefValue> Walker::runLoop(Operation *op, const std::vector<const RefValue *> &in) {
  auto loop = cast<LoopOp>(op);
  int64_t maxTrip = std::numeric_limits<int64_t>::max();
  if (in[0])
    maxTrip = tensorOf(op, in[0], "M").getAsInt(0);
  bool cond = in[1] ? truthy(op, in[1], "cond") : true;
  std::vector<RefValue> carried;
  for (size_t i = 2; i < in.size(); ++i)
    carried.push_back(in[i] ? *in[i] : RefValue::empty());
  size_t n = carried.size();
  size_t k = op->getNumResults() - n;
  std::vector<std::vector<Tensor>> scans(k);
  for (int64_t i = 0; i < maxTrip && cond; ++i) {
    std::vector<RefValue> args{RefValue::of(Tensor::scalarI64(i)), RefValue::of(boolScalar(cond))};
    args.insert(args.end(), carried.begin(), carried.end());
    std::vector<RefValue> out = runBody(loop.getBody(), args);
    cond = truthy(op, &out[0], "the body's cond output");
    for (size_t j = 0; j < n; ++j)
      carried[j] = std::move(out[1 + j]);
    for (size_t j = 0; j < k; ++j)
      scans[j].push_back(tensorOf(op, &out[1 + n + j], "scan output " + std::to_string(j)));
  }
  std::vector<RefValue> results = std::move(carried);
  for (size_t j = 0; j < k; ++j)
    results.push_back(
        RefValue::of(stackOutputs(op, unsigned(n + j), scans[j], 0, opts_.precision)));
  return results;
}

std::vector<RefValue> Walker::runScan(Operation *op, const std::vector<const RefValue *> &in) {
  auto scan = cast<ScanOp>(op);
  bool v8 = opset_ < 9;
  std::vector<const RefValue *> inputs(in.begin() + (v8 ? 1 : 0), in.end());
  size_t m = size_t(scan.getNumScanInputs());
  size_t n = inputs.size() - m;
  size_t k = op->getNumResults() - n;
  std::vector<int64_t> inAxes = intsOr(op, "scan_input_axes", m, 0);
  std::vector<int64_t> inDirs = intsOr(op, v8 ? "directions" : "scan_input_directions", m, 0);
  std::vector<int64_t> outAxes = intsOr(op, "scan_output_axes", k, 0);
  std::vector<int64_t> outDirs = intsOr(op, "scan_output_directions", k, 0);
  if (v8)
    std::fill(inAxes.begin(), inAxes.end(), 0); // the sequence axis, once the batch is taken

  // One scan over `states` and `xs` (already without a batch axis).
  auto scanOnce = [&](std::vector<RefValue> states, const std::vector<Tensor> &xs,
                      std::vector<RefValue> &results) {
    int64_t len = -1;
    for (size_t j = 0; j < m; ++j) {
      int64_t r = xs[j].rank();
      int64_t a = inAxes[j] < 0 ? inAxes[j] + r : inAxes[j];
      if (a < 0 || a >= r)
        failAt(op, "scan_input_axes entry " + std::to_string(inAxes[j]) + " out of range for " +
                       xs[j].describe());
      inAxes[j] = a;
      if (len >= 0 && xs[j].dim(a) != len)
        failAt(op, "scan inputs disagree on the sequence length");
      len = xs[j].dim(a);
    }
    std::vector<std::vector<Tensor>> outs(k);
    for (int64_t t = 0; t < len; ++t) {
      std::vector<RefValue> args = states;
      for (size_t j = 0; j < m; ++j)
        args.push_back(RefValue::of(take(xs[j], inAxes[j], inDirs[j] ? len - 1 - t : t)));
      std::vector<RefValue> out = runBody(scan.getBody(), args);
      for (size_t s = 0; s < n; ++s)
        states[s] = std::move(out[s]);
      for (size_t j = 0; j < k; ++j)
        outs[j].push_back(tensorOf(op, &out[n + j], "scan output " + std::to_string(j)));
    }
    results = std::move(states);
    for (size_t j = 0; j < k; ++j) {
      if (outDirs[j])
        std::reverse(outs[j].begin(), outs[j].end());
      results.push_back(RefValue::of(
          stackOutputs(op, unsigned(n + j), outs[j], v8 ? 0 : outAxes[j], opts_.precision)));
    }
  };

  if (!v8) {
    std::vector<RefValue> states;
    for (size_t s = 0; s < n; ++s)
      states.push_back(RefValue::of(tensorOf(op, inputs[s], "state " + std::to_string(s))));
    std::vector<Tensor> xs;
    for (size_t j = 0; j < m; ++j)
      xs.push_back(tensorOf(op, inputs[n + j], "scan input " + std::to_string(j)));
    std::vector<RefValue> results;
    scanOnce(states, xs, results);
    return results;
  }
  // Opset 8: every input has a batch axis 0; each batch entry is scanned on its own.
  int64_t batch = tensorOf(op, inputs[0], "input 1").dim(0);
  if (in[0]) {
    const Tensor &lens = tensorOf(op, in[0], "sequence_lens");
    int64_t full = tensorOf(op, inputs[n], "scan input 0").dim(1);
    for (int64_t b = 0; b < lens.numel(); ++b)
      if (lens.getAsInt(b) != full)
        failAt(op, "sequence_lens shorter than the scan inputs are not supported");
  }
  std::vector<std::vector<Tensor>> perBatch(n + k);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<RefValue> states;
    for (size_t s = 0; s < n; ++s)
      states.push_back(RefValue::of(take(tensorOf(op, inputs[s], "state"), 0, b)));
    std::vector<Tensor> xs;
    for (size_t j = 0; j < m; ++j)
      xs.push_back(take(tensorOf(op, inputs[n + j], "scan input"), 0, b));
    std::vector<RefValue> results;
    scanOnce(states, xs, results);
    for (size_t r = 0; r < n + k; ++r)
      perBatch[r].push_back(tensorOf(op, &results[r], "result"));
  }
  std::vector<RefValue> results;
  for (size_t r = 0; r < n + k; ++r)
    results.push_back(RefValue::of(stackOutputs(op, unsigned(r), perBatch[r], 0, opts_.precision)));
  return results;
}

std::vector<RefValue> Walker::runSequenceMap(Operation *op,
                                             const std::vector<const RefValue *> &in) {
  auto map = cast<SequenceMapOp>(op);
  if (!in[0] || !in[0]->isSequence())
    failAt(op, "input 0 must be a sequence");
  size_t len = in[0]->sequence.size();
  for (size_t j = 1; j < in.size(); ++j)
    if (in[j] && in[j]->isSequence() && in[j]->sequence.size() != len)
      failAt(op, "input " + std::to_string(j) + " has " + std::to_string(in[j]->sequence.size()) +
                     " elements, input 0 has " + std::to_string(len));
  std::vector<std::vector<Tensor>> outs(op->getNumResults());
  for (size_t i = 0; i < len; ++i) {
    std::vector<RefValue> args{RefValue::of(in[0]->sequence[i])};
    for (size_t j = 1; j < in.size(); ++j) {
      if (!in[j] || !in[j]->isSequence())
        args.push_back(in[j] ? *in[j] : RefValue::empty());
      else
        args.push_back(RefValue::of(in[j]->sequence[i]));
    }
    std::vector<RefValue> out = runBody(map.getBody(), args);
    for (size_t r = 0; r < outs.size(); ++r)
      outs[r].push_back(tensorOf(op, &out[r], "body output " + std::to_string(r)));
  }
  std::vector<RefValue> results;
  for (auto &o : outs)
    results.push_back(RefValue::ofSequence(std::move(o)));
  return results;
}

} // namespace plumb::ref
