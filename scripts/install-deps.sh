#!/usr/bin/env bash
# Installs every Debian package plumb needs to build and test; idempotent (skips what is present).
# --bench adds what the benchmark harness (bench/run.sh) needs on top: PyTorch to generate the
# models and venv for ONNX Runtime (not needed by CI).
set -euo pipefail

PKGS=(
  # compiler infrastructure (only one MLIR version can be installed at a time: 22)
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  # ONNX schemas + conformance data, protobuf
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  # CPU backend
  libdnnl-dev
  # tests, benchmarks, support libraries
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libfmt-dev libcli11-dev libzip-dev
  zlib1g-dev pkg-config
  # build tools
  cmake ninja-build mold ccache g++
  # fuzzing (tests/fuzz): clang with libFuzzer and the sanitizers
  clang-14 libclang-rt-14-dev
  # test tools (chromium and python3-pil: the HTML report test renders the page and reads the screenshot)
  python3-numpy python3-pytest python3-pip python3-pil chromium
)
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(python3-torch python3-venv python3-onnx)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
