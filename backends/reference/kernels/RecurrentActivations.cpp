// RNN/GRU/LSTM activation functions and their alpha/beta (RecurrentActivations.h).
#include "backends/reference/kernels/RecurrentActivations.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace plumb::ref {

double RecurrentActivation::operator()(double x) const {
  if (name == "sigmoid")
    return 1 / (1 + std::exp(-x));
  if (name == "tanh")
    return std::tanh(x);
  if (name == "relu")
    return std::max(x, 0.0);
  if (name == "affine")
    return alpha * x + beta;
  if (name == "leakyrelu")
    return x >= 0 ? x : alpha * x;
  if (name == "thresholdedrelu")
    return x > alpha ? x : 0;
  if (name == "scaledtanh")
    return alpha * std::tanh(beta * x);
  if (name == "hardsigmoid")
    return std::max(0.0, std::min(1.0, alpha * x + beta));
  if (name == "elu")
    return x >= 0 ? x : alpha * (std::exp(x) - 1);
  if (name == "softsign")
    return x / (1 + std::abs(x));
  return std::log1p(std::exp(x)); // softplus (names are checked when parsed)
}

namespace {

// Default alpha and beta of each function, and whether it takes them from the lists.
bool activationDefaults(RecurrentActivation &a, bool &takesAlpha, bool &takesBeta) {
  const std::string &n = a.name;
  takesAlpha = takesBeta = false;
  if (n == "sigmoid" || n == "tanh" || n == "relu" || n == "softsign" || n == "softplus")
    return true;
  if (n == "affine" || n == "scaledtanh" || n == "hardsigmoid") {
    a.alpha = n == "hardsigmoid" ? 0.2 : 1.0;
    a.beta = n == "hardsigmoid" ? 0.5 : 0.0;
    takesAlpha = takesBeta = true;
    return true;
  }
  if (n == "leakyrelu" || n == "thresholdedrelu" || n == "elu") {
    a.alpha = n == "leakyrelu" ? 0.01 : 1.0;
    takesAlpha = true;
    return true;
  }
  return false;
}

} // namespace

std::vector<RecurrentActivation> recurrentActivations(const std::vector<std::string> &names,
                                                      const std::vector<double> &alphas,
                                                      const std::vector<double> &betas,
                                                      const std::vector<std::string> &defaults,
                                                      int64_t dirs, std::string &error) {
  std::vector<std::string> list = names;
  size_t want = defaults.size() * size_t(dirs);
  if (list.empty())
    for (int64_t d = 0; d < dirs; ++d)
      list.insert(list.end(), defaults.begin(), defaults.end());
  if (list.size() != want) {
    error = "activations must list " + std::to_string(want) + " functions, got " +
            std::to_string(list.size());
    return {};
  }
  size_t ai = 0, bi = 0;
  std::vector<RecurrentActivation> out;
  for (const std::string &n : list) {
    RecurrentActivation a;
    for (char ch : n)
      a.name += char(std::tolower(static_cast<unsigned char>(ch)));
    bool takesAlpha, takesBeta;
    if (!activationDefaults(a, takesAlpha, takesBeta)) {
      error = "unknown activation function '" + n + "'";
      return {};
    }
    if (takesAlpha && ai < alphas.size())
      a.alpha = alphas[ai++];
    if (takesBeta && bi < betas.size())
      a.beta = betas[bi++];
    out.push_back(a);
  }
  return out;
}

} // namespace plumb::ref
