"""Times ONNX Runtime (CPU provider, all graph optimisations) on one model in its own process,
so that its peak RSS is its own. Called by bench/run.py; writes a JSON report and the outputs.

Usage: ort_runner.py MODEL INPUTS.npz THREADS ITERS WARMUP REPORT.json OUTPUTS.npz
"""
import json
import resource
import sys
import time

import numpy as np
import onnxruntime as ort


def peak_rss_bytes():
    """This process's own peak (VmHWM): ru_maxrss survives exec, so a child of a large parent
    (the harness holding earlier models' outputs) would report the parent's."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(model, inputs_path, threads, iters, warmup, report, outputs_path):
    threads, iters, warmup = int(threads), int(iters), int(warmup)
    feeds = dict(np.load(inputs_path))
    t0 = time.perf_counter()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    setup = time.perf_counter() - t0
    # ORT at its best for latency: inputs and preallocated outputs bound once (IOBinding), so
    # a timed run neither copies outputs into fresh numpy arrays nor maps fresh memory for
    # them, as plumb's executor reuses its released outputs.
    names = [o.name for o in sess.get_outputs()]
    binding = sess.io_binding()
    for name, value in feeds.items():
        binding.bind_cpu_input(name, value)
    for name in names:
        binding.bind_output(name)  # ORT allocates them in this first run...
    sess.run_with_iobinding(binding)
    bound = binding.get_outputs()
    for name, value in zip(names, bound):
        binding.bind_ortvalue_output(name, value)  # ...and every later run writes there
    for _ in range(warmup):
        sess.run_with_iobinding(binding)
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run_with_iobinding(binding)
        samples.append((time.perf_counter() - t) * 1e3)
    outputs = [v.numpy() for v in bound]
    np.savez(outputs_path, **dict(zip(names, outputs)))
    with open(report, "w") as f:
        json.dump({"setup_s": setup, "samples_ms": samples, "median_ms": float(np.median(samples)),
                   "p90_ms": float(np.percentile(samples, 90)),
                   "peak_rss_bytes": peak_rss_bytes(),
                   "version": ort.__version__}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
