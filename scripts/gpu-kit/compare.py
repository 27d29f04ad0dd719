"""The device side of scripts/gpu-kit.sh: compare.py MODELS_DIR OUT_DIR.

For every OUT_DIR/NAME.DTYPE.MODE.npz (what plumb-cuda-run wrote), each output against the
reference interpreter's (MODELS_DIR/NAME.ref.npz) within the tolerance the emulated tests use
(tests/mlir/CudaEmulatedModels.h): f32 plans 1e-4 of the output's scale, f16/bf16 plans eight
unit roundoffs of the type (2^-11, 2^-8) of it, the scale being max(1, |reference| peak).
Integer outputs must be equal. One line per artifact and mode with the worst output and the
latency plumb-cuda-run printed; exit 1 if any output differs beyond its tolerance.
"""
import glob
import os
import re
import sys

import numpy as np


def tolerance(dtype, peak):
    scale = max(1.0, peak)
    if dtype == "f32":
        return 1e-4 * scale
    return 8 * (2.0 ** -11 if dtype == "f16" else 2.0 ** -8) * scale


def main(models, out):
    failed = 0
    rows = sorted(glob.glob(os.path.join(out, "*.*.*.npz")))
    if not rows:
        print(f"compare.py: no outputs under {out}")
        return 1
    for path in rows:
        name, dtype, mode = os.path.basename(path)[:-4].rsplit(".", 2)
        ref = np.load(os.path.join(models, f"{name}.ref.npz"))
        got = np.load(path)
        worst, verdict, ratio = "", "PASS", -1.0
        for key in ref.files:
            if key not in got.files:
                verdict, worst = "FAIL", f"{key} missing"
                break
            want, have = ref[key], got[key]
            if want.shape != have.shape:
                verdict, worst = "FAIL", f"{key} shape {have.shape} != {want.shape}"
                break
            if not np.issubdtype(want.dtype, np.floating):
                if not np.array_equal(want, have):
                    verdict, worst = "FAIL", f"{key} integers differ"
                continue
            w, h = want.astype(np.float64), have.astype(np.float64)
            finite = np.isfinite(w)
            peak = float(np.abs(w[finite]).max()) if finite.any() else 0.0
            err = float(np.abs(w - h)[finite].max()) if finite.any() else 0.0
            tol = tolerance(dtype, peak)
            bad = err > tol or not np.array_equal(np.isnan(w), np.isnan(h))
            if bad or err / tol > ratio:  # report the output nearest its tolerance
                ratio = err / tol
                worst = f"{key} max|diff| {err:.3g} (tol {tol:.3g})"
            if bad:
                verdict = "FAIL"
                break
        log = path[:-4] + ".log"
        latency = ""
        if os.path.exists(log):
            # "host to host median A ms, ..." then "device median B ms, ...": A/B ms
            ms = re.findall(r"median ([0-9.]+) ms", open(log).read())
            latency = ("host/device median " + "/".join(ms) + " ms") if ms else ""
        failed += verdict == "FAIL"
        print(f"{verdict}  {name:<12} {dtype:<5} {mode:<6} {worst}  {latency}")
    print(f"{len(rows) - failed} of {len(rows)} runs match the reference")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
