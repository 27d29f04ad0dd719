// The executor pool behind concurrent runs of one loaded model.
#include "runtime/Session.h"

#include <algorithm>
#include <thread>

namespace plumb {

Session::Session(Plan plan, const KernelFactoryRegistry &kernels, size_t maxExecutors)
    : plan_(std::move(plan)), kernels_(kernels),
      max_(maxExecutors > 0 ? maxExecutors
                            : std::max<size_t>(1, std::thread::hardware_concurrency())) {
  idle_.push_back(std::make_unique<Executor>(plan_, kernels_));
  created_ = 1;
}

Session::~Session() = default;

std::unique_ptr<Executor> Session::acquire() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    released_.wait(lock, [&] { return !idle_.empty() || created_ < max_; });
    if (!idle_.empty()) {
      std::unique_ptr<Executor> e = std::move(idle_.back());
      idle_.pop_back();
      return e;
    }
    ++created_; // reserved now, so that the cap holds while it is prepared
  }
  // Preparing (primitive creation; reordered weights are shared) can take a while: not under
  // the lock.
  try {
    return std::make_unique<Executor>(plan_, kernels_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    --created_;
    released_.notify_one(); // a waiter may create one instead
    throw;
  }
}

void Session::release(std::unique_ptr<Executor> e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(e));
  }
  released_.notify_one();
}

template <typename F> auto Session::withExecutor(F &&f) {
  std::unique_ptr<Executor> e = acquire();
  // A failed run leaves the executor reusable (Executor::run unbinds on every path).
  struct Return {
    Session *s;
    std::unique_ptr<Executor> &e;
    ~Return() { s->release(std::move(e)); }
  } giveBack{this, e};
  return f(*e);
}

std::vector<Tensor> Session::run(const std::vector<Tensor> &inputs) {
  return withExecutor([&](Executor &e) { return e.run(inputs); });
}

void Session::runInto(const std::vector<Tensor> &inputs, const std::vector<Tensor> &outputs) {
  withExecutor([&](Executor &e) { e.runInto(inputs, outputs); });
}

size_t Session::executors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return created_;
}

} // namespace plumb
