// Ops without a step of their own, through the lowering and the emulator: movement and
// elementwise ops read once by a generated elementwise kernel are computed inside it
// (composite kernels). The plans' outputs match the reference interpreter's in f32, f16 and
// bf16 plans. (Strided views: cuda_emulated_views.cpp; row kernels, fusions and library
// epilogues: cuda_emulated_fusions.cpp.)
#include "tests/mlir/CudaGraphBuilders.h"

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/lowering/StepAttrs.h"
#include "frontend/tensorio/TensorIO.h"

using namespace plumb;
using namespace plumb::cudatest;
using namespace plumb::cudatest::graphs;


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
  intAttrOf(cat, "axis", -1);
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

// The opset-23 RotaryEmbedding op (plumb-decompose-rotary; it ran on the host): 4-D X with
// position_ids given at run time (the caches gathered by a movement kernel each), 3-D X with
// num_heads, interleaved pairs and a rotary_embedding_dim short of the head (the rest passed
// through), and caches per position without position_ids. No host step; the rotation and
// its slices and concats are one elementwise kernel; values against the reference in f32 and
// f16 plans.
TEST(CudaComposite, Opset23RotaryEmbeddingIsComposite) {
  for (const char *form : {"positions", "3d_interleaved_partial", "no_positions"}) {
    std::string f = form;
    onnx::ModelProto m = newModel("rotary", 23);
    onnx::GraphProto *g = m.mutable_graph();
    bool threeD = f == "3d_interleaved_partial", positions = f == "positions";
    Shape xs = threeD ? Shape{2, 5, 3 * 8} : Shape{2, 3, 5, 8};
    int64_t half = threeD ? 3 : 4; // rotary_embedding_dim 6 of 8
    Shape cs = positions ? Shape{16, half} : Shape{2, 5, half};
    floatValue(g->add_input(), "x", std::vector<int64_t>(xs.begin(), xs.end()));
    NamedTensors feeds;
    auto wave = [](Shape s, float f) {
      std::vector<float> v(size_t(numElements(s)));
      for (size_t e = 0; e < v.size(); ++e)
        v[e] = std::sin(f * float(e) + 0.3f);
      return Tensor::fromVector(DType::F32, s, v);
    };
    feeds.push_back({"x", wave(xs, 0.41f)});
    floatInitializer(g, "cos", std::vector<int64_t>(cs.begin(), cs.end()),
                     [](int64_t e) { return std::cos(0.13f * float(e)); });
    floatInitializer(g, "sin", std::vector<int64_t>(cs.begin(), cs.end()),
                     [](int64_t e) { return std::sin(0.13f * float(e)); });
    std::vector<std::string> in{"x", "cos", "sin"};
    if (positions) {
      onnx::ValueInfoProto *p = g->add_input();
      p->set_name("pos");
      auto *t = p->mutable_type()->mutable_tensor_type();
      t->set_elem_type(onnx::TensorProto::INT64);
      for (int64_t d : {2, 5})
        t->mutable_shape()->add_dim()->set_dim_value(d);
      in.push_back("pos");
      feeds.push_back({"pos", Tensor::fromVector(DType::I64, {2, 5},
                                                 std::vector<int64_t>{3, 4, 5, 6, 7, 15, 0, 9, 2, 2})});
    }
    onnx::NodeProto *n = node(g, "RotaryEmbedding", "rope", in, "y");
    if (threeD) {
      intAttrOf(n, "num_heads", 3);
      intAttrOf(n, "interleaved", 1);
      intAttrOf(n, "rotary_embedding_dim", 6);
    }
    floatValue(g->add_output(), "y");
    std::string tag = "rotary23_" + f;
    std::string model = saveModel(m, tag + ".onnx");
    std::string npz = testing_util::scratchPath(tag + ".npz");
    writeNpz(npz, feeds);
    for (const char *dtype : {"f32", "f16"}) {
      KeptPlan k = runKept(model, npz, dtype, keepNone, tag + "_" + dtype);
      const Plan &plan = k.compiled.plan;
      // the gathers of the two caches; half plans add the casts of x and y
      EXPECT_EQ(stepsOfStyle(plan, "movement"), positions ? 2 : 0) << tag << " " << dtype;
      int casts = std::string(dtype) == "f32" ? 0 : 2;
      EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 1 + casts) << tag << " " << dtype;
      expectClose(k, dtype);
    }
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
  intAttrOf(cat, "axis", 0);
  node(g, "Unsqueeze", "unsqueeze", {"k", "ax0"}, "u");
  node(g, "Expand", "expand", {"u", "big"}, "e");
  node(g, "Mul", "mul", {"e", "y"}, "out");
  floatValue(g->add_output(), "out");
  std::string model = saveModel(m, "composite_chain.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("chain_") + dtype);
    const Plan &plan = k.compiled.plan;
    EXPECT_EQ(stepsOfStyle(plan, "movement"), 0) << dtype;
    // f32: the Mul's kernel, writing the graph output itself; f16: the Mul's kernel and a
    // cast kernel per graph input and output.
    bool f32 = std::string(dtype) == "f32";
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), f32 ? 1 : 5) << dtype;
    EXPECT_EQ(plan.steps.size(), f32 ? 1u : 5u) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 6) << dtype;
    expectClose(k, dtype);
    // Bit for bit in f32: the same arithmetic (one multiply) on the same elements.
    if (f32) {
      EXPECT_EQ(parity::compareTensors(k.got[0], k.truth.outputs[0]).maxAbsErr, 0.0);
    }
  }
}

// A value read by the Add and by the transpose the Add also reads: both readers are the Add's
// kernel, so that kernel computes it, once per element read. For Exp that is two exps per
// output element instead of a kernel of its own storing it and two loads (two steps before);
// a slice is read in place by both readers (each reads its window of x).
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
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 1) << producer;
    // the transpose, and the Exp or the slice
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 2) << producer;
    expectClose(k, "f32");
  }
}

// A value read twice by one op is computed once in that op's kernel: a square written as a
// product of a sum with itself (s * s), and an Exp concatenated with itself. Two steps, none
// for the Add or the Exp (four before: each producer had its own).
TEST(CudaComposite, ValueReadTwiceByOneOpIsComputedInIt) {
  onnx::ModelProto m = newModel("one_reader_twice", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "a", {4, 6});
  floatValue(g->add_input(), "b", {4, 6});
  node(g, "Add", "sum", {"a", "b"}, "s");
  node(g, "Mul", "square", {"s", "s"}, "sq");
  node(g, "Exp", "exp", {"a"}, "e");
  intAttrOf(node(g, "Concat", "concat", {"e", "e"}, "c"), "axis", 0);
  floatValue(g->add_output(), "sq");
  floatValue(g->add_output(), "c");
  std::string model = saveModel(m, "composite_one_reader_twice.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("one_reader_twice_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 4; // a, b in; sq, c out
    EXPECT_EQ(stepsOfStyle(plan, "elementwise") + stepsOfStyle(plan, "movement"), 2 + casts)
        << dtype;
    EXPECT_EQ(stepOf(plan, "sum"), stepOf(plan, "square")) << dtype;
    EXPECT_EQ(stepOf(plan, "exp"), stepOf(plan, "concat")) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 2) << dtype;
    expectClose(k, dtype);
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

// Sibling kernels: Llama's rotary tables. Cos and Sin of one angle tensor are each read by
// rotations of two shapes (q's heads and k's), so neither is computed in a reader; they are
// one kernel writing both tables, and it computes the angles (the position ids' Cast, the
// Unsqueeze, the product with the inverse frequencies, the Concat) that only the two read.
// The rotations are siblings too, of two shapes: q * cos shares q with q * sin and cos with
// k * cos, which shares k with k * sin; one kernel walks q's outputs, then k's. A later op
// reading something defined after a group's first member is not taken into it: 'late' shares
// x with Exp but reads Neg's result, computed after Exp (kept, read twice). Values against
// the reference in f32 and f16 (inverse frequencies of powers of 2: f16 weights hold them
// exactly).
TEST(CudaComposite, SiblingsReadingOneValueAreOneKernel) {
  onnx::ModelProto m = newModel("siblings", 17);
  onnx::GraphProto *g = m.mutable_graph();
  onnx::ValueInfoProto *p = g->add_input();
  p->set_name("pos");
  auto *pt = p->mutable_type()->mutable_tensor_type();
  pt->set_elem_type(onnx::TensorProto::INT64);
  for (int64_t d : {1, 6})
    pt->mutable_shape()->add_dim()->set_dim_value(d);
  floatValue(g->add_input(), "q", {1, 4, 6, 8});
  floatValue(g->add_input(), "k", {1, 2, 6, 8});
  floatValue(g->add_input(), "x", {4, 6});
  floatInitializer(g, "inv_freq", {4}, [](int64_t i) { return std::ldexp(1.0f, -int(i)); });
  ints(g, "axis2", {2});
  node(g, "Cast", "cast", {"pos"}, "posf")->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("to");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(onnx::TensorProto::FLOAT);
    return a;
  }());
  node(g, "Unsqueeze", "unsqueeze", {"posf", "axis2"}, "pos3");
  node(g, "Mul", "angles", {"pos3", "inv_freq"}, "freqs");
  intAttrOf(node(g, "Concat", "concat", {"freqs", "freqs"}, "emb"), "axis", -1);
  node(g, "Cos", "cos", {"emb"}, "c");
  node(g, "Sin", "sin", {"emb"}, "s");
  node(g, "Mul", "q_cos", {"q", "c"}, "qc");
  node(g, "Mul", "k_cos", {"k", "c"}, "kc");
  node(g, "Mul", "q_sin", {"q", "s"}, "qs");
  node(g, "Mul", "k_sin", {"k", "s"}, "ks");
  floatValue(g->add_input(), "y", {4, 6});
  node(g, "Exp", "exp", {"x"}, "e");
  node(g, "Neg", "neg", {"y"}, "n");
  node(g, "Mul", "late", {"x", "n"}, "l");
  for (const char *out : {"qc", "kc", "qs", "ks", "e", "n", "l"})
    floatValue(g->add_output(), out);
  std::string model = saveModel(m, "composite_siblings.onnx");
  std::string npz = testing_util::scratchPath("composite_siblings.npz");
  NamedTensors feeds;
  feeds.push_back({"pos", Tensor::fromVector(DType::I64, {1, 6},
                                             std::vector<int64_t>{0, 1, 2, 3, 40, 1000})});
  for (auto [name, shape] : {std::pair<const char *, Shape>{"q", {1, 4, 6, 8}},
                             {"k", {1, 2, 6, 8}},
                             {"x", {4, 6}},
                             {"y", {4, 6}}}) {
    std::vector<float> v(size_t(numElements(shape)));
    for (size_t e = 0; e < v.size(); ++e)
      v[e] = std::sin(0.37f * float(e) + float(name[0]));
    feeds.push_back({name, Tensor::fromVector(DType::F32, shape, v)});
  }
  writeNpz(npz, feeds);
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, npz, dtype, keepNone, std::string("siblings_") + dtype);
    const Plan &plan = k.compiled.plan;
    const Step *tables = stepOf(plan, "cos");
    ASSERT_NE(tables, nullptr) << dtype;
    EXPECT_EQ(tables->outputs.size(), 2u) << dtype;
    for (const char *in : {"cast", "unsqueeze", "angles", "concat", "sin"})
      EXPECT_EQ(stepOf(plan, in), tables) << in << " " << dtype;
    const Step *rotations = stepOf(plan, "q_cos");
    ASSERT_NE(rotations, nullptr) << dtype;
    EXPECT_EQ(rotations->outputs.size(), 4u) << dtype;
    for (const char *r : {"q_sin", "k_cos", "k_sin"})
      EXPECT_EQ(stepOf(plan, r), rotations) << r << " " << dtype;
    EXPECT_NE(stepOf(plan, "exp"), stepOf(plan, "late")) << dtype;
    // the tables and the rotations ("--stats": sibling kernels)
    EXPECT_EQ(k.compiled.cudaLowering.siblingKernels, 2) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.siblingOps, 6) << dtype;
    // f32: the tables, the rotations, Exp, Neg, the late Mul; half plans add a cast kernel per
    // float input and output.
    int casts = std::string(dtype) == "f32" ? 0 : 4 + 7;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise"), 5 + casts) << dtype;
    expectClose(k, dtype);
  }
}

// DiT's timestep embedding: Cos and Sin of one product, concatenated. The product's two
// readers are both computed by the Concat's kernel, so it is too: one kernel in all.
TEST(CudaComposite, ValueWhoseReadersMeetInOneKernelIsComputedThere) {
  onnx::ModelProto m = newModel("converging", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "t", {2, 1});
  floatInitializer(g, "freqs", {1, 8}, [](int64_t i) { return std::pow(0.3f, float(i)); });
  node(g, "Mul", "args", {"t", "freqs"}, "a");
  node(g, "Cos", "cos", {"a"}, "c");
  node(g, "Sin", "sin", {"a"}, "s");
  intAttrOf(node(g, "Concat", "embedding", {"c", "s"}, "emb"), "axis", -1);
  floatValue(g->add_output(), "emb");
  std::string model = saveModel(m, "composite_converging.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("converging_") + dtype);
    const Plan &plan = k.compiled.plan;
    int casts = std::string(dtype) == "f32" ? 0 : 2;
    EXPECT_EQ(stepsOfStyle(plan, "elementwise") + stepsOfStyle(plan, "movement"), 1 + casts)
        << dtype;
    EXPECT_EQ(stepOf(plan, "args"), stepOf(plan, "embedding")) << dtype;
    EXPECT_EQ(k.compiled.cudaLowering.computedInReader, 3) << dtype;
    expectClose(k, dtype);
  }
}
