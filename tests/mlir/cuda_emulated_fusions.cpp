// What row kernels, deferred fusions, packed projections and library epilogues take in,
// through the lowering and the emulator: a residual Add in its LayerNorm/RMSNorm kernel,
// SwiGLU's activation and product in one kernel after one packed GEMM, Mamba2's gated norm in
// one row kernel, GPT-2's tanh GELU as the GEMM's epilogue. The plans' outputs match the
// reference interpreter's.
#include "tests/mlir/CudaGraphBuilders.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/StepAttrs.h"

using namespace plumb;
using namespace plumb::cudatest;
using namespace plumb::cudatest::graphs;

namespace {

// s = x + r, then a norm over the last dim of s: LayerNormalization (one ONNX op) or RMSNorm
// as PyTorch exports it (Pow, ReduceMean, Add, Sqrt, Div, Mul: a fusion). With `reuse`, s is
// read again after the norm (out = norm(s) + s), as a pre-LN residual stream is.
std::string writeResidualNorm(const std::string &file, bool rms, bool reuse) {
  onnx::ModelProto m = newModel("residual_norm", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 5, 16});
  floatValue(g->add_input(), "r", {2, 5, 16});
  floats(g, "scale", {16});
  node(g, "Add", "residual", {"x", "r"}, "s");
  std::string normed = reuse ? "n" : "out";
  if (rms) {
    scalar(g, "two", 2.0f);
    scalar(g, "eps", 1e-6f);
    node(g, "Pow", "pow", {"s", "two"}, "sq");
    intsAttrOf(node(g, "ReduceMean", "mean", {"sq"}, "ms"), "axes", {-1}); // opset 17
    node(g, "Add", "add_eps", {"ms", "eps"}, "mse");
    node(g, "Sqrt", "sqrt", {"mse"}, "rms");
    node(g, "Div", "div", {"s", "rms"}, "unit");
    node(g, "Mul", "mul_scale", {"unit", "scale"}, normed);
  } else {
    floats(g, "bias", {16});
    node(g, "LayerNormalization", "ln", {"s", "scale", "bias"}, normed);
  }
  if (reuse)
    node(g, "Add", "stream", {"n", "s"}, "out");
  floatValue(g->add_output(), "out");
  return saveModel(m, file);
}

} // namespace

// BERT's residual Add before each LayerNorm (and an RMSNorm's, as a fusion body) is computed
// by the norm's row kernel in its passes over the row: one kernel, no stored sum. Read again
// after the norm (out = norm(s) + s), the Add after the norm is the row kernel's epilogue and
// reads the sum the kernel computes: still one kernel.
TEST(CudaComposite, ResidualAddIsComputedByTheNormKernel) {
  for (bool rms : {false, true})
    for (bool reuse : {false, true}) {
      std::string name = std::string(rms ? "rms" : "ln") + (reuse ? "_reused" : "");
      std::string model = writeResidualNorm("residual_" + name + ".onnx", rms, reuse);
      for (const char *dtype : {"f32", "f16"}) {
        KeptPlan k = runKept(model, "", dtype, keepNone, "residual_" + name + "_" + dtype);
        const Plan &plan = k.compiled.plan;
        int casts = std::string(dtype) == "f32" ? 0 : 3; // x, r in; out
        EXPECT_EQ(stepsOfStyle(plan, "row"), 1) << name << " " << dtype;
        EXPECT_EQ(stepsOfStyle(plan, "elementwise"), casts) << name << " " << dtype;
        // computed in their reader: the sum, and reused the norm too (RMSNorm: six body ops)
        EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 1 + (!reuse ? 0 : rms ? 6 : 1))
            << name << " " << dtype;
        expectClose(k, dtype);
      }
    }
}

// SwiGLU as Llama exports it: silu(x Wg) * (x Wu). For CUDA the two projections of x are
// packed into one GEMM by [Wg | Wu] (plumb-pack-projections) and the silu and product are
// one elementwise kernel reading the two halves in place: two steps. Unpacked (a "swiglu"
// fusion body, as the CPU pipeline leaves it) the up projection, which reads nothing the
// silu computes, runs before the silu, so silu and product are one kernel there too.
TEST(CudaComposite, SwiGluActivationAndProductAreOneKernel) {
  for (bool constantWeights : {true, false}) {
    onnx::ModelProto m = newModel("swiglu", 17);
    onnx::GraphProto *g = m.mutable_graph();
    floatValue(g->add_input(), "x", {2, 4, 8});
    if (constantWeights) {
      floats(g, "wg", {8, 16});
      floats(g, "wu", {8, 16});
    } else { // weights given at run time: not packed, a "swiglu" fusion
      floatValue(g->add_input(), "wg", {8, 16});
      floatValue(g->add_input(), "wu", {8, 16});
    }
    node(g, "MatMul", "gate", {"x", "wg"}, "gx");
    node(g, "Sigmoid", "sig", {"gx"}, "sg");
    node(g, "Mul", "silu", {"gx", "sg"}, "act");
    node(g, "MatMul", "up", {"x", "wu"}, "ux");
    node(g, "Mul", "product", {"act", "ux"}, "out");
    floatValue(g->add_output(), "out");
    std::string tag = std::string("swiglu_") + (constantWeights ? "packed" : "inputs");
    std::string model = saveModel(m, tag + ".onnx");
    for (const char *dtype : {"f32", "bf16"}) {
      KeptPlan k = runKept(model, "", dtype, keepNone, tag + "_" + dtype);
      const Plan &plan = k.compiled.plan;
      int casts = std::string(dtype) == "f32" ? 0 : constantWeights ? 2 : 4; // inputs, out
      EXPECT_EQ(stepsRunning(plan, "cuda.matmul"), constantWeights ? 1 : 2) << tag << dtype;
      EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 1 + casts) << tag << dtype;
      // the split of the packed GEMM
      EXPECT_EQ(k.compiled.cudaLowering.readAsViews, constantWeights ? 1 : 0) << tag << dtype;
      expectClose(k, dtype);
    }
  }
}

// Mamba2's gated RMSNorm: x split into y and z, norm(y * silu(z)) * w. The silu is a fusion
// of its own, read once by the product, which is read once by the norm: all of it is the
// norm's row kernel, which reads y and z in place from x (row kernels read views too).
TEST(CudaComposite, GatedNormIsOneRowKernelReadingSplitPieces) {
  onnx::ModelProto m = newModel("gated_norm", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 5, 32});
  floats(g, "w", {16});
  scalar(g, "two", 2.0f);
  scalar(g, "eps", 1e-6f);
  onnx::NodeProto *split = node(g, "Split", "split", {"x"}, "y");
  split->add_output("z");
  intAttrOf(split, "axis", -1);
  node(g, "Sigmoid", "sig", {"z"}, "sz");
  node(g, "Mul", "silu", {"z", "sz"}, "gate");
  node(g, "Mul", "gated", {"y", "gate"}, "s");
  node(g, "Pow", "pow", {"s", "two"}, "sq");
  intsAttrOf(node(g, "ReduceMean", "mean", {"sq"}, "ms"), "axes", {-1});
  node(g, "Add", "add_eps", {"ms", "eps"}, "mse");
  node(g, "Sqrt", "sqrt", {"mse"}, "rms");
  node(g, "Div", "div", {"s", "rms"}, "unit");
  node(g, "Mul", "scale", {"unit", "w"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "gated_norm.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("gated_norm_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 2; // x in, out
    EXPECT_EQ(stepsOfStyle(plan, "row"), 1) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), casts) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 1) << dtype; // the split
    expectClose(k, dtype);
  }
}

// Elementwise ops after a norm or softmax, of its shape, are its row kernel's epilogue: DiT's
// modulate, LN(x) * (1 + scale) + shift with scale and shift slices of the adaLN projection
// (read in place), a softmax times a tensor, and a UNet block's GroupNorm(x + temb) -> SiLU
// (x, temb and the result viewed per group: [N, G, C/G, H, W], temb [N, G, C/G, 1, 1]). Left
// as two kernels: a LayerNorm whose result is also a graph output, and a softmax under an Add
// that broadcasts it to a larger shape (the row kernel would iterate over the larger shape).
// DiT's gated residual before the LayerNorm, x = x0 + gate * a, is read again by `later`:
// the first kernel computing it writes it and the other reads it. With `later` after the
// modulate (DiT's order) that is the row kernel; before it, `later`'s kernel.
namespace {

onnx::ModelProto normEpilogueModel(bool laterFirst) {
  onnx::ModelProto m = newModel("norm_epilogue", 18);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x0", {2, 5, 16});
  floatValue(g->add_input(), "a", {2, 5, 16});
  floatValue(g->add_input(), "c", {2, 48}); // [shift | scale | gate]
  floatValue(g->add_input(), "y", {2, 5, 16});
  floatValue(g->add_input(), "v", {2, 5, 16});
  floatValue(g->add_input(), "w", {3, 2, 5, 16});
  floatValue(g->add_input(), "img", {2, 6, 3, 3});
  floatValue(g->add_input(), "temb", {2, 6, 1, 1});
  floats(g, "ones", {16});
  floats(g, "gn_scale", {2}); // per group at opset 18
  floats(g, "gn_bias", {2});
  scalar(g, "one", 1.0f);
  ints(g, "s0", {0});
  ints(g, "s1", {16});
  ints(g, "s2", {32});
  ints(g, "s3", {48});
  ints(g, "ax1", {1});
  ints(g, "ax_last", {-1});
  node(g, "Slice", "slice_gate", {"c", "s2", "s3", "ax_last"}, "gate2");
  node(g, "Unsqueeze", "unsq_gate", {"gate2", "ax1"}, "gate");
  node(g, "Mul", "gating", {"gate", "a"}, "ga");
  node(g, "Add", "gated_res", {"x0", "ga"}, "x");
  node(g, "LayerNormalization", "ln", {"x", "ones"}, "n");
  auto later = [&] { node(g, "Mul", "later", {"x", "a"}, "out_later"); };
  if (laterFirst)
    later();
  node(g, "Slice", "slice_shift", {"c", "s0", "s1", "ax_last"}, "shift2");
  node(g, "Unsqueeze", "unsq_shift", {"shift2", "ax1"}, "shift");
  node(g, "Slice", "slice_scale", {"c", "s1", "s2", "ax_last"}, "scale2");
  node(g, "Unsqueeze", "unsq_scale", {"scale2", "ax1"}, "scale");
  node(g, "Add", "one_plus", {"scale", "one"}, "gain");
  node(g, "Mul", "modulate", {"n", "gain"}, "ng");
  node(g, "Add", "shifted", {"ng", "shift"}, "out");
  if (!laterFirst)
    later();
  node(g, "Softmax", "softmax", {"y"}, "p");
  node(g, "Mul", "weighted", {"p", "v"}, "out_p");
  node(g, "LayerNormalization", "ln_out", {"y", "ones"}, "n_out"); // also a graph output
  node(g, "Mul", "twice", {"n_out", "v"}, "out_twice");
  node(g, "Softmax", "softmax_grown", {"v"}, "q");
  node(g, "Add", "grown", {"q", "w"}, "out_grown");
  node(g, "Add", "gn_in", {"img", "temb"}, "img_t");
  intAttrOf(node(g, "GroupNormalization", "gn", {"img_t", "gn_scale", "gn_bias"}, "gn_out"),
            "num_groups", 2);
  node(g, "Sigmoid", "gn_sig", {"gn_out"}, "gn_sigm");
  node(g, "Mul", "gn_silu", {"gn_out", "gn_sigm"}, "out_gn");
  for (const char *o : {"out", "out_later", "out_p", "n_out", "out_twice", "out_grown", "out_gn"})
    floatValue(g->add_output(), o);
  return m;
}

} // namespace

TEST(CudaComposite, ElementwiseOpsAfterANormAreItsRowKernelsEpilogue) {
  for (bool laterFirst : {false, true})
    for (const char *dtype : {"f32", "f16"}) {
      std::string tag = std::string(laterFirst ? "later_first_" : "") + dtype;
      std::string model =
          saveModel(normEpilogueModel(laterFirst), "norm_epilogue_" + tag + ".onnx");
      KeptPlan k = runKept(model, "", dtype, keepNone, "norm_epilogue_" + tag);
      const Plan &plan = k.compiled.plan;
      auto same = [&](const char *a, const char *b) {
        const Step *sa = stepOf(plan, a), *sb = stepOf(plan, b);
        EXPECT_TRUE(sa && sb) << a << " " << b << " " << tag;
        return sa && sa == sb;
      };
      const Step *ln = stepOf(plan, "ln");
      ASSERT_TRUE(ln) << tag;
      EXPECT_EQ(ln->attrs.getString("style", ""), "row") << tag;
      EXPECT_TRUE(same("ln", "one_plus") && same("ln", "modulate") && same("ln", "shifted")) << tag;
      // x is computed by one kernel, which also writes it for the other
      const char *writer = laterFirst ? "later" : "ln";
      EXPECT_TRUE(same("gating", writer) && same("gated_res", writer)) << tag;
      const Step *w = stepOf(plan, writer);
      ASSERT_TRUE(w) << tag;
      EXPECT_EQ(w->outputs.size(), 2u) << tag;
      EXPECT_EQ(stepsOf(plan, "gated_res").size(), 1u) << tag; // not computed again
      EXPECT_FALSE(same("ln", "later")) << tag;
      EXPECT_EQ(stepOf(plan, "slice_shift"), nullptr) << tag; // read in place
      EXPECT_EQ(stepOf(plan, "slice_scale"), nullptr) << tag;
      EXPECT_TRUE(same("softmax", "weighted")) << tag;
      EXPECT_FALSE(same("ln_out", "twice")) << tag;
      EXPECT_FALSE(same("softmax_grown", "grown")) << tag;
      EXPECT_TRUE(same("gn_in", "gn") && same("gn", "gn_sig") && same("gn", "gn_silu")) << tag;
      EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << tag;
      EXPECT_EQ(stepsOfStyle(plan, "row"), 5) << tag; // ln, softmax, ln_out, softmax_grown, gn
      expectClose(k, dtype);
    }
}

// GPT-2's MLP activation (gelu_new) as PyTorch exports it, 0.5 x (1 + tanh(sqrt(2/pi) (x +
// 0.044715 x^3))) after the c_fc projection and bias: the fusion pass matches it
// ("matmul+bias+gelu_tanh") and it is cuBLASLt's GELU epilogue on the GEMM, no kernel of its
// own.
TEST(CudaComposite, DecomposedTanhGeluIsTheMatMulEpilogue) {
  onnx::ModelProto m = newModel("gelu_new", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {1, 6, 8});
  floats(g, "w", {8, 16});
  floats(g, "b", {16});
  scalar(g, "half", 0.5f);
  scalar(g, "three", 3.0f);
  scalar(g, "c", 0.044715f);
  scalar(g, "k", 0.7978845608f);
  scalar(g, "one", 1.0f);
  node(g, "MatMul", "c_fc", {"x", "w"}, "h");
  node(g, "Add", "c_fc_bias", {"h", "b"}, "hb");
  node(g, "Mul", "half_x", {"hb", "half"}, "hx");
  node(g, "Pow", "cube", {"hb", "three"}, "x3");
  node(g, "Mul", "scaled_cube", {"x3", "c"}, "cx3");
  node(g, "Add", "inner", {"hb", "cx3"}, "in");
  node(g, "Mul", "times_k", {"in", "k"}, "kin");
  node(g, "Tanh", "tanh", {"kin"}, "t");
  node(g, "Add", "plus_one", {"t", "one"}, "t1");
  node(g, "Mul", "gelu", {"hx", "t1"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "gelu_new.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("gelu_new_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 2; // x in, out
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), casts) << dtype;
    int epilogues = 0;
    for (const Step &s : plan.steps)
      epilogues += s.kernel == "cuda.matmul" && s.attrs.getString("epilogue", "") == "gelu_tanh";
    EXPECT_EQ(epilogues, 1) << dtype;
    expectClose(k, dtype);
  }
}

// Q, K and V projections as torch.onnx exports nn.Linear on 2-D input: Gemm(x, W, b) with
// transB 1, W [N, K]. The CUDA pipeline packs them into one GEMM by the weights one under
// another (plumb-pack-projections), whose Split costs no step: q * q and k - v are elementwise
// kernels reading their pieces in place.
TEST(CudaComposite, GemmProjectionsArePackedIntoOneGemm) {
  onnx::ModelProto m = newModel("gemm_qkv", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {6, 8});
  // Different weights per projection, so a piece read from the wrong place shows.
  floatInitializer(g, "wq", {8, 8}, [](int64_t i) { return float(i % 7) * 0.25f - 0.6f; });
  floatInitializer(g, "wk", {4, 8}, [](int64_t i) { return float(i % 5) * -0.3f + 0.5f; });
  floatInitializer(g, "wv", {4, 8}, [](int64_t i) { return float(i % 3) * 0.4f - 0.2f; });
  floatInitializer(g, "bq", {8}, [](int64_t i) { return 0.1f * float(i); });
  floatInitializer(g, "bk", {4}, [](int64_t i) { return -0.2f * float(i); });
  floatInitializer(g, "bv", {4}, [](int64_t i) { return 1.0f + float(i); });
  for (const char *p : {"q", "k", "v"}) {
    intAttrOf(node(g, "Gemm", p, {"x", std::string("w") + p, std::string("b") + p}, p), "transB", 1);
  }
  node(g, "Mul", "qq", {"q", "q"}, "q2");
  node(g, "Sub", "kv", {"k", "v"}, "s");
  floatValue(g->add_output(), "q2");
  floatValue(g->add_output(), "s");
  std::string model = saveModel(m, "gemm_qkv.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("gemm_qkv_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 3; // x in, q2 and s out
    EXPECT_EQ(stepsRunning(plan, "cuda.matmul"), 1) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 2 + casts) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 1) << dtype; // the split
    expectClose(k, dtype);
  }
}

// A residual Add after a projection is cuBLASLt's C (beta 1), added before the bias
// epilogue and the activation: relu(x W + b + r) and, as an unrolled RNN step has it, a row
// of a sequence's projections (a Gather of one index: a contiguous view) plus x W2, read at
// its offset into the sequence's buffer. No kernel adds either, and no kernel copies the row
// (but one whose offset leaves C less than 16-byte aligned).
TEST(CudaComposite, ResidualAddIsTheMatMulsC) {
  onnx::ModelProto m = newModel("residual_gemm", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 6, 8});
  floatValue(g->add_input(), "r", {2, 6, 16});
  floatValue(g->add_input(), "seq", {3, 2, 6, 16});
  floats(g, "w", {8, 16});
  floatInitializer(g, "w2", {8, 16}, [](int64_t i) { return float(i % 5) * -0.3f + 0.5f; });
  floatInitializer(g, "b", {16}, [](int64_t i) { return 0.1f * float(i) - 0.7f; });
  onnx::TensorProto *index = g->add_initializer(); // a scalar: the Gather drops the axis
  index->set_name("row");
  index->set_data_type(onnx::TensorProto::INT64);
  index->add_int64_data(1);
  node(g, "MatMul", "proj", {"x", "w"}, "h");
  node(g, "Add", "proj_bias", {"h", "b"}, "hb");
  node(g, "Add", "residual", {"r", "hb"}, "s");
  node(g, "Relu", "relu", {"s"}, "out");
  node(g, "Gather", "step_row", {"seq", "row"}, "xt");
  node(g, "MatMul", "step_proj", {"x", "w2"}, "hr");
  node(g, "Add", "step_pre", {"xt", "hr"}, "pre");
  // A row 5 elements into its buffer is not 16-byte aligned: a kernel copies it out.
  floatValue(g->add_input(), "x5", {1, 4});
  floatValue(g->add_input(), "seq5", {3, 1, 5});
  floatInitializer(g, "w5", {4, 5}, [](int64_t i) { return float(i % 3) * 0.4f - 0.3f; });
  node(g, "Gather", "odd_row", {"seq5", "row"}, "xt5");
  node(g, "MatMul", "odd_proj", {"x5", "w5"}, "hr5");
  node(g, "Add", "odd_pre", {"hr5", "xt5"}, "pre5");
  floatValue(g->add_output(), "out");
  floatValue(g->add_output(), "pre");
  floatValue(g->add_output(), "pre5");
  std::string model = saveModel(m, "residual_gemm.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("residual_gemm_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 8; // x, r, seq, x5, seq5 in; 3 out
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), casts) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 1) << dtype; // the odd row's copy
    ASSERT_EQ(stepsRunning(plan, "cuda.matmul"), 3) << dtype;
    for (const Step &s : plan.steps) {
      if (s.kernel != "cuda.matmul")
        continue;
      bool first = s.nodeNames.find("relu") != std::string::npos;
      bool odd = s.nodeNames.find("odd") != std::string::npos;
      EXPECT_EQ(s.inputs.size(), first ? 4u : 3u) << dtype << " " << s.nodeNames;
      EXPECT_EQ(s.attrs.getInt("bias", 0), first ? 1 : 0) << dtype;
      EXPECT_EQ(s.attrs.getString("epilogue", ""), first ? "relu" : "none") << dtype;
      EXPECT_EQ(s.attrs.getFloat("beta", 0.0), 1.0) << dtype;
      EXPECT_EQ(s.attrs.getInt("c_offset", 0), first || odd ? 0 : 2 * 6 * 16) << dtype;
    }
    expectClose(k, dtype);
  }
}
