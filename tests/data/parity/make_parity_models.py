"""Small models for the parity tests. Run with Debian's python3-onnx:
/usr/bin/python3 tests/data/parity/make_parity_models.py

f16_overflow.onnx: y = ((x * 3000) * (x * 3000)) / 1e6 + x. The square reaches ~1e7, past
f16's largest finite value (65504), so the model is unsafe in f16. Keeping "square" (which
makes the large value) and "scale_down" (which reads it) in f32 fixes it; that pair is what
`plumb bisect --dtype f16` must find.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, nodes, x_shape, y_shape, inits):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)
    model = helper.make_model(helper.make_graph(nodes, name, [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="plumb-tests")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


inits = [numpy_helper.from_array(np.array(3000.0, np.float32), "k"),
         numpy_helper.from_array(np.array(1e6, np.float32), "m")]
nodes = [
    helper.make_node("Mul", ["x", "k"], ["scaled"], name="scale_up"),
    helper.make_node("Mul", ["scaled", "scaled"], ["squared"], name="square"),
    helper.make_node("Div", ["squared", "m"], ["back"], name="scale_down"),
    helper.make_node("Add", ["back", "x"], ["y"], name="residual"),
]
save("f16_overflow", nodes, [4, 8], [4, 8], inits)

# f16_overflow_matmul.onnx: y = ((x @ W1) / 1e4) @ W2 with |W1| <= 20000 (representable in
# f16): the projection's result (~3e4 typical, past 65504 often) overflows f16 when a plan
# stores it in f16 between two library steps.
# `plumb bisect --dtype f16` keeps "project" (which makes it) and "scale_down" (which reads
# it); a cuda plan compiled with that list stores the projection in f32.
rng = np.random.default_rng(7)
inits = [numpy_helper.from_array((20000 * rng.uniform(-1, 1, (8, 16))).astype(np.float32), "w1"),
         numpy_helper.from_array(np.array(1e4, np.float32), "m"),
         numpy_helper.from_array(rng.standard_normal((16, 6)).astype(np.float32), "w2")]
nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["projected"], name="project"),
    helper.make_node("Div", ["projected", "m"], ["scaled"], name="scale_down"),
    helper.make_node("MatMul", ["scaled", "w2"], ["y"], name="readout"),
]
save("f16_overflow_matmul", nodes, [4, 8], [4, 6], inits)
