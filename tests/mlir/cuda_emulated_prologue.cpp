// Einsum and CumSum kernels computing the elementwise ops before them where they load each
// element (ValueWriter), through the lowering and the emulator: Mamba2's chunked scan, where
// exp(segsum(A)) masked by a causal Where feeds an Einsum, and the segment sums feed CumSums
// after a Pad; a Concat of zero initial states is computed by the Einsum reading it. The
// plans' outputs match the reference interpreter's.
#include "tests/mlir/CudaGraphBuilders.h"

using namespace plumb;
using namespace plumb::cudatest;
using namespace plumb::cudatest::graphs;

namespace {

onnx::ModelProto scanModel() {
  onnx::ModelProto m = newModel("scan_prologues", 18);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "a", {2, 3, 4});
  floatValue(g->add_input(), "v", {2, 3, 4});
  floatValue(g->add_input(), "q", {2, 3, 4});
  // The causal mask, lower triangle of 4 x 4, as a bool constant (Cast of a float one).
  floatInitializer(g, "tri", {4, 4}, [](int64_t i) { return i / 4 >= i % 4 ? 1.0f : 0.0f; });
  intAttrOf(node(g, "Cast", "to_bool", {"tri"}, "mask"), "to", onnx::TensorProto::BOOL);
  scalar(g, "zero", 0.0f);
  scalar(g, "ninf", -INFINITY);
  ints(g, "ax_last", {-1});
  ints(g, "ax_row", {-2});
  ints(g, "shape4", {2, 3, 4, 4});
  ints(g, "pads_front", {0, 0, 1, 0, 0, 0});
  ints(g, "pads_both", {0, 0, 1, 0, 0, 1});
  // segsum: a broadcast along a new last axis, zeroed above the diagonal, summed down rows
  node(g, "Unsqueeze", "unsq", {"a", "ax_last"}, "a1");
  node(g, "Expand", "expand", {"a1", "shape4"}, "ae");
  node(g, "Where", "zero_upper", {"mask", "ae", "zero"}, "az");
  intAttrOf(node(g, "CumSum", "segsum", {"az", "ax_row"}, "cs"), "exclusive", 0);
  // L = exp(segsum) below the diagonal, 0 above; y = L v
  node(g, "Where", "mask_seg", {"mask", "cs", "ninf"}, "csm");
  node(g, "Exp", "exp_seg", {"csm"}, "l");
  stringAttrOf(node(g, "Einsum", "mix", {"l", "v"}, "out_mix"), "equation", "bhls,bhs->bhl");
  // a CumSum after a Pad (no view: computed) and a Neg
  node(g, "Pad", "pad", {"q", "pads_front"}, "qp");
  node(g, "Neg", "neg", {"qp"}, "qn");
  node(g, "CumSum", "scan", {"qn", "ax_last"}, "out_scan");
  // read by the Einsum and as a graph output: a kernel of its own
  node(g, "Exp", "shared_exp", {"q"}, "out_eq");
  stringAttrOf(node(g, "Einsum", "dot", {"out_eq", "v"}, "out_dot"), "equation", "bhl,bhl->bh");
  // zero initial states before a chunk's states (no view: computed by the Einsum)
  floatInitializer(g, "zeros", {2, 1, 4}, [](int64_t) { return 0.0f; });
  intAttrOf(node(g, "Concat", "cat", {"zeros", "q"}, "qc"), "axis", 1);
  stringAttrOf(node(g, "Einsum", "sum_cat", {"qc", "v"}, "out_cat"), "equation", "bcl,bhl->bl");
  // a reflecting Pad no kernel computes at coordinates: the Einsum falls back to reading a
  // stored Exp of a stored Pad
  stringAttrOf(node(g, "Pad", "reflect", {"v", "pads_both"}, "vr"), "mode", "reflect");
  node(g, "Exp", "exp_r", {"vr"}, "er");
  stringAttrOf(node(g, "Einsum", "sum_r", {"er"}, "out_r"), "equation", "bhl->bh");
  for (const char *o : {"out_mix", "out_scan", "out_eq", "out_dot", "out_cat", "out_r"})
    floatValue(g->add_output(), o);
  return m;
}

} // namespace

TEST(CudaPrologue, EinsumAndCumSumComputeTheElementwiseOpsBeforeThem) {
  std::string model = saveModel(scanModel(), "scan_prologues.onnx");
  for (const char *dtype : {"f32", "f16"}) {
    KeptPlan k = runKept(model, "", dtype, keepNone, std::string("scan_prologues_") + dtype);
    const Plan &plan = k.compiled.plan;
    auto same = [&](const char *a, const char *b) {
      const Step *sa = stepOf(plan, a), *sb = stepOf(plan, b);
      EXPECT_TRUE(sa && sb) << a << " " << b << " " << dtype;
      return sa && sa == sb;
    };
    for (const char *op : {"segsum", "mix", "scan", "dot", "sum_cat", "sum_r"})
      EXPECT_EQ(stepOf(plan, op)->attrs.getString("style", ""), "window") << op << " " << dtype;
    EXPECT_TRUE(same("zero_upper", "segsum")) << dtype;
    EXPECT_EQ(stepOf(plan, "expand"), nullptr) << dtype; // read as a view of a
    EXPECT_TRUE(same("mask_seg", "mix") && same("exp_seg", "mix")) << dtype;
    EXPECT_TRUE(same("pad", "scan") && same("neg", "scan")) << dtype;
    EXPECT_FALSE(same("shared_exp", "dot")) << dtype;
    EXPECT_TRUE(same("cat", "sum_cat")) << dtype;
    EXPECT_FALSE(same("reflect", "exp_r") || same("exp_r", "sum_r")) << dtype;
    EXPECT_EQ(stepsOf(plan, "exp_seg").size(), 1u) << dtype;
    EXPECT_EQ(stepsOfStyle(plan, "window"), 6) << dtype;
    expectClose(k, dtype);
  }
}
