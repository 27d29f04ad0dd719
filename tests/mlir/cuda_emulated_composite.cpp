// Ops without a step of their own, through the lowering and the emulator: movement and
// elementwise ops read once by a generated elementwise kernel are computed inside it
// (composite kernels), and the split and reshapes of a fused QKV projection are read by the
// attention kernel as strided views of the projection. The plans' outputs match the
// reference interpreter's in f32, f16 and bf16 plans.
#include "tests/mlir/CudaEmulatedModels.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/StepAttrs.h"

using namespace plumb;
using namespace plumb::cudatest;

namespace {

onnx::NodeProto *node(onnx::GraphProto *g, const std::string &op, const std::string &name,
                      const std::vector<std::string> &in, const std::string &out) {
  onnx::NodeProto *n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string &i : in)
    n->add_input(i);
  n->add_output(out);
  return n;
}

void ints(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &v) {
  intsInitializer(g, name, v);
}

void floats(onnx::GraphProto *g, const std::string &name, const std::vector<int64_t> &dims) {
  floatInitializer(g, name, dims, [](int64_t i) { return float(i % 7) * 0.25f - 0.6f; });
}

void scalar(onnx::GraphProto *g, const std::string &name, float v) {
  onnx::TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(v);
}

void expectClose(const KeptPlan &k, const std::string &dtype) {
  ASSERT_EQ(k.got.size(), k.truth.outputs.size());
  for (size_t i = 0; i < k.got.size(); ++i) {
    const Tensor &truth = k.truth.outputs[i];
    ASSERT_EQ(k.got[i].shape(), truth.shape()) << dtype;
    parity::TensorMetrics m = parity::compareTensors(k.got[i].cast(DType::F32), truth);
    EXPECT_LE(m.maxAbsErr, tolerance(dtype, peakOf(truth))) << dtype << " output " << i;
  }
}

int stepsRunning(const Plan &plan, const std::string &kernel) {
  return int(std::count_if(plan.steps.begin(), plan.steps.end(),
                           [&](const Step &s) { return s.kernel == kernel; }));
}

} // namespace

// Llama's rotary embedding: q = x^T * cos + concat(-x^T[..., 4:], x^T[..., :4]) * sin. The
// transpose, the two slices, the negation and the concat are all computed by the elementwise
// kernel of the multiply-adds: the transpose has three readers, all in that kernel.
TEST(CudaComposite, RotaryEmbeddingIsOneElementwiseKernel) {
  onnx::ModelProto m = newModel("rope", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {1, 5, 3, 8}); // [B, S, H, D]
  floatValue(g->add_input(), "cos", {1, 1, 5, 8});
  floatValue(g->add_input(), "sin", {1, 1, 5, 8});
  ints(g, "lo", {0}), ints(g, "mid", {4}), ints(g, "hi", {1000}), ints(g, "last", {-1});
  intsAttrOf(node(g, "Transpose", "t", {"x"}, "xt"), "perm", {0, 2, 1, 3});
  node(g, "Slice", "first_half", {"xt", "lo", "mid", "last"}, "x1");
  node(g, "Slice", "second_half", {"xt", "mid", "hi", "last"}, "x2");
  node(g, "Neg", "neg", {"x2"}, "nx2");
  onnx::NodeProto *cat = node(g, "Concat", "rotate_half", {"nx2", "x1"}, "rot");
  onnx::AttributeProto *axis = cat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(-1);
  node(g, "Mul", "mul_cos", {"xt", "cos"}, "a");
  node(g, "Mul", "mul_sin", {"rot", "sin"}, "b");
  node(g, "Add", "add", {"a", "b"}, "q");
  floatValue(g->add_output(), "q");
  std::string model = saveModel(m, "rope.onnx");
  for (const char *dtype : {"f32", "f16", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("rope_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 5) << dtype;
    // f32: one elementwise kernel; half plans add a cast kernel per graph input and output.
    int casts = std::string(dtype) == "f32" ? 0 : 4;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 1 + casts) << dtype;
    expectClose(k, dtype);
  }
}

// A chain of every composable movement op ending in an elementwise op: a reshape that is not
// a pure unsqueeze (through the flat index), a reversing slice, Tile, a three-piece concat
// with a constant piece, Unsqueeze and Expand, then a broadcasting Mul. All of it is the Mul's
// kernel: nothing else runs, and no intermediate tensor exists.
TEST(CudaComposite, MovementChainIsReadThroughByOneKernel) {
  onnx::ModelProto m = newModel("chain", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 4});
  floatValue(g->add_input(), "y", {3, 1, 8});
  floatValue(g->add_input(), "z", {1, 8});
  ints(g, "shape", {6, 4});
  ints(g, "start", {-1}), ints(g, "end", {-100}), ints(g, "axis1", {1}), ints(g, "back", {-1});
  ints(g, "reps", {1, 2});
  ints(g, "ax0", {0});
  ints(g, "big", {3, 9, 8});
  floats(g, "c", {2, 8});
  node(g, "Reshape", "reshape", {"x", "shape"}, "r");
  node(g, "Slice", "reverse", {"r", "start", "end", "axis1", "back"}, "s");
  node(g, "Tile", "tile", {"s", "reps"}, "t");
  onnx::NodeProto *cat = node(g, "Concat", "cat", {"t", "c", "z"}, "k");
  onnx::AttributeProto *axis = cat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  node(g, "Unsqueeze", "unsqueeze", {"k", "ax0"}, "u");
  node(g, "Expand", "expand", {"u", "big"}, "e");
  node(g, "Mul", "mul", {"e", "y"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "composite_chain.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("chain_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    // f32: the Mul's kernel and the copy into the graph output; f16: the Mul's kernel and a
    // cast kernel per graph input and output.
    bool f32 = std::string(dtype) == "f32";
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), f32 ? 1 : 5) << dtype;
    EXPECT_EQ(plan.steps.size(), f32 ? 2u : 5u) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 6) << dtype;
    expectClose(k, dtype);
    // Bit for bit in f32: the same arithmetic (one multiply) on the same elements.
    if (f32) {
      EXPECT_EQ(parity::compareTensors(k.got[0], k.truth.outputs[0]).maxAbsErr, 0.0);
    }
  }
}

// A value with a second reader keeps its own step: the slice read by the Add and by the
// transpose the Add also reads is computed once and stored; the transpose is the Add's.
// A value read twice: arithmetic keeps its step (computing it per reader would repeat the
// work), a slice is read in place by both readers (each reads its window of x).
TEST(CudaComposite, ValuesReadTwiceKeepTheirStepUnlessMovement) {
  for (const char *producer : {"Exp", "Slice"}) {
    onnx::ModelProto m = newModel("twice", 17);
    onnx::GraphProto *g = m.mutable_graph();
    bool exp = std::string(producer) == "Exp";
    floatValue(g->add_input(), "x", {4, exp ? 4 : 6});
    ints(g, "s0", {1}), ints(g, "e0", {5}), ints(g, "a1", {1});
    if (exp)
      node(g, "Exp", "exp", {"x"}, "s");
    else
      node(g, "Slice", "slice", {"x", "s0", "e0", "a1"}, "s");
    node(g, "Transpose", "transpose", {"s"}, "t");
    node(g, "Add", "add", {"t", "s"}, "out");
    floatValue(g->add_output(), "out");
    std::string model = saveModel(m, std::string("composite_twice_") + producer + ".onnx");
    KeptPlan k = runKept(model, "", "f32", keepNone, std::string("twice_") + producer);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << producer;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), exp ? 2 : 1) << producer;
    // the transpose; for the slice also the slice
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, exp ? 1 : 2) << producer;
    expectClose(k, "f32");
  }
}

// The generator on its own: a composite body's source reads each input at the coordinates
// its movement maps to and branches per concat piece.
TEST(CudaComposite, GeneratedSourceBranchesPerConcatPiece) {
  cuda::KernelGraph g;
  g.kind = "elementwise";
  g.label = "test";
  int x = g.addValue(DType::F32, {2, 4});
  int lo = g.addValue(DType::F32, {2, 2});
  int hi = g.addValue(DType::F32, {2, 2});
  int neg = g.addValue(DType::F32, {2, 2});
  int cat = g.addValue(DType::F32, {2, 4});
  int out = g.addValue(DType::F32, {2, 4});
  int st0 = g.addValue(DType::I64, {1}), st2 = g.addValue(DType::I64, {1});
  int en2 = g.addValue(DType::I64, {1}), en4 = g.addValue(DType::I64, {1});
  int ax = g.addValue(DType::I64, {1});
  g.intConstants = {{st0, {0}}, {st2, {2}}, {en2, {2}}, {en4, {4}}, {ax, {1}}};
  g.inputs = {x};
  g.outputs = {out};
  g.nodes.push_back({"Slice", {}, {x, st0, en2, ax}, {lo}, "lo"});
  g.nodes.push_back({"Slice", {}, {x, st2, en4, ax}, {hi}, "hi"});
  g.nodes.push_back({"Neg", {}, {hi}, {neg}, "neg"});
  cuda::KNode c{"Concat", {}, {neg, lo}, {cat}, "cat"};
  c.attrs.set("axis", cuda::intAttr(1));
  g.nodes.push_back(c);
  g.nodes.push_back({"Mul", {}, {cat, x}, {out}, "mul"});
  ASSERT_TRUE(cuda::isComposite(g));
  EXPECT_EQ(cuda::kernelStyle(g), "elementwise");
  cuda::GeneratedKernel k = cuda::generateKernel(g);
  EXPECT_NE(k.source.find("if (c1 < 2LL)"), std::string::npos) << k.source;
  // The first piece (-hi) reads x at column 2 + c1, the second (lo) at c1 - 2.
  EXPECT_NE(k.source.find("in0[(c0) * 4LL + (2LL + c1 * 1LL) * 1LL]"), std::string::npos) << k.source;
  EXPECT_NE(k.source.find("in0[(c0) * 4LL + (0LL + (c1 - 2LL) * 1LL) * 1LL]"), std::string::npos)
      << k.source;
  EXPECT_EQ(k.source.find("out1"), std::string::npos) << k.source; // one output only
}

namespace {

// GPT-2's attention on a fused QKV projection `x` [B, 4, 48]: Split into Q, K, V [B, 4, 16],
// each reshaped to 2 heads of 8 (optionally after taking the first `keep` positions of each
// and merging them with the batch, which no view of x can say), head transposes (K to
// [.., D, S]), scaled scores, Softmax, the context transposed back and merged.
std::string writeFusedQkv(const std::string &file, int64_t batch, int64_t keep) {
  onnx::ModelProto m = newModel("fused_qkv", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {batch, 4, 48});
  ints(g, "sizes", {16, 16, 16});
  int64_t rows = batch * keep / 4;
  ints(g, "heads", {rows > 0 ? rows : 1, 4, 2, 8});
  ints(g, "merged", {rows > 0 ? rows : 1, 4, 16});
  ints(g, "s0", {0}), ints(g, "sk", {keep}), ints(g, "a1", {1});
  scalar(g, "scale", 2.8284271f);
  onnx::NodeProto *split = node(g, "Split", "split", {"x", "sizes"}, "q");
  split->add_output("k");
  split->add_output("v");
  onnx::AttributeProto *axis = split->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(2);
  for (const char *t : {"q", "k", "v"}) {
    std::string in = t;
    if (keep < 4) {
      node(g, "Slice", std::string("first_") + t, {in, "s0", "sk", "a1"}, in + "_kept");
      in += "_kept";
    }
    node(g, "Reshape", std::string("heads_") + t, {in, "heads"}, std::string(t) + "_h");
  }
  intsAttrOf(node(g, "Transpose", "qt", {"q_h"}, "qt"), "perm", {0, 2, 1, 3});
  intsAttrOf(node(g, "Transpose", "kt", {"k_h"}, "kt"), "perm", {0, 2, 3, 1});
  intsAttrOf(node(g, "Transpose", "vt", {"v_h"}, "vt"), "perm", {0, 2, 1, 3});
  node(g, "MatMul", "scores", {"qt", "kt"}, "s");
  node(g, "Div", "scaled", {"s", "scale"}, "d");
  node(g, "Softmax", "probs", {"d"}, "p");
  node(g, "MatMul", "context", {"p", "vt"}, "c");
  intsAttrOf(node(g, "Transpose", "back", {"c"}, "ct"), "perm", {0, 2, 1, 3});
  node(g, "Reshape", "merge", {"ct", "merged"}, "out");
  floatValue(g->add_output(), "out");
  return saveModel(m, file);
}

} // namespace

// The split and the reshapes get no step: the attention kernel reads Q, K and V from the
// projection's buffer at their offsets (0, 16, 32) and head strides, so nothing runs but it.
TEST(CudaViews, FusedQkvSplitIsReadThroughByAttention) {
  std::string model = writeFusedQkv("fused_qkv.onnx", 1, 4);
  for (const char *dtype : {"f32", "f16", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("fused_qkv_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "attention"), 1) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    // the split, three reshapes, three head transposes
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 7) << dtype;
    for (const Step &s : plan.steps)
      if (s.attrs.getString("style", "") == "attention") {
        std::set<int> distinct(s.inputs.begin(), s.inputs.end());
        EXPECT_EQ(distinct.count(plan.inputs.at(0)) + (std::string(dtype) != "f32"), 1u)
            << dtype << ": Q/K/V are views of x (of its cast in a half plan)";
      }
    expectClose(k, dtype);
  }
}

// Slicing positions and merging them with the batch is not a view of the projection: Q, K
// and V get steps again, each slice, reshape and transpose one composite kernel reading its
// part of x through the split (that much is a view), nothing runs on the host, and the
// answer is the same.
TEST(CudaViews, NoViewMeansStepsAgain) {
  std::string model = writeFusedQkv("fused_qkv_sliced.onnx", 2, 2);
  KeptPlan k = runKept(model, "", "f32", keepNone, "fused_qkv_sliced");
  const Plan &plan = k.compiled.plan;
  EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 1); // the split
  EXPECT_EQ(stepsOfStyle(plan, "movement"), 0);
  EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 3); // Q, K and V
  EXPECT_EQ(stepsOfStyle(plan, "attention"), 1);
  EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 6); // slices and reshapes, 3 of each
  expectClose(k, "f32");
}

// timm's ViT/DiT attention: qkv [B, N, 3*H*D] reshaped to [B, N, 3, H, D], permuted to
// [3, B, H, N, D] (one Transpose with three readers) and indexed by Gathers of 0, 1 and 2.
// All of it is views of the projection: nothing runs but the attention kernel. The additive
// mask comes through a reshape too, but is not read by the MatMuls, so it is no view (the
// kernel reads masks contiguously): it keeps its (in-place) copy.
TEST(CudaViews, PackedQkvGathersAreReadThroughByAttention) {
  onnx::ModelProto m = newModel("timm_qkv", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "qkv", {2, 5, 48}); // B=2, N=5, 3 x H=2 x D=8
  floatValue(g->add_input(), "mask", {2, 5});
  ints(g, "packed", {2, 5, 3, 2, 8});
  ints(g, "mask_shape", {2, 1, 1, 5});
  scalar(g, "scale", 0.35355339f);
  node(g, "Reshape", "unpack", {"qkv", "packed"}, "r");
  intsAttrOf(node(g, "Transpose", "permute", {"r"}, "p"), "perm", {2, 0, 3, 1, 4});
  const char *names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    onnx::TensorProto *idx = g->add_initializer();
    idx->set_name(std::string("i") + names[i]);
    idx->set_data_type(onnx::TensorProto::INT64);
    idx->add_int64_data(i); // a scalar index: the axis goes
    node(g, "Gather", std::string("take_") + names[i], {"p", std::string("i") + names[i]}, names[i]);
  }
  intsAttrOf(node(g, "Transpose", "kt", {"k"}, "kt"), "perm", {0, 1, 3, 2});
  node(g, "MatMul", "scores", {"q", "kt"}, "s");
  node(g, "Mul", "scaled", {"s", "scale"}, "d");
  node(g, "Reshape", "mask_view", {"mask", "mask_shape"}, "mv");
  node(g, "Add", "masked", {"d", "mv"}, "dm");
  node(g, "Softmax", "probs", {"dm"}, "pr");
  node(g, "MatMul", "context", {"pr", "v"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "timm_qkv.onnx");
  for (const char *dtype : {"f32", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("timm_qkv_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "attention"), 1) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 5) << dtype; // reshape, transpose, 3 gathers
    expectClose(k, dtype);
  }
}

// Grouped-query attention as Llama exports it: each of 2 key/value heads unsqueezed,
// expanded to 2 copies and merged into 4 heads. The attention kernel reads the 2 heads
// directly (head h at h / 2: a view with a divisor); no expand kernel, no copy.
TEST(CudaViews, RepeatedKeyValueHeadsAreReadInPlace) {
  onnx::ModelProto m = newModel("gqa", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "q", {1, 4, 6, 8});
  floatValue(g->add_input(), "k", {1, 2, 6, 8});
  floatValue(g->add_input(), "v", {1, 2, 6, 8});
  ints(g, "ax2", {2});
  ints(g, "grown", {1, 2, 2, 6, 8});
  ints(g, "heads", {1, 4, 6, 8});
  scalar(g, "scale", 0.35355339f);
  for (const char *t : {"k", "v"}) {
    std::string n = t;
    node(g, "Unsqueeze", "unsqueeze_" + n, {n, "ax2"}, n + "_u");
    node(g, "Expand", "expand_" + n, {n + "_u", "grown"}, n + "_e");
    node(g, "Reshape", "repeat_" + n, {n + "_e", "heads"}, n + "_r");
  }
  intsAttrOf(node(g, "Transpose", "kt", {"k_r"}, "kt"), "perm", {0, 1, 3, 2});
  node(g, "MatMul", "scores", {"q", "kt"}, "s");
  node(g, "Mul", "scaled", {"s", "scale"}, "d");
  node(g, "Softmax", "probs", {"d"}, "p");
  node(g, "MatMul", "context", {"p", "v_r"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "gqa.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("gqa_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "attention"), 1) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    // f32: the attention step and the copy into the graph output; f16: the attention step
    // and the casts of q, k, v and of the output.
    EXPECT_EQ(plan.steps.size(), std::string(dtype) == "f32" ? 2u : 5u) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 6) << dtype; // unsqueeze, expand, reshape x2
    expectClose(k, dtype);
  }
}

// An Einsum (Mamba2's chunked scan is made of them) reads its operands through a transpose
// and an unsqueeze/expand as strided views: only the Einsum's window kernel runs.
TEST(CudaViews, EinsumReadsItsOperandsThroughViews) {
  onnx::ModelProto m = newModel("einsum_views", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 4});
  floatValue(g->add_input(), "y", {3, 5});
  ints(g, "ax0", {0});
  ints(g, "grown", {2, 3, 5});
  intsAttrOf(node(g, "Transpose", "xt", {"x"}, "xt"), "perm", {0, 2, 1});
  node(g, "Unsqueeze", "yu", {"y", "ax0"}, "yu");
  node(g, "Expand", "ye", {"yu", "grown"}, "ye");
  onnx::NodeProto *e = node(g, "Einsum", "contract", {"xt", "ye"}, "out");
  stringAttrOf(e, "equation", "bij,bjk->bik");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "einsum_views.onnx");
  KeptPlan k = runKept(model, "", "f32", keepNone, "einsum_views");
  const Plan &plan = k.compiled.plan;
  EXPECT_EQ(stepsOfStyle(plan, "window"), 1);
  EXPECT_EQ(stepsOfStyle(plan, "movement"), 0);
  EXPECT_EQ(plan.steps.size(), 2u); // the Einsum and the copy into the graph output
  EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 3);
  expectClose(k, "f32");
}

// Mamba2's in_proj output split three ways, each piece read by a different kind of kernel:
// an elementwise kernel (dt + bias, softplus), a movement kernel (the transpose a MatMul needs
// stored) and a CumSum through a transpose. No kernel computes the split: each reader loads
// its piece of x at the piece's offset and strides, the CumSum through the transpose too.
TEST(CudaViews, SplitPiecesAreReadInPlaceByEveryKindOfReader) {
  onnx::ModelProto m = newModel("split_readers", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 6, 8});
  ints(g, "sizes", {2, 3, 3});
  ints(g, "axis2", {2});
  floats(g, "bias", {2});
  floats(g, "w", {6, 4});
  onnx::NodeProto *split = node(g, "Split", "split", {"x", "sizes"}, "a");
  split->add_output("b");
  split->add_output("c");
  onnx::AttributeProto *axis = split->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(2);
  node(g, "Add", "dt_bias", {"a", "bias"}, "ab");
  node(g, "Softplus", "dt", {"ab"}, "out0");
  intsAttrOf(node(g, "Transpose", "bt", {"b"}, "bt"), "perm", {0, 2, 1});
  node(g, "MatMul", "proj", {"bt", "w"}, "out1");
  intsAttrOf(node(g, "Transpose", "ct", {"c"}, "ct"), "perm", {0, 2, 1});
  node(g, "CumSum", "scan", {"ct", "axis2"}, "out2");
  for (const char *o : {"out0", "out1", "out2"})
    floatValue(g->add_output(), o);
  std::string model = saveModel(m, "split_readers.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("split_readers_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 1) << dtype; // bt, for the MatMul
    EXPECT_EQ(stepsOfStyle(plan, "window"), 1) << dtype;   // the CumSum
    EXPECT_EQ(k.compiled.cudaLowering.readAsViews, 2) << dtype; // the split, ct
    for (const Step &s : plan.steps)
      EXPECT_EQ(s.nodeNames.find("split"), std::string::npos) << dtype << ": " << s.nodeNames;
    expectClose(k, dtype);
  }
}

// The generator refuses a view where its kernel would read the input contiguously (a pool),
// so a lowering that gave one by mistake fails loudly instead of reading wrongly; row and
// elementwise kernels load through it.
TEST(CudaViews, GeneratorRefusesViewsItDoesNotRead) {
  cuda::KernelGraph g;
  g.kind = "GlobalAveragePool";
  g.label = "test";
  int x = g.addValue(DType::F32, {1, 2, 4, 4});
  int y = g.addValue(DType::F32, {1, 2, 1, 1});
  g.inputs = {x};
  g.outputs = {y};
  cuda::KNode n;
  n.op = "GlobalAveragePool";
  n.operands = {x};
  n.results = {y};
  n.name = "pool";
  g.nodes = {n};
  EXPECT_FALSE(cuda::readsViews(g, x));
  EXPECT_NO_THROW(cuda::generateKernel(g));
  g.strides[x] = {32, 1, 4, 8}; // a view with the spatial dims transposed
  EXPECT_THROW(cuda::generateKernel(g), Error);
  for (const char *op : {"Softmax", "Exp"}) {
    g.kind = op;
    g.values[size_t(y)].shape = {1, 2, 4, 4};
    g.nodes[0].op = op;
    EXPECT_TRUE(cuda::readsViews(g, x)) << op;
    cuda::GeneratedKernel k = cuda::generateKernel(g);
    EXPECT_EQ(k.style, std::string(op) == "Exp" ? "elementwise" : "row");
    EXPECT_NE(k.source.find("* 8LL"), std::string::npos) << k.source; // the view's stride
  }
}

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
// after the norm (a pre-LN residual stream), the sum keeps its step.
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
        // reused: the sum's kernel and the final Add's
        EXPECT_EQ(stepsOfStyle(plan, "elementwise"), casts + (reuse ? 2 : 0)) << name << " " << dtype;
        EXPECT_EQ(k.compiled.cudaLowering.computedInReader, reuse ? 0 : 1) << name << " " << dtype;
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
  onnx::AttributeProto *axis = split->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(-1);
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

// Mamba2's scan pads the chunk sums with a leading zero before expanding them: a constant Pad
// is composable movement too. Padded before and after on one axis, cropped on another, a
// constant fill: the elementwise kernel reading it computes it (one kernel, no Pad step).
TEST(CudaComposite, ConstantPadIsComputedByItsReader) {
  onnx::ModelProto m = newModel("pad_reader", 18);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "x", {2, 3, 4});
  floatValue(g->add_input(), "y", {2, 5, 3});
  ints(g, "pads", {0, 1, 0, 0, 1, -1}); // axis 1: one before, one after; axis 2: crop the last
  scalar(g, "fill", 0.5f);
  node(g, "Pad", "pad", {"x", "pads", "fill"}, "p");
  node(g, "Mul", "mul", {"p", "y"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "pad_reader.onnx");
  for (const char *dtype : {"f32", "bf16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("pad_reader_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 3; // x, y in; out
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 1 + casts) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 1) << dtype;
    expectClose(k, dtype);
  }
}
