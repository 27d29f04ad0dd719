// The interface between the executor and backend kernels: a kernel is prepared once per
// plan step (weights reordered, primitives created) and then run many times.
#pragma once

#include "runtime/Plan.h"

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace plumb {

// What a kernel may know about one of its inputs or outputs at prepare time.
struct BufferInfo {
  bool present = false; // false for an absent optional slot (buffer id -1)
  DType dtype = DType::F32;
  Shape shape;
  std::string name;
  Layout layout = Layout::Plain;
  std::string packing = {}; // a constant stored pre-packed: its layout (Buffer::packing)
  bool runTimeShape = false; // Buffer::runTimeShape: `shape` is only the compile-time sample
};

// A constant a kernel holds in a layout of its own choosing, reported so that an artifact can
// store it that way (see the CPU backend's prepackWeights).
struct PackedConstant {
  size_t input = 0;       // which of the step's inputs
  std::string packing;    // formatPacking of its layout
  const void *data = nullptr;
  size_t bytes = 0;
  std::shared_ptr<const void> keepAlive; // owns `data`
};

// The throughput yardstick of a compute-bound kernel (conv, matmul): its library primitive
// set up to run alone on the same shape, every argument in the layout the library prefers,
// on scratch memory of its own.
class AlonePrimitive {
public:
  virtual ~AlonePrimitive() = default;
  // One run of the primitive alone, waited for: its seconds.
  virtual double run() = 0;
  // The same with its weights (and bias) first evicted from every cache level, as a step
  // meets them in a model whose other steps ran in between (benchdnn's --cold-cache=wei).
  // For memory-bound shapes (matrix-vector products, depthwise convolutions) back-to-back
  // runs keep the weights in cache, which no step inside a model can.
  virtual double runColdWeights() = 0;
  std::string shape; // e.g. "1x64x56x56 k3x3 s1 -> 1x64x56x56" or "128x768 * 768x3072"
  double flops = 0;  // per run (2 per multiply-add; post-ops not counted)
};

class RuntimeKernel {
public:
  virtual ~RuntimeKernel() = default;
  // `in[i]` is nullptr for an absent optional input; `out[i]` nullptr for an unused output.
  // Outputs arrive allocated with the planned dtype and shape (a runTimeShape output arrives
  // undefined: see takesRunTimeShapes); the kernel fills them and must not keep pointers to
  // any of these tensors past the call. Throws plumb::Error.
  virtual void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) = 0;
  // For `plumb bench --per-op`: the kernel's primitive, rebuilt to run alone (see
  // AlonePrimitive). nullptr (the default) for kernels with no such yardstick. Never changes
  // what run() computes.
  virtual std::unique_ptr<AlonePrimitive> alone() { return nullptr; }

  // Whether run() reads any input that was a Constant buffer at prepare time (true, the safe
  // default). False for kernels that copied every constant they got (reordered weights), so
  // an executor may free the originals (Executor's releaseCopiedConstants).
  virtual bool readsConstantsAtRun() const { return true; }

  // Whether run() takes each input's shape from the tensor it gets and, for a runTimeShape
  // output, replaces `*out[i]` with a tensor of its own of the shape the values give (the
  // slot arrives undefined). Only such kernels may touch runTimeShape buffers (the Executor
  // refuses the plan otherwise). False by default: kernels prepared for the planned shapes.
  virtual bool takesRunTimeShapes() const { return false; }

  // A control-flow kernel gives `observer` (the executor's Observer) to the plans it runs, so
  // that a parity check sees the values inside an If's taken branch by name. Loop and Scan
  // bodies are left out: each iteration would report its values under the same names, with
  // no reference value per iteration to compare with. Ignored by default.
  virtual void observeBodies(
      const std::function<void(const std::string &name, const Tensor &value)> & /*observer*/) {}

  // The constant inputs this kernel keeps in a layout it chose (reordered weights), with the
  // bytes it reads at run: what an artifact may store pre-packed. Empty by default.
  virtual std::vector<PackedConstant> packedConstants() const { return {}; }

  // Bytes of working memory run() needs besides its inputs and outputs (0: none). An executor
  // runs one step at a time, so it gives all its kernels one block of the largest such size
  // (useScratch) instead of each keeping its own.
  virtual size_t scratchBytes() const { return 0; }
  void useScratch(void *block) { shared_ = block; }

protected:
  // The scratchBytes() of working memory (64-byte aligned): the executor's shared block, or,
  // for a kernel run on its own (tests, benchmarks), one the kernel allocates on first use.
  void *scratch() {
    if (shared_)
      return shared_;
    if (!own_ && scratchBytes())
      own_.reset(new (std::align_val_t(64)) char[scratchBytes()]);
    return own_.get();
  }

private:
  struct AlignedDelete {
    void operator()(char *p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  void *shared_ = nullptr;
  std::unique_ptr<char[], AlignedDelete> own_;
};

// Builds the kernel for one step. `constants[i]` is the data of input i when that input is
// a Constant buffer (so weights can be transformed once, here), nullptr otherwise.
using KernelFactory = std::function<std::unique_ptr<RuntimeKernel>(
    const Step &step, const std::vector<BufferInfo> &inputs, const std::vector<BufferInfo> &outputs,
    const std::vector<const Tensor *> &constants)>;

// Copies a tensor stored in a non-plain layout into a fresh plain tensor (for observers: the
// parity checks compare plain tensors). A backend that produces such layouts provides one.
using LayoutConverter = std::function<Tensor(const Tensor &stored, Layout layout)>;

// Factories by kernel name. A name ending in ".*" (e.g. "ref.*") serves every kernel with
// that prefix that has no exact entry of its own.
class KernelFactoryRegistry {
public:
  void add(const std::string &name, KernelFactory f) { table_[name] = std::move(f); }
  const KernelFactory *find(std::string_view name) const {
    auto it = table_.find(name);
    if (it != table_.end())
      return &it->second;
    size_t dot = name.find('.');
    if (dot == std::string_view::npos)
      return nullptr;
    it = table_.find(std::string(name.substr(0, dot)) + ".*");
    return it == table_.end() ? nullptr : &it->second;
  }
  // Whether these factories understand BufferInfo::packing (refusing, each on its own, an
  // input they cannot read packed). An executor refuses a plan with packed constants otherwise.
  void setReadsPackedConstants(bool yes) { readsPacked_ = yes; }
  bool readsPackedConstants() const { return readsPacked_; }
  void setLayoutConverter(LayoutConverter c) { toPlain_ = std::move(c); }
  const LayoutConverter &layoutConverter() const { return toPlain_; }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto &kv : table_)
      v.push_back(kv.first);
    return v;
  }

private:
  std::map<std::string, KernelFactory, std::less<>> table_;
  LayoutConverter toPlain_;
  bool readsPacked_ = false;
};

} // namespace plumb
