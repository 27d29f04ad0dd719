// Internal to backends/cpu: inline AVX2+FMA math on 8 floats (exp, log, erf, sin, cos, tanh,
// softplus, GELU, Mish), for the .cpp files
// that compile their hot loops with PLUMB_AVX2 and pick them at run time (vec::hasAvx2()).
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <initializer_list>
#include <limits>
#define PLUMB_X86 1
#define PLUMB_AVX2 __attribute__((target("avx2,fma")))

namespace plumb::cpu::vec {

// The polynomial with coefficients `c` (highest degree first) at z, by Horner's rule on FMAs.
PLUMB_AVX2 inline __m256 horner256(__m256 z, std::initializer_list<float> c) {
  const float *k = c.begin();
  __m256 p = _mm256_set1_ps(*k);
  for (++k; k != c.end(); ++k)
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(*k));
  return p;
}

// exp(x) = 2^k * p(r), k = round(x / ln2), r = x - k ln2 (Cody-Waite, two constants), p the
// degree-7 Taylor polynomial (|r| <= ln2/2: truncation error below 6e-9 relative). Inputs
// below -87.3 (where 2^k would be subnormal) give 0; inputs above 88.7 are clamped there.
PLUMB_AVX2 inline __m256 exp256(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.7228f), lo = _mm256_set1_ps(-87.3365f);
  __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
  // k is in [-126, 128]: 2^k as two powers so that k = 128 stays finite in between.
  __m256i ki = _mm256_cvtps_epi32(k);
  __m256i half = _mm256_srai_epi32(ki, 1);
  __m256 s1 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ki, half), _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_andnot_ps(underflow, y);
}

// log(x), within 1 ulp of the correctly rounded result on the whole f32 range (subnormals
// included); 0 gives -inf, a negative x NaN, +inf and NaN themselves. x = 2^k m with m in
// [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f): log(m) = log1p(f) = 2 atanh(s)
// = 2s + s R(s^2), R(z) = 2z/3 + 2z^2/5 + ... (|s| < 0.172: five terms leave 2e-9), written
// f - (f^2/2 - s (f^2/2 + R)) so that the large terms cancel exactly, plus k ln2 in two parts
// (k ln2_hi exact). oneDNN's eltwise_log was 1.4e-6 off at x = 1 (thousands of ulps near it).
PLUMB_AVX2 inline __m256 log256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  // Subnormals: scaled by 2^23 into the normal range, the exponent corrected after.
  __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.f)), tiny);
  __m256i bits = _mm256_castps_si256(xs);
  __m256 k = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  k = _mm256_sub_ps(k, _mm256_and_ps(tiny, _mm256_set1_ps(23.f)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
  __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  k = _mm256_add_ps(k, _mm256_and_ps(big, one));
  __m256 f = _mm256_sub_ps(m, one);
  __m256 s = _mm256_div_ps(f, _mm256_add_ps(f, _mm256_set1_ps(2.f)));
  __m256 z = _mm256_mul_ps(s, s);
  __m256 r = _mm256_set1_ps(2.f / 11);
  r = _mm256_fmadd_ps(r, z, _mm256_set1_ps(2.f / 9));
  r = _mm256_fmadd_ps(r, z, _mm256_set1_ps(2.f / 7));
  r = _mm256_fmadd_ps(r, z, _mm256_set1_ps(2.f / 5));
  r = _mm256_fmadd_ps(r, z, _mm256_set1_ps(2.f / 3));
  r = _mm256_mul_ps(r, z);
  __m256 hfsq = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_mul_ps(f, f));
  // ln 2 = ln2_hi + ln2_lo, ln2_hi with 16 significant bits (k has at most 8).
  __m256 a = _mm256_fmadd_ps(s, _mm256_add_ps(hfsq, r),
                             _mm256_mul_ps(k, _mm256_set1_ps(1.42860677e-06f)));
  __m256 y = _mm256_fmsub_ps(k, _mm256_set1_ps(0.693145752f),
                             _mm256_sub_ps(_mm256_sub_ps(hfsq, a), f));
  // Special inputs, in order: +inf, 0 (either sign), negative, NaN.
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  y = _mm256_blendv_ps(y, inf, _mm256_cmp_ps(x, inf, _CMP_EQ_OQ));
  y = _mm256_blendv_ps(y, _mm256_sub_ps(_mm256_setzero_ps(), inf),
                       _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()),
                       _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// erf: on |x| <= 1, x P(x^2), P of degree 6 (a least-squares fit of erf(x) / x, 1.4e-9
// relative); on 1 < |x| < 4, 1 - e^(-x^2) Q(t), t = (|x| - 2.5) / 1.5, Q of degree 12 fit to
// erfc(x) e^(x^2) (5e-8 relative with f32 coefficients), e^(-x^2) with x^2's rounding error
// folded in; +-1 from 4 on (erfc(4) = 1.5e-8, below half an ulp of 1). Odd; NaN stays NaN.
PLUMB_AVX2 inline __m256 erf256(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 z = _mm256_mul_ps(ax, ax);
  // The constant term as 1.1283792f plus its rounding error (the last coefficient here): x c0
  // rounds once.
  __m256 p = horner256(z, {7.898139201e-05f, -8.024335334e-04f, 5.190051766e-03f,
                           -2.685480777e-02f, 1.128361242e-01f, -3.761262884e-01f,
                           -5.92206058e-08f});
  __m256 small = _mm256_fmadd_ps(ax, _mm256_set1_ps(1.1283792f), _mm256_mul_ps(ax, p));
  __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_min_ps(ax, _mm256_set1_ps(4.f)),
                                         _mm256_set1_ps(2.5f)),
                           _mm256_set1_ps(1.f / 1.5f));
  __m256 q = horner256(t, {1.244585985e-05f, -3.665559504e-05f, 5.902009070e-05f,
                           -1.446925280e-04f, 4.099895470e-04f, -1.016382711e-03f,
                           2.404004399e-03f, -5.567649596e-03f, 1.248917577e-02f,
                           -2.700566988e-02f, 5.611051654e-02f, -1.115210074e-01f,
                           2.108063637e-01f});
  __m256 zerr = _mm256_fmsub_ps(ax, ax, z); // ax^2 = z + zerr exactly
  __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), z));
  e = _mm256_fnmadd_ps(e, zerr, e); // e^(-z - zerr) to first order
  __m256 large = _mm256_fnmadd_ps(e, q, _mm256_set1_ps(1.f));
  __m256 y = _mm256_blendv_ps(small, large, _mm256_cmp_ps(ax, _mm256_set1_ps(1.f), _CMP_GT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(1.f), _mm256_cmp_ps(ax, _mm256_set1_ps(4.f), _CMP_GE_OQ));
  y = _mm256_or_ps(y, _mm256_and_ps(x, sign));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// sin(x) (Cosine = false) or cos(x): k = round(x 2/pi), r = x - k pi/2 with pi/2 in three
// parts (each FMA exact but for its one rounding: r within an ulp of the exact remainder for
// |x| < 65536), then the Taylor polynomials of sin and cos on |r| <= pi/4 (to r^11 and r^12:
// truncation below 2e-9) picked and signed by k mod 4. Inputs past 65536 in magnitude, infinities
// and NaN take libm lane by lane (`scalar`).
template <bool Cosine>
PLUMB_AVX2 inline __m256 sinCos256(__m256 x, float (*scalar)(float)) {
  __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x);
  if (_mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(65536.f), _CMP_NLT_UQ))) {
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (float &f : v)
      f = scalar(f);
    return _mm256_load_ps(v);
  }
  __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.636619747f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.57079637f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-4.37113883e-08f), r);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-1.71512451e-15f), r);
  __m256 z = _mm256_mul_ps(r, r);
  __m256 s = horner256(z, {-1.f / 39916800, 1.f / 362880, -1.f / 5040, 1.f / 120, -1.f / 6});
  s = _mm256_fmadd_ps(_mm256_mul_ps(s, z), r, r); // sin r
  __m256 c = horner256(z, {1.f / 479001600, -1.f / 3628800, 1.f / 40320, -1.f / 720, 1.f / 24});
  c = _mm256_fmadd_ps(_mm256_mul_ps(c, z), z, _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f),
                                                               _mm256_set1_ps(1.f))); // cos r
  // Quadrant q = k mod 4 (cos(x) = sin(x + pi/2): q + 1): odd q swaps sin and cos, q of 2 or
  // 3 negates.
  __m256i q = _mm256_cvtps_epi32(k);
  if (Cosine)
    q = _mm256_add_epi32(q, _mm256_set1_epi32(1));
  __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(q, 31));
  __m256 neg = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(q, 1), 31));
  __m256 y = _mm256_blendv_ps(s, c, swap);
  return _mm256_xor_ps(y, neg);
}

// tanh: on |x| < 0.625, x + x^3 P(x^2), P of degree 5 (a least-squares fit of
// (tanh(x) - x) / x^3, 2.6e-9 relative with f32 coefficients); from there,
// 1 - 2 / (e^(2|x|) + 1) (at most one bit lost to the subtraction), +-1 from 9.1 on
// (1 - tanh(9.1) = 2.5e-8, below half an ulp of 1). Odd; NaN stays NaN.
PLUMB_AVX2 inline __m256 tanh256(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f);
  __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = horner256(z, {2.148957378e-03f, -8.184633582e-03f, 2.170398953e-02f,
                           -5.394745229e-02f, 1.333321249e-01f, -3.333333101e-01f});
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
  __m256 e = exp256(_mm256_add_ps(_mm256_min_ps(ax, _mm256_set1_ps(9.1f)),
                                  _mm256_min_ps(ax, _mm256_set1_ps(9.1f))));
  __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, one)));
  __m256 y = _mm256_blendv_ps(small, large, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GE_OQ));
  y = _mm256_blendv_ps(y, one, _mm256_cmp_ps(ax, _mm256_set1_ps(9.1f), _CMP_GE_OQ));
  y = _mm256_or_ps(y, _mm256_and_ps(x, sign));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Softplus: max(x, 0) + log1p(e^-|x|), log1p(t) = log(u) t / (u - 1) with u = 1 + t rounded
// (exact to a few ulps: the division undoes u's rounding), t itself where u rounds to 1.
PLUMB_AVX2 inline __m256 softplus256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x);
  __m256 t = exp256(_mm256_sub_ps(_mm256_setzero_ps(), ax));
  __m256 u = _mm256_add_ps(one, t);
  __m256 um1 = _mm256_sub_ps(u, one);
  __m256 l = _mm256_div_ps(_mm256_mul_ps(log256(u), t), um1);
  l = _mm256_blendv_ps(l, t, _mm256_cmp_ps(um1, _mm256_setzero_ps(), _CMP_EQ_OQ));
  __m256 y = _mm256_add_ps(_mm256_max_ps(x, _mm256_setzero_ps()), l);
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); // NaN stays NaN
}

// Mish: x tanh(softplus(x)) = x n / (n + 2), n = e^x (e^x + 2) (tanh(log(1 + e^x)) written
// out): no cancellation for very negative x, where it is x e^x; x itself past 20, where
// tanh(softplus(x)) rounds to 1.
PLUMB_AVX2 inline __m256 mish256(__m256 x) {
  __m256 e = exp256(_mm256_min_ps(x, _mm256_set1_ps(20.f)));
  __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, _mm256_set1_ps(2.f)));
  __m256 y = _mm256_div_ps(_mm256_mul_ps(x, n), _mm256_add_ps(n, _mm256_set1_ps(2.f)));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, _mm256_set1_ps(20.f), _CMP_GT_OQ));
}

// Gelu(approximate=tanh): 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x / (1 + exp(-2u)) (the same function; no cancellation where tanh(u) is near -1).
PLUMB_AVX2 inline __m256 geluTanh256(__m256 x) {
  __m256 x2 = _mm256_mul_ps(x, x);
  __m256 u = _mm256_mul_ps(
      _mm256_mul_ps(x, _mm256_set1_ps(0.797884583f)),
      _mm256_fmadd_ps(x2, _mm256_set1_ps(0.044715f), _mm256_set1_ps(1.f)));
  __m256 e = exp256(_mm256_mul_ps(u, _mm256_set1_ps(-2.f)));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

// Gelu (erf): 0.5 x (1 + erf(z)), z = x / sqrt(2), with erf from Abramowitz-Stegun 7.1.26
// (absolute error below 1.5e-7): 1 - erf(|z|) = q(t) exp(-z^2), t = 1 / (1 + 0.3275911 |z|).
// For z < 0, 1 + erf(z) is q itself, so small outputs keep their relative accuracy.
PLUMB_AVX2 inline __m256 geluErf256(__m256 x) {
  __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.707106781f));
  __m256 az = _mm256_andnot_ps(_mm256_set1_ps(-0.f), z);
  __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f),
                           _mm256_fmadd_ps(az, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.f)));
  __m256 q = _mm256_set1_ps(1.061405429f);
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.453152027f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.421413741f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.284496736f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.254829592f));
  q = _mm256_mul_ps(_mm256_mul_ps(q, t), exp256(_mm256_mul_ps(_mm256_mul_ps(z, z), _mm256_set1_ps(-1.f))));
  __m256 onePlusErf = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.f), q), q,
                                       _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), onePlusErf);
}

} // namespace plumb::cpu::vec
#endif
