#!/usr/bin/env bash
# On a lent GPU machine, after `source scripts/gpu-kit/env.sh` unpacked both parts of
# scripts/gpu-suite.sh: bash scripts/gpu-kit/suite.sh OUT_DIR.
#   1. the CUDA test binaries whole (their device tests run here instead of skipping),
#   2. the CLI's CUDA tests (tests/cli/test_cuda_backend.py),
#   3. `plumb check --backend cuda` for every fixture in f32, f16 and bf16, and one
#      `plumb bisect --backend cuda`,
#   4. tests/data/cpu/run_time_shapes.onnx compiled for cuda with one input set and run with
#      another whose NonZero/Compress/NMS/Unique counts differ, and branch_on_value.onnx (an If
#      on a value) compiled with one branch's input and run with the other's, scan_rnn.onnx (a
#      Scan), growing_loop.onnx and collect_loop.onnx (Loops), against the reference,
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
  # Models compiled for cuda with one input set and run with another, against the reference:
  # other_input NAME MODEL COMPILED_WITH RUN_WITH (f32 and f16 plans).
  mkdir -p /tmp/plumb-rts/out
  other_input() {
    plumb run "$2" --inputs "$4" -o "/tmp/plumb-rts/$1.ref.npz"
    for dtype in f32 f16; do
      plumb compile "$2" --backend cuda --dtype "$dtype" --inputs "$3" \
        -o "/tmp/plumb-rts/$1.$dtype.plumb" &&
        plumb run "/tmp/plumb-rts/$1.$dtype.plumb" --inputs "$4" \
          -o "/tmp/plumb-rts/out/$1.$dtype.artifact.npz"
    done
  }
  # Shapes their values decide (NonZero, Compress, NMS, Unique): set b's counts differ from
  # a's; the values stay on the host between host steps.
  rts=tests/data/cpu/run_time_shapes
  other_input run_time_shapes "$rts.onnx" "$rts.a.npz" "$rts.b.npz"
  # An If on a value (a host step with CPU plans for its branches): compiled with an input
  # taking the then branch, run with one taking the else branch ([2, 1], not [2, 3]).
  python3 -c "import numpy as np; np.savez('/tmp/plumb-rts/then.npz', x=np.array([[1, -2, 3], [0.5, 2, -1]], np.float32)); np.savez('/tmp/plumb-rts/else.npz', x=np.array([[-1, -2, 3], [0.5, -2, -1]], np.float32))"
  other_input branch_on_value tests/data/cpu/branch_on_value.onnx /tmp/plumb-rts/then.npz \
    /tmp/plumb-rts/else.npz
  # A Scan (a host step whose body is a CPU plan).
  python3 -c "import numpy as np; r = np.random.default_rng(3); [np.savez(f'/tmp/plumb-rts/scan_{t}.npz', x=r.standard_normal((2, 5, 3)).astype(np.float32), h0=r.standard_normal((2, 4)).astype(np.float32)) for t in 'ab']"
  other_input scan_rnn tests/data/cpu/scan_rnn.onnx /tmp/plumb-rts/scan_a.npz \
    /tmp/plumb-rts/scan_b.npz
  # A Loop growing its carried value and reading NonZero's positions (run-time-shaped body
  # inputs), and Loops collecting lists (scan outputs after canonicalization).
  python3 -c "import numpy as np; np.savez('/tmp/plumb-rts/grow_a.npz', x=np.array([0, 1, 0, 2, 0, 0], np.float32), m=np.array(3)); np.savez('/tmp/plumb-rts/grow_b.npz', x=np.array([1, 1, 0, 2, 3, 0], np.float32), m=np.array(5)); np.savez('/tmp/plumb-rts/collect_a.npz', x=np.array([[1, 2, 3], [4, 5, -6]], np.float32), m=np.array(3)); np.savez('/tmp/plumb-rts/collect_b.npz', x=np.array([[1, 2, 3], [4, 5, -6]], np.float32), m=np.array(5))"
  other_input growing_loop tests/data/cpu/growing_loop.onnx /tmp/plumb-rts/grow_a.npz \
    /tmp/plumb-rts/grow_b.npz
  other_input collect_loop tests/data/cpu/collect_loop.onnx /tmp/plumb-rts/collect_a.npz \
    /tmp/plumb-rts/collect_b.npz
  step "run-time shapes, If, Scan, Loops (compiled with one input, run with another)" 60 \
    python3 scripts/gpu-kit/compare.py /tmp/plumb-rts /tmp/plumb-rts/out
  # plumb check --backend cuda compares inside the If's taken branch (the host step hands the
  # observer to its branch plans): the then branch's 'weigh' row, not the else branch's 'rows'.
  step "check --backend cuda inside an If's branch" 60 bash -c \
    "plumb check tests/data/cpu/branch_on_value.onnx --backend cuda --inputs /tmp/plumb-rts/then.npz \
       --json /tmp/plumb-checks/branch_then.json && grep -q '\"weigh\"' /tmp/plumb-checks/branch_then.json \
       && ! grep -q '\"rows\"' /tmp/plumb-checks/branch_then.json"
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
