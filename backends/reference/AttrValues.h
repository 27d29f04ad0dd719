// Building ONNX attribute values (ref::AttrValue) in code: the lowerings' step attributes and
// the tests' hand-built nodes and steps. Kernel.h defines the value; this header only makes
// one of each kind.
#pragma once

#include "backends/reference/Kernel.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plumb::ref {

inline AttrValue intAttr(int64_t i) {
  AttrValue v;
  v.kind = AttrValue::Kind::Int;
  v.i = i;
  return v;
}
inline AttrValue floatAttr(double f) {
  AttrValue v;
  v.kind = AttrValue::Kind::Float;
  v.f = f;
  return v;
}
inline AttrValue stringAttr(std::string s) {
  AttrValue v;
  v.kind = AttrValue::Kind::String;
  v.s = std::move(s);
  return v;
}
inline AttrValue intsAttr(std::vector<int64_t> ints) {
  AttrValue v;
  v.kind = AttrValue::Kind::Ints;
  v.ints = std::move(ints);
  return v;
}
inline AttrValue floatsAttr(std::vector<double> floats) {
  AttrValue v;
  v.kind = AttrValue::Kind::Floats;
  v.floats = std::move(floats);
  return v;
}
inline AttrValue stringsAttr(std::vector<std::string> strings) {
  AttrValue v;
  v.kind = AttrValue::Kind::Strings;
  v.strings = std::move(strings);
  return v;
}
inline AttrValue tensorAttr(Tensor t) {
  AttrValue v;
  v.kind = AttrValue::Kind::Tensor;
  v.t = std::move(t);
  return v;
}

} // namespace plumb::ref
