// Plan construction helpers and the structural checks every executor relies on.
#include "runtime/Plan.h"

#include "runtime/Error.h"
#include "runtime/Packing.h"

namespace plumb {

const char *bufferKindName(BufferKind k) {
  switch (k) {
  case BufferKind::Input:
    return "input";
  case BufferKind::Output:
    return "output";
  case BufferKind::Constant:
    return "constant";
  case BufferKind::Intermediate:
    return "intermediate";
  }
  return "?";
}

const char *layoutName(Layout l) {
  return l == Layout::ChannelBlocked ? "channel-blocked" : "plain";
}

bool channelBlockable(DType dtype, const Shape &shape) {
  return dtype == DType::F32 && shape.size() >= 3 && shape.size() <= 5 && shape[1] > 0 &&
         shape[1] % 16 == 0;
}

int Plan::addBuffer(BufferKind kind, DType dtype, Shape shape, std::string name,
                    plumb::Tensor constant) {
  Buffer b;
  b.id = int(buffers.size());
  b.dtype = dtype;
  b.shape = std::move(shape);
  b.kind = kind;
  b.name = std::move(name);
  b.constant = std::move(constant);
  buffers.push_back(std::move(b));
  return buffers.back().id;
}

int Plan::addInput(DType dtype, Shape shape, std::string name) {
  int id = addBuffer(BufferKind::Input, dtype, std::move(shape), std::move(name));
  inputs.push_back(id);
  return id;
}

int Plan::addOutput(DType dtype, Shape shape, std::string name) {
  int id = addBuffer(BufferKind::Output, dtype, std::move(shape), std::move(name));
  outputs.push_back(id);
  return id;
}

int Plan::addConstant(std::string name, plumb::Tensor value) {
  DType dtype = value.dtype();
  Shape shape = value.shape();
  return addBuffer(BufferKind::Constant, dtype, std::move(shape), std::move(name),
                   std::move(value));
}

Step &Plan::addStep(std::string kernel, std::vector<int> in, std::vector<int> out,
                    std::string nodeNames) {
  Step s;
  s.kernel = std::move(kernel);
  s.inputs = std::move(in);
  s.outputs = std::move(out);
  s.nodeNames = std::move(nodeNames);
  steps.push_back(std::move(s));
  return steps.back();
}

namespace {

[[noreturn]] void bad(const std::string &msg) { throw Error("invalid plan: " + msg); }

std::string stepLabel(const Plan &plan, size_t i) {
  const Step &s = plan.steps[i];
  return "step " + std::to_string(i) + " (" + s.kernel +
         (s.nodeNames.empty() ? "" : ", nodes '" + s.nodeNames + "'") + ")";
}

void validateBuffers(const Plan &plan) {
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer &b = plan.buffers[i];
    if (b.id != int(i))
      bad("buffer '" + b.name + "' has id " + std::to_string(b.id) + " at index " +
          std::to_string(i));
    for (int64_t d : b.shape)
      if (d < 0)
        bad("buffer '" + b.name + "' has a dynamic or negative shape " + shapeToString(b.shape));
    bool isConst = b.kind == BufferKind::Constant;
    if (!b.packing.empty()) {
      if (!isConst || !b.constant.defined() || b.constant.dtype() != DType::U8 ||
          b.constant.shape().size() != 1)
        bad(std::string(bufferKindName(b.kind)) + " buffer '" + b.name +
            "' is packed but holds no packed bytes (constants only, stored as u8[N])");
      try {
        parsePacking(b.packing, numElements(b.shape), dtypeSize(b.dtype), b.constant.nbytes());
      } catch (const Error &e) {
        bad("constant '" + b.name + "': " + e.what());
      }
    } else if (isConst && (!b.constant.defined() || b.constant.dtype() != b.dtype ||
                           b.constant.shape() != b.shape)) {
      bad("constant '" + b.name + "' has no data of type " + dtypeName(b.dtype) + "[" +
          shapeToString(b.shape) + "]");
    }
    if (b.layout != Layout::Plain &&
        (b.kind != BufferKind::Intermediate || !channelBlockable(b.dtype, b.shape)))
      bad(std::string(bufferKindName(b.kind)) + " buffer '" + b.name + "' " + dtypeName(b.dtype) +
          "[" + shapeToString(b.shape) + "] cannot be " + layoutName(b.layout) +
          " (intermediate f32 rank 3-5 with channels a multiple of 16 only)");
    if (!isConst && b.constant.defined())
      bad(std::string(bufferKindName(b.kind)) + " buffer '" + b.name + "' carries constant data");
    if (b.runTimeShape && (b.kind == BufferKind::Constant || b.layout != Layout::Plain))
      bad(std::string(bufferKindName(b.kind)) + " buffer '" + b.name +
          "' has a run-time shape (plain inputs, intermediates and outputs only)");
  }
  auto checkList = [&](const std::vector<int> &ids, BufferKind kind, const char *what) {
    std::vector<bool> seen(plan.buffers.size(), false);
    for (int id : ids) {
      if (id < 0 || size_t(id) >= plan.buffers.size() || plan.buffers[size_t(id)].kind != kind)
        bad(std::string("graph ") + what + " id " + std::to_string(id) + " is not an " +
            bufferKindName(kind) + " buffer");
      if (seen[size_t(id)])
        bad(std::string("graph ") + what + " '" + plan.buffers[size_t(id)].name +
            "' is listed twice");
      seen[size_t(id)] = true;
    }
  };
  checkList(plan.inputs, BufferKind::Input, "input");
  // The executor binds exactly the listed inputs: an unlisted one would be read unbound.
  size_t numInputs = 0;
  for (const Buffer &b : plan.buffers)
    numInputs += b.kind == BufferKind::Input;
  if (numInputs != plan.inputs.size())
    bad(std::to_string(numInputs) + " input buffers but " + std::to_string(plan.inputs.size()) +
        " graph inputs");
  checkList(plan.outputs, BufferKind::Output, "output");
}

} // namespace

void validatePlan(const Plan &plan) {
  validateBuffers(plan);
  std::vector<bool> ready(plan.buffers.size(), false);
  for (const Buffer &b : plan.buffers)
    ready[size_t(b.id)] = b.kind == BufferKind::Input || b.kind == BufferKind::Constant;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    if (s.inPlaceInput < -1 || s.inPlaceInput >= int(s.inputs.size()) ||
        (s.inPlaceInput >= 0 && (s.outputs.empty() || s.inputs[size_t(s.inPlaceInput)] < 0)))
      bad(stepLabel(plan, i) + " has in-place input " + std::to_string(s.inPlaceInput) +
          ", which is not one of its inputs");
    if (!s.outputNames.empty() && s.outputNames.size() != s.outputs.size())
      bad(stepLabel(plan, i) + " has " + std::to_string(s.outputNames.size()) +
          " output names for " + std::to_string(s.outputs.size()) + " outputs");
    for (int id : s.inputs) {
      if (id == -1)
        continue;
      if (id < 0 || size_t(id) >= plan.buffers.size())
        bad(stepLabel(plan, i) + " reads unknown buffer " + std::to_string(id));
      if (!ready[size_t(id)])
        bad(stepLabel(plan, i) + " reads '" + plan.buffers[size_t(id)].name +
            "' before any step writes it");
    }
    for (int id : s.outputs) {
      if (id == -1)
        continue;
      if (id < 0 || size_t(id) >= plan.buffers.size())
        bad(stepLabel(plan, i) + " writes unknown buffer " + std::to_string(id));
      const Buffer &b = plan.buffers[size_t(id)];
      if (b.kind != BufferKind::Output && b.kind != BufferKind::Intermediate)
        bad(stepLabel(plan, i) + " writes " + bufferKindName(b.kind) + " buffer '" + b.name + "'");
      if (ready[size_t(id)])
        bad(stepLabel(plan, i) + " writes '" + b.name + "', which an earlier step wrote");
      ready[size_t(id)] = true;
    }
  }
  for (int id : plan.outputs)
    if (!ready[size_t(id)])
      bad("graph output '" + plan.buffers[size_t(id)].name + "' is never written");
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Step &s = plan.steps[i];
    for (const Plan &body : s.bodies) { // how its inputs and outputs map: the kernel's rule
      try {
        validatePlan(body);
      } catch (const Error &e) {
        std::string m = e.what();
        bad(stepLabel(plan, i) + ", a body: " + m.substr(m.rfind("invalid plan: ", 0) == 0 ? 14 : 0));
      }
    }
  }
}

} // namespace plumb
