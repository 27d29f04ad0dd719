// Helpers shared by the runtime and CPU-backend tests: seeded random tensors and ONNX
// attribute values for hand-built plan steps.
#pragma once

#include "backends/reference/Kernel.h"

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace plumb::testattrs {

// Uniform in [lo, hi), the same values for the same seed on every machine (mt19937).
inline Tensor randomF32(Shape shape, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size_t(numElements(shape)));
  for (float &x : v)
    x = dist(rng);
  return Tensor::fromVector(DType::F32, std::move(shape), v);
}

inline ref::AttrValue intAttr(int64_t v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::Int;
  a.i = v;
  return a;
}
inline ref::AttrValue floatAttr(double v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::Float;
  a.f = v;
  return a;
}
inline ref::AttrValue stringAttr(std::string v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::String;
  a.s = std::move(v);
  return a;
}
inline ref::AttrValue intsAttr(std::vector<int64_t> v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::Ints;
  a.ints = std::move(v);
  return a;
}
inline ref::AttrValue floatsAttr(std::vector<double> v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::Floats;
  a.floats = std::move(v);
  return a;
}
inline ref::AttrValue stringsAttr(std::vector<std::string> v) {
  ref::AttrValue a;
  a.kind = ref::AttrValue::Kind::Strings;
  a.strings = std::move(v);
  return a;
}

} // namespace plumb::testattrs
