// The activation functions of RNN, GRU and LSTM ("activations", "activation_alpha",
// "activation_beta"): what the reference kernels compute and what plumb-unroll-recurrent
// writes as ops, read by one parser so that both take alpha and beta alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace plumb::ref {

struct RecurrentActivation {
  std::string name; // lower case: sigmoid, tanh, relu, affine, leakyrelu, thresholdedrelu,
                    // scaledtanh, hardsigmoid, elu, softsign, softplus
  double alpha = 0, beta = 0;

  double operator()(double x) const;
};

// The functions `names` lists (or `defaults`, repeated per direction, when it is empty), each
// with ONNX's default alpha/beta unless the lists give them: they are consumed in order by
// the functions that take them (like ONNX Runtime). On an unknown name or a count other than
// defaults.size() * dirs, returns nothing and sets `error`.
std::vector<RecurrentActivation> recurrentActivations(const std::vector<std::string> &names,
                                                      const std::vector<double> &alphas,
                                                      const std::vector<double> &betas,
                                                      const std::vector<std::string> &defaults,
                                                      int64_t dirs, std::string &error);

} // namespace plumb::ref
