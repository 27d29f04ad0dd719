// The tolerance rules `plumb check` and `plumb bisect` use by default, per precision mode.
#pragma once

#include "parity/Tolerance.h"

#include <memory>
#include <string>

namespace plumb {

// Default rules (README, "Tolerance rules"): f32 candidates use the noise-floor rule with
// multiple 10. A half-type candidate is held to the same rule scaled by how much coarser that
// type is than f32: machine epsilon (the spacing of values in [1, 2)) f16 = 2^-10 (11-bit
// significand), bf16 = 2^-7 (8-bit), f32 = 2^-23, so the multiple becomes
// 10 x eps(type)/eps(f32) (81920 for f16, 655360 for bf16) and the absolute term
// eps(type) x max|truth|: one unit in the last place at the tensor's largest value, i.e.
// twice the most one rounding can move it (unit roundoff u = eps/2: 2^-11 = 4.9e-4 for f16,
// 2^-8 = 3.9e-3 for bf16). That term is what passes tensors whose f32 floor is 0 (an
// embedding lookup, a Reshape: exact in f32, rounded once in the half type).
// Two candidates use it: the reference rounding every node to the type (`check --dtype`) and
// a cuda plan stored in the type (`check --backend cuda --dtype`). The cuda plan rounds a
// subset of what the simulation rounds (tensors at fusion boundaries and weights; arithmetic
// inside kernels and matmul/conv accumulation stays f32), so the same bound holds for it.
// `spec`, when not empty, overrides (parity::parseToleranceRule syntax).
std::unique_ptr<parity::ToleranceRule> ruleFor(const std::string &dtype, const std::string &spec);

} // namespace plumb
