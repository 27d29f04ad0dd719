"""Small models for the CPU backend's CLI tests. Run with Debian's python3-onnx:
/usr/bin/python3 tests/data/cpu/make_models.py

gemm_alpha_fused.onnx (opset 17): two Gemms, each followed by a Relu that the fusion passes
fold into a gemm+relu fusion.
- 'runtime_gemm' has alpha 2 and beta 0.5 with B and C graph inputs: cpu.matmul cannot fold
  alpha or beta into either, so the fusion must not become one cpu.matmul step (it did, and
  the plan failed when it was prepared).
- 'weight_gemm' has alpha 2 with a constant B (an initializer) and a runtime C: alpha folds
  into the packed B, so the fusion stays one cpu.matmul step with a ReLU post-op.

legacy_opset6.onnx (opset 6, IR 4): what opset-6 exports hold that later opsets spell
otherwise, on x [2, 3, 4, 3] (W equal to C, so numpy's trailing broadcast would pass silently):
- 'bias': Add with broadcast=1, axis=1 of a [3] bias: per channel, not along W;
- 'prelu': PRelu with a [3] slope: per channel (PyTorch's PReLU(num_parameters=3));
- 'pad': Pad with its pads and value as attributes (pads became an input at opset 11).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

rng = np.random.default_rng(0)
inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
          for n, s in [("a", [3, 4]), ("b", [4, 5]), ("c", [3, 5]), ("d", [3, 6])]]
outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
           for n, s in [("y", [3, 5]), ("z", [3, 6])]]
inits = [numpy_helper.from_array(rng.standard_normal((4, 6)).astype(np.float32), "w")]
nodes = [
    helper.make_node("Gemm", ["a", "b", "c"], ["g"], name="runtime_gemm", alpha=2.0, beta=0.5),
    helper.make_node("Relu", ["g"], ["y"], name="runtime_relu"),
    helper.make_node("Gemm", ["a", "w", "d"], ["h"], name="weight_gemm", alpha=2.0),
    helper.make_node("Relu", ["h"], ["z"], name="weight_relu"),
]
model = helper.make_model(helper.make_graph(nodes, "gemm_alpha_fused", inputs, outputs, inits),
                          opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="plumb-tests")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "gemm_alpha_fused.onnx"))

x6 = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 3])
y6 = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 7, 6])
inits6 = [numpy_helper.from_array(np.array([1.0, -2.0, 3.0], np.float32), "b"),
          numpy_helper.from_array(np.array([0.25, 0.5, -0.75], np.float32), "slope")]
nodes6 = [
    helper.make_node("Add", ["x", "b"], ["biased"], name="bias", broadcast=1, axis=1),
    helper.make_node("PRelu", ["biased", "slope"], ["p"], name="prelu"),
    helper.make_node("Pad", ["p"], ["y"], name="pad", mode="constant",
                     pads=[0, 0, 1, 2, 0, 0, 2, 1], value=1.5),
]
legacy = helper.make_model(helper.make_graph(nodes6, "legacy_opset6", [x6], [y6], inits6),
                           opset_imports=[helper.make_opsetid("", 6)],
                           producer_name="plumb-tests")
legacy.ir_version = 4  # IR 3 would list the initializers as inputs too
onnx.checker.check_model(legacy)
onnx.save(legacy, os.path.join(HERE, "legacy_opset6.onnx"))

# run_time_shapes.onnx (opset 17): outputs whose shapes their values decide, around ops of
# static shape, with two input sets whose counts differ (a plan compiled with one must run the
# other). From x [3, 4], boxes [1, 6, 4] and scores [1, 1, 6]:
# - 'project' MatMul x by a weight (a cpu.* kernel before the value-dependent part);
# - 'positions' = Transpose(NonZero(projected > 0)) [?, 2];
# - 'doubled' = 2 * Compress(flattened, flattened > 0) [?]; 'total' = ReduceSum(doubled) + 1
#   (static again after a run-time shape);
# - 'kept_boxes': the boxes NonMaxSuppression keeps (max 3, IoU 0.5, score > 0.1) [?, 4];
# - 'levels': Unique(Floor(2 x)) [?].
rx = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
rboxes = helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 6, 4])
rscores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 6])
routs = [helper.make_tensor_value_info("positions", TensorProto.INT64, ["count", 2]),
         helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["picked"]),
         helper.make_tensor_value_info("total", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("kept_boxes", TensorProto.FLOAT, ["kept", 4]),
         helper.make_tensor_value_info("levels", TensorProto.FLOAT, ["levels"])]
rw = rng.standard_normal((4, 4)).astype(np.float32)
np.save(os.path.join(HERE, "run_time_shapes.w.npy"), rw)  # for the CLI test's numpy truth
rinits = [numpy_helper.from_array(rw, "w"),
          numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
          numpy_helper.from_array(np.array(2.0, np.float32), "two"),
          numpy_helper.from_array(np.array(1.0, np.float32), "one"),
          numpy_helper.from_array(np.array([-1], np.int64), "flat"),
          numpy_helper.from_array(np.array([6, 4], np.int64), "box_rows"),
          numpy_helper.from_array(np.array([3], np.int64), "max_boxes"),
          numpy_helper.from_array(np.array([0.5], np.float32), "iou"),
          numpy_helper.from_array(np.array([0.1], np.float32), "min_score"),
          numpy_helper.from_array(np.array(2, np.int64), "box_column")]
rnodes = [
    helper.make_node("MatMul", ["x", "w"], ["projected"], name="project"),
    helper.make_node("Greater", ["projected", "zero"], ["positive"], name="positive"),
    helper.make_node("NonZero", ["positive"], ["nz"], name="nonzero"),
    helper.make_node("Transpose", ["nz"], ["positions"], name="positions", perm=[1, 0]),
    helper.make_node("Reshape", ["projected", "flat"], ["flattened"], name="flatten"),
    helper.make_node("Reshape", ["positive", "flat"], ["mask"], name="flatten_mask"),
    helper.make_node("Compress", ["flattened", "mask"], ["picked"], name="compress", axis=0),
    helper.make_node("Mul", ["picked", "two"], ["doubled"], name="double"),
    helper.make_node("ReduceSum", ["doubled"], ["sum"], name="sum", keepdims=0),
    helper.make_node("Add", ["sum", "one"], ["total"], name="total"),
    helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_boxes", "iou", "min_score"],
                     ["selected"], name="nms"),
    helper.make_node("Gather", ["selected", "box_column"], ["box_index"], name="box_index", axis=1),
    helper.make_node("Reshape", ["boxes", "box_rows"], ["all_boxes"], name="all_boxes"),
    helper.make_node("Gather", ["all_boxes", "box_index"], ["kept_boxes"], name="kept_boxes", axis=0),
    helper.make_node("Mul", ["x", "two"], ["x2"], name="x2"),
    helper.make_node("Floor", ["x2"], ["floored"], name="floor"),
    helper.make_node("Unique", ["floored"], ["levels"], name="unique"),
]
rts = helper.make_model(helper.make_graph(rnodes, "run_time_shapes", [rx, rboxes, rscores], routs,
                                          rinits),
                        opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(rts)
onnx.save(rts, os.path.join(HERE, "run_time_shapes.onnx"))
# Two input sets: overlapping boxes in different patterns, so NMS keeps 2 of them in 'a' and 3
# in 'b'; x with different signs, so NonZero, Compress and Unique count differently too.
box_a = np.array([[0, 0, 1, 1], [0, 0, 1, 1.05], [2, 2, 3, 3], [2, 2, 3.1, 3], [0, 0, 1, 1],
                  [5, 5, 6, 6]], np.float32)
box_b = np.array([[0, 0, 1, 1], [3, 3, 4, 4], [2, 2, 3, 3], [6, 6, 7, 7], [0, 0, 1, 1.1],
                  [5, 5, 6, 6]], np.float32)
for tag, seed, boxes, scores in [
        ("a", 1, box_a, [0.9, 0.8, 0.7, 0.6, 0.05, 0.01]),
        ("b", 2, box_b, [0.9, 0.8, 0.7, 0.6, 0.5, 0.2])]:
    r = np.random.default_rng(seed)
    np.savez(os.path.join(HERE, f"run_time_shapes.{tag}.npz"),
             x=r.standard_normal((3, 4)).astype(np.float32), boxes=boxes[None],
             scores=np.array(scores, np.float32)[None, None])

# branch_on_dim.onnx (opset 17): what an exporter writes for `if x.shape[0] == 2` on x [n, 3]:
# Shape -> Gather -> Equal -> If, then Relu, else Neg, then z = y * y. With n pinned the
# condition is a constant and the backends compile the branch taken (they take no If).
bthen = helper.make_graph([helper.make_node("Relu", ["x"], ["relu_out"], name="relu")], "then", [],
                          [helper.make_tensor_value_info("relu_out", TensorProto.FLOAT, ["n", 3])])
belse = helper.make_graph([helper.make_node("Neg", ["x"], ["neg_out"], name="neg")], "else", [],
                          [helper.make_tensor_value_info("neg_out", TensorProto.FLOAT, ["n", 3])])
bnodes = [helper.make_node("Shape", ["x"], ["x_shape"], name="shape"),
          helper.make_node("Gather", ["x_shape", "zero_i"], ["rows"], name="rows", axis=0),
          helper.make_node("Equal", ["rows", "two_i"], ["is_two"], name="is_two"),
          helper.make_node("If", ["is_two"], ["y"], name="branch", then_branch=bthen,
                           else_branch=belse),
          helper.make_node("Mul", ["y", "y"], ["z"], name="square")]
branch = helper.make_model(
    helper.make_graph(bnodes, "branch_on_dim",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 3])],
                      [numpy_helper.from_array(np.array(0, np.int64), "zero_i"),
                       numpy_helper.from_array(np.array(2, np.int64), "two_i")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(branch)
onnx.save(branch, os.path.join(HERE, "branch_on_dim.onnx"))

# branch_on_value.onnx (opset 17): If on a value (sum(x) > 0) for x [2, 3]; the then branch
# gives Relu(x) * w [2, 3] and reads the weight w from the enclosing graph, the else branch
# ReduceSum(x, axis 1, keepdims) [2, 1], so the If's shape is the branch's; y = If + 1.
vw = numpy_helper.from_array(np.array([[1, 2, 3], [4, 5, 6]], np.float32), "w")
vthen = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                           helper.make_node("Mul", ["r", "w"], ["rw"], name="weigh")], "then", [],
                          [helper.make_tensor_value_info("rw", TensorProto.FLOAT, [2, 3])])
velse = helper.make_graph([helper.make_node("ReduceSum", ["x", "axis1"], ["rows"], name="rows",
                                            keepdims=1)], "else", [],
                          [helper.make_tensor_value_info("rows", TensorProto.FLOAT, [2, 1])])
vnodes = [helper.make_node("ReduceSum", ["x"], ["total"], name="total", keepdims=0),
          helper.make_node("Greater", ["total", "zero_f"], ["positive"], name="positive"),
          helper.make_node("If", ["positive"], ["chosen"], name="branch", then_branch=vthen,
                           else_branch=velse),
          helper.make_node("Add", ["chosen", "one_f"], ["y"], name="plus_one")]
by_value = helper.make_model(
    helper.make_graph(vnodes, "branch_on_value",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                      [vw, numpy_helper.from_array(np.array(0, np.float32), "zero_f"),
                       numpy_helper.from_array(np.array(1, np.float32), "one_f"),
                       numpy_helper.from_array(np.array([1], np.int64), "axis1")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
by_value.graph.output[0].type.tensor_type.shape.dim.add().dim_param = "r"
by_value.graph.output[0].type.tensor_type.shape.dim.add().dim_param = "c"
onnx.checker.check_model(by_value)
onnx.save(by_value, os.path.join(HERE, "branch_on_value.onnx"))

# doubling_loop.onnx (opset 17): a Loop of M iterations (an input) that stops early once the
# carried sum passes 100: acc <- 2 acc + x (x read from the enclosing graph), scanning each acc.
# Outputs: the final acc [3] and the stacked accs [iterations, 3] (a run-time shape).
lbody = helper.make_graph(
    [helper.make_node("Mul", ["acc_in", "two_l"], ["doubled"], name="double"),
     helper.make_node("Add", ["doubled", "x"], ["acc_out"], name="add_x"),
     helper.make_node("ReduceSum", ["acc_out"], ["acc_sum"], name="acc_sum", keepdims=0),
     helper.make_node("Less", ["acc_sum", "limit_l"], ["cond_out"], name="below_limit"),
     helper.make_node("Identity", ["acc_out"], ["scan_out"], name="scan")],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [3])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [3]),
     helper.make_tensor_value_info("scan_out", TensorProto.FLOAT, [3])])
loop = helper.make_model(
    helper.make_graph(
        [helper.make_node("Loop", ["m", "", "acc0"], ["acc", "accs"], name="loop", body=lbody)],
        "doubling_loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("m", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("accs", TensorProto.FLOAT, ["iterations", 3])],
        [numpy_helper.from_array(np.zeros(3, np.float32), "acc0"),
         numpy_helper.from_array(np.array(2, np.float32), "two_l"),
         numpy_helper.from_array(np.array(100, np.float32), "limit_l")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(loop)
onnx.save(loop, os.path.join(HERE, "doubling_loop.onnx"))

# scan_rnn.onnx (opset 17): a Scan over the sequence axis 1 of x [2, 5, 3], twice: forward
# (an RNN step h <- tanh(x_t W + h R + b), W, R and b read from the enclosing graph) and
# reversed (2 x_t). Outputs: the final h [2, 4], every h stacked on axis 1 [2, 5, 4], and the
# reversed input's rows, stacked in reverse on axis -1 ([2, 3, 5]: 2 x transposed).
sbody = helper.make_graph(
    [helper.make_node("MatMul", ["xf", "W"], ["xw"], name="input_proj"),
     helper.make_node("MatMul", ["h_in", "R"], ["hr"], name="recurrent_proj"),
     helper.make_node("Add", ["xw", "hr"], ["pre"], name="add_proj"),
     helper.make_node("Add", ["pre", "b"], ["pre_b"], name="add_bias"),
     helper.make_node("Tanh", ["pre_b"], ["h_out"], name="tanh"),
     helper.make_node("Identity", ["h_out"], ["y"], name="emit_h"),
     helper.make_node("Mul", ["xb", "two_s"], ["back"], name="double_back")],
    "rnn_step",
    [helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [2, 4]),
     helper.make_tensor_value_info("xf", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("xb", TensorProto.FLOAT, [2, 3])],
    [helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [2, 4]),
     helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4]),
     helper.make_tensor_value_info("back", TensorProto.FLOAT, [2, 3])])
scan_weights = {"W": rng.standard_normal((3, 4)).astype(np.float32),
                "R": (0.5 * rng.standard_normal((4, 4))).astype(np.float32),
                "b": rng.standard_normal(4).astype(np.float32)}
scan = helper.make_model(
    helper.make_graph(
        [helper.make_node("Scan", ["h0", "x", "x"], ["h", "ys", "backs"], name="rnn",
                          body=sbody, num_scan_inputs=2, scan_input_axes=[1, 1],
                          scan_input_directions=[0, 1], scan_output_axes=[1, -1],
                          scan_output_directions=[0, 1])],
        "scan_rnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 3]),
         helper.make_tensor_value_info("h0", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("ys", TensorProto.FLOAT, [2, 5, 4]),
         helper.make_tensor_value_info("backs", TensorProto.FLOAT, [2, 3, 5])],
        [numpy_helper.from_array(v, k) for k, v in scan_weights.items()] +
        [numpy_helper.from_array(np.array(2, np.float32), "two_s")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(scan)
onnx.save(scan, os.path.join(HERE, "scan_rnn.onnx"))
np.savez(os.path.join(HERE, "scan_rnn.w.npz"), **scan_weights)  # for tests without onnx

# growing_loop.onnx (opset 17): a Loop whose carried value grows by one each iteration (a
# greedy decoder's token list) and whose body reads a value whose shape x's values decide
# (positions: the indices of x's nonzeros). Each iteration appends
# (sum(tokens) + sum(positions) + i) mod 7. Outputs: the tokens [M + 1] and the appended
# values stacked [M, 1].
gbody = helper.make_graph(
    [helper.make_node("ReduceSum", ["tokens_in"], ["token_sum"], name="token_sum", keepdims=1),
     helper.make_node("ReduceSum", ["positions"], ["position_sum"], name="position_sum",
                      keepdims=1),
     helper.make_node("Add", ["token_sum", "position_sum"], ["sums"], name="add_sums"),
     helper.make_node("Add", ["sums", "i"], ["with_i"], name="add_i"),
     helper.make_node("Mod", ["with_i", "seven"], ["next"], name="mod_7"),
     helper.make_node("Concat", ["tokens_in", "next"], ["tokens_out"], name="append", axis=0),
     helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going"),
     helper.make_node("Identity", ["next"], ["next_out"], name="emit_next")],
    "decode_step",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("tokens_in", TensorProto.INT64, ["n"])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("tokens_out", TensorProto.INT64, ["n1"]),
     helper.make_tensor_value_info("next_out", TensorProto.INT64, [1])])
growing = helper.make_model(
    helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"], name="nonzero"),
         helper.make_node("Reshape", ["nz", "flat"], ["positions"], name="flatten"),
         helper.make_node("Loop", ["m", "", "tokens0"], ["tokens", "nexts"], name="decode",
                          body=gbody)],
        "growing_loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6]),
         helper.make_tensor_value_info("m", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["length"]),
         helper.make_tensor_value_info("nexts", TensorProto.INT64, ["iterations", 1])],
        [numpy_helper.from_array(np.zeros(1, np.int64), "tokens0"),
         numpy_helper.from_array(np.array([-1], np.int64), "flat"),
         numpy_helper.from_array(np.array(7, np.int64), "seven")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(growing)
onnx.save(growing, os.path.join(HERE, "growing_loop.onnx"))

# collect_loop.onnx (opset 17): two Loops collecting a list as TorchScript exports
# `outs = []; for i in range(m): outs.append(t); torch.stack(outs, 1)` (and torch.cat(outs, 1)):
# a carried sequence from SequenceEmpty, one SequenceInsert per iteration, one
# ConcatFromSequence after. The first also carries acc <- acc + x and scans sum(acc); it
# appends acc * i. The second appends x + i. Outputs: acc [2, 3], sums [m], stacked
# [2, m, 3], catted [2, 3 m].
def collect_body(name, carried, nodes, extra_outputs):
    return helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])] + carried,
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])] + extra_outputs)


cseq = helper.make_tensor_sequence_value_info
stack_body = collect_body(
    "stack_step",
    [helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2, 3]),
     cseq("list_in", TensorProto.FLOAT, [2, 3])],
    [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going_s"),
     helper.make_node("Add", ["acc_in", "x"], ["acc_out"], name="accumulate"),
     helper.make_node("Cast", ["i"], ["i_f"], name="i_as_float", to=TensorProto.FLOAT),
     helper.make_node("Mul", ["acc_out", "i_f"], ["item"], name="scale"),
     helper.make_node("SequenceInsert", ["list_in", "item"], ["list_out"], name="append"),
     helper.make_node("ReduceSum", ["acc_out"], ["acc_sum"], name="acc_sum", keepdims=0)],
    [helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2, 3]),
     cseq("list_out", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("acc_sum", TensorProto.FLOAT, [])])
cat_body = collect_body(
    "cat_step", [cseq("parts_in", TensorProto.FLOAT, [2, 3])],
    [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going_c"),
     helper.make_node("Cast", ["i"], ["i_f2"], name="i_as_float_c", to=TensorProto.FLOAT),
     helper.make_node("Add", ["x", "i_f2"], ["part"], name="shift"),
     helper.make_node("SequenceInsert", ["parts_in", "part"], ["parts_out"], name="append_c")],
    [cseq("parts_out", TensorProto.FLOAT, [2, 3])])
collect = helper.make_model(
    helper.make_graph(
        [helper.make_node("SequenceEmpty", [], ["list0"], name="new_list", dtype=TensorProto.FLOAT),
         helper.make_node("Loop", ["m", "", "acc0", "list0"], ["acc", "list", "sums"],
                          name="stack_loop", body=stack_body),
         helper.make_node("ConcatFromSequence", ["list"], ["stacked"], name="stack", axis=1,
                          new_axis=1),
         helper.make_node("SequenceEmpty", [], ["parts0"], name="new_parts",
                          dtype=TensorProto.FLOAT),
         helper.make_node("Loop", ["m", "", "parts0"], ["parts"], name="cat_loop",
                          body=cat_body),
         helper.make_node("ConcatFromSequence", ["parts"], ["catted"], name="cat", axis=1)],
        "collect_loop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("m", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("sums", TensorProto.FLOAT, ["m"]),
         helper.make_tensor_value_info("stacked", TensorProto.FLOAT, [2, "m", 3]),
         helper.make_tensor_value_info("catted", TensorProto.FLOAT, [2, "m3"])],
        [numpy_helper.from_array(np.zeros((2, 3), np.float32), "acc0")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(collect)
onnx.save(collect, os.path.join(HERE, "collect_loop.onnx"))

# split_sequence.onnx (opset 17): chunks of a SplitToSequence read by SequenceAt at constant
# positions, as TorchScript exports `x.unbind(1)[-1]` and `torch.split(x, 4, 1)[1]`.
# Outputs: last [2] (x[:, -1]) and second [2, 2] (x[:, 4:6]).
split_seq = helper.make_model(
    helper.make_graph(
        [helper.make_node("SplitToSequence", ["x"], ["cols"], name="unbind", axis=1, keepdims=0),
         helper.make_node("SequenceAt", ["cols", "minus_one"], ["last"], name="pick_last"),
         helper.make_node("SplitToSequence", ["x", "four"], ["chunks"], name="split", axis=1),
         helper.make_node("SequenceAt", ["chunks", "one"], ["second"], name="pick_second")],
        "split_sequence",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6])],
        [helper.make_tensor_value_info("last", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("second", TensorProto.FLOAT, [2, 2])],
        [numpy_helper.from_array(np.array(-1, np.int64), "minus_one"),
         numpy_helper.from_array(np.array(4, np.int64), "four"),
         numpy_helper.from_array(np.array(1, np.int64), "one")]),
    opset_imports=[helper.make_opsetid("", 17)], producer_name="plumb-tests")
onnx.checker.check_model(split_seq)
onnx.save(split_seq, os.path.join(HERE, "split_sequence.onnx"))
