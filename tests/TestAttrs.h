// Helpers shared by the runtime and CPU-backend tests: seeded random tensors and ONNX
// attribute values for hand-built plan steps (ref::*Attr from AttrValues.h).
#pragma once

#include "backends/reference/AttrValues.h"

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

using ref::floatAttr;
using ref::floatsAttr;
using ref::intAttr;
using ref::intsAttr;
using ref::stringAttr;
using ref::stringsAttr;

} // namespace plumb::testattrs
