// The executor pool behind concurrent runs of one loaded model.
#include "runtime/Session.h"

namespace plumb {

Session::Session(Plan plan, const KernelFactoryRegistry &kernels)
    : plan_(std::move(plan)), kernels_(kernels) {
  idle_.push_back(std::make_unique<Executor>(plan_, kernels_));
  created_ = 1;
}

Session::~Session() = default;

std::unique_ptr<Executor> Session::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Executor> e = std::move(idle_.back());
      idle_.pop_back();
      return e;
    }
  }
  // Preparing (weight reorders, primitive creation) can take a while: not under the lock.
  auto e = std::make_unique<Executor>(plan_, kernels_);
  std::lock_guard<std::mutex> lock(mutex_);
  ++created_;
  return e;
}

void Session::release(std::unique_ptr<Executor> e) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(e));
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
