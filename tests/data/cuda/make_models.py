"""Small models for the CUDA backend's tests. Run with Debian's python3-onnx:
/usr/bin/python3 tests/data/cuda/make_models.py

norms.onnx (opset 18, what Debian's python3-onnx checks): GroupNormalization (4 groups of 2
channels; one scale/bias per group at this opset) -> SiLU -> InstanceNormalization ->
ReduceMean over H, W (axes as a constant input) -> subtract: the norms over
several trailing dims that a diffusion UNet's blocks use, each of which the cuda backend must
lower to a generated row kernel (no host step).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

rng = np.random.default_rng(0)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 6, 5])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8, 6, 5])
inits = [numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), name)
         for name, n in [("gn_scale", 4), ("gn_bias", 4), ("in_scale", 8), ("in_bias", 8)]]
inits.append(numpy_helper.from_array(np.array([2, 3], np.int64), "hw"))
nodes = [
    helper.make_node("GroupNormalization", ["x", "gn_scale", "gn_bias"], ["g"], name="group_norm",
                     num_groups=4, epsilon=1e-5),
    helper.make_node("Sigmoid", ["g"], ["sg"], name="gate"),
    helper.make_node("Mul", ["g", "sg"], ["silu"], name="silu"),
    helper.make_node("InstanceNormalization", ["silu", "in_scale", "in_bias"], ["i"],
                     name="instance_norm", epsilon=1e-4),
    helper.make_node("ReduceMean", ["i", "hw"], ["m"], name="spatial_mean", keepdims=1),
    helper.make_node("Sub", ["i", "m"], ["y"], name="center"),
]
model = helper.make_model(helper.make_graph(nodes, "norms", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 18)],
                          producer_name="plumb-tests")
# No onnx.checker here: Debian's python3-onnx (1.12) predates GroupNormalization (opset 18,
# onnx 1.14); plumb's importer and reference interpreter check the model instead.
onnx.save(model, os.path.join(HERE, "norms.onnx"))
