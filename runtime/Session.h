// A loaded model that serves runs from many threads at once: a pool of executors over one
// plan, each with its own arena and prepared kernels. MLIR-free.
#pragma once

#include "runtime/Executor.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace plumb {

// Why a pool and not one executor: prepared kernels carry per-run state (oneDNN memory
// objects rebound to each run's tensors, reorder scratch, the ref fallback's call record) and
// the arena holds one run's temporaries. Each concurrent run therefore gets an executor of its
// own; the plan's constants (for an artifact, the memory-mapped weights) are shared by all of
// them, and so are the weights a CPU kernel reorders at prepare time (backends/cpu keeps one
// reordered copy per process; see SharedWeights.h). The pool grows to the number of runs that
// were ever in flight at once, up to a cap (more runs than that wait for an executor), and is
// never trimmed.
class Session {
public:
  // Validates the plan and prepares the first executor now, so that a plan the kernels refuse
  // fails here (throws plumb::Error) rather than in the first run. `kernels` must outlive the
  // session.
  // `maxExecutors` caps the pool, i.e. the runs in flight at once (0: the hardware thread
  // count, at least 1); a run that finds every executor busy waits for one.
  Session(Plan plan, const KernelFactoryRegistry &kernels, size_t maxExecutors = 0);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  const Plan &plan() const { return plan_; }

  // Executor::run / runInto semantics; safe to call from several threads at once.
  std::vector<Tensor> run(const std::vector<Tensor> &inputs);
  void runInto(const std::vector<Tensor> &inputs, const std::vector<Tensor> &outputs);

  // Executors created so far (the most runs that were in flight at once, at least 1).
  size_t executors() const;
  size_t maxExecutors() const { return max_; }

private:
  std::unique_ptr<Executor> acquire();
  void release(std::unique_ptr<Executor> e);
  template <typename F> auto withExecutor(F &&f);

  Plan plan_; // a copy each new executor starts from (constants share storage)
  const KernelFactoryRegistry &kernels_;
  size_t max_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Executor>> idle_;
  size_t created_ = 0; // including one being prepared
};

} // namespace plumb
