// IR walker: binds values to tensors, converts attributes, calls one kernel per op, frees
// tensors after their last use and checks results against the IR's types.
#include "backends/reference/Interpreter.h"

#include "backends/reference/Walker.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace plumb::ref {
namespace {

AttrValue convertAttr(Attribute a) {
  AttrValue v;
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    v.kind = AttrValue::Kind::Int;
    v.i = i.getValue().getSExtValue();
  } else if (auto f = dyn_cast<FloatAttr>(a)) {
    v.kind = AttrValue::Kind::Float;
    v.f = f.getValueAsDouble();
  } else if (auto s = dyn_cast<StringAttr>(a)) {
    v.kind = AttrValue::Kind::String;
    v.s = s.str();
  } else if (auto e = dyn_cast<ElementsAttr>(a)) {
    v.kind = AttrValue::Kind::Tensor;
    v.t = tensorFromAttr(e);
  } else if (auto arr = dyn_cast<ArrayAttr>(a)) {
    v.kind = AttrValue::Kind::Ints;
    for (Attribute x : arr) {
      if (auto i = dyn_cast<IntegerAttr>(x)) {
        v.ints.push_back(i.getInt());
      } else if (auto f = dyn_cast<FloatAttr>(x)) {
        v.kind = AttrValue::Kind::Floats;
        v.floats.push_back(f.getValueAsDouble());
      } else if (auto s = dyn_cast<StringAttr>(x)) {
        v.kind = AttrValue::Kind::Strings;
        v.strings.push_back(s.str());
      }
    }
  }
  return v;
}

// Rounds float tensors through the simulated dtype (f16/bf16) and back.
Tensor roundThrough(const Tensor &t, DType to) {
  if (!isFloat(t.dtype()) || t.dtype() == DType::F64)
    return t;
  return t.cast(to).cast(t.dtype());
}

Tensor constantValue(ConstantOp op, const RunOptions &opts_) {
  Tensor t;
  Builder b(op.getContext());
  if (auto v = op.getValueAttr())
    t = tensorFromAttr(v);
  else if (auto f = op.getValueFloatAttr())
    t = Tensor::scalarF32(float(f.getValueAsDouble()));
  else if (auto fs = op.getValueFloatsAttr()) {
    std::vector<float> v;
    for (Attribute a : fs)
      v.push_back(float(cast<FloatAttr>(a).getValueAsDouble()));
    t = Tensor::fromVector(DType::F32, {int64_t(v.size())}, v);
  } else if (auto i = op.getValueIntAttr())
    t = Tensor::scalarI64(i.getInt());
  else if (auto is = op.getValueIntsAttr()) {
    std::vector<int64_t> v;
    for (Attribute a : is)
      v.push_back(cast<IntegerAttr>(a).getInt());
    t = Tensor::fromVector(DType::I64, {int64_t(v.size())}, v);
  }
  if (opts_.precision == Precision::F64 && isFloat(t.dtype()) && t.dtype() != DType::F64)
    t = t.cast(DType::F64);
  return t;
}

// Narrow f16/bf16 results back (F32 runs) and check the kernel against the IR's type: a
// mismatch means shape inference and the kernel disagree, which is a bug worth stopping on.
void checkResult(Operation *op, unsigned i, Tensor &t, const std::string &node,
                 Precision precision) {
  auto type = dyn_cast<TensorType>(op->getResult(i).getType());
  if (!type)
    return;
  std::optional<DType> declared = dtypeOf(type.getElementType());
  if (declared && *declared != t.dtype()) {
    bool widened = isFloat(*declared) && isFloat(t.dtype()) &&
                   (precision == Precision::F64 || *declared == DType::F16 ||
                    *declared == DType::BF16);
    if (widened && precision == Precision::F32)
      t = t.cast(*declared);
    else if (!widened)
      throw Error("node '" + node + "' (" + onnxOpType(op).str() + "): result " +
                  std::to_string(i) + " is " + t.describe() + ", the IR declares " +
                  typeToString(type));
  }
  if (auto ranked = dyn_cast<RankedTensorType>(type)) {
    bool ok = ranked.getRank() == t.rank();
    for (int64_t d = 0; ok && d < t.rank(); ++d)
      ok = ranked.isDynamicDim(unsigned(d)) || ranked.getDimSize(unsigned(d)) == t.dim(d);
    if (!ok)
      throw Error("node '" + node + "' (" + onnxOpType(op).str() + "): result " +
                  std::to_string(i) + " has shape " + shapeToString(t.shape()) +
                  ", the IR declares " + typeToString(type));
  }
}

// Converts the op's attributes and calls its reference kernel (the walker and evaluateOp
// share this so that folding computes exactly what interpretation would).
std::vector<Tensor> callKernel(Operation *op, const std::vector<const Tensor *> &inputs,
                               int64_t opset, Precision precision) {
  Attrs attrs = attrsOf(op);
  KernelCall call;
  call.opType = onnxOpType(op).str();
  call.nodeName = nodeNameOf(op);
  call.opset = opset;
  call.inputs = inputs;
  call.attrs = &attrs;
  call.precision = precision;
  call.numOutputs = op->getNumResults();
  return runKernel(call);
}

// The model's default-domain opset (17 when the module does not say).
int64_t opsetOf(Operation *op) {
  if (auto module = op->getParentOfType<ModuleOp>())
    if (auto a = module->getAttrOfType<IntegerAttr>(kOpsetAttr))
      return a.getInt();
  return 17;
}

void checkTensor(const std::string &what, TensorType type, const Tensor &t) {
  std::optional<DType> dt = dtypeOf(type.getElementType());
  if (dt && *dt != t.dtype())
    throw Error(what + " must be " + dtypeName(*dt) + ", got " + t.describe());
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return;
  bool ok = ranked.getRank() == t.rank();
  for (int64_t d = 0; ok && d < t.rank(); ++d)
    ok = ranked.isDynamicDim(unsigned(d)) || ranked.getDimSize(unsigned(d)) == t.dim(d);
  if (!ok)
    throw Error(what + " must have shape " + typeToString(type) + ", got " + t.describe());
}

// Checks a run-time value against an argument type (tensor, sequence or optional).
void checkValue(const std::string &what, Type type, const RefValue &v) {
  if (auto opt = dyn_cast<OptType>(type)) {
    if (!v.isEmpty())
      checkValue(what, opt.getElementType(), v);
    return;
  }
  if (auto seq = dyn_cast<SeqType>(type)) {
    if (!v.isSequence())
      throw Error(what + " must be a sequence, got " + v.describe());
    for (size_t i = 0; i < v.sequence.size(); ++i)
      checkTensor(what + " element " + std::to_string(i), seq.getElementType(), v.sequence[i]);
    return;
  }
  if (!v.isTensor())
    throw Error(what + " must be a tensor, got " + v.describe());
  checkTensor(what, cast<TensorType>(type), v.tensor);
}

void checkInputs(func::FuncOp fn, const std::vector<RefValue> &inputs) {
  if (inputs.size() != fn.getNumArguments())
    throw Error("the model takes " + std::to_string(fn.getNumArguments()) + " inputs, got " +
                std::to_string(inputs.size()));
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto nameAttr = fn.getArgAttrOfType<StringAttr>(i, kNameAttr);
    std::string name = nameAttr ? nameAttr.str() : "#" + std::to_string(i);
    checkValue("input '" + name + "'", fn.getArgument(i).getType(), inputs[i]);
  }
}

Tensor widened(const Tensor &t, Precision p) {
  return p == Precision::F64 && isFloat(t.dtype()) ? t.cast(DType::F64) : t;
}

} // namespace

bool Walker::roundsHere(Operation *op) const {
  return opts_.roundTo && !isa<FusionOp>(op) && op->getNumRegions() == 0 &&
         !opts_.keepF32.count(nodeNameOf(op));
}

const RefValue *Walker::lookup(Value v) const {
  auto it = env_.find(v);
  if (it != env_.end())
    return &it->second;
  return parent_ ? parent_->lookup(v) : nullptr;
}

void Walker::bind(Operation *op, unsigned i, RefValue v) {
  std::string name = tensorNameOf(op, i);
  if (v.isTensor() && !opts_.overrides.empty() && !name.empty()) {
    auto it = opts_.overrides.find(name);
    if (it != opts_.overrides.end()) {
      if (it->second.shape() != v.tensor.shape())
        throw Error("reference tensor '" + name + "' has shape " +
                    shapeToString(it->second.shape()) + ", the model produces " +
                    shapeToString(v.tensor.shape()));
      v.tensor = it->second.dtype() == v.tensor.dtype() ? it->second
                                                        : it->second.cast(v.tensor.dtype());
    }
  }
  if (v.isTensor() && opts_.onTensor && !name.empty())
    opts_.onTensor(name, v.tensor);
  if (!op->getResult(i).use_empty())
    env_[op->getResult(i)] = std::move(v);
}

SmallVector<Value> capturedValues(Operation *op) {
  llvm::SetVector<Value> used;
  getUsedValuesDefinedAbove(op->getRegions(), used);
  return SmallVector<Value>(used.begin(), used.end());
}

std::vector<RefValue> Walker::runTensorOp(Operation *op, const std::vector<const RefValue *> &in) {
  std::vector<const Tensor *> inputs;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] && !in[i]->isTensor())
      throw Error("node '" + nodeNameOf(op) + "' (" + onnxOpType(op).str() + "): input " +
                  std::to_string(i) + " is " + in[i]->describe() + ", expected a tensor");
    inputs.push_back(in[i] ? &in[i]->tensor : nullptr);
  }
  // Simulated reduced precision: a node not kept in f32 sees its float inputs (weights
  // included) rounded to the half type and rounds its results (in runOp).
  std::vector<Tensor> rounded;
  if (roundsHere(op)) {
    rounded.reserve(inputs.size());
    for (const Tensor *&t : inputs)
      if (t && isFloat(t->dtype()) && t->dtype() != DType::F64) {
        rounded.push_back(roundThrough(*t, *opts_.roundTo));
        t = &rounded.back();
      }
  }
  std::vector<RefValue> out;
  for (Tensor &t : callKernel(op, inputs, opset_, opts_.precision))
    out.push_back(RefValue::of(std::move(t)));
  return out;
}

void Walker::runOp(Operation *op) {
  if (isa<NoneOp>(op))
    return;
  if (auto c = dyn_cast<ConstantOp>(op)) {
    bind(op, 0, RefValue::of(constantValue(c, opts_)));
    return;
  }
  std::vector<const RefValue *> inputs;
  for (Value v : op->getOperands()) {
    if (isa<NoneType>(v.getType())) {
      inputs.push_back(nullptr);
      continue;
    }
    const RefValue *rv = lookup(v);
    if (!rv)
      throw Error("internal: operand of '" + nodeNameOf(op) + "' has no value");
    inputs.push_back(rv);
  }
  std::vector<RefValue> results;
  std::string type = onnxOpType(op).str();
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    std::vector<RefValue> args;
    for (const RefValue *v : inputs)
      args.push_back(v ? *v : RefValue());
    Walker inner(opts_, opset_);
    results = inner.runBlock(fusion.getBody().front(), args);
  } else if (op->getNumRegions() > 0) {
    results = runRegionOp(op, inputs);
  } else if (isValueOp(type)) {
    Attrs attrs = attrsOf(op);
    KernelCall call;
    call.opType = type;
    call.nodeName = nodeNameOf(op);
    call.opset = opset_;
    call.attrs = &attrs;
    call.precision = opts_.precision;
    call.numOutputs = op->getNumResults();
    results = runValueKernel(call, inputs);
  } else {
    results = runTensorOp(op, inputs);
  }
  if (results.size() != op->getNumResults())
    throw Error("internal: node '" + nodeNameOf(op) + "' produced " +
                std::to_string(results.size()) + " values for " +
                std::to_string(op->getNumResults()) + " results");
  // Release operands (and values its regions captured) whose last use this was.
  auto release = [&](Value v) {
    auto it = remainingUses_.find(v);
    if (it != remainingUses_.end() && --it->second == 0)
      env_.erase(v);
  };
  for (Value v : op->getOperands())
    release(v);
  if (op->getNumRegions() > 0 && !isa<FusionOp>(op))
    for (Value v : capturedValues(op))
      release(v);
  std::string node = nodeNameOf(op);
  for (unsigned i = 0; i < op->getNumResults(); ++i) {
    if (results[i].isTensor() && !isa<FusionOp>(op)) {
      checkResult(op, i, results[i].tensor, node, opts_.precision);
      if (roundsHere(op))
        results[i].tensor = roundThrough(results[i].tensor, *opts_.roundTo);
    }
    bind(op, i, std::move(results[i]));
  }
}

std::vector<RefValue> Walker::runBlock(Block &block, const std::vector<RefValue> &args) {
  for (auto [arg, v] : llvm::zip(block.getArguments(), args))
    if (!v.isTensor() || v.tensor.defined())
      env_[arg] = v;
  for (Operation &op : block) {
    for (Value v : op.getOperands())
      ++remainingUses_[v];
    if (op.getNumRegions() > 0 && !isa<FusionOp>(&op))
      for (Value v : capturedValues(&op))
        ++remainingUses_[v];
  }
  std::vector<RefValue> out;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      for (Value v : op.getOperands()) {
        const RefValue *rv = isa<NoneType>(v.getType()) ? nullptr : lookup(v);
        if (!rv && !isa<NoneType>(v.getType()))
          throw Error("internal: a result has no value");
        out.push_back(rv ? *rv : RefValue::empty());
      }
      break;
    }
    runOp(&op);
  }
  return out;
}

std::vector<RefValue> interpretValues(Operation *funcOp, const std::vector<RefValue> &inputs,
                                     const RunOptions &opts) {
  auto fn = cast<func::FuncOp>(funcOp);
  checkInputs(fn, inputs);
  std::vector<RefValue> args = inputs;
  for (RefValue &v : args) {
    v.tensor = widened(v.tensor, opts.precision);
    for (Tensor &t : v.sequence)
      t = widened(t, opts.precision);
  }
  Walker walker(opts, opsetOf(fn));
  std::vector<RefValue> out = walker.runBlock(fn.getBody().front(), args);
  for (RefValue &v : out) { // detach from attribute memory owned by the MLIR context
    if (v.isTensor())
      v.tensor = v.tensor.clone();
    for (Tensor &t : v.sequence)
      t = t.clone();
  }
  return out;
}

std::vector<Tensor> interpret(Operation *funcOp, const std::vector<Tensor> &inputs,
                              const RunOptions &opts) {
  std::vector<RefValue> args;
  for (const Tensor &t : inputs)
    args.push_back(RefValue::of(t));
  std::vector<Tensor> out;
  for (RefValue &v : interpretValues(funcOp, args, opts)) {
    if (!v.isTensor())
      throw Error("output " + std::to_string(out.size()) + " is " + v.describe() +
                  ": sequence and optional outputs cannot be written as tensors");
    out.push_back(std::move(v.tensor));
  }
  return out;
}

std::vector<Tensor> evaluateOp(Operation *op, const std::vector<const Tensor *> &inputs,
                               Precision precision) {
  std::vector<Tensor> results;
  if (auto fusion = dyn_cast<FusionOp>(op)) {
    std::vector<RefValue> args;
    for (const Tensor *t : inputs)
      args.push_back(t ? RefValue::of(*t) : RefValue());
    RunOptions opts;
    opts.precision = precision;
    Walker inner(opts, opsetOf(op));
    for (RefValue &v : inner.runBlock(fusion.getBody().front(), args))
      results.push_back(v.tensor);
  } else {
    if (op->getNumRegions() > 0 || isValueOp(onnxOpType(op)))
      throw Error("node '" + nodeNameOf(op) + "' (" + onnxOpType(op).str() +
                  "): control-flow, sequence and optional ops are not evaluated one at a time");
    results = callKernel(op, inputs, opsetOf(op), precision);
    std::string node = nodeNameOf(op);
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      checkResult(op, i, results[i], node, precision);
  }
  for (Tensor &t : results)
    t = t.clone(); // kernels may return views of their inputs (Reshape, Identity)
  return results;
}

Attrs attrsOf(Operation *op) {
  Attrs attrs;
  for (NamedAttribute a : op->getAttrs())
    attrs.set(a.getName().str(), convertAttr(a.getValue()));
  return attrs;
}

} // namespace plumb::ref
