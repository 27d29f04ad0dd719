// Runs a Plan: prepares every step's kernel once, places temporaries in one arena, then
// executes the steps in order for each set of inputs.
#pragma once

#include "runtime/BufferPlanner.h"
#include "runtime/Plan.h"
#include "runtime/RuntimeKernel.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace plumb {

class Executor {
public:
  // Called with (ONNX tensor name, value) for every output of every step, right after the
  // step ran. The value may live in the arena and be overwritten by a later step: clone it to
  // keep it. Observing never changes which kernels run or what they compute. Values the plan
  // keeps in a non-plain layout arrive converted to a plain copy.
  using Observer = std::function<void(const std::string &name, const Tensor &value)>;

  // Validates the plan, plans the arena and creates every step's kernel with the registry's
  // factories (throws plumb::Error naming the step when one is missing or refuses the step).
  // `releaseCopiedConstants`: drop the executor's references to a constant as soon as every
  // step reading it is prepared and none reads it at run time (RuntimeKernel::
  // readsConstantsAtRun), e.g. weights the convolutions and matmuls reordered into their own
  // memory: with no other reference left (see lowerToCpuPlan's releasableWeights) the
  // original bytes are freed while the next kernels are prepared, so the two copies of the
  // weights never coexist. plan() then lacks those constants' data.
  Executor(Plan plan, const KernelFactoryRegistry &kernels, size_t alignment = 64,
           bool releaseCopiedConstants = false);
  ~Executor();
  Executor(const Executor &) = delete;
  Executor &operator=(const Executor &) = delete;

  // Inputs in Plan::inputs order, each of the declared dtype and shape; returns tensors in
  // Plan::outputs order, owned by the caller. One run at a time per executor (plumb::Session
  // keeps a pool of executors for concurrent runs). An output's storage comes back to the
  // executor once the caller drops every tensor over it, and a later run writes into it
  // again instead of mapping fresh memory (see OutputPool in Executor.cpp).
  std::vector<Tensor> run(const std::vector<Tensor> &inputs);
  // The same, writing into `outputs` (Plan::outputs order, each of the declared dtype and
  // shape, writable storage that overlaps no input, e.g. borrowed caller memory).
  void runInto(const std::vector<Tensor> &inputs, const std::vector<Tensor> &outputs);

  // Also given to the steps' kernels (RuntimeKernel::observeBodies: an If's branches).
  void setObserver(Observer observer);
  // Called with the step's index right after each step ran, before any Observer call and
  // without touching tensors: what per-step timing needs (an Observer may convert layouts).
  using StepObserver = std::function<void(size_t step)>;
  void setStepObserver(StepObserver observer) { stepObserver_ = std::move(observer); }
  const Plan &plan() const { return plan_; }
  const ArenaAssignment &arena() const { return arena_; }
  // The working memory all kernels share (the largest RuntimeKernel::scratchBytes()).
  size_t scratchBytes() const { return scratchBytes_; }
  // The prepared kernel of step i (for measurements such as RuntimeKernel::timeAlone).
  RuntimeKernel &kernel(size_t step) { return *steps_.at(step).kernel; }

private:
  struct PreparedStep {
    std::unique_ptr<RuntimeKernel> kernel;
    std::vector<const Tensor *> in; // point into slots_
    std::vector<Tensor *> out;
  };
  void prepare(const KernelFactoryRegistry &kernels, bool releaseCopiedConstants);
  void bind(const std::vector<Tensor> &inputs, const std::vector<Tensor> *outputs);
  void execute();
  void unbind();
  std::string stepLabel(size_t i) const;
  class OutputPool;

  Plan plan_;
  ArenaAssignment arena_;
  std::shared_ptr<void> arenaStorage_;
  size_t scratchBytes_ = 0;
  std::shared_ptr<void> scratchStorage_;
  // One tensor per buffer id: constants and arena views are fixed at construction; inputs
  // and outputs are rebound each run. Steps hold pointers into this vector (never resized).
  std::vector<Tensor> slots_;
  std::vector<PreparedStep> steps_;
  Observer observer_;
  StepObserver stepObserver_;
  LayoutConverter toPlain_;
  std::shared_ptr<OutputPool> outputPool_;
};

} // namespace plumb
