// Reference kernels for the preview-training optimizers Adagrad, Adam and Momentum: one
// update step per the formulas in the ONNX operator spec, computed in double per element.
#include "backends/reference/kernels/Common.h"

#include <functional>

namespace plumb::ref {
namespace {

// Calls `step(x, g, state..., out...)` element by element for each of the n tensor groups.
// `groups` counts X, G and the state groups; outputs are X' then each state' in order.
using Step = std::function<void(double x, double g, const double *state, double *out)>;

std::vector<plumb::Tensor> optimizer(const KernelCall &call, size_t groups, const Step &step) {
  size_t in = call.numInputs();
  if (in < 2 + groups || (in - 2) % groups != 0)
    call.fail("expects R, T and " + std::to_string(groups) + " groups of tensors, got " +
              std::to_string(in) + " inputs");
  size_t n = (in - 2) / groups;
  size_t states = groups - 2;
  std::vector<plumb::Tensor> outs((1 + states) * n);
  for (size_t k = 0; k < n; ++k) {
    const plumb::Tensor &x = call.in(2 + k);
    for (size_t gI = 1; gI < groups; ++gI)
      if (call.in(2 + gI * n + k).shape() != x.shape())
        call.fail("tensor group " + std::to_string(gI) + " entry " + std::to_string(k) + " is " +
                  call.in(2 + gI * n + k).describe() + ", X is " + x.describe());
    std::vector<plumb::Tensor> res;
    for (size_t s = 0; s <= states; ++s)
      res.push_back(plumb::Tensor::zeros(x.dtype(), x.shape()));
    std::vector<double> state(states), out(states + 1);
    for (int64_t e = 0; e < x.numel(); ++e) {
      for (size_t s = 0; s < states; ++s)
        state[s] = call.in(2 + (2 + s) * n + k).getAsDouble(e);
      step(x.getAsDouble(e), call.in(2 + n + k).getAsDouble(e), state.data(), out.data());
      for (size_t s = 0; s <= states; ++s) {
        if (x.dtype() == DType::F64)
          res[s].mutableData<double>()[e] = out[s];
        else
          res[s].mutableData<float>()[e] = float(out[s]);
      }
    }
    for (size_t s = 0; s <= states; ++s)
      outs[s * n + k] = res[s];
  }
  return outs;
}

void checkFloat(const KernelCall &call) {
  for (size_t i = 2; i < call.numInputs(); ++i)
    if (call.in(i).dtype() != DType::F32 && call.in(i).dtype() != DType::F64)
      call.fail("input " + std::to_string(i) + " must be f32 or f64, got " + call.in(i).describe());
}

std::vector<plumb::Tensor> adagradKernel(const KernelCall &call) {
  checkFloat(call);
  double r = call.in(0).getAsDouble(0), t = double(call.in(1).getAsInt(0));
  double decay = call.attr().getFloat("decay_factor", 0.0);
  double eps = call.attr().getFloat("epsilon", 0.0);
  double norm = call.attr().getFloat("norm_coefficient", 0.0);
  double rate = r / (1 + t * decay);
  return optimizer(call, 3, [&](double x, double g, const double *s, double *out) {
    double gr = norm * x + g;
    double h = s[0] + gr * gr;
    out[0] = x - rate * gr / (std::sqrt(h) + eps);
    out[1] = h;
  });
}

std::vector<plumb::Tensor> adamKernel(const KernelCall &call) {
  checkFloat(call);
  double r = call.in(0).getAsDouble(0);
  int64_t t = call.in(1).getAsInt(0);
  double alpha = call.attr().getFloat("alpha", 0.9);
  double beta = call.attr().getFloat("beta", 0.999);
  double eps = call.attr().getFloat("epsilon", 0.0);
  double norm = call.attr().getFloat("norm_coefficient", 0.0);
  double post = call.attr().getFloat("norm_coefficient_post", 0.0);
  // Bias correction applies from the first step on (T > 0).
  double rate =
      t > 0 ? r * std::sqrt(1 - std::pow(beta, double(t))) / (1 - std::pow(alpha, double(t))) : r;
  return optimizer(call, 4, [&](double x, double g, const double *s, double *out) {
    double gr = norm * x + g;
    double v = alpha * s[0] + (1 - alpha) * gr;
    double h = beta * s[1] + (1 - beta) * gr * gr;
    out[0] = (1 - post) * (x - rate * v / (std::sqrt(h) + eps));
    out[1] = v;
    out[2] = h;
  });
}

std::vector<plumb::Tensor> momentumKernel(const KernelCall &call) {
  checkFloat(call);
  double r = call.in(0).getAsDouble(0);
  int64_t t = call.in(1).getAsInt(0);
  double alpha = call.attr().getFloat("alpha", 0.0);
  double beta = call.attr().getFloat("beta", 0.0);
  double norm = call.attr().getFloat("norm_coefficient", 0.0);
  std::string mode = call.attr().getString("mode", "standard");
  if (mode != "standard" && mode != "nesterov")
    call.fail("mode must be \"standard\" or \"nesterov\", got \"" + mode + "\"");
  bool nesterov = mode == "nesterov";
  double b = t > 0 ? beta : 1.0; // the first step takes the whole gradient
  return optimizer(call, 3, [&](double x, double g, const double *s, double *out) {
    double gr = norm * x + g;
    double v = alpha * s[0] + b * gr;
    out[0] = nesterov ? x - r * (gr + alpha * v) : x - r * v;
    out[1] = v;
  });
}

} // namespace

void registerTrainingKernels(KernelRegistry &r) {
  r.add("Adagrad", adagradKernel);
  r.add("Adam", adamKernel);
  r.add("Momentum", momentumKernel);
}

} // namespace plumb::ref
