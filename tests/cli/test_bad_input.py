"""Bad input never crashes plumb: exit code 2, one line on stderr naming the file and the
problem, and no output file left behind."""
import os
import subprocess

import numpy as np
import pytest


def run(plumb, *args):
    return subprocess.run([plumb, *args], capture_output=True, text=True, timeout=120)


def assert_clean_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    # Notes (e.g. about dynamic dims) may precede it; the error itself is one line.
    lines = [l for l in proc.stderr.strip().splitlines() if not l.startswith("note: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("plumb: error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


def model(repo, name):
    return os.path.join(repo, "tests", "models", name + ".onnx")


def bad(repo, name):
    return os.path.join(repo, "tests", "data", "bad", name)


@pytest.mark.parametrize("cut", [0, 1, 100, 5000, 100000, -1])
def test_truncated_model(plumb, repo, tmp_path, cut):
    data = open(model(repo, "resnet_tiny"), "rb").read()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[:cut] if cut >= 0 else data[:-7])
    out = tmp_path / "out.npz"
    proc = run(plumb, "run", str(path), "-o", str(out))
    assert_clean_error(proc, str(path))
    assert not out.exists()


def test_garbage_model(plumb, tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert_clean_error(run(plumb, "run", str(path)), str(path))


def test_fuzzer_regressions_are_clean_errors(plumb, repo):
    # Models the ONNX importer fuzzer once crashed on (tests/fuzz/regressions/onnx), e.g. a
    # Momentum node in a subgraph with too few inputs (shape inference read past them), an
    # Identity without inputs, and the too-few-inputs-* nodes a sweep over every ONNX op with
    # 0 and 1 inputs found reading past their operands (the verifier now names each).
    d = os.path.join(repo, "tests", "fuzz", "regressions", "onnx")
    for f in sorted(os.listdir(d)):
        path = os.path.join(d, f)
        assert_clean_error(run(plumb, "inspect", path), path)


def test_missing_model(plumb, tmp_path):
    path = tmp_path / "nope.onnx"
    assert_clean_error(run(plumb, "inspect", str(path)), str(path), "cannot open")


def test_unsupported_op_named_with_node_and_opset(plumb, repo):
    path = bad(repo, "unsupported_op.onnx")
    assert_clean_error(run(plumb, "run", path), path, "'Bernoulli'", "coin_node", "opset 15")


def test_dangling_input(plumb, repo):
    path = bad(repo, "dangling_input.onnx")
    assert_clean_error(run(plumb, "run", path), path, "add_node", "ghost")


def test_future_opset(plumb, repo):
    path = bad(repo, "future_opset.onnx")
    assert_clean_error(run(plumb, "run", path), path, "opset 99")


def test_verifier_error_names_node(plumb, repo):
    path = bad(repo, "bad_conv_channels.onnx")
    assert_clean_error(run(plumb, "run", path), path, "bad_conv", "input channels 3")


def test_wrong_input_shape(plumb, repo, tmp_path):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, input=np.zeros((1, 4, 32, 32), np.float32))
    out = tmp_path / "out.npz"
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--inputs", str(inputs), "-o", str(out))
    assert_clean_error(proc, "input 'input'", "1x4x32x32")
    assert not out.exists()


def test_wrong_input_dtype(plumb, repo, tmp_path):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, input=np.zeros((1, 3, 32, 32), np.float64))
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--inputs", str(inputs))
    assert_clean_error(proc, "input 'input'", "f32", "f64")


def test_missing_input(plumb, repo, tmp_path):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, input_ids=np.zeros((2, 16), np.int64))
    proc = run(plumb, "run", model(repo, "bert_tiny"), "--inputs", str(inputs))
    assert_clean_error(proc, str(inputs), "missing input 'attention_mask'")


def test_corrupt_npz(plumb, repo, tmp_path):
    good = open(os.path.join(repo, "tests", "models", "resnet_tiny.inputs.npz"), "rb").read()
    inputs = tmp_path / "in.npz"
    inputs.write_bytes(good[: len(good) // 2])
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--inputs", str(inputs))
    assert_clean_error(proc, str(inputs))


def test_out_of_range_gather_index(plumb, repo, tmp_path):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, input_ids=np.full((2, 16), 100000, np.int64),
             attention_mask=np.ones((2, 16), np.int64))
    proc = run(plumb, "run", model(repo, "bert_tiny"), "--inputs", str(inputs))
    assert_clean_error(proc, "Gather", "100000")


@pytest.mark.parametrize("spec", ["input", "input=", "input=1xax3", "=1x2"])
def test_bad_input_shape_flag(plumb, repo, spec):
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--input-shape", spec)
    assert_clean_error(proc, "--input-shape")


def test_input_shape_conflicts_with_model(plumb, repo):
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--input-shape", "input=1x3x64x64")
    assert_clean_error(proc, "--input-shape", "fixes it at 32")


def test_unknown_flag_is_usage_error(plumb, repo):
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "--no-such-flag")
    assert proc.returncode == 2


def test_unwritable_output(plumb, repo, tmp_path):
    out = tmp_path / "missing_dir" / "out.npz"
    proc = run(plumb, "run", model(repo, "resnet_tiny"), "-o", str(out))
    assert_clean_error(proc, str(out))
