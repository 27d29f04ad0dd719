#!/usr/bin/env bash
# Builds the libFuzzer targets for plumb's file readers, the artifact reader and the ONNX importer with clang
# (ASan + UBSan) and runs
# each for a bounded time on a seed corpus made of the committed fixtures, then replays every
# input in tests/fuzz/regressions/ (crashes found once and fixed stay there as tests).
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT_BUILD="$(realpath "${1:-build}")" # holds the dialect's generated .inc files
BUILD="${1:-build}/fuzz"
SECS="${2:-20}"
mkdir -p "$BUILD"
CXX=clang++-14
FLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -DONNX_ML=1 -DONNX_NAMESPACE=onnx)
SRCS=(runtime/DType.cpp runtime/SmallFloat.cpp runtime/Tensor.cpp frontend/tensorio/TensorIO.cpp
      frontend/tensorio/TensorProto.cpp)
LIBS=(-lonnx_proto -lprotobuf -lzip)
ART_SRCS=(runtime/DType.cpp runtime/SmallFloat.cpp runtime/Tensor.cpp runtime/Plan.cpp runtime/Packing.cpp runtime/Artifact.cpp)
TARGETS=(npy npz pb onnx artifact)
for t in npy npz pb; do
  $CXX "${FLAGS[@]}" "tests/fuzz/fuzz_$t.cpp" "${SRCS[@]}" "${LIBS[@]}" -o "$BUILD/fuzz_$t"
done
$CXX "${FLAGS[@]}" tests/fuzz/fuzz_artifact.cpp "${ART_SRCS[@]}" -o "$BUILD/fuzz_artifact"
# The importer links MLIR (built without RTTI, so no vptr check). An object is rebuilt when
# it is missing or older than its source or any plumb header or generated file.
MLIR_FLAGS=(-fno-rtti -fno-sanitize=vptr -isystem /usr/lib/llvm-22/include -I"$ROOT_BUILD")
ONNX_SRCS=(runtime/DType.cpp runtime/SmallFloat.cpp runtime/Tensor.cpp frontend/tensorio/TensorIO.cpp
           frontend/tensorio/TensorProto.cpp frontend/onnx/Importer.cpp frontend/onnx/Subgraphs.cpp
           frontend/onnx/Weights.cpp ir/PlumbDialect.cpp ir/Verifiers.cpp ir/ShapeInference.cpp
           ir/ShapeRules.cpp ir/ShapeRulesMovement.cpp ir/EinsumShape.cpp ir/ControlFlow.cpp ir/TensorAttr.cpp passes/graph/Canonicalize.cpp
           passes/graph/CanonicalizeSequences.cpp
           tests/fuzz/fuzz_onnx.cpp)
mkdir -p "$BUILD/obj"
pids=() # two compiles at a time
objs=()
relink=0
for src in "${ONNX_SRCS[@]}"; do
  obj="$BUILD/obj/$(echo "$src" | tr / _).o"
  objs+=("$obj")
  if [ -f "$obj" ] && [ -z "$(find "$src" runtime frontend ir passes "$ROOT_BUILD/ir" -newer "$obj" \
       \( -name '*.h' -o -name '*.inc' -o -path "$src" \) | head -1)" ]; then
    continue
  fi
  relink=1
  $CXX "${FLAGS[@]}" "${MLIR_FLAGS[@]}" -c "$src" -o "$obj" &
  pids+=($!)
  if (( ${#pids[@]} >= 2 )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
if [ "$relink" = 1 ] || [ ! -x "$BUILD/fuzz_onnx" ]; then
  $CXX "${FLAGS[@]}" "${objs[@]}" -L/usr/lib/llvm-22/lib -Wl,-rpath,/usr/lib/llvm-22/lib \
    -lMLIR -lLLVM "${LIBS[@]}" -o "$BUILD/fuzz_onnx"
fi
seed() { mkdir -p "$BUILD/corpus_$1"; cp "${@:2}" "$BUILD/corpus_$1/" 2>/dev/null || true; }
seed npy tests/data/tensorio/*.npy
seed npz tests/data/tensorio/*.npz tests/models/*.npz
seed pb tests/data/tensorio/*.pb /usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/*.pb
mkdir -p "$BUILD/corpus_onnx"
for c in test_if test_loop11 test_loop13_seq test_scan_sum test_scan9_sum test_if_opt \
         test_sequence_map_add_2_sequences test_optional_has_element test_adam test_conv_with_strides_padding; do
  cp "/usr/share/libonnx-testdata/data/node/$c/model.onnx" "$BUILD/corpus_onnx/$c.onnx" 2>/dev/null || true
done
protoc -I/usr/include --encode=onnx.ModelProto onnx/onnx.proto < tests/fuzz/seeds/functions.textproto \
  > "$BUILD/corpus_onnx/functions.onnx"
# Artifact seeds: small hand-built plans covering every part of the format.
mkdir -p "$BUILD/corpus_artifact"
$CXX -std=c++17 -O1 -I. tests/fuzz/make_artifact_seeds.cpp "${ART_SRCS[@]}" \
  -o "$BUILD/make_artifact_seeds"
"$BUILD/make_artifact_seeds" "$BUILD/corpus_artifact"
for t in "${TARGETS[@]}"; do
  echo "fuzz_$t: ${SECS}s"
  "$BUILD/fuzz_$t" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$BUILD/crash_$t-" \
    "$BUILD/corpus_$t" > "$BUILD/fuzz_$t.log" 2>&1 || { tail -30 "$BUILD/fuzz_$t.log"; exit 1; }
  grep -E "^Done|stat::number_of_executed_units" "$BUILD/fuzz_$t.log" | tail -1 || true
  if compgen -G "tests/fuzz/regressions/$t/*" > /dev/null; then
    "$BUILD/fuzz_$t" tests/fuzz/regressions/$t/* > /dev/null 2>&1
  fi
done
echo "fuzz: ${#TARGETS[@]} targets ran ${SECS}s each without a crash"
