#!/usr/bin/env bash
# The benchmark harness: plumb's CPU backend against ONNX Runtime on the reference models, in one
# run on this machine. Installs the Debian packages it needs (scripts/install-deps.sh --bench)
# and ONNX Runtime into a venv under build/ (Python index; test/bench
# tooling only), generates the models with Debian's PyTorch (random weights), then times both.
#
#   bash bench/run.sh [--models resnet50,bert_base,gpt2_small,mamba2_stack] [--batches 1,8]
#                     [--threads 1,2] [--iters N] [--rounds N] [--out build/bench/results]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
venv=build/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install -q onnxruntime
fi
[ -x build/bin/plumb ] || cmake --build build --target plumb
exec "$venv/bin/python" bench/run.py "$@"
