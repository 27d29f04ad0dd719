#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run every fixture model through plumb's CUDA runtime,
# for a session that has one (backends/cuda/README.md, "Still needs a GPU run", item 8). That
# machine has CUDA 13 (PyTorch's nvidia-* wheels), numpy and python3, but none of plumb's build
# dependencies and no package registry, and at most 64 MiB travel with a command. So the
# artifacts are compiled here (each holds its kernels' CUBIN and PTX) and run there by
# plumb-cuda-run, which links no MLIR/LLVM.
#
#   here:   scripts/gpu-kit.sh [BUILD_DIR]     writes .gpu-kit/ (in .gitignore; name it in `carry`)
#   there:  bash .gpu-kit/run.sh OUT_DIR       per fixture and storage type: outputs against the
#                                              reference interpreter's, and latency (CUDA Graph
#                                              replay and step by step); exits 1 if any differs
#
# The kit: bin/plumb-cuda-run, lib.tar.xz (plumb's runtime and the Debian libraries it links,
# compressed: libdnnl alone is 40 MB), models/M.{f32,f16,bf16}.plumb with M.inputs.npz and
# M.ref.npz (the reference interpreter's outputs, computed here), run.sh and compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
KIT=.gpu-kit
PLUMB="$BUILD_DIR/bin/plumb"
RUNNER="$BUILD_DIR/bin/plumb-cuda-run"
for f in "$PLUMB" "$RUNNER"; do
  [[ -x "$f" ]] || { echo "gpu-kit: $f not built (scripts/dev.sh example first)" >&2; exit 2; }
done
rm -rf "$KIT"
mkdir -p "$KIT/bin" "$KIT/models"
cp "$RUNNER" "$KIT/bin/"
cp scripts/gpu-kit/run.sh scripts/gpu-kit/compare.py "$KIT/"
# Libraries the machine lacks: plumb's runtime and the Debian ones it links (glibc, libstdc++
# and the CUDA libraries are there).
mapfile -t libs < <(ldd "$RUNNER" | awk '/=>/ {print $3}' |
                    grep -E 'libplumb_runtime|libdnnl|libprotobuf|libonnx_proto|libzip')
tar -chJf "$KIT/lib.tar.xz" -C / "${libs[@]#/}"
# attention64 (tests/data/cuda): 64-dim heads, which the f16/bf16 plans run on the tensor-core
# attention kernel (the fixtures' heads have 8 dims and take the FMA one).
for model in tests/models/*.onnx tests/data/cuda/attention64.onnx; do
  name=$(basename "$model" .onnx)
  inputs="${model%.onnx}.inputs.npz"
  cp "$inputs" "$KIT/models/"
  "$PLUMB" run "$model" --inputs "$inputs" -o "$KIT/models/$name.ref.npz" >/dev/null
  for dtype in f32 f16 bf16; do
    "$PLUMB" compile "$model" --backend cuda --dtype "$dtype" --inputs "$inputs" \
      -o "$KIT/models/$name.$dtype.plumb" >/dev/null
  done
done
du -sh "$KIT" | awk '{print "gpu-kit: " $2 " holds " $1 " (the limit on what travels is 64 MiB)"}'
