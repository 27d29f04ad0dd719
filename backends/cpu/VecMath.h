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

// y = x - max - log(sum(exp(x - max))) along `len` of the [len, inner] block at x (inner
// contiguous; inner = 1: a row), written to y (may be x). Each x - max is carried exactly
// (its rounding error folded into the exponential), the sum kept in double and its log taken
// in double: within a few ulps of the exact result, where oneDNN's softmax_log was 1.3e-6 off
// (2864 ulps) on a row's largest entry when the others are small (its log of a sum near 1).
// A row holding NaN gives NaN; one of -inf only, NaN.
void logSoftmaxBlock(const float *x, float *y, int64_t len, int64_t inner);
// y = exp(x - max) / sum(exp(x - max)) along `len` of a [len, inner] block, eight columns at a
// time: what a softmax over a channel axis needs (oneDNN's softmax_v2 took 39 ms where this
// takes 1.2 ms on [4, 21, 128, 128] along axis 1, 2 threads). Same exact differences and
// double sum as logSoftmaxBlock; NaN, -inf and +inf rows as there.
void softmaxBlock(const float *x, float *y, int64_t len, int64_t inner);

// y[i] = x[i] / d (div = true) or x[i] * d.
void scaleRow(float *x, int64_t n, float d, bool div);

// Gelu(approximate=tanh) of one value: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
float geluTanh(float x);

// In place over x[0..n): x = geluTanh(x), on the OpenMP team when n is large (the AVX2 body is
// Avx2Math.h's geluTanh256).
void geluTanhInPlace(float *x, int64_t n);

} // namespace plumb::cpu::vec
