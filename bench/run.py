"""plumb (CPU backend) against ONNX Runtime (CPU provider) on the reference models, in one run
on the same machine and thread counts. Run through bench/run.sh, which prepares the venv.

For every model x batch x thread count: `plumb bench` (import + compile, warm-up, timed runs,
its JSON) and ONNX Runtime in its own process (session creation, warm-up, timed runs), in
--rounds alternating rounds whose samples are pooled (median and p90 over all of them). For every
model x batch, the outputs of `plumb run --backend cpu` are compared with ONNX Runtime's: a
second oracle beside plumb's own interpreter. One more `plumb bench --per-op` run (not in the
latency columns: it times primitives between runs) times every convolution and matmul step against its oneDNN primitive alone on the same shape
(issue 5's goal: each within 80%); the results summarise that per model (steps meeting the
goal, the worst three). For every model x batch the deployment path is measured too: the
artifact written with pre-packed and with plain weights, loaded and run by `plumb bench`.
Writes RESULTS.json and RESULTS.md.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PLUMB = os.path.join(ROOT, "build", "bin", "plumb")
BENCH = os.path.join(ROOT, "build", "bench")


def inputs_for(model, batch):
    """Deterministic inputs of the shapes the issue names."""
    rng = np.random.default_rng(1234 + batch)
    if model == "resnet50":
        return {"input": rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)}
    if model == "bert_base":
        mask = np.ones((batch, 128), dtype=np.int64)
        mask[1:, 100:] = 0  # padded rows beyond the first
        return {"input_ids": rng.integers(0, 30522, (batch, 128), dtype=np.int64),
                "attention_mask": mask}
    if model == "gpt2_small":
        return {"input_ids": rng.integers(0, 50257, (batch, 128), dtype=np.int64)}
    if model == "mamba2_stack":
        return {"hidden_states": rng.standard_normal((batch, 256, 768), dtype=np.float32)}
    raise SystemExit(f"run.py: no inputs defined for '{model}'")


def parity(a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    diff = np.abs(a64 - b64)
    norm = np.linalg.norm(b64)
    return {"max_abs": float(diff.max()) if diff.size else 0.0,
            "rel_l2": float(np.linalg.norm(a64 - b64) / norm) if norm > 0 else 0.0}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet50,bert_base,gpt2_small,mamba2_stack")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating plumb/ORT processes per configuration; samples pooled")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--no-per-op", action="store_true",
                    help="skip the per-op check (each conv/matmul vs oneDNN alone)")
    ap.add_argument("--no-artifact", action="store_true",
                    help="skip the deployed-artifact rows (load time and memory of MODEL.plumb)")
    args = ap.parse_args()
    models = args.models.split(",")
    run(["/usr/bin/python3", os.path.join(ROOT, "bench", "make_models.py")] + models)
    work = os.path.join(BENCH, "work")
    os.makedirs(work, exist_ok=True)
    rows = []
    for model in models:
        path = os.path.join(BENCH, model + ".onnx")
        for batch in [int(b) for b in args.batches.split(",")]:
            tag = f"{model}_b{batch}"
            inp = os.path.join(work, tag + ".inputs.npz")
            np.savez(inp, **inputs_for(model, batch))
            # Fewer timed runs for the long configurations; the median stays meaningful.
            iters = max(3, args.iters // batch) if batch > 1 else args.iters
            ort_out = None
            for threads in [int(t) for t in args.threads.split(",")]:
                stem = os.path.join(work, f"{tag}_t{threads}")
                ort_out = os.path.join(work, tag + ".ort.outputs.npz")
                p, o = None, None
                for rnd in range(args.rounds):
                    # Alternating rounds, each in a fresh process: a slow phase of the machine
                    # (another tenant, the host scheduling both vCPUs on one core) then falls on
                    # both sides instead of on whichever ran during it.
                    print(f"[{tag} t{threads}] round {rnd + 1}/{args.rounds}: plumb, onnxruntime",
                          file=sys.stderr, flush=True)
                    pj, oj = f"{stem}.r{rnd}.plumb.json", f"{stem}.r{rnd}.ort.json"
                    run([PLUMB, "bench", path, "--backend", "cpu", "--threads", str(threads),
                         "--iters", str(iters), "--warmup", str(args.warmup), "--inputs", inp,
                         "--json", pj])
                    run([sys.executable, os.path.join(ROOT, "bench", "ort_runner.py"), path, inp,
                         str(threads), str(iters), str(args.warmup), oj, ort_out])
                    p = pool(p, json.load(open(pj)))
                    o = pool(o, json.load(open(oj)))
                per_op = None
                if not args.no_per_op:
                    print(f"[{tag} t{threads}] plumb --per-op", file=sys.stderr, flush=True)
                    pj = f"{stem}.per-op.plumb.json"
                    run([PLUMB, "bench", path, "--backend", "cpu", "--threads", str(threads),
                         "--iters", str(iters), "--warmup", str(args.warmup), "--inputs", inp,
                         "--json", pj, "--per-op"])
                    per_op = per_op_summary(json.load(open(pj)))
                rows.append({"model": model, "batch": batch, "threads": threads,
                             "iters": iters, "rounds": args.rounds, "plumb": p, "ort": o,
                             "ratio": p["median_ms"] / o["median_ms"], "per_op": per_op})
            deployed = None if args.no_artifact else artifact_rows(path, tag, inp, work, args)
            print(f"[{tag}] parity vs onnxruntime ...", file=sys.stderr, flush=True)
            plumb_out = os.path.join(work, tag + ".plumb.outputs.npz")
            run([PLUMB, "run", path, "--backend", "cpu", "--inputs", inp, "-o", plumb_out])
            ours, theirs = np.load(plumb_out), np.load(ort_out)
            checks = {name: parity(ours[name], theirs[name]) for name in theirs.files}
            for r in rows:
                if r["model"] == model and r["batch"] == batch:
                    r["parity_vs_ort"] = checks
                    r["artifact"] = deployed
    ort_version = rows[0]["ort"]["version"] if rows else "?"
    with open(args.out + ".json", "w") as f:
        json.dump({"onnxruntime": ort_version, "cpu": cpu_name(), "rows": rows}, f, indent=1)
    table = markdown(rows, ort_version)
    with open(args.out + ".md", "w") as f:
        f.write(table)
    print(table)
    print(f"wrote {args.out}.json and {args.out}.md", file=sys.stderr)


def artifact_rows(path, tag, inp, work, args):
    """The deployment path: `plumb compile -o` once with weights pre-packed (the default) and
    once with --plain-weights, then `plumb bench MODEL.plumb` on one thread for each: file
    size, setup (map + checksum + kernel preparation), peak RSS and latency."""
    result = {}
    for mode, extra in (("packed", []), ("plain", ["--plain-weights"])):
        print(f"[{tag}] artifact ({mode} weights) ...", file=sys.stderr, flush=True)
        art = os.path.join(work, f"{tag}.{mode}.plumb")
        run([PLUMB, "compile", path, "--backend", "cpu", "--inputs", inp, "-o", art] + extra)
        js = os.path.join(work, f"{tag}.{mode}.artifact.json")
        run([PLUMB, "bench", art, "--threads", "1", "--iters", "3", "--warmup", "1",
             "--inputs", inp, "--json", js])
        j = json.load(open(js))
        result[mode] = {"file_bytes": os.path.getsize(art), "setup_s": j["setup_s"],
                        "peak_rss_bytes": j["peak_rss_bytes"], "median_ms": j["median_ms"]}
        os.remove(art)  # hundreds of MB each
    return result


def pool(acc, report):
    """Adds one round's report to the pooled one: samples joined, median/p90 over all of them;
    setup, peak RSS and version from the first round."""
    if acc is None:
        acc = dict(report)
    else:
        acc["samples_ms"] = acc["samples_ms"] + report["samples_ms"]
    ms = np.array(acc["samples_ms"])
    acc["median_ms"] = float(np.median(ms))
    acc["p90_ms"] = float(np.percentile(ms, 90))
    return acc


def per_op_summary(p, worst=3):
    """From `plumb bench --per-op` JSON: conv/matmul steps meeting the 80% goal, the worst few."""
    per = p.get("per_op")
    if not per:
        return None
    steps = sorted(per["steps"], key=lambda s: s["ratio"])
    return {"goal": per["goal"], "measured": per["measured"], "meeting_goal": per["meeting_goal"],
            "meeting_goal_cold_weights": per["meeting_goal_cold_weights"],
            "plumb_ms": per["plumb_ms"], "alone_ms": per["alone_ms"],
            "worst": [{k: s[k] for k in ("step", "kernel", "shape", "nodes", "plumb_ms", "alone_ms",
                                         "ratio", "ratio_cold_weights")} for s in steps[:worst]]}


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cores)"
    except OSError:
        pass
    return "unknown"


def markdown(rows, ort_version):
    out = [f"plumb CPU backend vs ONNX Runtime {ort_version} (CPU provider, ORT_ENABLE_ALL) on "
           f"{cpu_name()}; median / p90 latency in ms, ratio = plumb median / ORT median "
           "(< 1: plumb faster; samples of alternating plumb/ORT rounds pooled); setup = import + compile (plumb) or session creation (ORT); "
           "parity = worst rel-L2 of plumb's outputs against ORT's.", "",
           "| model | batch | threads | plumb median | plumb p90 | ORT median | ORT p90 | ratio "
           "| plumb setup s | ORT setup s | plumb RSS MiB | ORT RSS MiB | parity rel-L2 |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p, o = r["plumb"], r["ort"]
        worst = max((c["rel_l2"] for c in r.get("parity_vs_ort", {}).values()), default=0.0)
        out.append(f"| {r['model']} | {r['batch']} | {r['threads']} | {p['median_ms']:.1f} | "
                   f"{p['p90_ms']:.1f} | {o['median_ms']:.1f} | {o['p90_ms']:.1f} | "
                   f"{r['ratio']:.2f} | {p['setup_s']:.1f} | {o['setup_s']:.1f} | "
                   f"{p['peak_rss_bytes'] / 2**20:.0f} | {o['peak_rss_bytes'] / 2**20:.0f} | "
                   f"{worst:.1e} |")
    deployed = [r for r in rows if r.get("artifact") and r["threads"] == rows[0]["threads"]]
    if deployed:
        out += ["", "Deployed artifact (`plumb compile -o`, then `plumb bench MODEL.plumb`, one "
                "thread): weights pre-packed for this machine (default) vs `--plain-weights`; "
                "setup = map + checksum + kernel preparation; RSS of the loading process.", "",
                "| model | batch | file MiB | setup ms packed / plain | RSS MiB packed / plain "
                "| median ms packed / plain |", "|---|---|---|---|---|---|"]
        for r in deployed:
            a, b = r["artifact"]["packed"], r["artifact"]["plain"]
            out.append(f"| {r['model']} | {r['batch']} | {a['file_bytes'] / 2**20:.0f} | "
                       f"{a['setup_s'] * 1e3:.0f} / {b['setup_s'] * 1e3:.0f} | "
                       f"{a['peak_rss_bytes'] / 2**20:.0f} / {b['peak_rss_bytes'] / 2**20:.0f} | "
                       f"{a['median_ms']:.1f} / {b['median_ms']:.1f} |")
    per_op = [r for r in rows if r.get("per_op")]
    if per_op:
        out += ["", "Per-op throughput: each conv/matmul step inside plumb against the same oneDNN "
                "primitive alone on the same shape (preferred layouts, weights pre-reordered, "
                "same post-ops, no reorders around it); ratio = alone time / plumb time, goal "
                ">= 0.8 (`plumb bench --per-op`). Alone runs back to back, its weights in cache; "
                "'cold' counts the steps meeting 0.8 against the primitive alone with its "
                "weights evicted from cache first (benchdnn's --cold-cache=wei), as a step inside "
                "a model meets them; worst 3 give both ratios.", "",
                "| model | batch | threads | steps meeting goal (cold) | all steps: plumb ms / "
                "alone ms | worst 3 (step, shape, ratio / cold) |", "|---|---|---|---|---|---|"]
        for r in per_op:
            q = r["per_op"]
            worst3 = "; ".join(f"{w['step']} {w['kernel'][4:]} {w['shape']}: {w['ratio']:.2f} / "
                               f"{w['ratio_cold_weights']:.2f}" for w in q["worst"])
            out.append(f"| {r['model']} | {r['batch']} | {r['threads']} | "
                       f"{q['meeting_goal']} ({q['meeting_goal_cold_weights']}) / {q['measured']} | "
                       f"{q['plumb_ms']:.1f} / {q['alone_ms']:.1f} | {worst3} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
