// The plan executor: kernel preparation, arena binding and the per-run step loop.
#include "runtime/Executor.h"

#include "runtime/Error.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>

namespace plumb {

namespace {

std::shared_ptr<void> allocateArena(size_t bytes, size_t alignment) {
  // aligned_alloc wants a size that is a multiple of the alignment (and never 0 here).
  size_t align = alignment < 64 ? 64 : alignment;
  size_t rounded = (bytes + align) / align * align;
  void *p = std::aligned_alloc(align, rounded);
  if (!p)
    throw Error("out of memory allocating a " + std::to_string(bytes) + "-byte arena");
  return std::shared_ptr<void>(p, std::free);
}

std::string describeInfo(DType dtype, const Shape &shape) {
  return std::string(dtypeName(dtype)) + "[" + shapeToString(shape) + "]";
}

} // namespace

// Storage of the graph outputs that callers have released, one spare per output, for the next
// run to write into. Mapping fresh memory for every run cost GPT-2-small at batch 8 (206 MB of
// logits) 130-560 ms a run on top of a 910 ms LM head: on a virtual machine the pages freed by
// one run go back to the host and come back zeroed, page by page, inside the next run's
// first-touching kernel. The caller gets a tensor with an owner of its own, so nothing that
// remembers the old owner (a cache keyed by storage) can mistake the reused bytes for its own.
class Executor::OutputPool : public std::enable_shared_from_this<OutputPool> {
public:
  explicit OutputPool(size_t n) : spare_(n) {}

  // Storage for output i: the released spare when there is one (its old contents stay; every
  // kernel writes its whole output), else fresh zeroed storage.
  Tensor take(size_t i, DType dtype, const Shape &shape) {
    Tensor block;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      block = std::move(spare_[i]);
    }
    if (!block.defined()) // a spare has the plan's dtype and shape: it was made here
      block = Tensor::empty(dtype, shape);
    const void *data = block.raw();
    return Tensor::borrow(dtype, shape, data,
                          std::shared_ptr<const void>(data, Return{weak_from_this(), i, block}));
  }

private:
  struct Return {
    std::weak_ptr<OutputPool> pool;
    size_t index;
    Tensor block;
    void operator()(const void *) {
      if (std::shared_ptr<OutputPool> p = pool.lock()) {
        std::lock_guard<std::mutex> lock(p->mutex_);
        p->spare_[index] = std::move(block);
      }
    }
  };
  std::mutex mutex_;
  std::vector<Tensor> spare_;
};

Executor::Executor(Plan plan, const KernelFactoryRegistry &kernels, size_t alignment,
                   bool releaseCopiedConstants)
    : plan_(std::move(plan)) {
  validatePlan(plan_);
  arena_ = planBuffers(plan_, alignment);
  arenaStorage_ = allocateArena(arena_.peakIntermediateBytes, arena_.alignment);
  slots_.resize(plan_.buffers.size());
  outputPool_ = std::make_shared<OutputPool>(plan_.outputs.size());
  auto *base = static_cast<char *>(arenaStorage_.get());
  for (const Buffer &b : plan_.buffers) {
    if (b.kind == BufferKind::Constant)
      slots_[size_t(b.id)] = b.constant;
    else if (b.kind == BufferKind::Intermediate && arena_.offsets[size_t(b.id)] >= 0)
      slots_[size_t(b.id)] =
          Tensor::borrow(b.dtype, b.shape, base + arena_.offsets[size_t(b.id)], arenaStorage_);
  }
  prepare(kernels, releaseCopiedConstants);
}

Executor::~Executor() = default;

std::string Executor::stepLabel(size_t i) const {
  const Step &s = plan_.steps[i];
  return "step " + std::to_string(i) + " (" + s.kernel +
         (s.nodeNames.empty() ? "" : ", nodes '" + s.nodeNames + "'") + ")";
}

void Executor::prepare(const KernelFactoryRegistry &kernels, bool releaseCopiedConstants) {
  // Per constant buffer: steps still to prepare that read it, and whether one reads it at run.
  std::vector<int> readers(plan_.buffers.size(), 0);
  std::vector<bool> kept(plan_.buffers.size(), false);
  for (const Step &s : plan_.steps)
    for (int id : s.inputs)
      if (id >= 0 && plan_.buffers[size_t(id)].kind == BufferKind::Constant)
        ++readers[size_t(id)];
  toPlain_ = kernels.layoutConverter();
  if (!kernels.readsPackedConstants())
    for (const Buffer &b : plan_.buffers)
      if (!b.packing.empty())
        throw Error("constant '" + b.name +
                    "' is stored pre-packed for the CPU kernels, which this backend cannot read");
  for (const Buffer &b : plan_.buffers)
    if (b.layout != Layout::Plain && !toPlain_)
      throw Error("buffer '" + b.name + "' is " + layoutName(b.layout) +
                  ", which these kernels do not produce");
  auto info = [&](int id) {
    BufferInfo bi;
    if (id < 0)
      return bi;
    const Buffer &b = plan_.buffers[size_t(id)];
    bi.present = true;
    bi.dtype = b.dtype;
    bi.shape = b.shape;
    bi.layout = b.layout;
    bi.name = b.name;
    bi.packing = b.packing;
    bi.runTimeShape = b.runTimeShape;
    return bi;
  };
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    const Step &s = plan_.steps[i];
    const KernelFactory *factory = kernels.find(s.kernel);
    if (!factory)
      throw Error(stepLabel(i) + ": no kernel named '" + s.kernel + "'");
    PreparedStep p;
    std::vector<BufferInfo> ins, outs;
    std::vector<const Tensor *> constants;
    for (int id : s.inputs) {
      ins.push_back(info(id));
      bool isConst = id >= 0 && plan_.buffers[size_t(id)].kind == BufferKind::Constant;
      constants.push_back(isConst ? &slots_[size_t(id)] : nullptr);
      p.in.push_back(id >= 0 ? &slots_[size_t(id)] : nullptr);
    }
    for (int id : s.outputs) {
      outs.push_back(info(id));
      p.out.push_back(id >= 0 ? &slots_[size_t(id)] : nullptr);
    }
    try {
      p.kernel = (*factory)(s, ins, outs, constants);
    } catch (const std::exception &e) {
      throw Error(stepLabel(i) + ": " + e.what());
    }
    if (!p.kernel)
      throw Error(stepLabel(i) + ": the kernel factory returned nothing");
    if (!p.kernel->takesRunTimeShapes())
      for (const std::vector<int> *ids : {&s.inputs, &s.outputs})
        for (int id : *ids)
          if (id >= 0 && plan_.buffers[size_t(id)].runTimeShape)
            throw Error(stepLabel(i) + ": '" + plan_.buffers[size_t(id)].name +
                        "' has a shape known only at run time, which this kernel cannot take");
    for (int id : s.inputs) {
      if (id < 0 || plan_.buffers[size_t(id)].kind != BufferKind::Constant)
        continue;
      kept[size_t(id)] = kept[size_t(id)] || p.kernel->readsConstantsAtRun();
      if (--readers[size_t(id)] == 0 && !kept[size_t(id)] && releaseCopiedConstants) {
        slots_[size_t(id)] = Tensor();
        plan_.buffers[size_t(id)].constant = Tensor(); // p.in's slot pointer stays, unread
      }
    }
    steps_.push_back(std::move(p));
  }
  for (const PreparedStep &p : steps_)
    scratchBytes_ = std::max(scratchBytes_, p.kernel->scratchBytes());
  if (scratchBytes_) {
    scratchStorage_ = allocateArena(scratchBytes_, 64);
    for (PreparedStep &p : steps_)
      p.kernel->useScratch(scratchStorage_.get());
  }
}

void Executor::setObserver(Observer observer) {
  observer_ = std::move(observer);
  for (PreparedStep &p : steps_)
    p.kernel->observeBodies(observer_);
}

void Executor::bind(const std::vector<Tensor> &inputs, const std::vector<Tensor> *outputs) {
  auto check = [&](const std::vector<Tensor> &given, const std::vector<int> &ids,
                   const char *what) {
    if (given.size() != ids.size())
      throw Error("expected " + std::to_string(ids.size()) + " " + what + "s, got " +
                  std::to_string(given.size()));
    for (size_t i = 0; i < given.size(); ++i) {
      const Buffer &b = plan_.buffers[size_t(ids[i])];
      const Tensor &t = given[i];
      // A run-time-shaped input (a body's, read from a value whose shape each run decides)
      // takes any shape of its rank.
      bool fits = t.defined() && t.dtype() == b.dtype &&
                  (b.runTimeShape ? t.rank() == int64_t(b.shape.size()) : t.shape() == b.shape);
      if (!fits)
        throw Error(std::string(what) + " '" + b.name + "' must be " +
                    (b.runTimeShape ? std::string(dtypeName(b.dtype)) + " of rank " +
                                          std::to_string(b.shape.size())
                                    : describeInfo(b.dtype, b.shape)) +
                    ", got " + (t.defined() ? t.describe() : std::string("nothing")));
    }
  };
  check(inputs, plan_.inputs, "input");
  if (outputs) {
    for (int id : plan_.outputs)
      if (plan_.buffers[size_t(id)].runTimeShape)
        throw Error("output '" + plan_.buffers[size_t(id)].name +
                    "' has a shape its values decide, so it cannot be written into storage "
                    "given in advance");
    check(*outputs, plan_.outputs, "output");
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    slots_[size_t(plan_.inputs[i])] = inputs[i];
  if (outputs) {
    for (size_t i = 0; i < outputs->size(); ++i)
      slots_[size_t(plan_.outputs[i])] = (*outputs)[i];
  } else {
    for (size_t i = 0; i < plan_.outputs.size(); ++i) {
      const Buffer &b = plan_.buffers[size_t(plan_.outputs[i])];
      if (!b.runTimeShape) // allocated by the step that writes it
        slots_[size_t(b.id)] = outputPool_->take(i, b.dtype, b.shape);
    }
  }
  // Output-kind buffers that are not graph outputs (validatePlan allows them) get fresh storage.
  for (const Buffer &b : plan_.buffers)
    if (b.kind == BufferKind::Output && !b.runTimeShape && !slots_[size_t(b.id)].defined())
      slots_[size_t(b.id)] = Tensor::empty(b.dtype, b.shape);
}

void Executor::unbind() {
  // Drop this run's references so that callers alone own their inputs and outputs, and free
  // the run-time-shaped intermediates (each run's writer allocates them anew).
  for (const Buffer &b : plan_.buffers)
    if (b.kind == BufferKind::Input || b.kind == BufferKind::Output || b.runTimeShape)
      slots_[size_t(b.id)] = Tensor();
}

void Executor::execute() {
  for (size_t i = 0; i < steps_.size(); ++i) {
    PreparedStep &p = steps_[i];
    try {
      p.kernel->run(p.in, p.out);
    } catch (const std::exception &e) {
      throw Error(stepLabel(i) + ": " + e.what());
    }
    for (Tensor *t : p.out)
      if (t && !t->defined())
        throw Error(stepLabel(i) + ": the kernel left a run-time-shaped output unwritten");
    if (stepObserver_)
      stepObserver_(i);
    if (!observer_)
      continue;
    const Step &s = plan_.steps[i];
    for (size_t j = 0; j < s.outputs.size(); ++j) {
      if (s.outputs[j] < 0)
        continue;
      const std::string &named = s.outputNames.empty() ? std::string() : s.outputNames[j];
      const Buffer &b = plan_.buffers[size_t(s.outputs[j])];
      const Tensor &value = slots_[size_t(b.id)];
      observer_(named.empty() ? b.name : named,
                b.layout == Layout::Plain ? value : toPlain_(value, b.layout));
    }
  }
}

std::vector<Tensor> Executor::run(const std::vector<Tensor> &inputs) {
  bind(inputs, nullptr);
  try {
    execute();
  } catch (...) {
    unbind();
    throw;
  }
  std::vector<Tensor> results;
  for (int id : plan_.outputs)
    results.push_back(slots_[size_t(id)]);
  unbind();
  return results;
}

void Executor::runInto(const std::vector<Tensor> &inputs, const std::vector<Tensor> &outputs) {
  bind(inputs, &outputs);
  try {
    execute();
  } catch (...) {
    unbind();
    throw;
  }
  unbind();
}

} // namespace plumb
