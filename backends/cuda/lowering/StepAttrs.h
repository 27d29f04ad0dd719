// Internal to the cuda lowering: building the attrs of Plan steps.
#pragma once

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "runtime/Plan.h"

#include <string>
#include <vector>

namespace plumb::cuda {

inline ref::AttrValue strAttr(const std::string &s) {
  ref::AttrValue v;
  v.kind = ref::AttrValue::Kind::String;
  v.s = s;
  return v;
}
inline ref::AttrValue intAttr(int64_t i) {
  ref::AttrValue v;
  v.i = i;
  return v;
}
inline ref::AttrValue intsAttr(std::vector<int64_t> i) {
  ref::AttrValue v;
  v.kind = ref::AttrValue::Kind::Ints;
  v.ints = std::move(i);
  return v;
}
inline ref::AttrValue floatAttr(double f) {
  ref::AttrValue v;
  v.kind = ref::AttrValue::Kind::Float;
  v.f = f;
  return v;
}

// The attrs of a cuda.generated step (CudaBackend.h): source, launch shape, CUBIN and PTX.
void setGeneratedAttrs(Step &s, const std::string &kind, const GeneratedKernel &k,
                       const CompiledKernel &bin, const NvrtcOptions &nvrtc);

} // namespace plumb::cuda
