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
