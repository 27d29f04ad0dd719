#include "tools/lib/SteeringInputs.h"

#include "frontend/tensorio/TensorProto.h"
#include "ir/OpRoles.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

namespace plumb {

bool bindSteeringInputs(onnx::ModelProto &model, std::vector<Tensor> &inputs,
                        const Compiled &compiled) {
  onnx::GraphProto *g = model.mutable_graph();
  std::set<std::string> initialized;
  for (const onnx::TensorProto &t : g->initializer())
    initialized.insert(t.name());
  std::vector<std::string> fed; // graph inputs the data feeds, in order
  for (const onnx::ValueInfoProto &v : g->input())
    if (!initialized.count(v.name()))
      fed.push_back(v.name());
  if (fed.size() != inputs.size())
    return false;
  std::map<std::string, std::set<int>> wanted; // node name -> operands (-1: integer ones)
#ifdef PLUMB_HAVE_CUDA
  const std::string says = "' has a non-constant operand ";
  for (const std::string &f : compiled.cudaLowering.fallbacks) {
    size_t q = f.find(says);
    size_t p = q == std::string::npos ? q : f.rfind('\'', q - 1);
    if (p != std::string::npos)
      wanted[f.substr(p + 1, q - p - 1)].insert(std::atoi(f.c_str() + q + says.size()));
  }
#endif
  for (const Step &s : compiled.plan.steps)
    if (s.kernel == "cuda.host" || s.kernel.rfind("ref.", 0) == 0)
      wanted[s.nodeNames].insert(-1);
  // Unnamed nodes are named as the importer names them.
  auto nodeName = [&](int i) {
    const onnx::NodeProto &n = g->node(i);
    return n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
  };
  std::set<std::string> bind;
  for (int i = 0; i < g->node_size(); ++i) {
    const onnx::NodeProto &n = g->node(i);
    auto w = wanted.find(nodeName(i));
    if (w == wanted.end())
      continue;
    for (int k = 0; k < n.input_size(); ++k) {
      auto at = std::find(fed.begin(), fed.end(), n.input(k));
      if (at == fed.end())
        continue;
      const Tensor &t = inputs[size_t(at - fed.begin())];
      // Operand 0 is an op's data but for a shape or a size (firstOperandIsASize). After
      // it, integers and scalars (Range's float bounds, Clip's min and max) steer.
      bool steering = k > 0 ? isInteger(t.dtype()) || t.numel() <= 1
                            : firstOperandIsASize(n.op_type());
      if (w->second.count(k) || (w->second.count(-1) && steering))
        bind.insert(n.input(k));
    }
  }
  // An integer input that a host step's steering operands are computed from, through device
  // steps: an expanded window's size (a Cast, then Range's limit), an expanded CenterCropPad's
  // target shape (a Gather, then Pad's pads and Slice's ends).
  for (size_t f = 0; f < fed.size(); ++f) {
    if (bind.count(fed[f]) || !isInteger(inputs[f].dtype()))
      continue;
    std::set<std::string> reached = {fed[f]};
    for (int i = 0; i < g->node_size() && !bind.count(fed[f]); ++i) {
      const onnx::NodeProto &n = g->node(i);
      auto w = wanted.find(nodeName(i));
      bool reads = false;
      for (int k = 0; k < n.input_size(); ++k) {
        if (!reached.count(n.input(k)))
          continue;
        reads = true;
        if (w != wanted.end() && w->second.count(-1) && (k > 0 || inputs[f].numel() <= 1))
          bind.insert(fed[f]);
      }
      if (reads)
        reached.insert(n.output().begin(), n.output().end());
    }
  }
  if (bind.empty())
    return false;
  std::vector<Tensor> kept;
  for (size_t i = 0; i < fed.size(); ++i) {
    if (bind.count(fed[i]))
      tensorToProto(inputs[i], fed[i], g->add_initializer());
    else
      kept.push_back(inputs[i]);
  }
  inputs = kept;
  for (int i = g->input_size() - 1; i >= 0; --i)
    if (bind.count(g->input(i).name()))
      g->mutable_input()->DeleteSubrange(i, 1);
  return true;
}

} // namespace plumb
