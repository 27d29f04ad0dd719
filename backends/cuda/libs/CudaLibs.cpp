// dlopen of NVRTC and cuBLASLt: the toolkit's library folder found at configure time first
// (PLUMB_CUDA_LIBRARY_DIR), then the loader's search path.
#include "backends/cuda/libs/CudaLibs.h"

#include "runtime/Error.h"

#include <dlfcn.h>

#include <atomic>
#include <string>

namespace plumb::cuda {

namespace {

std::atomic<bool> nvrtcIsLoaded{false}, cublasLtIsLoaded{false};

void *open(const std::string &soname) {
  std::string inToolkit = std::string(PLUMB_CUDA_LIBRARY_DIR) + "/" + soname;
  void *h = dlopen(inToolkit.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h)
    h = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    throw Error("cannot load " + soname + " (" + (why ? why : "unknown reason") +
                "); the CUDA backend needs the CUDA " + std::to_string(PLUMB_CUDA_MAJOR) +
                " toolkit's libraries");
  }
  return h;
}

// Fills `slot` with `name` from library `h`.
template <typename Fn> void bind(void *h, const std::string &soname, const char *name, Fn &slot) {
  void *p = dlsym(h, name);
  if (!p)
    throw Error(soname + " has no function " + name + " (an older toolkit?)");
  slot = reinterpret_cast<Fn>(p);
}

#define PLUMB_BIND(api, name) bind(h, soname, #name, api.name)

NvrtcApi loadNvrtc() {
  std::string soname = "libnvrtc.so." + std::to_string(PLUMB_CUDA_MAJOR);
  void *h = open(soname);
  NvrtcApi a;
  PLUMB_BIND(a, nvrtcVersion);
  PLUMB_BIND(a, nvrtcGetErrorString);
  PLUMB_BIND(a, nvrtcCreateProgram);
  PLUMB_BIND(a, nvrtcDestroyProgram);
  PLUMB_BIND(a, nvrtcCompileProgram);
  PLUMB_BIND(a, nvrtcGetProgramLogSize);
  PLUMB_BIND(a, nvrtcGetProgramLog);
  PLUMB_BIND(a, nvrtcGetPTXSize);
  PLUMB_BIND(a, nvrtcGetPTX);
  PLUMB_BIND(a, nvrtcGetCUBINSize);
  PLUMB_BIND(a, nvrtcGetCUBIN);
  nvrtcIsLoaded = true;
  return a;
}

CublasLtApi loadCublasLt() {
  std::string soname = "libcublasLt.so." + std::to_string(PLUMB_CUDA_MAJOR);
  void *h = open(soname);
  CublasLtApi a;
  PLUMB_BIND(a, cublasLtCreate);
  PLUMB_BIND(a, cublasLtDestroy);
  PLUMB_BIND(a, cublasLtMatmul);
  PLUMB_BIND(a, cublasLtMatmulAlgoGetHeuristic);
  PLUMB_BIND(a, cublasLtMatmulDescCreate);
  PLUMB_BIND(a, cublasLtMatmulDescDestroy);
  PLUMB_BIND(a, cublasLtMatmulDescSetAttribute);
  PLUMB_BIND(a, cublasLtMatmulPreferenceCreate);
  PLUMB_BIND(a, cublasLtMatmulPreferenceDestroy);
  PLUMB_BIND(a, cublasLtMatmulPreferenceSetAttribute);
  PLUMB_BIND(a, cublasLtMatrixLayoutCreate);
  PLUMB_BIND(a, cublasLtMatrixLayoutDestroy);
  PLUMB_BIND(a, cublasLtMatrixLayoutSetAttribute);
  cublasLtIsLoaded = true;
  return a;
}

#undef PLUMB_BIND

} // namespace

// A failed load throws out of the static's initialiser, so the next call tries again.
const NvrtcApi &nvrtc() {
  static const NvrtcApi api = loadNvrtc();
  return api;
}

const CublasLtApi &cublasLt() {
  static const CublasLtApi api = loadCublasLt();
  return api;
}

bool nvrtcLoaded() { return nvrtcIsLoaded; }
bool cublasLtLoaded() { return cublasLtIsLoaded; }

} // namespace plumb::cuda
