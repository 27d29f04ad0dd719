"""Small models for the CUDA backend's tests. Run with Debian's python3-onnx:
/usr/bin/python3 tests/data/cuda/make_models.py

norms.onnx (opset 18, what Debian's python3-onnx checks): GroupNormalization (4 groups of 2
channels; one scale/bias per group at this opset) -> SiLU -> InstanceNormalization ->
ReduceMean over H, W (axes as a constant input) -> subtract: the norms over
several trailing dims that a diffusion UNet's blocks use, each of which the cuda backend must
lower to a generated row kernel (no host step).

attention64.onnx (opset 17) with attention64.inputs.npz: softmax(q k^T / 8 + causal mask) v
for 2 heads of 64 dims over 40 tokens, the head shape of BERT-base and GPT-2. In f16/bf16
it takes the tensor-core attention kernel (the fixtures' heads have 8 dims); the GPU kit
(scripts/gpu-kit.sh) runs it on a device against the reference interpreter.
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

# attention64: q, k, v [1, 2, 40, 64]; the causal mask an additive constant [40, 40].
shape = [1, 2, 40, 64]
io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("q", "k", "v")]
out = helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)
causal = np.triu(np.full((40, 40), -np.inf, np.float32), k=1)
inits = [numpy_helper.from_array(causal, "causal"),
         numpy_helper.from_array(np.array(0.125, np.float32), "scale")]
nodes = [
    helper.make_node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 1, 3, 2]),
    helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
    helper.make_node("Mul", ["s", "scale"], ["ss"], name="scaled"),
    helper.make_node("Add", ["ss", "causal"], ["sm"], name="masked"),
    helper.make_node("Softmax", ["sm"], ["p"], name="probs", axis=-1),
    helper.make_node("MatMul", ["p", "v"], ["out"], name="context"),
]
model = helper.make_model(helper.make_graph(nodes, "attention64", io, [out], inits),
                          opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="plumb-tests")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "attention64.onnx"))
np.savez(os.path.join(HERE, "attention64.inputs.npz"),
         **{n: rng.standard_normal(shape).astype(np.float32) for n in ("q", "k", "v")})
