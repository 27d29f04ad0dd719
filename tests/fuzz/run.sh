#!/usr/bin/env bash
# Builds the libFuzzer targets for plumb's file readers with clang (ASan + UBSan) and runs
# each for a bounded time on a seed corpus made of the committed fixtures, then replays every
# input in tests/fuzz/regressions/ (crashes found once and fixed stay there as tests).
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}/fuzz"
SECS="${2:-20}"
mkdir -p "$BUILD"
CXX=clang++-14
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -DONNX_ML=1 -DONNX_NAMESPACE=onnx)
SRCS=(runtime/DType.cpp runtime/SmallFloat.cpp runtime/Tensor.cpp frontend/tensorio/TensorIO.cpp
      frontend/tensorio/TensorProto.cpp)
LIBS=(-lonnx_proto -lprotobuf -lzip)
for t in npy npz pb; do
  $CXX "${FLAGS[@]}" "tests/fuzz/fuzz_$t.cpp" "${SRCS[@]}" "${LIBS[@]}" -o "$BUILD/fuzz_$t"
done
seed() { mkdir -p "$BUILD/corpus_$1"; cp "${@:2}" "$BUILD/corpus_$1/" 2>/dev/null || true; }
seed npy tests/data/tensorio/*.npy
seed npz tests/data/tensorio/*.npz tests/models/*.npz
seed pb tests/data/tensorio/*.pb /usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/*.pb
for t in npy npz pb; do
  echo "fuzz_$t: ${SECS}s"
  "$BUILD/fuzz_$t" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$BUILD/crash_$t-" \
    "$BUILD/corpus_$t" > "$BUILD/fuzz_$t.log" 2>&1 || { tail -30 "$BUILD/fuzz_$t.log"; exit 1; }
  grep -E "^Done|stat::number_of_executed_units" "$BUILD/fuzz_$t.log" | tail -1 || true
  if compgen -G "tests/fuzz/regressions/$t/*" > /dev/null; then
    "$BUILD/fuzz_$t" tests/fuzz/regressions/$t/* > /dev/null 2>&1
  fi
done
echo "fuzz: 3 targets ran ${SECS}s each without a crash"
