#!/usr/bin/env bash
# On a lent GPU machine, after `source scripts/gpu-kit/env.sh` unpacked both parts of
# scripts/gpu-suite.sh: bash scripts/gpu-kit/suite.sh OUT_DIR.
#   1. the CUDA test binaries whole (their device tests run here instead of skipping),
#   2. the CLI's CUDA tests (tests/cli/test_cuda_backend.py),
#   3. `plumb check --backend cuda` for every fixture in f32, f16 and bf16, and one
#      `plumb bisect --backend cuda`,
#   4. tests/data/cpu/run_time_shapes.onnx compiled for cuda with one input set and run with
#      another whose NonZero/Compress/NMS/Unique counts differ, and branch_on_value.onnx (an If
#      on a value) compiled with one branch's input and run with the other's, and
#      scan_rnn.onnx (a Scan, a host step with a CPU plan for its body), against the reference,
#   5. `plumb conformance --backend cuda --bind-steering-inputs` on the ONNX node cases CI runs
#      on the emulator (tests/conformance/cuda_emulator_cases.txt): each must pass on the device.
# Writes OUT_DIR/suite.log (everything) and OUT_DIR/checks.tar.gz (the JSON reports); the last
# lines printed are one summary row per step. Exits 1 if any step failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:?usage: suite.sh OUT_DIR}"
mkdir -p "$OUT" /tmp/plumb-checks
summary=()
step() {  # step NAME TIMEOUT_S CMD...: runs CMD, logs it, keeps one summary row
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  echo "== $name: $*"
  timeout "$limit" "$@"
  local rc=$?
  summary+=("$(printf '%-44s rc=%-3s %4ss' "$name" "$rc" $((SECONDS - t0)))")
  return $rc
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  export PLUMB_CACHE_DIR=/tmp/plumb-cache
  step cuda_codegen_test 400 cuda_codegen_test --gtest_brief=1
  step cuda_f16_test 400 cuda_f16_test --gtest_brief=1
  step test_cuda_backend.py 400 python3 -m pytest tests/cli/test_cuda_backend.py \
    --plumb "$(command -v plumb)" -p no:cacheprovider -q -rs
  # attention64: 64-dim heads, the tensor-core attention kernel's path in f16/bf16.
  for model in tests/models/*.onnx tests/data/cuda/attention64.onnx; do
    name=$(basename "$model" .onnx)
    for dtype in f32 f16 bf16; do
      step "check $name --dtype $dtype" 120 plumb check "$model" --backend cuda --dtype "$dtype" \
        --inputs "${model%.onnx}.inputs.npz" --json "/tmp/plumb-checks/$name.$dtype.json"
    done
  done
  step "bisect resnet_tiny" 120 plumb bisect tests/models/resnet_tiny.onnx --backend cuda \
    --inputs tests/models/resnet_tiny.inputs.npz --json /tmp/plumb-checks/bisect.resnet_tiny.json
  step "compile bert_tiny --verify-each" 120 plumb compile tests/models/bert_tiny.onnx \
    --backend cuda --verify-each -o /tmp/plumb-checks/bert_tiny.plumb
  # Shapes their values decide (NonZero, Compress, NMS, Unique): artifacts compiled with input
  # set a run set b, whose counts differ; the values stay on the host between host steps.
  rts=tests/data/cpu/run_time_shapes
  mkdir -p /tmp/plumb-rts/out
  plumb run "$rts.onnx" --inputs "$rts.b.npz" -o /tmp/plumb-rts/run_time_shapes.ref.npz
  for dtype in f32 f16; do
    plumb compile "$rts.onnx" --backend cuda --dtype "$dtype" --inputs "$rts.a.npz" \
      -o "/tmp/plumb-rts/rts.$dtype.plumb" &&
      plumb run "/tmp/plumb-rts/rts.$dtype.plumb" --inputs "$rts.b.npz" \
        -o "/tmp/plumb-rts/out/run_time_shapes.$dtype.artifact.npz"
  done
  # An If on a value (a host step with CPU plans for its branches): compiled with an input
  # taking the then branch, run with one taking the else branch ([2, 1], not [2, 3]).
  python3 -c "import numpy as np; np.savez('/tmp/plumb-rts/then.npz', x=np.array([[1, -2, 3], [0.5, 2, -1]], np.float32)); np.savez('/tmp/plumb-rts/else.npz', x=np.array([[-1, -2, 3], [0.5, -2, -1]], np.float32))"
  bov=tests/data/cpu/branch_on_value.onnx
  plumb run "$bov" --inputs /tmp/plumb-rts/else.npz -o /tmp/plumb-rts/branch_on_value.ref.npz
  for dtype in f32 f16; do
    plumb compile "$bov" --backend cuda --dtype "$dtype" --inputs /tmp/plumb-rts/then.npz \
      -o "/tmp/plumb-rts/bov.$dtype.plumb" &&
      plumb run "/tmp/plumb-rts/bov.$dtype.plumb" --inputs /tmp/plumb-rts/else.npz \
        -o "/tmp/plumb-rts/out/branch_on_value.$dtype.artifact.npz"
  done
  # A Scan (a host step whose body is a CPU plan): compiled with one input, run with another.
  python3 -c "import numpy as np; r = np.random.default_rng(3); [np.savez(f'/tmp/plumb-rts/scan_{t}.npz', x=r.standard_normal((2, 5, 3)).astype(np.float32), h0=r.standard_normal((2, 4)).astype(np.float32)) for t in 'ab']"
  scan=tests/data/cpu/scan_rnn.onnx
  plumb run "$scan" --inputs /tmp/plumb-rts/scan_b.npz -o /tmp/plumb-rts/scan_rnn.ref.npz
  for dtype in f32 f16; do
    plumb compile "$scan" --backend cuda --dtype "$dtype" --inputs /tmp/plumb-rts/scan_a.npz \
      -o "/tmp/plumb-rts/scan.$dtype.plumb" &&
      plumb run "/tmp/plumb-rts/scan.$dtype.plumb" --inputs /tmp/plumb-rts/scan_b.npz \
        -o "/tmp/plumb-rts/out/scan_rnn.$dtype.artifact.npz"
  done
  step "run-time shapes, If and Scan (compiled with one input, run with another)" 60 \
    python3 scripts/gpu-kit/compare.py /tmp/plumb-rts /tmp/plumb-rts/out
  # An empty expected-failures list: any case that does not pass fails the step.
  if [[ -d .gpu-dev/node ]]; then
    # CASE is an onnx 1.19.1 node case; SUITE/CASE one of Debian's suites (gpu-suite.sh).
    mapfile -t cases < <(awk '!/^#/ && NF { print (index($0, "/") ? ".gpu-dev/" : ".gpu-dev/node/") $0 }' \
      tests/conformance/cuda_emulator_cases.txt)
    step "conformance --backend cuda (${#cases[@]} cases)" 200 plumb conformance "${cases[@]}" \
      --backend cuda --bind-steering-inputs --expected-failures /dev/null \
      --json /tmp/plumb-checks/conformance_cuda.json
  fi
  tar -czf "$OUT/checks.tar.gz" -C /tmp/plumb-checks --exclude='*.plumb' .
  echo "== summary"
  printf '%s\n' "${summary[@]}"
} 2>&1 | tee "$OUT/suite.log"
! grep -E 'rc=[1-9]' "$OUT/suite.log" | grep -q .
