"""The CPU backend through the CLI: every fixture passes `plumb check --backend cpu` at every
fusion boundary, compile reports fusions and verifies each pass, artifacts round-trip (weights
pre-packed or plain, bit for bit alike) and bad artifacts are clean errors, bisect --backend cpu finds no divergence on clean models, and
the data-movement ops of the transformer fixtures run on cpu.* kernels."""
import json
import os
import re
import subprocess

import numpy as np
import pytest

MODELS = ["resnet_tiny", "bert_tiny", "gpt2_tiny", "llama_tiny", "mamba2_tiny", "dit_tiny"]


def fx(repo, name, suffix):
    return os.path.join(repo, "tests", "models", name + suffix)


def run(plumb, *args):
    return subprocess.run([plumb, *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", MODELS)
def test_fixture_passes_check_on_cpu(plumb, repo, tmp_path, name):
    report = tmp_path / "r.json"
    proc = run(plumb, "check", fx(repo, name, ".onnx"), "--backend", "cpu", "--inputs",
               fx(repo, name, ".inputs.npz"), "--json", str(report))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    r = json.load(open(report))
    assert r["verdict"] == "PASS" and r["candidate"].startswith("cpu backend")
    assert len(r["layers"]) >= 10  # tensors at fusion boundaries, compared by ONNX name


@pytest.mark.parametrize("name", MODELS)
def test_compile_run_artifact_matches_pytorch(plumb, repo, tmp_path, name):
    art, out = tmp_path / (name + ".plumb"), tmp_path / "out.npz"
    proc = run(plumb, "compile", fx(repo, name, ".onnx"), "--backend", "cpu", "-o", str(art),
               "--inputs", fx(repo, name, ".inputs.npz"), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "after fusion" in proc.stdout and "peak intermediate bytes" in proc.stdout
    packed = re.search(r"pre-packed (\d+) conv/matmul weights", proc.stdout)
    assert packed and int(packed.group(1)) > 0, proc.stdout
    proc = run(plumb, "run", str(art), "--inputs", fx(repo, name, ".inputs.npz"), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got, want = np.load(out), np.load(fx(repo, name, ".outputs.npz"))
    for k in want.files:  # the fixture rule of tests/models/check_model.py
        a, b = got[k].astype(np.float64), want[k].astype(np.float64)
        assert np.all(np.abs(a - b) <= 1e-5 + 1e-4 * np.abs(b)), (k, np.abs(a - b).max())
    # The same plan with plain weights (reordered at load instead) computes bit for bit alike.
    plain, plain_out = tmp_path / "plain.plumb", tmp_path / "plain.npz"
    proc = run(plumb, "compile", fx(repo, name, ".onnx"), "--plain-weights", "-o", str(plain),
               "--inputs", fx(repo, name, ".inputs.npz"))
    assert proc.returncode == 0 and "pre-packed" not in proc.stdout, proc.stdout + proc.stderr
    proc = run(plumb, "run", str(plain), "--inputs", fx(repo, name, ".inputs.npz"), "-o",
               str(plain_out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plain_got = np.load(plain_out)
    for k in want.files:
        assert np.array_equal(got[k], plain_got[k]), k


def test_compile_stats_name_fusions(plumb, repo):
    proc = run(plumb, "compile", fx(repo, "bert_tiny", ".onnx"), "--stats")
    assert proc.returncode == 0
    assert "attention" in proc.stdout and "matmul+bias+gelu" in proc.stdout
    assert "cpu.matmul" in proc.stdout
    assert "cpu.attention" in proc.stdout


@pytest.mark.parametrize("name", ["mamba2_tiny", "llama_tiny", "dit_tiny"])
def test_data_movement_runs_on_cpu_kernels(plumb, repo, name):
    # Slice, Split, Concat, Gather, Pad and CumSum with constant operands: cpu.*, not ref.*.
    proc = run(plumb, "compile", fx(repo, name, ".onnx"), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for op in ["Slice", "Split", "Concat", "Gather", "Pad", "CumSum"]:
        assert f"ref.{op} " not in proc.stdout, proc.stdout
    assert "cpu.slice" in proc.stdout and "cpu.gather" in proc.stdout


def test_compile_stats_count_blocked_and_in_place_buffers(plumb, repo):
    # resnet_tiny: conv/pool activations stay channel-blocked, residual sums run in place.
    proc = run(plumb, "compile", fx(repo, "resnet_tiny", ".onnx"), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    blocked = re.search(r"channel-blocked intermediates: (\d+) \((\d+) bytes", proc.stdout)
    in_place = re.search(r"in-place outputs: (\d+)", proc.stdout)
    assert blocked and int(blocked.group(1)) > 0 and int(blocked.group(2)) > 0, proc.stdout
    assert in_place and int(in_place.group(1)) > 0, proc.stdout


def test_compile_stats_chain_elementwise_fusions(plumb, repo):
    # llama_tiny: every RMSNorm (Pow, ReduceMean, Add, Sqrt, Div, Mul, Mul) and RoPE fusion is
    # one cpu.chain step; none of their ops is left on the reference kernels.
    proc = run(plumb, "compile", fx(repo, "llama_tiny", ".onnx"), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fused = re.search(r"rms_norm +(\d+)", proc.stdout)
    chains = re.search(r"cpu\.chain +(\d+)", proc.stdout)
    assert fused and chains and int(chains.group(1)) >= int(fused.group(1)) > 0, proc.stdout
    for op in ["Pow", "ReduceMean", "Sqrt", "Expand", "Sin", "Cos"]:
        assert f"ref.{op} " not in proc.stdout, proc.stdout


def test_verify_each_checks_every_pass(plumb, repo):
    proc = run(plumb, "compile", fx(repo, "resnet_tiny", ".onnx"), "--verify-each",
               "--input-shape", "input=1x3x32x32")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for p in ["plumb-constant-folding", "plumb-fold-conv-bn", "plumb-fuse-conv"]:
        assert f"verify-each {p}" in proc.stdout


def test_inspect_lists_what_an_artifact_holds(plumb, repo, tmp_path):
    """`plumb inspect MODEL.plumb`: inputs, outputs, steps by kernel, constants and how many
    are pre-packed, in text and JSON; --plain-weights artifacts have none packed."""
    for plain in (False, True):
        art, report = tmp_path / "m.plumb", tmp_path / "m.json"
        args = ["compile", fx(repo, "resnet_tiny", ".onnx"), "-o", str(art)]
        assert run(plumb, *(args + (["--plain-weights"] if plain else []))).returncode == 0
        proc = run(plumb, "inspect", str(art), "--json", str(report))
        assert proc.returncode == 0, proc.stderr
        assert "format    version 6 (checksum verified)" in proc.stdout
        j = json.load(open(report))
        assert j["inputs"] == [{"name": "input", "type": "f32[1x3x32x32]"}]
        assert j["outputs"] == [{"name": "logits", "type": "f32[1x10]"}]
        assert j["steps"]["cpu.conv"] == 9 and sum(j["steps"].values()) == 13
        # 9 conv weights and the classifier's: packed unless asked for plain weights (on AVX2
        # one of them is stored transformed for the Winograd route).
        assert j["constants"]["packed"] == (0 if plain else 10), j["constants"]
        assert j["constants"]["count"] == 20 and j["peak_intermediate_bytes"] > 0
    art.write_bytes(art.read_bytes()[:100])
    proc = run(plumb, "inspect", str(art))
    assert proc.returncode == 2 and str(art) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_inspect_steps_lists_the_plan_in_order(plumb, repo, tmp_path):
    """`plumb inspect MODEL.plumb --steps`: every step in execution order with its kernel, the
    ONNX nodes it implements and what it writes; the same list in the JSON report. On an ONNX
    model the flag is a clean error (there is no plan yet)."""
    art, report = tmp_path / "m.plumb", tmp_path / "m.json"
    onnx_path = fx(repo, "resnet_tiny", ".onnx")
    assert run(plumb, "compile", onnx_path, "-o", str(art)).returncode == 0
    proc = run(plumb, "inspect", str(art), "--steps", "--json", str(report))
    assert proc.returncode == 0, proc.stderr
    j = json.load(open(report))
    steps = j["steps_in_order"]
    assert len(steps) == sum(j["steps"].values())
    assert [s["step"] for s in steps] == list(range(len(steps)))
    assert steps[-1]["outputs"][0]["name"] == "logits"
    assert steps[-1]["outputs"][0]["type"] == "f32[1x10]"
    # One cpu.conv step per Conv node of the model (its op histogram), and no ONNX node is
    # implemented by two steps.
    ops = tmp_path / "ops.json"
    assert run(plumb, "inspect", onnx_path, "--json", str(ops)).returncode == 0
    convs = [s for s in steps if s["kernel"] == "cpu.conv"]
    assert len(convs) == json.load(open(ops))["ops"]["Conv"] and all(s["nodes"] for s in convs)
    names = [n for s in steps for n in s["nodes"].split(", ") if n]
    assert len(names) == len(set(names)), names
    lines = proc.stdout.split("steps in order\n")[1].strip().splitlines()
    assert len(lines) == len(steps) and "cpu.conv" in lines[0]
    proc = run(plumb, "inspect", onnx_path, "--steps")
    assert proc.returncode == 2 and "--steps" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "version", "garbage"])
def test_bad_artifacts_are_clean_errors(plumb, repo, tmp_path, damage):
    art = tmp_path / "m.plumb"
    assert run(plumb, "compile", fx(repo, "bert_tiny", ".onnx"), "-o", str(art)).returncode == 0
    data = bytearray(art.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "version":
        data[8] = 99
    else:
        data = bytearray(os.urandom(4096))
    art.write_bytes(bytes(data))
    proc = run(plumb, "run", str(art))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(art) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bisect_cpu_backend_agrees_on_clean_model(plumb, repo, tmp_path):
    report = tmp_path / "b.json"
    proc = run(plumb, "bisect", fx(repo, "gpt2_tiny", ".onnx"), "--backend", "cpu", "--inputs",
               fx(repo, "gpt2_tiny", ".inputs.npz"), "--json", str(report))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert json.load(open(report))["verdict"] == "AGREE"


def test_cpu_needs_no_dynamic_dims_left(plumb, repo):
    # Dynamic dims are pinned from the inputs (random inputs: dynamic dims become 1).
    proc = run(plumb, "run", fx(repo, "gpt2_tiny", ".onnx"), "--backend", "cpu",
               "--input-shape", "input_ids=1x7")
    assert proc.returncode == 0, proc.stderr
    assert "f32[1x7x128]" in proc.stdout


def test_bench_reports_latency_as_json(plumb, repo, tmp_path):
    report = tmp_path / "b.json"
    proc = run(plumb, "bench", fx(repo, "resnet_tiny", ".onnx"), "--threads", "1", "--iters",
               "5", "--warmup", "1", "--json", str(report))
    assert proc.returncode == 0, proc.stderr
    j = json.load(open(report))
    assert len(j["samples_ms"]) == 5 and j["threads"] == 1
    assert 0 < j["min_ms"] <= j["median_ms"] <= j["p90_ms"]
    assert j["peak_rss_bytes"] > 0 and j["setup_s"] > 0
    assert run(plumb, "bench", fx(repo, "resnet_tiny", ".onnx"), "--iters", "0").returncode == 2


def test_bench_profile_names_the_kernels(plumb, repo):
    proc = run(plumb, "bench", fx(repo, "resnet_tiny", ".onnx"), "--threads", "1", "--iters", "3",
               "--warmup", "1", "--profile")
    assert proc.returncode == 0, proc.stderr
    profile = proc.stdout.split("profile", 1)[1]
    assert "cpu.conv" in profile and "%" in profile
    # The reference backend has no steps to time: a clear usage error, not a crash.
    proc = run(plumb, "bench", fx(repo, "resnet_tiny", ".onnx"), "--backend", "reference",
               "--iters", "1", "--profile")
    assert proc.returncode == 2 and "--profile" in proc.stderr


def test_bench_per_op_compares_each_conv_and_matmul_with_onednn_alone(plumb, repo, tmp_path):
    """--per-op: a row per conv/matmul step with plumb's time next to the oneDNN primitive
    alone on the same shape, in the table and in --json. Structure only: no speed asserted."""
    report = tmp_path / "r.json"
    proc = run(plumb, "bench", fx(repo, "resnet_tiny", ".onnx"), "--threads", "1", "--iters",
               "3", "--warmup", "1", "--per-op", "--json", str(report))
    assert proc.returncode == 0, proc.stderr
    assert "profile" in proc.stdout  # --per-op implies --profile
    table = proc.stdout.split("per-op", 1)[1]
    header, rows = table.splitlines()[1], table.splitlines()[2:]
    for col in ("step", "plumb ms", "alone ms", "GF/s", "ratio", "cold", "shape", "nodes"):
        assert col in header
    j = json.load(open(report))
    assert [r["kernel"] for r in j["profile"]][0]  # the by-kernel profile is in the JSON too
    per = j["per_op"]
    assert per["goal"] == 0.8
    steps = per["steps"]
    kernels = [s["kernel"] for s in steps]
    # resnet_tiny: 9 convs (stem, 2 blocks' 3x3s and 1x1 downsamples) and the final Gemm.
    assert kernels.count("cpu.conv") == 9 and kernels.count("cpu.matmul") == 1
    assert per["measured"] == len(steps) == 10
    assert per["meeting_goal"] == sum(s["meets_goal"] for s in steps)
    assert per["meeting_goal_cold_weights"] == sum(s["ratio_cold_weights"] >= 0.8 for s in steps)
    for s in steps:
        assert s["flops"] > 0 and s["plumb_ms"] > 0 and s["alone_ms"] > 0
        assert s["plumb_gflops"] > 0 and s["alone_gflops"] > 0
        assert s["ratio"] > 0 and s["meets_goal"] == (s["ratio"] >= 0.8)
        assert s["ratio"] == pytest.approx(s["alone_ms"] / s["plumb_ms"])
        # The same primitive with its weights evicted first: timed, its own ratio.
        assert s["alone_cold_weights_ms"] > 0
        assert s["ratio_cold_weights"] == pytest.approx(s["alone_cold_weights_ms"] / s["plumb_ms"])
        assert s["nodes"] and (" -> " in s["shape"] or " * " in s["shape"])
    stem = steps[0]
    assert stem["shape"] == "1x3x32x32 k3x3 s1 -> 1x16x32x32"
    assert stem["flops"] == 2 * 16 * 32 * 32 * 3 * 3 * 3
    # The classifier's constant B runs as a 1x1 convolution (cpu.matmul's prepareAsConv) where
    # oneDNN offers its jit_1x1 kernel for the shape (the AVX2 machines); where it offers another
    # (an AVX-512 one: brgconv) it stays a matmul, as prepareAsConv decides.
    assert steps[-1]["shape"] in ("1x64 * 64x10 as 1x1 conv", "1x64 * 64x10")
    assert steps[-1]["flops"] == 2 * 64 * 10
    # Every measured step has its row on screen, flagged with '!' when below the goal.
    assert len([r for r in rows if " cpu." in r]) == 10
    assert f"{per['meeting_goal']} of 10 steps meet the goal" in table


@pytest.mark.parametrize("threads", ["1", "2"])
def test_run_cpu_with_threads_matches_pytorch(plumb, repo, tmp_path, threads):
    """--threads sets oneDNN's thread count; any count gives the fixture's PyTorch outputs."""
    out = tmp_path / "out.npz"
    proc = run(plumb, "run", fx(repo, "bert_tiny", ".onnx"), "--backend", "cpu", "--threads",
               threads, "--inputs", fx(repo, "bert_tiny", ".inputs.npz"), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got, want = np.load(out), np.load(fx(repo, "bert_tiny", ".outputs.npz"))
    for k in want.files:
        a, b = got[k].astype(np.float64), want[k].astype(np.float64)
        assert np.all(np.abs(a - b) <= 1e-5 + 1e-4 * np.abs(b)), (k, np.abs(a - b).max())


def test_threads_must_be_a_number(plumb, repo):
    proc = run(plumb, "check", fx(repo, "bert_tiny", ".onnx"), "--backend", "cpu",
               "--threads", "many")
    assert proc.returncode == 2 and "--threads" in proc.stderr


ONNX_NODE = "/usr/share/libonnx-testdata/data/node"


def test_conformance_runs_cases_through_the_cpu_backend(plumb, tmp_path):
    """`plumb conformance --backend cpu` compiles each case for the CPU backend and runs its
    plan against ONNX's expected outputs. Gemm with alpha or beta and a C given at run time
    compiled to a cpu.matmul that refused to run; it is now the reference kernel's step."""
    if not os.path.isdir(ONNX_NODE):
        pytest.skip(ONNX_NODE + " not installed")
    report = tmp_path / "c.json"
    proc = run(plumb, "conformance", ONNX_NODE, "--backend", "cpu", "--filter", "test_gemm",
               "--json", str(report))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    r = json.load(open(report))
    assert r["summary"]["failed"] == 0 and r["summary"]["passed"] >= 10, r["summary"]
    names = {c["name"] for c in r["cases"] if c["status"] == "pass"}
    assert {"test_gemm_alpha", "test_gemm_beta", "test_gemm_all_attributes"} <= names


def test_conformance_lists_add_up(plumb, tmp_path):
    """Several --expected-failures lists add up; a listed case that passes is named with the
    list to remove it from."""
    if not os.path.isdir(ONNX_NODE):
        pytest.skip(ONNX_NODE + " not installed")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("test_acos  listed in a\n")
    b.write_text("# comment\ntest_acosh  listed in b\n")
    proc = run(plumb, "conformance", ONNX_NODE, "--filter", "test_acos", "--expected-failures",
               str(a), "--expected-failures", str(b))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert f"note: test_acos now passes; remove it from {a}" in proc.stdout
    assert f"note: test_acosh now passes; remove it from {b}" in proc.stdout


def test_conformance_binds_steering_inputs(plumb, tmp_path):
    """--bind-steering-inputs: Slice's starts/ends/axes/steps, fed as graph inputs by ONNX's
    cases, become constants holding the data set's values; the cases still pass. The flag
    needs a compiled backend: with the reference it is exit 2, one line."""
    if not os.path.isdir(ONNX_NODE):
        pytest.skip(ONNX_NODE + " not installed")
    report = tmp_path / "c.json"
    proc = run(plumb, "conformance", ONNX_NODE, "--backend", "cpu", "--bind-steering-inputs",
               "--filter", "test_slice", "--json", str(report))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    cases = json.load(open(report))["cases"]
    bound = [c["name"] for c in cases if c["steering_inputs_bound"]]
    assert "test_slice_neg_steps" in bound and all(c["status"] == "pass" for c in cases), cases
    assert f"{len(bound)} cases with steering inputs bound as constants" in proc.stdout
    proc = run(plumb, "conformance", ONNX_NODE, "--bind-steering-inputs", "--filter", "test_abs")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() == ("plumb: error: --bind-steering-inputs: only with --backend "
                                   "cpu or cuda"), proc.stderr


def test_fused_gemm_with_alpha_and_runtime_operands(plumb, repo):
    """A Gemm leading a gemm+relu fusion follows the unfused Gemm's rule: alpha or beta that
    cpu.matmul cannot fold into a constant B or C makes the Gemm the reference kernel's step
    (the fusion compiled to a cpu.matmul that refused to run when the plan was prepared);
    alpha with a constant B still folds, keeping one cpu.matmul step with its ReLU."""
    model = os.path.join(repo, "tests", "data", "cpu", "gemm_alpha_fused.onnx")
    proc = run(plumb, "check", model, "--backend", "cpu")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "overall:                     PASS" in proc.stdout, proc.stdout
    proc = run(plumb, "compile", model, "--stats")
    assert proc.returncode == 0, proc.stderr
    steps = dict(re.findall(r"^  (\S+)\s+(\d+)$", proc.stdout, re.M))
    assert steps.get("ref.Gemm") == "1" and steps.get("cpu.matmul") == "1", proc.stdout


def test_opset6_broadcasts_per_channel(plumb, repo):
    """An opset-6 model's Add with broadcast=1, axis=1 and PRelu with a [C] slope are per
    channel (plumb-legacy-broadcast writes them numpy's way for the backends). With W equal
    to C the CPU backend added the bias along W, and check failed; Pad takes its pads and
    fill from the attributes of that opset."""
    model = os.path.join(repo, "tests", "data", "cpu", "legacy_opset6.onnx")
    proc = run(plumb, "check", model, "--backend", "cpu")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "overall:                     PASS" in proc.stdout, proc.stdout


def test_shapes_values_decide_follow_each_run(plumb, repo, tmp_path):
    """An artifact compiled with one input set runs another whose NonZero, Compress,
    NonMaxSuppression and Unique counts differ (it failed: 'the reference kernel produced
    i64[2x6] for output 0, planned i64[2x5]'). Outputs against numpy where numpy computes the
    op, and against the reference interpreter on the same inputs; inspect marks the run-time
    shapes; check passes with either set."""
    data = os.path.join(repo, "tests", "data", "cpu")
    model = os.path.join(data, "run_time_shapes.onnx")
    sets = {t: os.path.join(data, f"run_time_shapes.{t}.npz") for t in "ab"}
    art = tmp_path / "rts.plumb"
    proc = run(plumb, "compile", model, "--backend", "cpu", "--inputs", sets["a"], "-o", str(art),
               "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^run-time shapes: 8 buffers", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  cpu\.matmul\s+1$", proc.stdout, re.M), proc.stdout
    proc = run(plumb, "inspect", str(art), "--steps")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"ref\.NonMaxSuppression\s+i64\[run-time: 2x3\]", proc.stdout), proc.stdout
    assert re.search(r"kept_boxes\s+f32\[run-time: 2x4\]", proc.stdout), proc.stdout
    w = np.load(os.path.join(data, "run_time_shapes.w.npy"))  # the model's MatMul weight
    for tag in "ba":
        got_path, ref_path = tmp_path / f"got_{tag}.npz", tmp_path / f"ref_{tag}.npz"
        proc = run(plumb, "run", str(art), "--inputs", sets[tag], "-o", str(got_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = run(plumb, "run", model, "--inputs", sets[tag], "-o", str(ref_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got, ref, x = np.load(got_path), np.load(ref_path), np.load(sets[tag])
        projected = x["x"].astype(np.float64) @ w.astype(np.float64)
        picked = projected.reshape(-1)[projected.reshape(-1) > 0]
        np.testing.assert_array_equal(got["positions"], np.argwhere(projected > 0))
        np.testing.assert_allclose(got["doubled"], 2 * picked, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got["total"], 2 * picked.sum() + 1, rtol=1e-5)
        np.testing.assert_array_equal(got["levels"], np.unique(np.floor(2 * x["x"])))
        assert got["kept_boxes"].shape == ((3, 4) if tag == "b" else (2, 4))
        for k in ref:
            assert got[k].shape == ref[k].shape, k
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
        proc = run(plumb, "check", model, "--backend", "cpu", "--inputs", sets[tag])
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
