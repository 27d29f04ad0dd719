// Internal to backends/cpu: vectorised f32 row primitives (AVX2+FMA when the CPU has them,
// chosen at run time, with a portable scalar path) shared by the hand-written kernels.
#pragma once

#include <cstdint>

namespace plumb::cpu::vec {

// Whether the AVX2+FMA paths run on this CPU (checked once).
bool hasAvx2();

// In place over x[0..n): x = softmax(x) (max-subtracted, f32 accumulation). exp is a
// range-reduced degree-7 polynomial (relative error below 2e-7 on the whole f32 range that
// does not underflow); a row of -inf/-FLT_MAX entries next to finite ones gives exact zeros.
void softmaxRow(float *x, int64_t n);

// y[i] = x[i] / d (div = true) or x[i] * d.
void scaleRow(float *x, int64_t n, float d, bool div);

// Gelu(approximate=tanh) of one value: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float geluTanh(float x);

// In place over x[0..n): x = geluTanh(x), on the OpenMP team when n is large (the AVX2 body is
// Avx2Math.h's geluTanh256).
void geluTanhInPlace(float *x, int64_t n);

} // namespace plumb::cpu::vec
