// Strided views through the lowering and the emulator: the splits, slices, transposes,
// gathers, expands and reshapes that attention, elementwise, movement, row, Einsum and CumSum
// kernels read in place (readsViews) instead of a step each. The plans' outputs match the
// reference interpreter's.
#include "tests/mlir/CudaGraphBuilders.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/StepAttrs.h"
#include "frontend/tensorio/TensorIO.h"

using namespace plumb;
using namespace plumb::cudatest;
using namespace plumb::cudatest::graphs;

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
  intAttrOf(split, "axis", 2);
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
    // f32: the attention step, writing the graph output itself; f16: the attention step
    // and the casts of q, k, v and of the output.
    EXPECT_EQ(plan.steps.size(), std::string(dtype) == "f32" ? 1u : 5u) << dtype;
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
  EXPECT_EQ(plan.steps.size(), 1u); // the Einsum, writing the graph output itself
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
  intAttrOf(split, "axis", 2);
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

// BERT's attention mask: int64 [B, S], unsqueezed twice to [B, 1, 1, S], cast to float and
// scaled, added to the scores. The unsqueezes are views of the int64 input like any other
// (views move elements of any type): one elementwise kernel, no copy of the mask.
TEST(CudaViews, IntegerMaskIsReadInPlaceByItsCast) {
  onnx::ModelProto m = newModel("int_mask", 17);
  onnx::GraphProto *g = m.mutable_graph();
  onnx::ValueInfoProto *mask = g->add_input();
  mask->set_name("mask");
  onnx::TypeProto::Tensor *t = mask->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::INT64);
  for (int64_t d : {2, 6})
    t->mutable_shape()->add_dim()->set_dim_value(d);
  floatValue(g->add_input(), "scores", {2, 3, 6, 6});
  ints(g, "a1", {1});
  ints(g, "a2", {2});
  scalar(g, "one", 1.0f);
  scalar(g, "big", -10000.0f);
  node(g, "Unsqueeze", "unsq1", {"mask", "a1"}, "m1");
  node(g, "Unsqueeze", "unsq2", {"m1", "a2"}, "m2");
  intAttrOf(node(g, "Cast", "cast", {"m2"}, "mf"), "to", onnx::TensorProto::FLOAT);
  node(g, "Sub", "invert", {"one", "mf"}, "inv");
  node(g, "Mul", "scale", {"inv", "big"}, "bias");
  node(g, "Add", "masked", {"scores", "bias"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "int_mask.onnx");
  std::vector<Tensor> inputs = {
      Tensor::fromVector(DType::I64, {2, 6},
                         std::vector<int64_t>{1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0}),
      Tensor::fromVector(DType::F32, {2, 3, 6, 6}, std::vector<float>(216, 0.5f))};
  std::string npz = testing_util::scratchPath("int_mask.npz");
  writeNpz(npz, {{"mask", inputs[0]}, {"scores", inputs[1]}});
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, npz, dtype, keepNone, std::string("int_mask_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsRunning(plan, "cuda.copy"), 0) << dtype;
    const Step *cast = stepOf(plan, "cast");
    ASSERT_TRUE(cast) << dtype;
    EXPECT_EQ(cast, stepOf(plan, "masked")) << dtype;
    EXPECT_EQ(stepsOf(plan, "cast").size(), 1u) << dtype;
    expectClose(k, dtype);
  }
}
