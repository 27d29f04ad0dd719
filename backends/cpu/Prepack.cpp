// prepackWeights: constant weights stored in the layouts the CPU kernels read them in, so that
// a loaded artifact uses its mapped bytes in place (see CpuBackend.h).
#include "backends/cpu/CpuBackend.h"

#include "backends/cpu/SharedWeights.h"
#include "runtime/Executor.h"

namespace plumb::cpu {

PrepackReport prepackWeights(Plan &plan) {
  PrepackReport report;
  size_t n = plan.buffers.size();
  // Every (step, input) that reads each constant: a constant is packed only when all of them
  // read it through a kernel that keeps it in one and the same packed layout.
  std::vector<size_t> readers(n, 0);
  for (const Step &s : plan.steps)
    for (int id : s.inputs)
      if (id >= 0 && plan.buffers[size_t(id)].kind == BufferKind::Constant)
        ++readers[size_t(id)];
  for (const Buffer &b : plan.buffers)
    if (b.kind == BufferKind::Constant && readers[size_t(b.id)] && b.dtype == DType::F32) {
      ++report.weights;
      report.plainBytes += b.constant.nbytes();
    }

  // Prepared exactly as a loading executor would prepare them (same layouts, same scales).
  Executor prepared(plan, cpuKernelRegistry());
  std::vector<std::vector<PackedConstant>> held(n);
  for (size_t i = 0; i < plan.steps.size(); ++i)
    for (PackedConstant &p : prepared.kernel(i).packedConstants()) {
      int id = plan.steps[i].inputs.at(p.input);
      held[size_t(id)].push_back(std::move(p));
    }
  for (size_t id = 0; id < n; ++id) {
    Buffer &b = plan.buffers[id];
    std::vector<PackedConstant> &h = held[id];
    if (h.empty() || h.size() != readers[id] || !b.packing.empty())
      continue;
    bool same = true;
    for (const PackedConstant &p : h)
      same = same && p.packing == h[0].packing;
    // A layout that is the plain one (with scale 1) gains nothing: keep the plain tensor.
    PackedLayout plain;
    if (!same || (packedLayoutOf(plainDesc(toDims(b.shape)), 1.f, plain) &&
                  formatPacking(plain) == h[0].packing))
      continue;
    b.constant =
        Tensor::borrow(DType::U8, {int64_t(h[0].bytes)}, h[0].data, std::move(h[0].keepAlive));
    b.packing = h[0].packing;
    ++report.packed;
    report.packedBytes += h[0].bytes;
  }
  validatePlan(plan);
  return report;
}

} // namespace plumb::cpu
