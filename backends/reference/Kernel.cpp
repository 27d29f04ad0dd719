// Attribute access, the kernel registry and the precision handling around every kernel call.
#include "backends/reference/Kernel.h"

namespace plumb::ref {

const AttrValue *Attrs::find(const std::string &name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

int64_t Attrs::getInt(const std::string &name, int64_t def) const {
  const AttrValue *v = find(name);
  return v ? v->i : def;
}
double Attrs::getFloat(const std::string &name, double def) const {
  const AttrValue *v = find(name);
  return v ? v->f : def;
}
std::string Attrs::getString(const std::string &name, const std::string &def) const {
  const AttrValue *v = find(name);
  return v ? v->s : def;
}
std::vector<int64_t> Attrs::getInts(const std::string &name, std::vector<int64_t> def) const {
  const AttrValue *v = find(name);
  return v ? v->ints : def;
}
std::vector<double> Attrs::getFloats(const std::string &name, std::vector<double> def) const {
  const AttrValue *v = find(name);
  return v ? v->floats : def;
}
const plumb::Tensor *Attrs::getTensor(const std::string &name) const {
  const AttrValue *v = find(name);
  return v && v->kind == AttrValue::Kind::Tensor ? &v->t : nullptr;
}
int64_t Attrs::requireInt(const std::string &name) const {
  const AttrValue *v = find(name);
  if (!v)
    throw Error("missing required attribute '" + name + "'");
  return v->i;
}
std::vector<int64_t> Attrs::requireInts(const std::string &name) const {
  const AttrValue *v = find(name);
  if (!v)
    throw Error("missing required attribute '" + name + "'");
  return v->ints;
}

const plumb::Tensor &KernelCall::in(size_t i) const {
  const plumb::Tensor *t = input(i);
  if (!t)
    fail("missing required input " + std::to_string(i));
  return *t;
}

void KernelCall::fail(const std::string &msg) const {
  throw Error("node '" + nodeName + "' (" + opType + "): " + msg);
}

KernelRegistry &KernelRegistry::instance() {
  static KernelRegistry *reg = [] {
    auto *r = new KernelRegistry();
    registerElementwiseKernels(*r);
    registerReductionKernels(*r);
    registerNormKernels(*r);
    registerLinalgKernels(*r);
    registerConvPoolKernels(*r);
    registerResizeKernels(*r);
    registerShapeKernels(*r);
    registerIndexKernels(*r);
    registerLossKernels(*r);
    registerRecurrentKernels(*r);
    registerQuantizeKernels(*r);
    registerSignalKernels(*r);
    registerDetectionKernels(*r);
    registerMiscKernels(*r);
    registerImageKernels(*r);
    registerAttentionKernels(*r);
    registerTrainingKernels(*r);
    return r;
  }();
  return *reg;
}

const KernelFn *KernelRegistry::find(std::string_view opType) const {
  auto it = table_.find(opType);
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<std::string> KernelRegistry::opTypes() const {
  std::vector<std::string> v;
  for (const auto &kv : table_)
    v.push_back(kv.first);
  return v;
}

std::vector<plumb::Tensor> runKernel(const KernelCall &call) {
  const KernelFn *fn = KernelRegistry::instance().find(call.opType);
  if (!fn)
    call.fail("no reference kernel for op " + call.opType);
  // Widen float inputs to the compute type; keep the widened copies alive for the call.
  std::vector<plumb::Tensor> widened(call.inputs.size());
  KernelCall c = call;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const plumb::Tensor *t = c.inputs[i];
    if (!t || !isFloat(t->dtype()))
      continue;
    DType target = t->dtype();
    if (call.precision == Precision::F64)
      target = DType::F64;
    else if (target == DType::F16 || target == DType::BF16)
      target = DType::F32;
    if (target != t->dtype()) {
      widened[i] = t->cast(target);
      c.inputs[i] = &widened[i];
    }
  }
  std::vector<plumb::Tensor> out = (*fn)(c);
  if (out.size() < call.numOutputs)
    call.fail("kernel produced " + std::to_string(out.size()) + " outputs, node declares " +
              std::to_string(call.numOutputs));
  out.resize(call.numOutputs);
  return out;
}

} // namespace plumb::ref
