#!/usr/bin/env bash
# Checks libplumb_runtime.so, the deployment library: it must not depend on MLIR or LLVM
# (directly per readelf's NEEDED entries, nor transitively per ldd), must define no MLIR/LLVM
# symbols of its own, must resolve every dependency, and must export the C API.
# Usage: check_runtime_deps.sh path/to/libplumb_runtime.so
set -euo pipefail
lib="$1"
needed=$(readelf -d "$lib" | grep NEEDED || true)
echo "$needed"
deps=$(ldd "$lib")
if grep -Ei 'libMLIR|libLLVM|libclang' <<<"$needed$deps"; then
  echo "FAIL: $lib depends on MLIR/LLVM"; exit 1
fi
if grep -q "not found" <<<"$deps"; then
  echo "FAIL: unresolved dependency"; grep "not found" <<<"$deps"; exit 1
fi
syms=$(nm -DC --defined-only "$lib")
if grep -E ' (mlir|llvm)::' <<<"$syms" | head -5 | grep .; then
  echo "FAIL: $lib defines MLIR/LLVM symbols"; exit 1
fi
for sym in plumb_session_create_from_file plumb_session_create_from_memory plumb_session_run \
           plumb_session_destroy plumb_last_error plumb_session_input_info; do
  grep -q " T $sym\$" <<<"$syms" || { echo "FAIL: $sym not exported"; exit 1; }
done
echo "OK: $lib links no MLIR/LLVM and exports the C API"
