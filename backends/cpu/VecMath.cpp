// Vectorised f32 row primitives: AVX2+FMA bodies compiled with a target attribute (the rest of
// the build stays portable) and picked at run time; scalar loops everywhere else.
#include "backends/cpu/VecMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <omp.h>

#include "backends/cpu/Avx2Math.h"

namespace plumb::cpu::vec {

bool hasAvx2() {
#ifdef PLUMB_X86
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#else
  return false;
#endif
}

namespace {

void softmaxScalar(float *x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i)
    m = std::max(m, x[i]);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  float inv = 1.f / sum;
  for (int64_t i = 0; i < n; ++i)
    x[i] *= inv;
}

#ifdef PLUMB_X86
PLUMB_AVX2 float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

PLUMB_AVX2 float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

PLUMB_AVX2 void softmaxAvx2(float *x, int64_t n) {
  int64_t i = 0;
  __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (; i + 8 <= n; i += 8)
    vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
  float m = hmax(vm);
  for (; i < n; ++i)
    m = std::max(m, x[i]);
  if (std::isinf(m)) // all -inf (or +inf present): the scalar path gives the IEEE answer
    return softmaxScalar(x, n);
  __m256 vmax = _mm256_set1_ps(m), vs = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    vs = _mm256_add_ps(vs, e);
  }
  float sum = hsum(vs);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  __m256 vinv = _mm256_set1_ps(1.f / sum);
  float inv = 1.f / sum;
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; ++i)
    x[i] *= inv;
}

PLUMB_AVX2 void scaleAvx2(float *x, int64_t n, float d, bool div) {
  __m256 vd = _mm256_set1_ps(d);
  int64_t i = 0;
  if (div) {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(x + i, _mm256_div_ps(_mm256_loadu_ps(x + i), vd));
    for (; i < n; ++i)
      x[i] /= d;
  } else {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vd));
    for (; i < n; ++i)
      x[i] *= d;
  }
}

PLUMB_AVX2 void geluTanhAvx2(float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, geluTanh256(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i)
    x[i] = geluTanh(x[i]);
}
#endif

void geluTanhRange(float *x, int64_t n) {
#ifdef PLUMB_X86
  if (hasAvx2())
    return geluTanhAvx2(x, n);
#endif
  for (int64_t i = 0; i < n; ++i)
    x[i] = geluTanh(x[i]);
}

} // namespace

float geluTanh(float x) {
  return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

void geluTanhInPlace(float *x, int64_t n) {
  constexpr int64_t kChunk = 16384; // 64 KiB per task
  int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks < 2 || omp_get_max_threads() == 1)
    return geluTanhRange(x, n);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c)
    geluTanhRange(x + c * kChunk, std::min(kChunk, n - c * kChunk));
}

void softmaxRow(float *x, int64_t n) {
#ifdef PLUMB_X86
  if (hasAvx2())
    return softmaxAvx2(x, n);
#endif
  softmaxScalar(x, n);
}

void scaleRow(float *x, int64_t n, float d, bool div) {
#ifdef PLUMB_X86
  if (hasAvx2())
    return scaleAvx2(x, n, d, div);
#endif
  for (int64_t i = 0; i < n; ++i)
    x[i] = div ? x[i] / d : x[i] * d;
}

} // namespace plumb::cpu::vec
