#!/usr/bin/env bash
# The device side of scripts/gpu-kit.sh: bash .gpu-kit/run.sh OUT_DIR. Runs every artifact
# twice (CUDA Graph replay, then step by step), writes each output .npz and log under OUT_DIR,
# then compares the outputs with the reference's (compare.py) into OUT_DIR/results.txt.
set -uo pipefail
KIT="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:?usage: run.sh OUT_DIR}"
mkdir -p "$OUT" "$KIT/lib"
tar -xJf "$KIT/lib.tar.xz" -C "$KIT/lib" --strip-components=0
# The extracted tree keeps the packing machine's paths (lib/x86_64-linux-gnu/..., work/...):
# every folder holding a .so goes on the path, then the CUDA 13 libraries of PyTorch's wheels.
libdirs=$(find "$KIT/lib" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
PYTHON="${PYTHON:-python3}" # the machine's python3 holds PyTorch and numpy
nvidia=$("$PYTHON" -c 'import nvidia, os; print(":".join(sorted({os.path.join(r) for p in nvidia.__path__ for r, _, fs in os.walk(p) if any(".so" in f for f in fs)})))' 2>/dev/null)
export LD_LIBRARY_PATH="${libdirs}${nvidia}:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/device.txt" 2>&1
status=0
for art in "$KIT"/models/*.plumb; do
  base=$(basename "$art" .plumb)   # NAME.DTYPE
  name=${base%.*}
  for mode in graph eager; do
    flag=(); [[ $mode == eager ]] && flag=(--no-graph)
    "$KIT/bin/plumb-cuda-run" "$art" --inputs "$KIT/models/$name.inputs.npz" \
      -o "$OUT/$base.$mode.npz" --iters 50 --warmup 5 "${flag[@]}" > "$OUT/$base.$mode.log" 2>&1 ||
      { echo "$base $mode: plumb-cuda-run failed: $(tail -1 "$OUT/$base.$mode.log")"; status=1; }
  done
done
"$PYTHON" "$KIT/compare.py" "$KIT/models" "$OUT" | tee "$OUT/results.txt"
exit $(( status || PIPESTATUS[0] ))
