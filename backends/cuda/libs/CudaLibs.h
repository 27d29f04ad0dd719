// NVRTC and cuBLASLt, opened with dlopen on first use instead of linked. Loaded, cuBLASLt
// alone makes ~210 MB resident (relocated kernel tables) and NVRTC ~30 MB: linked, every
// `plumb` process paid that at start-up, CPU runs included (a 333 MB `plumb --version`).
// cudart and cuDNN are small and stay linked. Call sites go through the tables below, whose
// members have the libraries' own names and types. MLIR-free.
#pragma once

#include <cublasLt.h>
#include <nvrtc.h>

namespace plumb::cuda {

#define PLUMB_CUDA_FN(name) decltype(&::name) name = nullptr

struct NvrtcApi {
  PLUMB_CUDA_FN(nvrtcVersion);
  PLUMB_CUDA_FN(nvrtcGetErrorString);
  PLUMB_CUDA_FN(nvrtcCreateProgram);
  PLUMB_CUDA_FN(nvrtcDestroyProgram);
  PLUMB_CUDA_FN(nvrtcCompileProgram);
  PLUMB_CUDA_FN(nvrtcGetProgramLogSize);
  PLUMB_CUDA_FN(nvrtcGetProgramLog);
  PLUMB_CUDA_FN(nvrtcGetPTXSize);
  PLUMB_CUDA_FN(nvrtcGetPTX);
  PLUMB_CUDA_FN(nvrtcGetCUBINSize);
  PLUMB_CUDA_FN(nvrtcGetCUBIN);
};

struct CublasLtApi {
  PLUMB_CUDA_FN(cublasLtCreate);
  PLUMB_CUDA_FN(cublasLtDestroy);
  PLUMB_CUDA_FN(cublasLtMatmul);
  PLUMB_CUDA_FN(cublasLtMatmulAlgoGetHeuristic);
  PLUMB_CUDA_FN(cublasLtMatmulDescCreate);
  PLUMB_CUDA_FN(cublasLtMatmulDescDestroy);
  PLUMB_CUDA_FN(cublasLtMatmulDescSetAttribute);
  PLUMB_CUDA_FN(cublasLtMatmulPreferenceCreate);
  PLUMB_CUDA_FN(cublasLtMatmulPreferenceDestroy);
  PLUMB_CUDA_FN(cublasLtMatmulPreferenceSetAttribute);
  PLUMB_CUDA_FN(cublasLtMatrixLayoutCreate);
  PLUMB_CUDA_FN(cublasLtMatrixLayoutDestroy);
  PLUMB_CUDA_FN(cublasLtMatrixLayoutSetAttribute);
};

#undef PLUMB_CUDA_FN

// The library, loaded (thread-safely) on the first call; throws plumb::Error naming the
// library and dlopen's reason when it or one of the functions is missing.
const NvrtcApi &nvrtc();
const CublasLtApi &cublasLt();

// Whether the process has loaded that library so far (for tests of the laziness).
bool nvrtcLoaded();
bool cublasLtLoaded();

} // namespace plumb::cuda
