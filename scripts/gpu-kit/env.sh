# Sourced at the start of a device command (scripts/gpu-suite.sh): unpacks whatever part of the
# suite this call carried into .gpu-dev/ (kept between calls while the machine stays warm) and
# sets PATH and LD_LIBRARY_PATH for plumb, its tests and the CUDA 13 libraries of PyTorch's wheels.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$_root/.gpu-dev"
for _t in "$_root"/.gpu-suite-a/*.tar.xz "$_root"/.gpu-suite-b/*.tar.xz; do
  [[ -f "$_t" ]] || continue
  _stamp="$_root/.gpu-dev/.$(basename "$_t").$(stat -c %s "$_t")"
  [[ -f "$_stamp" ]] || { tar -xJf "$_t" -C "$_root/.gpu-dev" && touch "$_stamp"; }
done
# ONNX Runtime's CUDA wheel in parts (scripts/gpu-ort.sh), one per call: kept in .gpu-dev/ort/,
# unpacked into .gpu-dev/site once all are there and the wheel's sha256 matches.
# A part carried again replaces the one kept.
for _p in "$_root"/.gpu-ort-*/*-of-*; do
  [[ -f "$_p" && ! -d "$_root/.gpu-dev/site/onnxruntime" ]] || continue
  mkdir -p "$_root/.gpu-dev/ort"
  cp -f "$_p" "$(dirname "$_p")/sha256" "$_root/.gpu-dev/ort/"
done
if [[ -f "$_root/.gpu-dev/ort/sha256" && ! -d "$_root/.gpu-dev/site/onnxruntime" ]]; then
  _w=$(awk '{print $2}' "$_root/.gpu-dev/ort/sha256")
  _n=$(ls "$_root/.gpu-dev/ort/" | grep -c -- '-of-' || true)
  _want=$(ls "$_root/.gpu-dev/ort/" | sed -n 's/.*-of-\([0-9]*\)$/\1/p' | head -1)
  if [[ "$_n" == "$_want" ]]; then
    (cd "$_root/.gpu-dev/ort" && for _i in $(seq 1 "$_want"); do cat "$_w.$_i-of-$_want"; done > "$_w" &&
      sha256sum -c --quiet sha256 && python3 -m zipfile -e "$_w" "$_root/.gpu-dev/site" &&
      rm -f "$_w" "$_w".*-of-*) ||
      { rm -f "$_root/.gpu-dev/ort/$_w"
        echo "env.sh: the onnxruntime-gpu parts do not make the wheel (sha256 differs): carry them again" >&2; }
  else
    echo "env.sh: onnxruntime-gpu: $_n of $_want parts here" >&2
  fi
fi
if [[ -d "$_root/.gpu-dev/site/onnxruntime" ]]; then
  export PYTHONPATH="$_root/.gpu-dev/site${PYTHONPATH:+:$PYTHONPATH}"
fi
_nvidia=$(python3 -c 'import nvidia, os; print(":".join(sorted({r for p in nvidia.__path__ for r, _, fs in os.walk(p) if any(".so" in f for f in fs)})))' 2>/dev/null)
export LD_LIBRARY_PATH="$_root/.gpu-dev/lib:${_nvidia}:${LD_LIBRARY_PATH:-}"
export PATH="$_root/.gpu-dev/bin:$PATH"
# The tests find the fixtures at the path they were built in (PLUMB_SOURCE_DIR=/work/main).
[[ -e /work/main ]] || { mkdir -p /work && ln -s "$_root" /work/main; }
# Built on Debian bookworm (glibc 2.36): where the machine's C runtime is older, run through ours.
_glibc=$(ldd --version 2>/dev/null | awk 'NR==1 {print $NF}')
if [[ -d "$_root/.gpu-dev/crt" ]] && printf '%s\n2.36\n' "$_glibc" | sort -V | head -1 | grep -qv '^2.36$'; then
  echo "env.sh: glibc $_glibc older than 2.36: binaries run through .gpu-dev/crt" >&2
  for _b in "$_root"/.gpu-dev/bin/*; do
    [[ $_b == *.real ]] && continue
    [[ -f "$_b.real" ]] || mv "$_b" "$_b.real"
    printf '#!/bin/sh\nexec "%s/.gpu-dev/crt/ld-linux-x86-64.so.2" --library-path "%s/.gpu-dev/crt:$LD_LIBRARY_PATH" "%s.real" "$@"\n' "$_root" "$_root" "$_b" > "$_b"
    chmod +x "$_b"
  done
fi
unset _root _t _stamp _nvidia _glibc _b _p _w _n _want
