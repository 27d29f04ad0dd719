// Internal to the cuda lowering: building the attrs of Plan steps.
#pragma once

#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/Nvrtc.h"
#include "runtime/Plan.h"

#include <string>
#include <vector>

namespace plumb::cuda {

// An attr value of `kind` whose member `field` holds `value`.
template <class T>
ref::AttrValue attrWith(ref::AttrValue::Kind kind, T ref::AttrValue::*field, T value) {
  ref::AttrValue v;
  v.kind = kind;
  v.*field = std::move(value);
  return v;
}
inline ref::AttrValue strAttr(std::string s) {
  return attrWith(ref::AttrValue::Kind::String, &ref::AttrValue::s, std::move(s));
}
inline ref::AttrValue intAttr(int64_t i) {
  return attrWith(ref::AttrValue::Kind::Int, &ref::AttrValue::i, i);
}
inline ref::AttrValue intsAttr(std::vector<int64_t> i) {
  return attrWith(ref::AttrValue::Kind::Ints, &ref::AttrValue::ints, std::move(i));
}
inline ref::AttrValue floatsAttr(std::vector<double> f) {
  return attrWith(ref::AttrValue::Kind::Floats, &ref::AttrValue::floats, std::move(f));
}
inline ref::AttrValue floatAttr(double f) {
  return attrWith(ref::AttrValue::Kind::Float, &ref::AttrValue::f, f);
}

// The attrs of a cuda.generated step (CudaBackend.h): source, launch shape, CUBIN and PTX.
void setGeneratedAttrs(Step &s, const std::string &kind, const GeneratedKernel &k,
                       const CompiledKernel &bin, const NvrtcOptions &nvrtc);

} // namespace plumb::cuda
