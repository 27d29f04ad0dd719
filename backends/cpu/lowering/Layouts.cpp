// Layout choice for CPU plans: which intermediates are stored channel-blocked (chooseLayouts,
// declared in Lowering.h), from what each step's kernel accepts in each slot.
#include "backends/cpu/lowering/Lowering.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "llvm/ADT/STLExtras.h"

namespace plumb::cpu {
namespace {

bool hasSumPostOp(const Step &s) {
  const ref::AttrValue *v = s.attrs.find("post_ops");
  return v && std::find(v->strings.begin(), v->strings.end(), "sum") != v->strings.end();
}

// Whether slot `slot` of step `s` (an input, or output 0 when `output`) may hold a
// channel-blocked tensor: the convolution's source and output, a pool's source and output
// (except the AveragePool configuration whose padding fix-up indexes plain planes), and the
// residual of a "sum" post-op of either.
bool acceptsBlocked(const Step &s, size_t slot, bool output) {
  bool conv = s.kernel == "cpu.conv";
  bool pool = s.kernel == "cpu.pool" && !(s.attrs.getString("op", "") == "AveragePool" &&
                                          s.attrs.getInt("count_include_pad", 0) != 0);
  if (!conv && !pool)
    return false;
  if (output)
    return slot == 0;
  return slot == 0 || (hasSumPostOp(s) && slot + 1 == s.inputs.size());
}

// The buffers of a per-element step, which must share one layout and may be blocked together:
// cpu.eltwise and cpu.batch_norm (data in and out), cpu.binary without broadcasting, cpu.chain
// without reductions or broadcasts (single values aside), with the residual of a "sum".
// Empty for every other step.
std::vector<int> sharedLayoutBuffers(const Plan &plan, const Step &s) {
  auto shape = [&](int id) -> const Shape & { return plan.buffers[size_t(id)].shape; };
  std::vector<int> ids;
  if (s.kernel == "cpu.eltwise" || s.kernel == "cpu.batch_norm") {
    ids = {s.inputs[0], s.outputs[0]};
  } else if (s.kernel == "cpu.binary") {
    if (s.inputs.size() < 2 || shape(s.inputs[0]) != shape(s.outputs[0]) ||
        shape(s.inputs[1]) != shape(s.outputs[0]))
      return {};
    ids = {s.inputs[0], s.inputs[1], s.outputs[0]};
  } else if (s.kernel == "cpu.chain") {
    std::vector<int64_t> dims = s.attrs.getInts("shape", {});
    Shape full(dims.begin(), dims.end());
    if (const ref::AttrValue *ops = s.attrs.find("ops"))
      for (const std::string &op : ops->strings)
        if (op.rfind("Reduce", 0) == 0)
          return {};
    for (int id : s.inputs) {
      if (shape(id) == full)
        ids.push_back(id);
      else if (numElements(shape(id)) != 1)
        return {};
    }
    for (int id : s.outputs) {
      if (shape(id) != full)
        return {};
      ids.push_back(id);
    }
    return ids;
  } else {
    return {};
  }
  if (s.kernel != "cpu.batch_norm" && hasSumPostOp(s))
    ids.push_back(s.inputs.back());
  return ids;
}

} // namespace

int64_t chooseLayouts(Plan &plan) {
  size_t n = plan.buffers.size();
  std::vector<bool> refused(n, false), anchored(n, false), written(n, false);
  std::vector<size_t> parent(n);
  std::iota(parent.begin(), parent.end(), size_t(0));
  std::function<size_t(size_t)> root = [&](size_t b) {
    return parent[b] == b ? b : parent[b] = root(parent[b]);
  };
  for (const Step &s : plan.steps) {
    std::vector<int> together = sharedLayoutBuffers(plan, s);
    auto slot = [&](int id, size_t i, bool output) {
      if (id < 0)
        return;
      if (acceptsBlocked(s, i, output))
        anchored[size_t(id)] = true;
      else if (!llvm::is_contained(together, id))
        refused[size_t(id)] = true;
    };
    for (size_t i = 0; i < s.inputs.size(); ++i)
      slot(s.inputs[i], i, false);
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      slot(s.outputs[i], i, true);
      if (s.outputs[i] >= 0)
        written[size_t(s.outputs[i])] = true;
    }
    for (int id : together)
      parent[root(size_t(id))] = root(size_t(together[0]));
  }
  // A group of buffers joined by per-element steps is blocked as a whole: when every member
  // can be, and a convolution or pool touches one of them (else nothing would be saved).
  std::vector<bool> groupOk(n, true), groupAnchored(n, false);
  for (const Buffer &b : plan.buffers) {
    size_t i = size_t(b.id), r = root(i);
    bool ok = !refused[i] && written[i] && b.kind == BufferKind::Intermediate &&
              channelBlockable(b.dtype, b.shape);
    groupOk[r] = groupOk[r] && ok;
    groupAnchored[r] = groupAnchored[r] || anchored[i];
  }
  int64_t blocked = 0;
  for (Buffer &b : plan.buffers) {
    size_t r = root(size_t(b.id));
    if (groupOk[r] && groupAnchored[r]) {
      b.layout = Layout::ChannelBlocked;
      ++blocked;
    }
  }
  return blocked;
}

} // namespace plumb::cpu
