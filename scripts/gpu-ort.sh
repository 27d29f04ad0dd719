#!/usr/bin/env bash
# Packs ONNX Runtime's CUDA build (the `onnxruntime-gpu` wheel, the benchmark's third peer) for a
# lent GPU machine, whose image has only the CPU build and no package registry. The wheel is
# 255 MB of already-compressed fatbins and at most 64 MiB travel with one device call, so it goes
# in parts of 50 MB, one per call: .gpu-ort-1/ ... .gpu-ort-N/ (ignored), each holding its piece,
# the number of pieces and the wheel's sha256.
#
#   here:   scripts/gpu-ort.sh [VERSION]   downloads the cp312 manylinux wheel (the machine's
#                                          Python is 3.12) into build/ort-wheel/ and splits it
#   there:  one call per part, carrying it; each command starts with
#           `source scripts/gpu-kit/env.sh`, which keeps the piece in .gpu-dev/ort/ and, once
#           all are there and the sha256 matches, unpacks the wheel into .gpu-dev/site (on
#           PYTHONPATH, ahead of the image's CPU-only onnxruntime). bench/cuda_bench.py then
#           times ORT's CUDAExecutionProvider too.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${1:-1.31.1}"
DL=build/ort-wheel
PART_MB=50
mkdir -p "$DL"
wheel=$(ls "$DL"/onnxruntime_gpu-"$VERSION"-cp312-*.whl 2>/dev/null | head -1 || true)
if [[ -z "$wheel" ]]; then
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 -d "$DL" "onnxruntime-gpu==$VERSION"
  wheel=$(ls "$DL"/onnxruntime_gpu-"$VERSION"-cp312-*.whl | head -1)
fi
rm -rf .gpu-ort-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
split -b "${PART_MB}M" -d -a 1 "$wheel" "$tmp/piece."
n=$(ls "$tmp" | wc -l)
sum=$(sha256sum "$wheel" | cut -d' ' -f1)
i=0
for p in "$tmp"/piece.*; do
  i=$((i + 1))
  mkdir -p ".gpu-ort-$i"
  mv "$p" ".gpu-ort-$i/$(basename "$wheel").$i-of-$n"
  echo "$sum  $(basename "$wheel")" > ".gpu-ort-$i/sha256"
done
echo "gpu-ort: $(basename "$wheel") in $n parts: carry .gpu-ort-1 ... .gpu-ort-$n, one per call"
