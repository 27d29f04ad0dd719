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

// The scalar path (and the AVX2 one's tail columns): column j of the [len, inner] block,
// log-softmax (Log) or softmax, the sum in double.
template <bool Log>
void softmaxColumn(const float *x, float *y, int64_t len, int64_t inner, int64_t j) {
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < len; ++i) {
    float v = x[i * inner + j];
    nan |= std::isnan(v);
    m = std::max(m, v);
  }
  double s = 0;
  for (int64_t i = 0; i < len; ++i)
    s += std::exp(double(x[i * inner + j]) - double(m));
  if (nan)
    s = std::nan("");
  double off = double(m) + std::log(s);
  for (int64_t i = 0; i < len; ++i) {
    double d = double(x[i * inner + j]) - off;
    y[i * inner + j] = float(Log ? d : std::exp(d));
  }
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

// x - m as d + err exactly (TwoSum), then e^(x - m) = e^d (1 + err) to first order.
PLUMB_AVX2 inline __m256 expOfDifference(__m256 x, __m256 m) {
  __m256 d = _mm256_sub_ps(x, m);
  __m256 back = _mm256_sub_ps(d, x); // -m as rounded into d
  __m256 err = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_sub_ps(d, back)),
                             _mm256_add_ps(m, back));
  __m256 e = exp256(d);
  // An infinite or NaN difference leaves err NaN: e^d alone then.
  __m256 ok = _mm256_cmp_ps(err, err, _CMP_ORD_Q);
  return _mm256_blendv_ps(e, _mm256_fmadd_ps(e, err, e), ok);
}

PLUMB_AVX2 inline void addWiden(__m256 e, __m256d &lo, __m256d &hi) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

PLUMB_AVX2 inline __m256 minusOffset(__m256 x, __m256d lo, __m256d hi) {
  __m128 a = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), lo));
  __m128 b = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), hi));
  return _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
}

PLUMB_AVX2 void logSoftmaxRowAvx2(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 nan = _mm256_setzero_ps(); // max_ps drops NaNs: they are looked for apart
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    vm = _mm256_max_ps(vm, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  float m = hmax(vm);
  for (; i < n; ++i)
    m = std::max(m, x[i]);
  if (!std::isfinite(m) || _mm256_movemask_ps(nan))
    return softmaxColumn<true>(x, y, n, 1, 0);
  __m256 bm = _mm256_set1_ps(m);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (i = 0; i + 8 <= n; i += 8)
    addWiden(expOfDifference(_mm256_loadu_ps(x + i), bm), lo, hi);
  double s = 0;
  for (; i < n; ++i)
    s += std::exp(double(x[i]) - double(m));
  alignas(32) double part[8];
  _mm256_store_pd(part, lo);
  _mm256_store_pd(part + 4, hi);
  for (double p : part)
    s += p;
  double off = double(m) + std::log(s);
  __m256d vo = _mm256_set1_pd(off);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, minusOffset(_mm256_loadu_ps(x + i), vo, vo));
  for (; i < n; ++i)
    y[i] = float(double(x[i]) - off);
}

// Eight columns of a [len, inner] block at once (inner > 1: a channel axis), then the rest;
// log-softmax (Log) or softmax (e^(x - m) / sum, the sum in double).
template <bool Log>
PLUMB_AVX2 void softmaxBlockAvx2(const float *x, float *y, int64_t len, int64_t inner) {
  int64_t j = 0;
  for (; j + 8 <= inner; j += 8) {
    __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256 nan = _mm256_setzero_ps();
    for (int64_t i = 0; i < len; ++i) {
      __m256 v = _mm256_loadu_ps(x + i * inner + j);
      vm = _mm256_max_ps(vm, v);
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    alignas(32) float m[8];
    _mm256_store_ps(m, vm);
    if (_mm256_movemask_ps(nan) ||
        std::any_of(m, m + 8, [](float v) { return !std::isfinite(v); })) {
      for (int64_t k = j; k < j + 8; ++k)
        softmaxColumn<Log>(x, y, len, inner, k);
      continue;
    }
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (int64_t i = 0; i < len; ++i)
      addWiden(expOfDifference(_mm256_loadu_ps(x + i * inner + j), vm), lo, hi);
    alignas(32) double sum[8];
    _mm256_store_pd(sum, lo);
    _mm256_store_pd(sum + 4, hi);
    if (Log) {
      for (int k = 0; k < 8; ++k)
        sum[k] = double(m[k]) + std::log(sum[k]); // the offset x - y
      __m256d olo = _mm256_load_pd(sum), ohi = _mm256_load_pd(sum + 4);
      for (int64_t i = 0; i < len; ++i)
        _mm256_storeu_ps(y + i * inner + j,
                         minusOffset(_mm256_loadu_ps(x + i * inner + j), olo, ohi));
    } else {
      alignas(32) float inv[8];
      for (int k = 0; k < 8; ++k)
        inv[k] = float(1 / sum[k]);
      __m256 vinv = _mm256_load_ps(inv);
      for (int64_t i = 0; i < len; ++i) {
        __m256 e = expOfDifference(_mm256_loadu_ps(x + i * inner + j), vm);
        _mm256_storeu_ps(y + i * inner + j, _mm256_mul_ps(e, vinv));
      }
    }
  }
  for (; j < inner; ++j)
    softmaxColumn<Log>(x, y, len, inner, j);
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

void logSoftmaxBlock(const float *x, float *y, int64_t len, int64_t inner) {
#ifdef PLUMB_X86
  if (hasAvx2())
    return inner == 1 ? logSoftmaxRowAvx2(x, y, len) : softmaxBlockAvx2<true>(x, y, len, inner);
#endif
  for (int64_t j = 0; j < inner; ++j)
    softmaxColumn<true>(x, y, len, inner, j);
}

void softmaxBlock(const float *x, float *y, int64_t len, int64_t inner) {
#ifdef PLUMB_X86
  if (hasAvx2())
    return softmaxBlockAvx2<false>(x, y, len, inner);
#endif
  for (int64_t j = 0; j < inner; ++j)
    softmaxColumn<false>(x, y, len, inner, j);
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
