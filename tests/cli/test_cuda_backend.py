"""The CUDA backend through the CLI on a machine without a GPU: compile works (kernels are
generated and NVRTC-compiled, stats list them), and run/check/bisect exit 2 with one line
saying there is no device. With a device these skip (the device tests are in
tests/mlir/cuda_codegen_test.cpp)."""
import json
import os
import re
import subprocess

import pytest


def run(plumb, *args, env=None):
    return subprocess.run([plumb, *args], capture_output=True, text=True, timeout=600, env=env)


def model(repo, name="llama_tiny"):
    return os.path.join(repo, "tests", "models", name + ".onnx")


def has_device(plumb, repo):
    proc = run(plumb, "run", model(repo), "--backend", "cuda")
    return "no CUDA device" not in proc.stderr


def test_compile_for_cuda_without_gpu(plumb, repo, tmp_path):
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "m.plumb"
    proc = run(plumb, "compile", model(repo), "--backend", "cuda", "--stats", "-o", str(out),
               env=env)
    assert proc.returncode == 0, proc.stderr
    assert "cuda.generated:attention" in proc.stdout
    assert "cuda.generated:row" in proc.stdout
    assert "compiled with NVRTC" in proc.stdout
    # Llama's rotary tables (Cos and Sin of the angles) and each layer's q and k rotations:
    # one kernel writing both, each.
    assert "sibling kernels: 3 (6 elementwise ops" in proc.stdout, proc.stdout
    # Reshapes whose input dies there take its memory: counted against the copy steps.
    copies = re.search(r"cuda\.copy\s+(\d+)", proc.stdout)
    in_place = re.search(r"in-place reshapes: (\d+) of (\d+) copies", proc.stdout)
    assert copies and in_place, proc.stdout
    assert int(in_place.group(2)) == int(copies.group(1))
    assert 0 < int(in_place.group(1)) <= int(in_place.group(2))
    # llama_tiny's two layers: each rotary embedding's two slices, negation and concat (for q
    # and k) are computed inside the elementwise kernel reading them (16 ops at least), and each
    # K/V head repeat (unsqueeze, expand, reshape) is read in place by attention (12 at least).
    inside = re.search(r"computed in their reader's kernel: (\d+) ops", proc.stdout)
    views = re.search(r"read as strided views by the kernels reading them: (\d+) ops",
                      proc.stdout)
    assert inside and views, proc.stdout
    assert int(inside.group(1)) >= 16 and int(views.group(1)) >= 12, proc.stdout
    assert out.stat().st_size > 0


def test_inspect_steps_of_a_cuda_plan(plumb, repo, tmp_path):
    """`inspect --steps` on a CUDA artifact names each generated kernel's style. Mamba2's two
    Splits per layer (in_proj into z/xBC/dt, xBC into x/B/C) have no step: every reader loads
    its piece in place, and the listing has as many steps as --stats counts."""
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    art, report = tmp_path / "m.plumb", tmp_path / "m.json"
    proc = run(plumb, "compile", model(repo, "mamba2_tiny"), "--backend", "cuda", "--stats",
               "-o", str(art), env=env)
    assert proc.returncode == 0, proc.stderr
    total = int(re.search(r"^steps: (\d+)", proc.stdout, re.M).group(1))
    proc = run(plumb, "inspect", str(art), "--steps", "--json", str(report))
    assert proc.returncode == 0, proc.stderr
    steps = json.load(open(report))["steps_in_order"]
    assert len(steps) == total
    kernels = {s["kernel"] for s in steps}
    assert {"cuda.generated:window", "cuda.generated:row", "cuda.matmul"} <= kernels, kernels
    splits = [s for s in steps if "Split" in s["nodes"]]
    assert not splits, splits


def test_inspect_lists_every_output_of_a_step(plumb, repo, tmp_path):
    """A step writing two tensors (DiT's LayerNorm kernel also writes the gated residual the
    next block reads) lists both types, one space apart, before its nodes."""
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    art, report = tmp_path / "m.plumb", tmp_path / "m.json"
    proc = run(plumb, "compile", model(repo, "dit_tiny"), "--backend", "cuda", "-o", str(art),
               env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run(plumb, "inspect", str(art), "--steps", "--json", str(report))
    assert proc.returncode == 0, proc.stderr
    steps = json.load(open(report))["steps_in_order"]
    lines = proc.stdout.split("steps in order\n")[1].strip().splitlines()
    assert len(lines) == len(steps)
    two = [(s, line) for s, line in zip(steps, lines) if len(s["outputs"]) == 2]
    assert two, "no step of dit_tiny's CUDA plan writes two tensors"
    for s, line in two:
        types = " ".join(o["type"] for o in s["outputs"])
        assert f" {types} {s['nodes']}" in line or f" {types}  " in line, line


def test_cuda_pipeline_packs_projections_and_checks_it(plumb, repo, tmp_path):
    """For CUDA, Llama's Q/K/V and gate/up projections are packed into one GEMM each
    (plumb-pack-projections), and --verify-each interprets the module after that pass like
    after every other: it keeps parity with the model. The CPU pipeline does not pack."""
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    inputs = os.path.join(repo, "tests", "models", "llama_tiny.inputs.npz")
    proc = run(plumb, "compile", model(repo), "--backend", "cuda", "--verify-each",
               "--inputs", inputs, "--stats", "-o", str(tmp_path / "m.plumb"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"verify-each plumb-pack-projections\s+PASS", proc.stdout), proc.stdout
    # 2 layers x (QKV, o_proj, gate/up, down) + lm_head: 9 GEMMs where there were 15.
    assert re.search(r"cuda\.matmul\s+9\b", proc.stdout), proc.stdout
    proc = run(plumb, "compile", model(repo), "--verify-each", "--inputs", inputs,
               "-o", str(tmp_path / "c.plumb"))
    assert proc.returncode == 0, proc.stderr
    assert "plumb-pack-projections" not in proc.stdout


@pytest.mark.parametrize("cmd", [["run"], ["check"], ["bisect"], ["bench", "--iters", "1"]])
def test_cuda_without_device_is_exit_2(plumb, repo, cmd):
    if has_device(plumb, repo):
        pytest.skip("a CUDA device is present")
    proc = run(plumb, *cmd, model(repo), "--backend", "cuda")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--backend cuda: no CUDA device (" in lines[0], proc.stderr


def loaded_libraries(stderr):
    """Library names the dynamic loader opened, from LD_DEBUG=files output."""
    return {line.split("file=")[1].split()[0].split("/")[-1]
            for line in stderr.splitlines() if "file=" in line}


def test_cpu_runs_do_not_load_nvrtc_or_cublaslt(plumb, repo, tmp_path):
    # NVRTC and cuBLASLt are opened on first use: ~240 MB resident once loaded.
    env = dict(os.environ, LD_DEBUG="files")
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--backend", "cpu", "-o",
               str(tmp_path / "out.npz"), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    libs = loaded_libraries(proc.stderr)
    assert any(l.startswith("libdnnl") for l in libs), sorted(libs)  # LD_DEBUG works here
    assert not any(l.startswith(("libnvrtc", "libcublasLt")) for l in libs), sorted(libs)


def test_compiling_for_cuda_loads_nvrtc(plumb, repo, tmp_path):
    env = dict(os.environ, LD_DEBUG="files", PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    proc = run(plumb, "compile", model(repo), "--backend", "cuda", "-o", str(tmp_path / "m.plumb"),
               env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(l.startswith("libnvrtc") for l in loaded_libraries(proc.stderr))


# ---- --dtype f16|bf16: the cuda plan's storage type ----

FIXTURES = ["resnet_tiny", "bert_tiny", "gpt2_tiny", "llama_tiny", "mamba2_tiny", "dit_tiny"]


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("name", FIXTURES)
def test_compile_half_plan_without_gpu(plumb, repo, tmp_path, name, dtype):
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "m.plumb"
    proc = run(plumb, "compile", model(repo, name), "--backend", "cuda", "--dtype", dtype,
               "--stats", "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"storage: {dtype} (arithmetic in f32)" in proc.stdout
    assert "cuda.generated:cast" in proc.stdout  # every fixture has an f32 input or output
    assert out.stat().st_size > 0


def test_compile_f32_is_the_default(plumb, repo, tmp_path):
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    for extra in [[], ["--dtype", "f32"]]:
        proc = run(plumb, "compile", model(repo), "--backend", "cuda", "--stats", *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "storage: f32" in proc.stdout
        assert "cuda.generated:cast" not in proc.stdout
    proc = run(plumb, "compile", model(repo), "--backend", "cpu", "--dtype", "f32")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("cmd", [["run"], ["check"], ["bisect"], ["bench", "--iters", "1"]])
def test_cuda_half_without_device_is_exit_2(plumb, repo, cmd):
    if has_device(plumb, repo):
        pytest.skip("a CUDA device is present")
    proc = run(plumb, *cmd, model(repo), "--backend", "cuda", "--dtype", "f16")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--backend cuda: no CUDA device (" in lines[0], proc.stderr


@pytest.mark.parametrize("cmd", [["compile"], ["run"], ["check"], ["bisect"],
                                 ["bench", "--iters", "1"]])
def test_half_dtype_on_cpu_is_one_line_exit_2(plumb, repo, cmd):
    proc = run(plumb, *cmd, model(repo), "--backend", "cpu", "--dtype", "bf16")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == ["plumb: error: --dtype bf16 needs --backend cuda: the cpu backend computes "
                     "in f32 only"], proc.stderr


@pytest.mark.parametrize("cmd", [["run"], ["bench", "--iters", "1"]])
def test_half_dtype_on_the_reference_is_one_line_exit_2(plumb, repo, cmd):
    # (check and bisect take --dtype with the reference: they simulate the type there.)
    proc = run(plumb, *cmd, model(repo), "--backend", "reference", "--dtype", "f16")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--dtype f16 needs --backend cuda" in lines[0], proc.stderr


def test_unknown_dtype_is_exit_2(plumb, repo):
    proc = run(plumb, "compile", model(repo), "--backend", "cuda", "--dtype", "f8")
    assert proc.returncode == 2
    assert "--dtype" in proc.stderr


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("name", FIXTURES)
def test_check_half_plan_on_the_device(plumb, repo, name, dtype):
    # Needs a GPU: parity with the type's rule at every fusion boundary (README, cuda).
    if not has_device(plumb, repo):
        pytest.skip(f"no CUDA device: `plumb check --backend cuda --dtype {dtype}` not tested")
    proc = run(plumb, "check", model(repo, name), "--backend", "cuda", "--dtype", dtype,
               "--inputs", os.path.join(repo, "tests", "models", name + ".inputs.npz"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert f"cuda backend in {dtype}" in proc.stdout


# plumb-cuda-run: cuda artifacts on a GPU machine without the compiler.

def cuda_runner(plumb):
    path = os.path.join(os.path.dirname(plumb), "plumb-cuda-run")
    if not os.path.exists(path):
        pytest.skip("plumb-cuda-run not built (PLUMB_CUDA off)")
    return path


@pytest.fixture
def cuda_artifact(plumb, repo, tmp_path):
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "gpt2.plumb"
    inputs = os.path.join(repo, "tests", "models", "gpt2_tiny.inputs.npz")
    proc = run(plumb, "compile", model(repo, "gpt2_tiny"), "--backend", "cuda", "--inputs", inputs,
               "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cuda_runner_links_no_compiler(plumb):
    deps = subprocess.run(["ldd", cuda_runner(plumb)], capture_output=True, text=True).stdout
    assert "libcudart" in deps, deps
    for lib in ("libMLIR", "libLLVM", "libclang"):
        assert lib not in deps, deps
    assert "not found" not in deps, deps


def test_cuda_runner_runs_or_says_no_device(plumb, repo, tmp_path, cuda_artifact):
    inputs = os.path.join(repo, "tests", "models", "gpt2_tiny.inputs.npz")
    out = tmp_path / "out.npz"
    proc = run(cuda_runner(plumb), str(cuda_artifact), "--inputs", inputs, "-o", str(out),
               "--iters", "3")
    if not has_device(plumb, repo):
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "no CUDA device (" in lines[0], proc.stderr
        assert not out.exists()
        return
    # With a device: the outputs match the reference interpreter's.
    assert proc.returncode == 0, proc.stderr
    ref = tmp_path / "ref.npz"
    assert run(plumb, "run", model(repo, "gpt2_tiny"), "--inputs", inputs, "-o",
               str(ref)).returncode == 0
    import numpy as np
    got, want = np.load(out), np.load(ref)
    for name in want.files:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-3, atol=1e-3)


def test_cuda_runner_bad_inputs_are_one_line_exit_2(plumb, repo, tmp_path, cuda_artifact):
    runner = cuda_runner(plumb)
    cpu = tmp_path / "cpu.plumb"
    assert run(plumb, "compile", model(repo, "gpt2_tiny"), "-o", str(cpu)).returncode == 0
    truncated = tmp_path / "cut.plumb"
    truncated.write_bytes(cuda_artifact.read_bytes()[:1000])
    inputs = os.path.join(repo, "tests", "models", "gpt2_tiny.inputs.npz")
    wrong = os.path.join(repo, "tests", "models", "resnet_tiny.inputs.npz")
    cases = [([str(cpu), "--inputs", inputs], "not a cuda plan"),
             ([str(truncated), "--inputs", inputs], str(truncated)),
             ([str(cuda_artifact), "--inputs", wrong], "no array for input")]
    for args, needle in cases:
        proc = run(runner, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, proc.stderr)


# --keep-f32: nodes left in f32 inside an f16/bf16 plan, as `plumb bisect --dtype` finds them.

def overflow_model(repo):
    # ((x @ W1) / 1e4) @ W2: the projection passes f16's largest value (tests/data/parity).
    return os.path.join(repo, "tests", "data", "parity", "f16_overflow_matmul.onnx")


@pytest.fixture
def keep_report(plumb, repo, tmp_path):
    report = tmp_path / "keep.json"
    proc = run(plumb, "bisect", overflow_model(repo), "--dtype", "f16", "--json", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json
    assert json.load(open(report))["keep_f32"] == ["project", "scale_down"]
    return report


def test_bisect_list_fixes_the_half_simulation(plumb, repo, keep_report):
    # The reference's f16 simulation fails at the projection, and passes with the list.
    proc = run(plumb, "check", overflow_model(repo), "--dtype", "f16", "--no-extra-checks")
    assert proc.returncode == 1, proc.stdout
    assert "first failure at 'projected' (node 'project', MatMul)" in proc.stdout
    for spec in ("@" + str(keep_report), "project,scale_down"):
        proc = run(plumb, "check", overflow_model(repo), "--dtype", "f16", "--no-extra-checks",
                   "--keep-f32", spec)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "rounded to f16, 2 nodes kept in f32" in proc.stdout


def test_compile_half_plan_with_kept_nodes(plumb, repo, tmp_path, keep_report):
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    plain, kept = tmp_path / "plain.plumb", tmp_path / "kept.plumb"
    proc = run(plumb, "compile", overflow_model(repo), "--backend", "cuda", "--dtype", "f16",
               "--stats", "-o", str(plain), env=env)
    assert proc.returncode == 0, proc.stderr
    # Without the list: the input is cast to f16 and both matmuls run in f16.
    assert "cuda.generated:cast                      2" in proc.stdout, proc.stdout
    proc = run(plumb, "compile", overflow_model(repo), "--backend", "cuda", "--dtype", "f16",
               "--keep-f32", "@" + str(keep_report), "--stats", "-o", str(kept), env=env)
    assert proc.returncode == 0, proc.stderr
    # With it: x stays f32 (project reads it), the kept result is cast once for the f16
    # readout, the output is cast back: still two casts, no host step.
    assert "0 host fallback" in proc.stdout and "cuda.matmul                              2" in proc.stdout
    assert kept.stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["--dtype", "f16", "--keep-f32", "project,nope"], "--keep-f32: the model has no node named 'nope'"),
    (["--keep-f32", "project"], "--keep-f32 needs --dtype f16 or bf16"),
    (["--dtype", "f16", "--keep-f32", "@/nonexistent/keep.json"], "/nonexistent/keep.json: --keep-f32 @FILE"),
])
def test_keep_f32_errors_are_one_line_exit_2(plumb, repo, tmp_path, args, message):
    out = tmp_path / "m.plumb"
    proc = run(plumb, "compile", overflow_model(repo), "--backend", "cuda", *args, "-o", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists()


def test_check_kept_half_plan_on_the_device(plumb, repo, keep_report):
    if not has_device(plumb, repo):
        pytest.skip("no CUDA device: `plumb check --backend cuda --dtype f16 --keep-f32` not tested")
    proc = run(plumb, "check", overflow_model(repo), "--backend", "cuda", "--dtype", "f16",
               "--no-extra-checks", "--keep-f32", "@" + str(keep_report))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr


def test_control_flow_is_one_line_exit_2_at_compile_time(plumb, tmp_path):
    # A host step runs one reference kernel, or an If's, a Loop's or a Scan's body plans, which
    # hold tensors only: a body making a sequence is refused while compiling, naming the node.
    # Before, such plans compiled and failed only when a device built their kernels.
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    body = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["acc_in", "x"], ["pair"], name="pack"),
         helper.make_node("ConcatFromSequence", ["pair"], ["both"], name="unpack", axis=0),
         helper.make_node("ReduceSum", ["both"], ["total"], name="total", keepdims=1),
         helper.make_node("Add", ["acc_in", "total"], ["acc_out"], name="add"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going")], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2])])
    node = helper.make_node("Loop", ["m", "", "x"], ["acc"], name="accumulate", body=body)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
                                            helper.make_tensor_value_info("m", TensorProto.INT64, [])],
                              [helper.make_tensor_value_info("acc", TensorProto.FLOAT, [2])])
    path = tmp_path / "accumulate.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    out = tmp_path / "accumulate.plumb"
    proc = run(plumb, "compile", str(path), "--backend", "cuda", "-o", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and \
        "node 'pack' (SequenceConstruct, opset 17): control flow and sequence/optional values" \
        in lines[0], proc.stderr
    assert not out.exists()


def test_conformance_on_cuda_without_device_is_exit_2(plumb, repo):
    node = "/usr/share/libonnx-testdata/data/node"
    if not os.path.isdir(node):
        pytest.skip(node + " not installed")
    if has_device(plumb, repo):
        pytest.skip("a CUDA device is present")
    proc = run(plumb, "conformance", node, "--backend", "cuda", "--filter", "test_abs")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--backend cuda: no CUDA device (" in lines[0], proc.stderr
    assert "passed" not in proc.stdout  # refused before any case


def test_opset6_model_runs_no_host_step(plumb, repo, tmp_path):
    """Opset-6 forms compile to device kernels: PRelu's per-channel slope and the bias Add's
    axis in numpy's form (plumb-legacy-broadcast; the slope failed to broadcast and ran on the
    host), Pad's pads and fill from its attributes (the kernel read them from operands that
    opset lacks: host). The values are checked on the CPU backend and the emulator."""
    env = dict(os.environ, PLUMB_CACHE_DIR=str(tmp_path / "cache"))
    m = os.path.join(repo, "tests", "data", "cpu", "legacy_opset6.onnx")
    proc = run(plumb, "compile", m, "--backend", "cuda", "--stats", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "0 host fallback" in proc.stdout and "fallback:" not in proc.stdout, proc.stdout
