"""Runs every ```sh plumb-example block of README.md (from the repo root, with the built
tools first on PATH) and fails if any command fails. Then builds every ```c block (each a
verbatim copy of a file under examples/c/, which this checks) with the C compiler against
include/plumb/plumb.h and libplumb_runtime, runs it on a compiled fixture and checks its
output against the fixture's saved PyTorch outputs.

usage: readme_examples.py REPO BINDIR [CC]"""
import os
import re
import subprocess
import sys
import tempfile

# The fixture tolerance (tests/models/check_model.py): |plumb - torch| <= 1e-5 + 1e-4 |torch|.
ATOL, RTOL = 1e-5, 1e-4


def run_sh_blocks(repo, bindir, text):
    blocks = re.findall(r"```sh plumb-example\n(.*?)```", text, re.S)
    if not blocks:
        sys.exit("README.md has no plumb-example block")
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
    os.makedirs(os.path.join(repo, "out"), exist_ok=True)
    for block in blocks:
        for line in block.splitlines():
            cmd = line.strip()
            if not cmd or cmd.startswith("#"):
                continue
            print("$", cmd, flush=True)
            proc = subprocess.run(cmd, shell=True, cwd=repo, env=env)
            if proc.returncode != 0:
                sys.exit(f"README example failed ({proc.returncode}): {cmd}")


def check_c_example(repo, bindir, cc, block, tmp):
    import numpy as np

    m = re.match(r"/\* (examples/c/[\w.]+\.c):", block)
    if not m:
        sys.exit("a ```c block in README.md must start with /* examples/c/NAME.c: ...")
    path = os.path.join(repo, m.group(1))
    if open(path).read() != block:
        sys.exit(f"README.md's copy of {m.group(1)} differs from the file")
    libdir = os.path.join(os.path.dirname(bindir), "lib")
    exe = os.path.join(tmp, "example")
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
           "-I", os.path.join(repo, "include"), path, "-L", libdir, "-lplumb_runtime",
           f"-Wl,-rpath,{libdir}", "-o", exe]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)

    fixture = os.path.join(repo, "tests", "models", "resnet_tiny")
    art = os.path.join(tmp, "resnet_tiny.plumb")
    subprocess.run([os.path.join(bindir, "plumb"), "compile", fixture + ".onnx", "--backend",
                    "cpu", "-o", art], check=True, stdout=subprocess.DEVNULL)
    inputs = np.load(fixture + ".inputs.npz")
    files = []
    for i, name in enumerate(inputs.files):
        files.append(os.path.join(tmp, f"in{i}.bin"))
        inputs[name].astype(inputs[name].dtype.newbyteorder("<")).tofile(files[-1])
    proc = subprocess.run([exe, art, *files], cwd=tmp, capture_output=True, text=True)
    print(proc.stdout + proc.stderr, end="")
    if proc.returncode != 0:
        sys.exit(f"{m.group(1)} failed ({proc.returncode})")
    outputs = np.load(fixture + ".outputs.npz")
    for k, name in enumerate(outputs.files):
        want = outputs[name]
        got = np.fromfile(os.path.join(tmp, f"out{k}.bin"), dtype=want.dtype).reshape(want.shape)
        if not np.allclose(got, want, atol=ATOL, rtol=RTOL):
            sys.exit(f"{m.group(1)}: output '{name}' differs from PyTorch's: max |err| "
                     f"{np.abs(got - want).max():.3g}")
        if f"{name} f32[" not in proc.stdout:
            sys.exit(f"{m.group(1)} did not print output '{name}'")

    # A damaged artifact: exit 2 and one line naming the file and the problem.
    bad = os.path.join(tmp, "bad.plumb")
    data = bytearray(open(art, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(bad, "wb").write(bytes(data))
    proc = subprocess.run([exe, bad, *files], cwd=tmp, capture_output=True, text=True)
    lines = proc.stderr.strip().splitlines()
    if proc.returncode != 2 or len(lines) != 1 or f"{bad}: corrupt artifact" not in lines[0]:
        sys.exit(f"{m.group(1)} on a corrupt artifact: exit {proc.returncode}, {proc.stderr!r}")
    print(f"{m.group(1)}: built, ran, matched PyTorch; refused a corrupt artifact")


def main():
    repo, bindir = sys.argv[1], sys.argv[2]
    cc = sys.argv[3] if len(sys.argv) > 3 else "cc"
    text = open(os.path.join(repo, "README.md")).read()
    run_sh_blocks(repo, bindir, text)
    c_blocks = re.findall(r"```c\n(.*?)```", text, re.S)
    if not c_blocks:
        sys.exit("README.md has no C example")
    with tempfile.TemporaryDirectory() as tmp:
        for block in c_blocks:
            check_c_example(repo, bindir, cc, block, tmp)


if __name__ == "__main__":
    main()
