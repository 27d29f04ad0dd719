// RNN, GRU and LSTM on the CUDA plan emulator (part of cuda_emulated_test): unrolled by
// plumb-unroll-recurrent into the x projection, a MatMul by R per step and gate kernels, and
// checked against the reference interpreter's recurrent kernels (which compute the ONNX
// equations a sequence at a time).
#include "tests/mlir/CudaEmulatedModels.h"
#include "tests/mlir/CudaGraphBuilders.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>

namespace plumb {
namespace {

using namespace cudatest;
using cudatest::graphs::expectClose;
using cudatest::graphs::node;
using cudatest::graphs::stepsRunning;

// A float initializer of `dims` with values in [-scale, scale] that do not repeat.
void weights(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &dims,
             float seed, float scale = 0.5f) {
  floatInitializer(g, name, dims,
                   [=](int64_t i) { return scale * std::sin(0.73f * float(i) + seed); });
}

// Four recurrent nodes over several steps, each an output the reference computes:
// - LSTM, bidirectional, 5 steps, biases, peepholes, initial h and c: Y, Y_h, Y_c;
// - GRU, reverse, batch-first layout, linear_before_reset, clip: Y, Y_h;
// - GRU, forward, the reset gate before R (linear_before_reset 0), W, R and B given at run
//   time (graph inputs, so the weights' pieces are computed on the device): Y_h;
// - LSTM, forward, sequence_lens 5 and 3 (the second keeps its state past step 3, its Y
//   rows there are zeros): Y, Y_h;
// - GRU, bidirectional, sequence_lens 2 and 5, initial h: Y, Y_h (reversed, a short
//   sequence starts from h0 at its own last step);
// - RNN with Relu: Y.
// No host step; every output within the storage type's tolerance, in f32 and f16.
TEST(CudaRecurrent, UnrolledIntoMatMulsAndGateKernels) {
  const int64_t T = 5, B = 2, I = 3, H = 4;
  onnx::ModelProto m = newModel("recurrent", 14);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {T, B, I});
  floatValue(g->add_input(), "x_batch_first", {B, T, I});
  floatValue(g->add_input(), "h0", {2, B, H});
  floatValue(g->add_input(), "c0", {2, B, H});
  // LSTM: gates i, o, f, c
  weights(g, "lstm_w", {2, 4 * H, I}, 0.1f);
  weights(g, "lstm_r", {2, 4 * H, H}, 1.3f);
  weights(g, "lstm_b", {2, 8 * H}, 2.1f, 0.2f);
  weights(g, "fw_w", {1, 4 * H, I}, 0.1f);
  weights(g, "fw_r", {1, 4 * H, H}, 1.3f);
  weights(g, "fw_b", {1, 8 * H}, 2.1f, 0.2f);
  weights(g, "lstm_p", {2, 3 * H}, 3.7f);
  onnx::NodeProto *lstm = node(g, "LSTM", "lstm",
                               {"x", "lstm_w", "lstm_r", "lstm_b", "", "h0", "c0", "lstm_p"}, "lstm_y");
  lstm->add_output("lstm_y_h");
  lstm->add_output("lstm_y_c");
  intAttrOf(lstm, "hidden_size", H);
  stringAttrOf(lstm, "direction", "bidirectional");
  // GRU, reverse, layout 1, linear_before_reset, clip
  weights(g, "gru_w", {1, 3 * H, I}, 4.2f, 0.8f);
  weights(g, "gru_r", {1, 3 * H, H}, 5.9f, 0.8f);
  weights(g, "gru_b", {1, 6 * H}, 6.3f, 0.4f);
  onnx::NodeProto *gru = node(g, "GRU", "gru", {"x_batch_first", "gru_w", "gru_r", "gru_b"}, "gru_y");
  gru->add_output("gru_y_h");
  intAttrOf(gru, "hidden_size", H);
  intAttrOf(gru, "layout", 1);
  intAttrOf(gru, "linear_before_reset", 1);
  stringAttrOf(gru, "direction", "reverse");
  floatAttrOf(gru, "clip", 0.9f);
  // GRU with run-time weights
  floatValue(g->add_input(), "w_in", {1, 3 * H, I});
  floatValue(g->add_input(), "r_in", {1, 3 * H, H});
  floatValue(g->add_input(), "b_in", {1, 6 * H});
  onnx::NodeProto *gru2 = node(g, "GRU", "gru_inputs", {"x", "w_in", "r_in", "b_in"}, "");
  gru2->add_output("gru_inputs_y_h");
  intAttrOf(gru2, "hidden_size", H);
  // LSTM, forward, sequences of 5 and 3 steps: the second keeps its state after step 3
  onnx::TensorProto *lens = g->add_initializer();
  lens->set_name("lens");
  lens->set_data_type(onnx::TensorProto::INT32);
  lens->add_dims(B);
  for (int32_t l : {5, 3})
    lens->add_int32_data(l);
  onnx::NodeProto *ragged = node(g, "LSTM", "lstm_ragged", {"x", "fw_w", "fw_r", "fw_b", "lens"}, "ragged_y");
  ragged->add_output("ragged_y_h");
  intAttrOf(ragged, "hidden_size", H);
  // GRU, bidirectional, sequences of 2 and 5 steps from initial states: reversed, the first
  // starts at its step 1 from h0 (its steps 2-4 keep h0 and give zeros)
  onnx::TensorProto *lensBi = g->add_initializer();
  lensBi->set_name("lens_bi");
  lensBi->set_data_type(onnx::TensorProto::INT32);
  lensBi->add_dims(B);
  for (int32_t l : {2, 5})
    lensBi->add_int32_data(l);
  weights(g, "bi_w", {2, 3 * H, I}, 9.1f, 0.7f);
  weights(g, "bi_r", {2, 3 * H, H}, 3.3f, 0.7f);
  weights(g, "bi_b", {2, 6 * H}, 1.7f, 0.3f);
  onnx::NodeProto *biRagged = node(g, "GRU", "gru_ragged", {"x", "bi_w", "bi_r", "bi_b", "lens_bi", "h0"}, "gru_ragged_y");
  biRagged->add_output("gru_ragged_y_h");
  intAttrOf(biRagged, "hidden_size", H);
  stringAttrOf(biRagged, "direction", "bidirectional");
  // RNN with Relu
  weights(g, "rnn_w", {1, H, I}, 7.7f);
  weights(g, "rnn_r", {1, H, H}, 8.8f);
  onnx::NodeProto *rnn = node(g, "RNN", "rnn", {"x", "rnn_w", "rnn_r"}, "rnn_y");
  intAttrOf(rnn, "hidden_size", H);
  onnx::AttributeProto *acts = rnn->add_attribute();
  acts->set_name("activations");
  acts->set_type(onnx::AttributeProto::STRINGS);
  acts->add_strings("Relu");
  for (const char *o : {"lstm_y", "lstm_y_h", "lstm_y_c", "gru_y", "gru_y_h", "gru_inputs_y_h", "ragged_y", "ragged_y_h", "gru_ragged_y", "gru_ragged_y_h", "rnn_y"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "recurrent.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("recurrent_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    // a MatMul by R per step and direction (not the first from a zero state)
    EXPECT_GE(stepsRunning(k.compiled.plan, "cuda.matmul"), 5 * T) << dtype;
    expectClose(k, dtype);
  }
}

// Activations with alpha and beta (Keras exports hard_sigmoid LSTMs): each is its op, with
// alpha/beta consumed in order by the functions that take them, as the reference reads them.
// LSTM [HardSigmoid 0.3/0.45, LeakyRelu 0.05, ScaledTanh 1.5/0.7]; bidirectional GRU
// [Affine 0.5/0.1, Softsign | Elu 0.8, Softplus]; RNN [ThresholdedRelu 0.05]. No host step.
TEST(CudaRecurrent, ActivationsWithAlphaAndBeta) {
  const int64_t T = 4, B = 2, I = 3, H = 5;
  onnx::ModelProto m = newModel("recurrent_acts", 14);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {T, B, I});
  auto functions = [](onnx::NodeProto *n, std::vector<std::string> names,
                      std::vector<float> alphas, std::vector<float> betas) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name("activations");
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const std::string &f : names)
      a->add_strings(f);
    for (auto [name, list] : {std::pair{"activation_alpha", &alphas}, {"activation_beta", &betas}}) {
      if (list->empty())
        continue;
      onnx::AttributeProto *l = n->add_attribute();
      l->set_name(name);
      l->set_type(onnx::AttributeProto::FLOATS);
      for (float v : *list)
        l->add_floats(v);
    }
  };
  weights(g, "lw", {1, 4 * H, I}, 0.3f, 0.9f);
  weights(g, "lr", {1, 4 * H, H}, 1.1f, 0.6f);
  onnx::NodeProto *lstm = node(g, "LSTM", "lstm", {"x", "lw", "lr"}, "lstm_y");
  intAttrOf(lstm, "hidden_size", H);
  functions(lstm, {"HardSigmoid", "LeakyRelu", "ScaledTanh"}, {0.3f, 0.05f, 1.5f}, {0.45f, 0.7f});
  weights(g, "gw", {2, 3 * H, I}, 2.2f, 0.4f);
  weights(g, "gr", {2, 3 * H, H}, 3.4f, 0.3f);
  onnx::NodeProto *gru = node(g, "GRU", "gru", {"x", "gw", "gr"}, "gru_y");
  intAttrOf(gru, "hidden_size", H);
  stringAttrOf(gru, "direction", "bidirectional");
  functions(gru, {"Affine", "Softsign", "Elu", "Softplus"}, {0.5f, 0.8f}, {0.1f});
  weights(g, "rw", {1, H, I}, 4.6f);
  weights(g, "rr", {1, H, H}, 5.8f, 0.4f);
  onnx::NodeProto *rnn = node(g, "RNN", "rnn", {"x", "rw", "rr"}, "rnn_y");
  intAttrOf(rnn, "hidden_size", H);
  functions(rnn, {"ThresholdedRelu"}, {0.05f}, {});
  for (const char *o : {"lstm_y", "gru_y", "rnn_y"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "recurrent_acts.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("recurrent_acts_") + dtype);
    EXPECT_EQ(stepsRunning(k.compiled.plan, "cuda.host"), 0) << dtype;
    expectClose(k, dtype);
  }
}

// A forward LSTM from zero states, as exporters write one: the x projection for every step
// is one GEMM; each later step is one GEMM whose C is the step's row of that projection (read
// at its offset, no copy) and one kernel writing both c and h. The first step is that kernel
// alone, reading the row (no GEMM of the zero state). Then Y's concat; Y_h and Y_c reshapes.
TEST(CudaRecurrent, LstmStepIsOneGemmAndOneKernel) {
  const int64_t T = 6, B = 3, I = 5, H = 8;
  onnx::ModelProto m = newModel("lstm_steps", 14);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {T, B, I});
  weights(g, "w", {1, 4 * H, I}, 0.4f);
  weights(g, "r", {1, 4 * H, H}, 1.9f);
  weights(g, "b", {1, 8 * H}, 2.6f, 0.2f);
  onnx::NodeProto *lstm = node(g, "LSTM", "lstm", {"x", "w", "r", "b"}, "y");
  lstm->add_output("y_h");
  lstm->add_output("y_c");
  intAttrOf(lstm, "hidden_size", H);
  for (const char *o : {"y", "y_h", "y_c"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "lstm_steps.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("lstm_steps_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 4; // x in; y, y_h, y_c out
    EXPECT_EQ(stepsRunning(plan, "cuda.matmul"), T) << dtype;
    EXPECT_EQ(stepsRunning(plan, "cuda.generated"), T + 1 + casts) << dtype;
    int rowsAsC = 0;
    for (const Step &s : plan.steps)
      rowsAsC += s.kernel == "cuda.matmul" && s.attrs.getInt("c_offset", 0) % (B * 4 * H) == 0 &&
                 s.attrs.getInt("c_offset", 0) > 0;
    EXPECT_EQ(rowsAsC, T - 1) << dtype;
    expectClose(k, dtype);
  }
}

} // namespace
} // namespace plumb
