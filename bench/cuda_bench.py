"""The GPU benchmark (issue 7, point 5), on a lent GPU machine: plumb's CUDA backend against
PyTorch eager, torch.compile and ONNX Runtime's CUDA provider, on BERT-base (sequence 128) and
ResNet-50 (224x224), batch 1 and 32, f32 and f16, in one run on one device.

  source scripts/gpu-kit/env.sh   # plumb from scripts/gpu-suite.sh
  python3 bench/cuda_bench.py OUT_DIR [--models bert_base,resnet50] [--batches 1,32]

The models are built from bench/make_models.py's seeds there (their weights are 100-440 MB, too
large to travel) and exported to ONNX; plumb compiles that ONNX, PyTorch runs the module it came
from. How each side runs:
  plumb        `plumb compile --backend cuda --dtype D`, then plumb-cuda-run: device time of
               the CUDA Graph replay of the whole plan (events; inputs already on the device,
               outputs left there), host-to-host time beside it in bench.json; f16 stores every
               tensor in f16 and computes in f32.
  torch eager  f32 with TF32 off for matmuls and cuDNN (plumb's f32 parity contract); f16 is
               torch.autocast(float16), PyTorch's usual half-precision mode.
  torch.compile  the same, compiled with the default mode (Inductor, no CUDA Graphs).
  ORT CUDA     onnxruntime's CUDAExecutionProvider on the same ONNX file, TF32 off, inputs
               and outputs bound on the device; f16 on the file converted by ORT's own
               float16 converter (onnxruntime.transformers.float16, inputs and outputs kept
               f32), ORT's usual half-precision route. Needs an onnxruntime build with CUDA:
               the image's is the CPU build; scripts/gpu-ort.sh carries onnxruntime-gpu (255
               MB) in five calls' parts, which env.sh puts on PYTHONPATH.
Every latency is the median of timed runs after warm-up, on the device: CUDA events for plumb
and PyTorch, a host clock around ORT's synchronous run. Each row also gives plumb's worst relative difference from PyTorch's
f32 eager output on the same inputs. Writes OUT_DIR/bench.json and prints a table last.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402

MODULES = {"bert_base": make_models.bert_base_module, "resnet50": make_models.resnet50_module}


def make_inputs(name, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    if name == "resnet50":
        return {"input": torch.randn(batch, 3, 224, 224, generator=g)}
    return {"input_ids": torch.randint(0, 30522, (batch, 128), generator=g),
            "attention_mask": torch.ones(batch, 128, dtype=torch.int64)}


def median_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def rel_diff(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


def plumb_rows(plumb, runner, onnx_path, npz, dtype, iters, warmup, work):
    """`plumb compile` there, then plumb-cuda-run: device time (CUDA events around the graph
    replay, inputs already on the device) and host-to-host time, and the outputs."""
    art, res = os.path.join(work, "m.plumb"), os.path.join(work, "out.npz")
    t0 = time.time()
    p = subprocess.run([plumb, "compile", onnx_path, "--backend", "cuda", "--dtype", dtype,
                        "--inputs", npz, "-o", art], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        return {"error": "plumb compile: " + p.stderr.strip()[-300:]}
    out = {"compile_s": time.time() - t0}
    p = subprocess.run([runner, art, "--inputs", npz, "-o", res, "--iters", str(iters),
                        "--warmup", str(warmup)], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        return dict(out, error="plumb-cuda-run: " + p.stderr.strip()[-300:])
    for what, key in (("device", "ms"), ("host to host", "host_ms")):
        m = re.search(what + r" median ([0-9.]+) ms", p.stdout)
        out[key] = float(m.group(1)) if m else None
    out["outputs"] = dict(np.load(res))
    return out


def torch_call(model, inputs, dtype):
    args = [t.cuda() for t in inputs.values()]
    if dtype == "f16":
        def fn():
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
                return model(*args)
    else:
        def fn():
            with torch.no_grad():
                return model(*args)
    return fn


def ort_ms(onnx_path, inputs, iters, warmup, dtype):
    try:
        import onnxruntime as ort
    except ImportError as e:
        return None, f"onnxruntime not importable ({e})"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None, f"onnxruntime {ort.__version__} has no CUDAExecutionProvider"
    if hasattr(ort, "preload_dlls"):  # cuDNN/cuBLAS from the image's nvidia-* wheels
        ort.preload_dlls()
    if dtype == "f16":
        try:
            import onnx
            from onnxruntime.transformers.float16 import convert_float_to_float16
            half = convert_float_to_float16(onnx.load(onnx_path), keep_io_types=True)
            onnx_path = onnx_path[:-len(".onnx")] + ".ort_f16.onnx"
            onnx.save(half, onnx_path)
        except Exception as e:  # noqa: BLE001 - reported in the row, the run goes on
            return None, f"ORT float16 conversion failed ({type(e).__name__}: {e})"
    # use_tf32 0: ORT's CUDA provider turns TF32 on by default; off keeps the f32 contract.
    try:
        sess = ort.InferenceSession(onnx_path,
                                    providers=[("CUDAExecutionProvider", {"use_tf32": 0})])
    except Exception as e:  # noqa: BLE001
        return None, f"ORT session failed ({type(e).__name__}: {str(e)[:200]})"
    if "CUDAExecutionProvider" not in sess.get_providers():
        return None, "ORT fell back to the CPU (CUDA provider libraries not found)"
    # Inputs and outputs on the device (I/O binding), as plumb's device time and PyTorch's.
    io = sess.io_binding()
    for k, v in inputs.items():
        io.bind_ortvalue_input(k, ort.OrtValue.ortvalue_from_numpy(v.numpy(), "cuda", 0))
    for o in sess.get_outputs():
        io.bind_output(o.name, "cuda")
    for _ in range(warmup):
        sess.run_with_iobinding(io)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run_with_iobinding(io)  # returns once the run finished on the device
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times)), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--plumb", default="plumb")
    ap.add_argument("--runner", default="plumb-cuda-run")
    ap.add_argument("--models", default="bert_base,resnet50")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--dtypes", default="f32,f16")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    work = tempfile.mkdtemp()
    rows, table = [], []
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows}

    def save():
        with open(os.path.join(a.out, "bench.json"), "w") as f:
            json.dump(report, f, indent=1)

    for name in a.models.split(","):
        t0 = time.time()
        model, args, in_names, out_names = MODULES[name]()
        onnx_path = os.path.join(work, name + ".onnx")
        make_models.export(model, args, onnx_path, in_names, out_names)
        print(f"{name}: exported in {time.time() - t0:.0f} s", flush=True)
        model = model.cuda()
        compiled = None if a.no_compile else torch.compile(model)
        for batch in map(int, a.batches.split(",")):
            inputs = make_inputs(name, batch)
            npz = os.path.join(work, f"{name}.{batch}.npz")
            np.savez(npz, **{k: v.numpy() for k, v in inputs.items()})
            with torch.no_grad():
                ref = [t.float().cpu().numpy() for t in torch_call(model, inputs, "f32")()]
            for dtype in a.dtypes.split(","):
                row = {"model": name, "batch": batch, "dtype": dtype}
                p = plumb_rows(a.plumb, a.runner, onnx_path, npz, dtype, a.iters, a.warmup, work)
                row["plumb_ms"] = p.get("ms")
                row["plumb_host_ms"] = p.get("host_ms")
                row["plumb_compile_s"] = p.get("compile_s")
                row["plumb_error"] = p.get("error")
                if "outputs" in p:
                    row["plumb_vs_torch_f32"] = max(rel_diff(p["outputs"][k], r)
                                                    for k, r in zip(out_names, ref))
                row["eager_ms"] = median_ms(torch_call(model, inputs, dtype), a.warmup, a.iters)
                if compiled is not None:
                    t1 = time.time()
                    row["compile_ms"] = median_ms(torch_call(compiled, inputs, dtype),
                                                  a.warmup, a.iters)
                    row["compile_warmup_s"] = time.time() - t1
                row["ort_ms"], row["ort_note"] = ort_ms(onnx_path, inputs, a.iters, a.warmup,
                                                        dtype)
                rows.append(row)
                save()
                peers = [row.get(k) for k in ("eager_ms", "compile_ms", "ort_ms")]
                best = min([x for x in peers if x], default=None)
                fmt = lambda x: f"{x:9.3f}" if isinstance(x, float) else f"{'-':>9}"
                line = (f"{name:10} {batch:3} {dtype:4} {fmt(row['plumb_ms'])} "
                        f"{fmt(row.get('eager_ms'))} {fmt(row.get('compile_ms'))} "
                        f"{fmt(row.get('ort_ms'))} "
                        f"{fmt(best / row['plumb_ms'] if best and row['plumb_ms'] else None)} "
                        f"{row.get('plumb_vs_torch_f32', float('nan')):9.2e}")
                if row["plumb_error"]:
                    line += "  plumb: " + row["plumb_error"].splitlines()[-1][:120]
                table.append(line)
                print(line, flush=True)
    save()
    print("\nmodel      bat dtyp plumb(ms)  eager(ms) compile(ms)  ort(ms) best/plumb  rel.diff")
    print("\n".join(table))
    notes = {r.get("ort_note") for r in rows if r.get("ort_note")}
    for n in notes:
        print("ORT CUDA:", n)


if __name__ == "__main__":
    main()
