"""Accuracy (ulps from the exact result) and speed of the elementwise and softmax ops, plumb's
CPU backend and reference interpreter against ONNX Runtime's CPU provider, in one run.

Every op is a one-node model over fixed inputs (dense grids and random rows, chosen where each
function is hardest: log near 1, Mish and GELU on their negative tails, log-softmax rows with
one dominant entry). The exact result is computed with numpy in float64 and rounded once to
f32; a row reports the largest and the 99th-percentile distance in ulps of f32 at the exact
value, and the largest relative error, for `plumb run --backend cpu`, `plumb run --backend
reference` and ONNX Runtime. Then each op over a large tensor is timed: `plumb bench` (median)
and ONNX Runtime (median of the same number of timed runs, one session, same thread count).
Used to choose kernels: oneDNN's eltwise log (24576 ulps near 1), mish (58514 ulps at x = -12),
softmax_log (2864 ulps on a row's largest entry) and its strided softmax (35x slower on a
channel axis) were replaced after this audit.

Usage (ONNX Runtime from the venv bench/run.sh prepares):
  build/bench-venv/bin/python bench/math_accuracy.py [--threads 2] [--iters 20] [--out DIR]
Writes DIR/math_accuracy.json and DIR/math_accuracy.md (default build/bench/results).
"""
import argparse
import json
import math
import os
import subprocess
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PLUMB = os.path.join(ROOT, "build", "bin", "plumb")

ERF = np.vectorize(math.erf)
ERFC = np.vectorize(math.erfc)


def log_softmax(v, axis):
    m = v.max(axis=axis, keepdims=True)
    return v - m - np.log(np.exp(v - m).sum(axis=axis, keepdims=True))


def gelu_tanh(v):
    u = np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)
    return v / (1 + np.exp(-2 * u))  # 0.5 v (1 + tanh(u)) without its cancellation


def unary_inputs(lo, hi, positive=False):
    rng = np.random.default_rng(5)
    x = np.concatenate([np.linspace(lo, hi, 16384), rng.uniform(lo, hi, 8192)])
    if positive:  # every binade, and 1 +- k ulps
        k = np.arange(1, 2049, dtype=np.float64)
        x = np.concatenate([x, np.geomspace(1e-37, 1e37, 4096), 1 + k * 2.0**-23, 1 - k * 2.0**-24])
    return x.astype(np.float32)


def dominant_rows(shape, axis):
    """Random rows along `axis` where entry 0 leads by 2 .. 16 + log(len): the others'
    exponentials sum to 1e-1 .. 1e-7, so the largest entry's log-softmax is -log(1 + small)."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    lead = [slice(None)] * len(shape)
    lead[axis] = 0
    others = [d for i, d in enumerate(shape) if i != axis % len(shape)]
    x[tuple(lead)] += (2 + 14 * rng.uniform(0, 1, others) + np.log(shape[axis])).astype(np.float32)
    return x


# name, ONNX op, attributes, inputs, exact result, large shape for the timing
CASES = [
    ("Log", "Log", {}, unary_inputs(1e-3, 4, positive=True), np.log),
    ("Exp", "Exp", {}, unary_inputs(-87, 88), np.exp),
    ("Tanh", "Tanh", {}, unary_inputs(-10, 10), np.tanh),
    ("Sigmoid", "Sigmoid", {}, unary_inputs(-30, 30), lambda v: 1 / (1 + np.exp(-v))),
    ("Erf", "Erf", {}, unary_inputs(-5, 5), ERF),
    ("Gelu", "Gelu", {}, unary_inputs(-5, 5), lambda v: 0.5 * v * ERFC(-v / np.sqrt(2))),
    ("Gelu tanh", "Gelu", {"approximate": "tanh"}, unary_inputs(-5, 5), gelu_tanh),
    ("Mish", "Mish", {}, unary_inputs(-20, 20), lambda v: v * np.tanh(np.logaddexp(0, v))),
    ("Softplus", "Softplus", {}, unary_inputs(-20, 20), lambda v: np.logaddexp(0, v)),
    ("Elu", "Elu", {}, unary_inputs(-5, 5), lambda v: np.where(v > 0, v, np.expm1(v))),
    ("Sqrt", "Sqrt", {}, unary_inputs(1e-3, 100, positive=True), np.sqrt),
    ("Sin", "Sin", {}, unary_inputs(-10, 10), np.sin),
    ("LogSoftmax last axis", "LogSoftmax", {"axis": -1}, dominant_rows((64, 1003), -1),
     lambda v: log_softmax(v, -1)),
    ("LogSoftmax axis 1", "LogSoftmax", {"axis": 1}, dominant_rows((4, 21, 32, 32), 1),
     lambda v: log_softmax(v, 1)),
    ("Softmax last axis", "Softmax", {"axis": -1}, dominant_rows((64, 1003), -1),
     lambda v: np.exp(log_softmax(v, -1))),
    ("Softmax axis 1", "Softmax", {"axis": 1}, dominant_rows((4, 21, 32, 32), 1),
     lambda v: np.exp(log_softmax(v, 1))),
]
LARGE = {"LogSoftmax last axis": (64, 32000), "Softmax last axis": (64, 32000),
         "LogSoftmax axis 1": (4, 21, 128, 128), "Softmax axis 1": (4, 21, 128, 128)}


def model(path, op, attrs, shape):
    node = helper.make_node(op, ["x"], ["y"], name="op", **attrs)
    g = helper.make_graph([node], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 9
    onnx.save(m, path)


def ulp_stats(got, exact):
    want = exact.astype(np.float32)
    spacing = np.spacing(np.abs(want)).astype(np.float64)
    got = got.astype(np.float64)
    finite = np.isfinite(exact) & (spacing > 0)
    same = (got == exact) | (np.isnan(got) & np.isnan(exact))
    err = np.where(finite, np.abs(got - exact) / np.where(finite, spacing, 1),
                   np.where(same, 0, np.inf))
    nonzero = finite & (exact != 0)
    rel = np.where(nonzero, np.abs(got - exact) / np.abs(np.where(nonzero, exact, 1)), 0)
    return {"max_ulp": float(err.max()), "p99_ulp": float(np.percentile(err, 99)),
            "max_rel": float(rel.max())}


def plumb_output(path, inputs, backend, threads, work):
    out = os.path.join(work, "out.npz")
    subprocess.run([PLUMB, "run", path, "--backend", backend, "--inputs", inputs, "-o", out,
                    "--threads", str(threads)], check=True, capture_output=True, text=True)
    return np.load(out)["y"]


def plumb_ms(path, threads, iters, work):
    report = os.path.join(work, "bench.json")
    subprocess.run([PLUMB, "bench", path, "--backend", "cpu", "--threads", str(threads),
                    "--iters", str(iters), "--json", report],
                   check=True, capture_output=True, text=True)
    with open(report) as f:
        return json.load(f)["median_ms"]


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_ms(sess, x, iters):
    for _ in range(2):
        sess.run(None, {"x": x})
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "results"))
    args = ap.parse_args()
    work = os.path.join(ROOT, "build", "bench", "math")
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name, op, attrs, x, exact_fn in CASES:
        path, inputs = os.path.join(work, "op.onnx"), os.path.join(work, "in.npz")
        model(path, op, attrs, list(x.shape))
        np.savez(inputs, x=x)
        with np.errstate(all="ignore"):
            exact = exact_fn(x.astype(np.float64))
        row = {"op": name}
        for backend in ("cpu", "reference"):
            row[backend] = ulp_stats(plumb_output(path, inputs, backend, args.threads, work), exact)
        row["ort"] = ulp_stats(ort_session(path, args.threads).run(None, {"x": x})[0], exact)
        shape = LARGE.get(name, (4, 1024, 1024))
        model(path, op, attrs, list(shape))
        big = np.random.default_rng(3).uniform(-3, 3, shape).astype(np.float32)
        if op in ("Log", "Sqrt"):
            big = np.abs(big) + np.float32(1e-3)
        row["cpu_ms"] = plumb_ms(path, args.threads, args.iters, work)
        row["ort_ms"] = ort_ms(ort_session(path, args.threads), big, args.iters)
        row["shape"] = list(shape)
        rows.append(row)
        ulps = "  ".join(f"{k} {row[k]['max_ulp']:.3g}/{row[k]['p99_ulp']:.3g}"
                         for k in ("cpu", "reference", "ort"))
        print(f"{name:22s} ulps max/p99: {ulps};  ms cpu {row['cpu_ms']:.3g} ort {row['ort_ms']:.3g}",
              flush=True)
    with open(os.path.join(args.out, "math_accuracy.json"), "w") as f:
        json.dump({"threads": args.threads, "iters": args.iters, "rows": rows}, f, indent=1)
    lines = ["| op | plumb cpu max / p99 ulp | reference max / p99 | ONNX Runtime max / p99 | "
             "shape timed | plumb cpu ms | ORT ms |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        cell = lambda k: f"{r[k]['max_ulp']:.3g} / {r[k]['p99_ulp']:.3g}"
        lines.append(f"| {r['op']} | {cell('cpu')} | {cell('reference')} | {cell('ort')} | "
                     f"{'x'.join(map(str, r['shape']))} | {r['cpu_ms']:.3g} | {r['ort_ms']:.3g} |")
    with open(os.path.join(args.out, "math_accuracy.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
