// NVRTC compilation of generated kernels, with an on-disk cache keyed by a hash of the
// source, the options and the NVRTC version. Needs libnvrtc only: no GPU, no driver.
#pragma once

#include <string>

namespace plumb::cuda {

struct NvrtcOptions {
  std::string cubinArch = "sm_90";    // machine code for H100/H200
  std::string ptxArch = "compute_80"; // portable PTX, JIT-compiled by the driver elsewhere
  // Cache folder; empty: $PLUMB_CACHE_DIR/nvrtc, else $XDG_CACHE_HOME/plumb/nvrtc, else
  // ~/.cache/plumb/nvrtc. "-" disables the cache.
  std::string cacheDir;
};

struct CompiledKernel {
  std::string cubin; // ELF for cubinArch
  std::string ptx;   // text for ptxArch
  bool fromCache = false;
};

// Throws plumb::Error("cuda codegen: NVRTC rejected kernel for LABEL: <first error line>").
CompiledKernel compileKernel(const std::string &source, const std::string &label,
                             const NvrtcOptions &opts = {});

std::string nvrtcVersion(); // "13.0"
std::string nvrtcCacheDir(const NvrtcOptions &opts);
// A stable 128-bit hex digest (two FNV-1a variants); also names cached files.
std::string sourceHash(const std::string &text);

} // namespace plumb::cuda
