#!/usr/bin/env bash
# Regenerates README.md's conformance table from the reports `ctest -R conformance` writes.
# Usage: tests/conformance/update_readme.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
B="${1:-build}/tests"
python3 tests/conformance/make_table.py README.md \
  "Debian ONNX 1.12 node tests=$B/conformance_onnx112_node.json" \
  "onnx 1.19.1 node tests=$B/conformance_onnx119_node.json" \
  "Debian 1.12 pytorch-converted=$B/conformance_onnx112_pytorch_converted.json" \
  "Debian 1.12 pytorch-operator=$B/conformance_onnx112_pytorch_operator.json" \
  "Debian 1.12 simple=$B/conformance_onnx112_simple.json"
