"""The README's PyTorch workflow end to end: tools/plumb_torch.py then plumb bisect.
Needs torch (Debian's python3-torch); CI has none and skips it."""
import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (CI needs none)")


def test_export_and_bisect_round_trip(plumb, repo, tmp_path):
    model_file = tmp_path / "my_model.py"
    model_file.write_text(textwrap.dedent("""
        import torch, torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
                self.layer2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
                self.fc = nn.Linear(8, 4)
            def forward(self, x):
                return self.fc(self.layer2(self.layer1(x)).mean(dim=(2, 3)))
        def make():
            torch.manual_seed(0)
            return Net().eval(), (torch.randn(1, 3, 8, 8),), ["x"], ["y"]
    """))
    out = tmp_path / "out" / "my_model"
    tool = os.path.join(repo, "tools", "plumb_torch.py")
    subprocess.run([sys.executable, tool, f"{model_file}:make", "-o", str(out),
                    "--submodules", "layer1,layer2,fc"], check=True)
    import numpy as np
    acts = np.load(str(out) + ".acts.npz")
    assert {"x", "y"} <= set(acts.files) and len(acts.files) == 4  # + layer1, layer2 (fc is y)
    proc = subprocess.run([plumb, "bisect", str(out) + ".onnx", "--reference",
                           str(out) + ".acts.npz"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no divergence" in proc.stdout


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_masked_select_export_runs_other_counts(plumb, tmp_path, backend):
    """PyTorch's y[y > 0] and torch.nonzero export as NonZero, Transpose and GatherND: an
    artifact compiled with one input runs another whose counts differ, and its outputs are
    PyTorch's (the CUDA artifact is compiled here; running it needs a GPU)."""
    import numpy as np

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 8)

        def forward(self, x):
            y = self.lin(x)
            picked = y[y > 0]
            return picked * 2, picked.sum(), torch.nonzero(y > 0.5)

    torch.manual_seed(0)
    net = Net().eval()
    xa, xb = torch.randn(2, 8), torch.randn(2, 8) + 0.5
    model = tmp_path / "masked.onnx"
    torch.onnx.export(net, (xa,), str(model), input_names=["x"],
                      output_names=["picked", "total", "where"], opset_version=17)
    np.savez(tmp_path / "a.npz", x=xa.numpy())
    np.savez(tmp_path / "b.npz", x=xb.numpy())
    art = tmp_path / "masked.plumb"
    proc = subprocess.run([plumb, "compile", str(model), "--backend", backend, "--inputs",
                           str(tmp_path / "a.npz"), "-o", str(art), "--stats"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "run-time shapes: 6 buffers" in proc.stdout, proc.stdout
    if backend == "cuda":
        return
    with torch.no_grad():
        want = [t.numpy() for t in net(xb)]
    assert want[0].shape != net(xa)[0].shape  # the counts differ
    out = tmp_path / "out.npz"
    proc = subprocess.run([plumb, "run", str(art), "--inputs", str(tmp_path / "b.npz"), "-o",
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = np.load(out)
    np.testing.assert_allclose(got["picked"], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["total"], want[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got["where"], want[2])
