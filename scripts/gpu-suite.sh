#!/usr/bin/env bash
# Packs plumb itself (the compiler, which links MLIR and LLVM) and the device tests for a lent GPU
# machine, where none of plumb's build dependencies are installed. Together they are about
# 100 MB compressed and at most 64 MiB travel with one device call, so they go in two parts, one
# per call; the machine keeps what a call unpacked while it stays warm (30 s between calls).
#
#   here:   scripts/gpu-suite.sh [BUILD_DIR]   writes .gpu-suite-a/ and .gpu-suite-b/ (ignored)
#   there:  call 1 carries .gpu-suite-a, call 2 .gpu-suite-b; each command starts with
#           `source scripts/gpu-kit/env.sh`, which unpacks what came into .gpu-dev/ and sets
#           PATH/LD_LIBRARY_PATH (plumb, the tests and the CUDA 13 libraries of PyTorch's wheels).
#           Then scripts/gpu-kit/suite.sh OUT runs the device tests and `plumb check --backend
#           cuda` per fixture, and bench/cuda_bench.py the GPU benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"
bins=(plumb plumb-cuda-run cuda_codegen_test cuda_f16_test)
for b in "${bins[@]}"; do
  [[ -x "$BUILD_DIR/bin/$b" ]] || { echo "gpu-suite: $BUILD_DIR/bin/$b not built" >&2; exit 2; }
done
rm -rf .gpu-suite-a .gpu-suite-b
mkdir -p .gpu-suite-a .gpu-suite-b
# Every library the binaries load, except the C runtime and the CUDA libraries the machine has.
mapfile -t libs < <(for b in "${bins[@]}"; do ldd "$BUILD_DIR/bin/$b"; done |
  awk '/=>/ {print $3}' | sort -u |
  grep -vE '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libcudart|libcudnn[a-z_]*)\.so')
big=() rest=()
for l in "${libs[@]}"; do
  case "$(basename "$l")" in libLLVM*|libdnnl*) big+=("$l") ;; *) rest+=("$l") ;; esac
done
tar -chJf .gpu-suite-a/libs-a.tar.xz --transform 's,.*/,lib/,' "${big[@]}"
# The C runtime this was built against (Debian bookworm's glibc 2.36), used only where the
# machine's is older.
crt=(/lib64/ld-linux-x86-64.so.2)
for n in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1; do crt+=("$(ldconfig -p | awk -v n=$n '$1==n && /x86-64/ && !f {print $NF; f=1}')"); done
tar -chJf .gpu-suite-a/crt.tar.xz --transform 's,.*/,crt/,' "${crt[@]}"
tar -chJf .gpu-suite-b/libs-b.tar.xz --transform 's,.*/,lib/,' "${rest[@]}"
tar -chJf .gpu-suite-b/bin.tar.xz --transform 's,.*/,bin/,' "${bins[@]/#/$BUILD_DIR/bin/}"
# ONNX's node cases (2 MB compressed), for `plumb conformance --backend cuda` there.
if [[ -d "$BUILD_DIR/onnx-testdata/1.19.1/node" ]]; then
  tar -cJf .gpu-suite-b/onnx-node.tar.xz -C "$BUILD_DIR/onnx-testdata/1.19.1" node
else
  echo "gpu-suite: $BUILD_DIR/onnx-testdata/1.19.1/node missing (scripts/fetch-onnx-testdata.sh):" \
       "the conformance step will be skipped there" >&2
fi
# The cases of Debian's ONNX 1.12 suites that list names as SUITE/CASE (opset-6 PyTorch exports).
mapfile -t debian < <(grep -v '^#' tests/conformance/cuda_emulator_cases.txt | grep /)
if ((${#debian[@]})) && [[ -d /usr/share/libonnx-testdata/data ]]; then
  tar -cJf .gpu-suite-b/onnx-debian.tar.xz -C /usr/share/libonnx-testdata/data "${debian[@]}"
fi
du -sh .gpu-suite-a .gpu-suite-b | awk '{print "gpu-suite: " $2 " holds " $1 " (64 MiB travel per call)"}'
