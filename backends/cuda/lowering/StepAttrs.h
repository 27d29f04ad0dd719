// Internal to the cuda lowering: building the attrs of Plan steps.
#pragma once

#include "backends/cuda/codegen/Generator.h"
#include "backends/reference/AttrValues.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "runtime/Plan.h"

#include <string>
#include <vector>

namespace plumb::cuda {

using ref::floatAttr;
using ref::floatsAttr;
using ref::intAttr;
using ref::intsAttr;
using ref::stringAttr;
using ref::tensorAttr;

// The attrs of a cuda.generated step (CudaBackend.h): source, launch shape, CUBIN and PTX.
void setGeneratedAttrs(Step &s, const std::string &kind, const GeneratedKernel &k,
                       const CompiledKernel &bin, const NvrtcOptions &nvrtc);

} // namespace plumb::cuda
