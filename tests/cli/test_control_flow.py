"""Control flow through the CLI, on the CPU backend against numpy (the CUDA backend's host
steps for the same models are checked on the emulator, tests/mlir/cuda_emulated_run_time_shapes.cpp):
an If on a dim compiles the branch taken, an If on a value and a Loop are steps whose bodies
are plans of their own, Loop bodies take run-time shapes (growing carried values, values whose
shapes their values decide), a Loop collecting a list becomes a scan output, a Scan runs
its body per slice, and chunks of a SplitToSequence read at constant positions are slices. The models are tests/data/cpu/*.onnx, made by make_models.py."""
import json
import os
import re
import subprocess

import numpy as np
import pytest


def run(plumb, *args):
    return subprocess.run([plumb, *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("rows", [2, 3])
def test_branch_on_a_dim_compiles_the_branch_taken(plumb, repo, tmp_path, rows):
    """An If on a dim (`if x.shape[0] == 2`, tests/data/cpu/branch_on_dim.onnx): with the dim
    pinned, plumb-shape-refinement folds the condition and keeps the branch taken, so the CPU
    backend (and the CUDA one) compile the model; it was refused ('control flow ... not
    supported'). The then branch (Relu) at 2 rows, the else branch (Neg) at 3, against
    numpy."""
    model = os.path.join(repo, "tests", "data", "cpu", "branch_on_dim.onnx")
    x = (np.arange(rows * 3, dtype=np.float32).reshape(rows, 3) - 4) / 2
    np.savez(tmp_path / "x.npz", x=x)
    out = tmp_path / "z.npz"
    proc = run(plumb, "run", model, "--backend", "cpu", "--inputs", str(tmp_path / "x.npz"), "-o",
               str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    y = np.maximum(x, 0) if rows == 2 else -x
    np.testing.assert_array_equal(np.load(out)["z"], y * y)
    proc = run(plumb, "compile", model, "--backend", "cuda", "--inputs", str(tmp_path / "x.npz"),
               "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 host fallback" in proc.stdout, proc.stdout


def test_branch_on_a_value_runs_the_branch_each_input_takes(plumb, repo, tmp_path):
    """An If on a value (sum(x) > 0, tests/data/cpu/branch_on_value.onnx) is one cpu.if step
    whose branches are plans of their own, stored in the artifact; the CPU backend refused it.
    Compiled with an input that takes the then branch (Relu(x) * w, reading w from the
    enclosing graph, [2, 3]), the artifact also runs an input that takes the else branch
    (row sums, [2, 1]: the If's shape is run-time). Against numpy."""
    model = os.path.join(repo, "tests", "data", "cpu", "branch_on_value.onnx")
    w = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    xs = {"then": np.array([[1, -2, 3], [0.5, 2, -1]], np.float32),
          "else": np.array([[-1, -2, 3], [0.5, -2, -1]], np.float32)}
    for tag, x in xs.items():
        np.savez(tmp_path / f"{tag}.npz", x=x)
    art = tmp_path / "branch.plumb"
    proc = run(plumb, "compile", model, "--backend", "cpu", "--inputs",
               str(tmp_path / "then.npz"), "-o", str(art), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^  cpu\.if\s+1$", proc.stdout, re.M), proc.stdout
    proc = run(plumb, "inspect", str(art), "--steps")
    assert re.search(r"cpu\.if\s+f32\[run-time: 2x3\]\s+branch", proc.stdout), proc.stdout
    # The branches' own steps follow the step, indented, fused as the graph's are.
    assert re.search(r"^ {8}then branch\n {13}0  cpu\.chain\s+f32\[2x3\]\s+relu, weigh$",
                     proc.stdout, re.M), proc.stdout
    assert re.search(r"^ {8}else branch\n {13}0  ref\.ReduceSum\s+f32\[2x1\]\s+rows$",
                     proc.stdout, re.M), proc.stdout
    want = {"then": np.maximum(xs["then"], 0) * w + 1,
            "else": xs["else"].sum(axis=1, keepdims=True) + 1}
    for tag in ["then", "else", "then"]:
        out = tmp_path / f"y_{tag}.npz"
        proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / f"{tag}.npz"), "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        np.testing.assert_allclose(np.load(out)["y"], want[tag], rtol=1e-6, err_msg=tag)
    # plumb check compares inside the branch taken too: the else branch's ReduceSum ('rows'),
    # not the then branch's Mul ('weigh'), has a row of its own.
    for tag, seen, unseen in [("else", "rows", "weigh"), ("then", "weigh", "rows")]:
        proc = run(plumb, "check", model, "--backend", "cpu", "--inputs",
                   str(tmp_path / f"{tag}.npz"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        assert re.search(rf"^\s+\d+\s+{seen}\s+\S+\s+0\s", proc.stdout, re.M), proc.stdout
        assert not re.search(rf"^\s+\d+\s+{unseen}\s", proc.stdout, re.M), proc.stdout


def test_loop_runs_each_input_its_iterations(plumb, repo, tmp_path):
    """A Loop (tests/data/cpu/doubling_loop.onnx: acc <- 2 acc + x for M iterations, stopping
    once sum(acc) passes 100, scanning each acc) is one cpu.loop step whose body is a plan of
    its own; the CPU backend refused it. Compiled with M = 3, the artifact runs M = 9 (the sum
    passes 100 after 8 iterations) and M = 0 (no iteration: the initial zeros, an empty scan).
    Against numpy's loop."""
    model = os.path.join(repo, "tests", "data", "cpu", "doubling_loop.onnx")
    cases = {"three": (np.array([1, 2, 3], np.float32), 3),
             "nine": (np.array([1, 0.5, -1], np.float32), 9),
             "none": (np.array([4, 5, 6], np.float32), 0)}
    for tag, (x, m) in cases.items():
        np.savez(tmp_path / f"{tag}.npz", x=x, m=np.array(m, np.int64))
    art = tmp_path / "loop.plumb"
    proc = run(plumb, "compile", model, "--backend", "cpu", "--inputs",
               str(tmp_path / "three.npz"), "-o", str(art), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^  cpu\.loop\s+1$", proc.stdout, re.M), proc.stdout
    for tag, (x, m) in cases.items():
        acc, rows = np.zeros(3, np.float32), []
        for _ in range(m):
            acc = acc * 2 + x
            rows.append(acc)
            if not acc.sum() < 100:
                break
        out = tmp_path / f"out_{tag}.npz"
        proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / f"{tag}.npz"), "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got = np.load(out)
        np.testing.assert_array_equal(got["acc"], acc, err_msg=tag)
        np.testing.assert_array_equal(got["accs"], np.array(rows, np.float32).reshape(-1, 3),
                                      err_msg=tag)


def test_loop_reads_run_time_shapes_and_grows(plumb, repo, tmp_path):
    """A Loop whose carried token list grows by one each iteration (a greedy decoder's) and
    whose body reads the positions of x's nonzeros, a value whose shape x's values decide
    (tests/data/cpu/growing_loop.onnx): the body's plan takes both as run-time-shaped inputs.
    Before, the lowering refused a body reading such a value. Compiled with M = 3 and two
    nonzeros, the artifact runs M = 5 with four and M = 0 with none, against numpy's loop."""
    model = os.path.join(repo, "tests", "data", "cpu", "growing_loop.onnx")
    cases = {"a": (np.array([0, 1, 0, 2, 0, 0], np.float32), 3),
             "b": (np.array([1, 1, 0, 2, 3, 0], np.float32), 5),
             "none": (np.zeros(6, np.float32), 0)}
    for tag, (x, m) in cases.items():
        np.savez(tmp_path / f"{tag}.npz", x=x, m=np.array(m, np.int64))
    art = tmp_path / "decode.plumb"
    proc = run(plumb, "compile", model, "--backend", "cpu", "--inputs", str(tmp_path / "a.npz"),
               "-o", str(art))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(plumb, "inspect", str(art), "--steps")
    assert re.search(r"cpu\.loop\s+i64\[run-time: 4\] i64\[run-time: 3x1\]\s+decode",
                     proc.stdout), proc.stdout
    for tag in ["b", "none", "a"]:
        x, m = cases[tag]
        positions, tokens = np.nonzero(x)[0], [0]
        for i in range(m):
            tokens.append((sum(tokens) + positions.sum() + i) % 7)
        out = tmp_path / f"out_{tag}.npz"
        proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / f"{tag}.npz"), "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got = np.load(out)
        np.testing.assert_array_equal(got["tokens"], tokens, err_msg=tag)
        np.testing.assert_array_equal(got["nexts"], np.array(tokens[1:]).reshape(-1, 1),
                                      err_msg=tag)


def test_loop_collecting_a_list_compiles(plumb, repo, tmp_path):
    """Two Loops collecting a list as TorchScript exports `outs.append(t)` then torch.stack /
    torch.cat (tests/data/cpu/collect_loop.onnx: a carried sequence from SequenceEmpty, one
    SequenceInsert per iteration, one ConcatFromSequence after). The canonicalizer makes the
    list a scan output of the Loop, so no sequence reaches the plan; both backends refused the
    model. Compiled with m = 3, the CPU artifact runs m = 5 and m = 1, against numpy's loop; with
    m = 0 the results are empty where ConcatFromSequence (and the reference) refuses an empty
    list."""
    model = os.path.join(repo, "tests", "data", "cpu", "collect_loop.onnx")
    x = np.array([[1, 2, 3], [4, 5, -6]], np.float32)
    for m in [3, 5, 1, 0]:
        np.savez(tmp_path / f"m{m}.npz", x=x, m=np.array(m, np.int64))
    art = tmp_path / "collect.plumb"
    for backend in ["cuda", "cpu"]:
        proc = run(plumb, "compile", model, "--backend", backend, "--inputs",
                   str(tmp_path / "m3.npz"), "-o", str(art), "--stats")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^  cpu\.loop\s+2$", proc.stdout, re.M), proc.stdout
    for m in [5, 1, 0]:
        acc, items, sums, parts = np.zeros((2, 3), np.float32), [], [], []
        for i in range(m):
            acc = acc + x
            items.append(acc * i)
            sums.append(acc.sum())
            parts.append(x + i)
        out = tmp_path / f"out{m}.npz"
        proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / f"m{m}.npz"), "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got = np.load(out)
        np.testing.assert_array_equal(got["acc"], acc)
        np.testing.assert_allclose(got["sums"], np.array(sums, np.float32).reshape(-1), rtol=1e-6)
        want_stacked = np.stack(items, 1) if m else np.zeros((2, 0, 3), np.float32)
        want_catted = np.concatenate(parts, 1) if m else np.zeros((2, 0), np.float32)
        np.testing.assert_array_equal(got["stacked"], want_stacked, err_msg=f"m = {m}")
        np.testing.assert_array_equal(got["catted"], want_catted, err_msg=f"m = {m}")
    proc = run(plumb, "check", model, "--backend", "cpu", "--inputs", str(tmp_path / "m5.npz"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr


def test_scan_runs_its_body_per_slice(plumb, repo, tmp_path):
    """A Scan (tests/data/cpu/scan_rnn.onnx: an RNN step h <- tanh(x_t W + h R + b) over axis 1
    of x, and 2 x_t over the same axis reversed, stacked on axes 1 and -1, the second in
    reverse) is one cpu.scan step whose body is a plan of its own, reading W, R and b from the
    enclosing graph; the CPU backend refused it. One artifact runs two inputs, against numpy's
    loop; `plumb check` compares it with the f64 truth."""
    data = os.path.join(repo, "tests", "data", "cpu")
    model = os.path.join(data, "scan_rnn.onnx")
    w = np.load(os.path.join(data, "scan_rnn.w.npz"))
    rng = np.random.default_rng(7)
    for tag in ["a", "b"]:
        np.savez(tmp_path / f"{tag}.npz", x=rng.standard_normal((2, 5, 3)).astype(np.float32),
                 h0=rng.standard_normal((2, 4)).astype(np.float32))
    art = tmp_path / "scan.plumb"
    proc = run(plumb, "compile", model, "--backend", "cpu", "-o", str(art), "--stats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^  cpu\.scan\s+1$", proc.stdout, re.M), proc.stdout
    proc = run(plumb, "inspect", str(art), "--steps", "--json", str(tmp_path / "steps.json"))
    assert re.search(r"^ {8}body\n {13}0  cpu\.matmul\s+f32\[2x4\]\s+input_proj$", proc.stdout,
                     re.M), proc.stdout
    body = json.load(open(tmp_path / "steps.json"))["steps_in_order"][0]["bodies"][0]
    # Fused as the graph's ops are: the recurrent projection takes the sum as a post-op, the
    # bias and tanh are one chain.
    assert [s["nodes"] for s in body[:3]] == ["input_proj", "recurrent_proj, add_proj",
                                              "add_bias, tanh"], body
    for tag in ["a", "b"]:
        inputs = np.load(tmp_path / f"{tag}.npz")
        x, h = inputs["x"], inputs["h0"]
        ys = []
        for t in range(x.shape[1]):
            h = np.tanh(x[:, t] @ w["W"] + h @ w["R"] + w["b"])
            ys.append(h)
        out = tmp_path / f"out_{tag}.npz"
        proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / f"{tag}.npz"), "-o", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got = np.load(out)
        np.testing.assert_allclose(got["h"], h, rtol=1e-5, atol=1e-6, err_msg=tag)
        np.testing.assert_allclose(got["ys"], np.stack(ys, axis=1), rtol=1e-5, atol=1e-6,
                                   err_msg=tag)
        np.testing.assert_array_equal(got["backs"], 2 * x.transpose(0, 2, 1), err_msg=tag)
    proc = run(plumb, "check", model, "--backend", "cpu", "--inputs", str(tmp_path / "b.npz"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr


def test_split_sequence_chunks_compile(plumb, repo, tmp_path):
    """SequenceAt of a SplitToSequence at constant positions (tests/data/cpu/split_sequence.onnx:
    `x.unbind(1)[-1]` and `torch.split(x, 4, 1)[1]` as TorchScript exports them) is a Slice
    (and a Squeeze) after canonicalization: both backends refused the model for its sequences.
    Against numpy's indexing; `plumb check` too."""
    model = os.path.join(repo, "tests", "data", "cpu", "split_sequence.onnx")
    x = np.arange(12, dtype=np.float32).reshape(2, 6) * 0.5 - 2
    np.savez(tmp_path / "x.npz", x=x)
    art = tmp_path / "split.plumb"
    for backend in ["cuda", "cpu"]:
        proc = run(plumb, "compile", model, "--backend", backend, "-o", str(art))
        assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "out.npz"
    proc = run(plumb, "run", str(art), "--inputs", str(tmp_path / "x.npz"), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = np.load(out)
    np.testing.assert_array_equal(got["last"], x[:, -1])
    np.testing.assert_array_equal(got["second"], x[:, 4:6])
    proc = run(plumb, "check", model, "--backend", "cpu", "--inputs", str(tmp_path / "x.npz"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
