// Registration of the CPU kernels and the OpenMP thread setting.
#include "backends/cpu/CpuBackend.h"

#include "backends/cpu/Kernels.h"

#include <omp.h>

namespace plumb::cpu {

namespace {

using Maker = std::unique_ptr<RuntimeKernel> (*)(const KernelArgs &);

// `readsPacked`: the kernel reads some constant inputs pre-packed (constantWeights); every
// other kernel is refused a packed constant before it sees one.
KernelFactory factory(Maker make, bool readsPacked = false) {
  return [make, readsPacked](const Step &step, const std::vector<BufferInfo> &in,
                             const std::vector<BufferInfo> &out,
                             const std::vector<const Tensor *> &constants) {
    auto refuse = [&](size_t i) {
      throw Error("constant '" + in[i].name + "' (input " + std::to_string(i) +
                  ") is stored pre-packed, which " + step.kernel + " cannot read there");
    };
    for (size_t i = 0; i < in.size(); ++i)
      if (!readsPacked && !in[i].packing.empty())
        refuse(i);
    KernelArgs a{step, in, out, constants};
    std::unique_ptr<RuntimeKernel> kernel;
    try {
      kernel = make(a);
    } catch (const dnnl::error &e) {
      // Anything oneDNN refuses outside createPd (reorders, memory) still gets one line.
      throw Error(std::string("oneDNN: ") + e.what());
    }
    for (size_t i = 0; i < in.size(); ++i)
      if (!in[i].packing.empty() && (i >= a.packedRead.size() || !a.packedRead[i]))
        refuse(i);
    return kernel;
  };
}

// What OpenMP would use without setCpuThreads, read before anyone changes it.
int defaultThreads() {
  static int n = omp_get_max_threads();
  return n;
}

} // namespace

void registerCpuKernels(KernelFactoryRegistry &r) {
  r.add("cpu.conv", factory(makeConvKernel, true));
  r.add("cpu.matmul", factory(makeMatMulKernel, true));
  r.add("cpu.softmax", factory(makeSoftmaxKernel));
  r.add("cpu.layer_norm", factory(makeLayerNormKernel));
  r.add("cpu.batch_norm", factory(makeBatchNormKernel));
  r.add("cpu.pool", factory(makePoolKernel));
  r.add("cpu.eltwise", factory(makeEltwiseKernel));
  r.add("cpu.binary", factory(makeBinaryKernel));
  r.add("cpu.copy", factory(makeCopyKernel));
  r.add("cpu.einsum", factory(makeEinsumKernel));
  r.add("cpu.transpose", factory(makeTransposeKernel));
  r.add("cpu.slice", factory(makeSliceKernel));
  r.add("cpu.split", factory(makeSplitKernel));
  r.add("cpu.pad", factory(makePadKernel));
  r.add("cpu.concat", factory(makeConcatKernel));
  r.add("cpu.gather", factory(makeGatherKernel));
  r.add("cpu.cumsum", factory(makeCumSumKernel));
  r.add("cpu.attention", factory(makeAttentionKernel));
  r.add("cpu.chain", factory(makeChainKernel));
  r.add("cpu.if", factory(makeIfKernel));
  r.add("cpu.loop", factory(makeLoopKernel));
  r.add("cpu.scan", factory(makeScanKernel));
  r.add("ref.*", factory(makeRefKernel));
  r.setLayoutConverter(toPlainTensor);
  r.setReadsPackedConstants(true);
}

const KernelFactoryRegistry &cpuKernelRegistry() {
  static const KernelFactoryRegistry *r = [] {
    auto *reg = new KernelFactoryRegistry();
    registerCpuKernels(*reg);
    return reg;
  }();
  return *r;
}

void setCpuThreads(int n) {
  int def = defaultThreads();
  omp_set_num_threads(n > 0 ? n : def);
}

int cpuThreads() { return omp_get_max_threads(); }

} // namespace plumb::cpu
