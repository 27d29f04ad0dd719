// Computes TensorMetrics by streaming both tensors in chunks (no full copies), accumulating in
// double with compensated sums; only the |a-b| values are kept, for the exact 99th percentile.
#include "parity/Metrics.h"

#include "runtime/DType.h"
#include "runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace plumb::parity {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kChunk = 4096;

// Neumaier's compensated sum. A naive running sum over millions of elements loses exactly the
// low digits that small parity errors live in.
struct Sum {
  double s = 0, c = 0;
  void add(double x) {
    double t = s + x;
    c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  }
  double value() const { return s + c; }
};

template <typename Src, typename T>
void convertRun(const void *p, int64_t begin, int64_t n, T *out) {
  const Src *q = static_cast<const Src *>(p) + begin;
  for (int64_t i = 0; i < n; ++i)
    out[i] = T(q[i]);
}

// Elements [begin, begin+n) of `t` as T (double, or long double which holds every 64-bit
// integer exactly).
template <typename T> void load(const Tensor &t, int64_t begin, int64_t n, T *out) {
  const void *p = t.raw();
  switch (t.dtype()) {
  case DType::F32: return convertRun<float>(p, begin, n, out);
  case DType::F64: return convertRun<double>(p, begin, n, out);
  case DType::I64: return convertRun<int64_t>(p, begin, n, out);
  case DType::I32: return convertRun<int32_t>(p, begin, n, out);
  case DType::I16: return convertRun<int16_t>(p, begin, n, out);
  case DType::I8: return convertRun<int8_t>(p, begin, n, out);
  case DType::U8: return convertRun<uint8_t>(p, begin, n, out);
  case DType::U16: return convertRun<uint16_t>(p, begin, n, out);
  case DType::U32: return convertRun<uint32_t>(p, begin, n, out);
  case DType::U64: return convertRun<uint64_t>(p, begin, n, out);
  case DType::F16:
  case DType::BF16:
  case DType::Bool: break;
  case DType::F8E4M3FN:
  case DType::F8E4M3FNUZ:
  case DType::F8E5M2:
  case DType::F8E5M2FNUZ:
  case DType::U4:
  case DType::I4:
  case DType::F4E2M1:
  case DType::F8E8M0:
    for (int64_t i = 0; i < n; ++i) // decoded one by one (Tensor knows the formats)
      out[i] = T(t.getAsDouble(begin + i));
    return;
  }
  const uint16_t *h = static_cast<const uint16_t *>(p) + begin;
  const uint8_t *b = static_cast<const uint8_t *>(p) + begin;
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype() == DType::F16)
      out[i] = T(halfToFloat(h[i]));
    else if (t.dtype() == DType::BF16)
      out[i] = T(bf16ToFloat(h[i]));
    else
      out[i] = b[i] ? T(1) : T(0);
  }
}

// Calls f(flatIndex, value) for every element of `t`.
template <typename F> void forEachValue(const Tensor &t, F &&f) {
  std::vector<double> v(size_t(std::min(kChunk, std::max<int64_t>(t.numel(), 1))));
  for (int64_t begin = 0, n = t.numel(); begin < n; begin += kChunk) {
    int64_t len = std::min(kChunk, n - begin);
    load(t, begin, len, v.data());
    for (int64_t i = 0; i < len; ++i)
      f(begin + i, v[size_t(i)]);
  }
}

// Calls f(flatIndex, a, b, |a-b|) for every position. Integer and bool pairs take |a-b| from an
// exact long double subtraction so that 64-bit values beyond 2^53 still compare exactly.
template <typename F> void forEachPair(const Tensor &a, const Tensor &b, F &&f) {
  const bool exact = !isFloat(a.dtype()) && !isFloat(b.dtype());
  const size_t cap = size_t(std::min(kChunk, std::max<int64_t>(b.numel(), 1)));
  std::vector<double> av(cap), bv(cap);
  std::vector<long double> al(exact ? cap : 0), bl(exact ? cap : 0);
  for (int64_t begin = 0, n = b.numel(); begin < n; begin += kChunk) {
    int64_t len = std::min(kChunk, n - begin);
    if (exact) {
      load(a, begin, len, al.data());
      load(b, begin, len, bl.data());
      for (size_t i = 0; i < size_t(len); ++i) {
        av[i] = double(al[i]);
        bv[i] = double(bl[i]);
      }
    } else {
      load(a, begin, len, av.data());
      load(b, begin, len, bv.data());
    }
    for (size_t i = 0; i < size_t(len); ++i) {
      double e = exact ? double(std::fabs(al[i] - bl[i])) : std::fabs(av[i] - bv[i]);
      f(begin + int64_t(i), av[i], bv[i], e);
    }
  }
}

// ---- ULP distance ----

enum class UlpKind { F32, F16, BF16, F64, Int };

UlpKind ulpKind(DType t) {
  switch (t) {
  case DType::F32: return UlpKind::F32;
  case DType::F16: return UlpKind::F16;
  case DType::BF16: return UlpKind::BF16;
  case DType::F64: return UlpKind::F64;
  default: return UlpKind::Int;
  }
}

const char *ulpName(UlpKind k) {
  switch (k) {
  case UlpKind::F32: return "f32";
  case UlpKind::F16: return "f16";
  case UlpKind::BF16: return "bf16";
  case UlpKind::F64: return "f64";
  case UlpKind::Int: return "int";
  }
  return "int";
}

// IEEE values are sign-magnitude: the magnitude bits of same-signed values are ordered like
// the values, and across zero the distance is the sum of both magnitudes (so -0 and +0 are 0
// apart). Unsigned arithmetic cannot overflow: each magnitude is below 2^(bits-1).
uint64_t orderedDistance(uint64_t ua, uint64_t ub, int bits) {
  const uint64_t signBit = uint64_t(1) << (bits - 1);
  const uint64_t ma = ua & (signBit - 1), mb = ub & (signBit - 1);
  if ((ua & signBit) == (ub & signBit))
    return ma > mb ? ma - mb : mb - ma;
  return ma + mb;
}

// a and b are finite; b is exactly representable in the reference type, a is rounded to it.
double ulpDistance(UlpKind k, double a, double b, double absErr) {
  switch (k) {
  case UlpKind::F32: {
    float fa = float(a), fb = float(b);
    uint32_t ua, ub;
    std::memcpy(&ua, &fa, 4);
    std::memcpy(&ub, &fb, 4);
    return double(orderedDistance(ua, ub, 32));
  }
  case UlpKind::F16:
    return double(orderedDistance(floatToHalf(float(a)), floatToHalf(float(b)), 16));
  case UlpKind::BF16:
    return double(orderedDistance(floatToBf16(float(a)), floatToBf16(float(b)), 16));
  case UlpKind::F64: {
    uint64_t ua, ub;
    std::memcpy(&ua, &a, 8);
    std::memcpy(&ub, &b, 8);
    return double(orderedDistance(ua, ub, 64));
  }
  case UlpKind::Int: return absErr;
  }
  return absErr;
}

// ---- helpers ----

// num/den where a zero denominator means "no scale": inf if there is anything to scale, else 0.
double ratio(double num, double den) {
  if (den == 0)
    return num > 0 ? kInf : 0;
  return num / den;
}

// The q-quantile with numpy's default linear interpolation, exact: nth_element for the lower
// neighbour, then the smallest of the rest for the upper one. Reorders `v`.
double quantile(std::vector<double> &v, double q) {
  if (v.empty())
    return 0;
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(pos);
  const double frac = pos - double(lo);
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(lo), v.end());
  const double low = v[lo];
  if (frac == 0 || lo + 1 >= v.size())
    return low;
  const double high = *std::min_element(v.begin() + std::ptrdiff_t(lo) + 1, v.end());
  return low + frac * (high - low);
}

std::vector<int64_t> unravel(int64_t flat, const Shape &shape) {
  std::vector<int64_t> pos(shape.size(), 0);
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] > 0) {
      pos[d] = flat % shape[d];
      flat /= shape[d];
    }
  }
  return pos;
}

// First pass over the pairs: everything that needs no mean or scale.
struct PairPass1 {
  int64_t finite = 0, fail = 0, nanMismatch = 0, infMismatch = 0;
  Sum sumA, sumB, sumE;
  double minA = kInf, maxA = -kInf, minB = kInf, maxB = -kInf, maxAbsA = 0, maxAbsB = 0;
  double maxE = -1, maxUlp = 0;
  int64_t maxEIndex = -1;
  std::vector<double> errs;
};

PairPass1 firstPass(const Tensor &a, const Tensor &b, const MetricOptions &opts, UlpKind ulp) {
  PairPass1 p;
  p.errs.reserve(size_t(b.numel()));
  forEachPair(a, b, [&](int64_t i, double x, double y, double e) {
    if (!std::isfinite(x) || !std::isfinite(y)) {
      const bool nx = std::isnan(x), ny = std::isnan(y);
      if (nx != ny)
        ++p.nanMismatch;
      else if (!nx && x != y) // an Inf against a finite value or the opposite Inf
        ++p.infMismatch;
      else
        return; // NaN/NaN or the same Inf: equal
      ++p.fail;
      return;
    }
    ++p.finite;
    p.sumA.add(x);
    p.sumB.add(y);
    p.sumE.add(e);
    p.minA = std::min(p.minA, x), p.maxA = std::max(p.maxA, x);
    p.minB = std::min(p.minB, y), p.maxB = std::max(p.maxB, y);
    p.maxAbsA = std::max(p.maxAbsA, std::fabs(x));
    p.maxAbsB = std::max(p.maxAbsB, std::fabs(y));
    if (e > p.maxE)
      p.maxE = e, p.maxEIndex = i;
    if (e > opts.atol + opts.rtol * std::fabs(y))
      ++p.fail;
    p.maxUlp = std::max(p.maxUlp, ulpDistance(ulp, x, y, e));
    p.errs.push_back(e);
  });
  return p;
}

// Second pass over the finite pairs: relative errors and second moments. Every value is
// divided by a common scale first so that squares neither overflow nor underflow; all the
// quantities built from them are ratios or are scaled back.
struct PairPass2 {
  Sum rel, ee, aa, bb, ab, caa, cbb, cab;
  double maxRel = 0;
  int64_t maxRelIndex = -1;
};

PairPass2 secondPass(const Tensor &a, const Tensor &b, double meanA, double meanB, double scale,
                     double guard) {
  PairPass2 p;
  forEachPair(a, b, [&](int64_t i, double x, double y, double e) {
    if (!std::isfinite(x) || !std::isfinite(y))
      return;
    const double r = e / (std::fabs(y) + guard);
    p.rel.add(r);
    if (p.maxRelIndex < 0 || r > p.maxRel)
      p.maxRel = r, p.maxRelIndex = i;
    const double xs = x / scale, ys = y / scale, es = e / scale;
    const double cx = (x - meanA) / scale, cy = (y - meanB) / scale;
    p.ee.add(es * es);
    p.aa.add(xs * xs);
    p.bb.add(ys * ys);
    p.ab.add(xs * ys);
    p.caa.add(cx * cx);
    p.cbb.add(cy * cy);
    p.cab.add(cx * cy);
  });
  return p;
}

double clampUnit(double v) { return std::max(-1.0, std::min(1.0, v)); }

// Pearson over the finite pairs, with the constant-tensor convention from Metrics.h.
double pearson(const PairPass1 &p1, const PairPass2 &p2) {
  const bool constA = p1.finite == 0 || p1.minA == p1.maxA;
  const bool constB = p1.finite == 0 || p1.minB == p1.maxB;
  if (constA || constB)
    return constA && constB && p1.minA == p1.minB ? 1.0 : 0.0;
  const double den = std::sqrt(p2.caa.value()) * std::sqrt(p2.cbb.value());
  return den > 0 ? clampUnit(p2.cab.value() / den) : 0.0;
}

double cosine(const PairPass2 &p2) {
  const double na = std::sqrt(p2.aa.value()), nb = std::sqrt(p2.bb.value());
  if (na == 0 || nb == 0)
    return na == nb ? 1.0 : 0.0;
  return clampUnit(p2.ab.value() / (na * nb));
}

void setWorst(TensorMetrics &m, const Tensor &a, const Tensor &b) {
  m.maxAbsErr = m.meanAbsErr = m.p99AbsErr = kInf;
  m.maxRelErr = m.meanRelErr = m.rmse = m.relL2 = m.maeOverStd = m.rmseOverStd = kInf;
  m.maxUlp = kInf;
  m.cosine = m.pearson = 0;
  m.snrDb = -kInf;
  m.failCount = std::max(a.numel(), b.numel());
}

void checkDefined(const Tensor &t, const char *which) {
  if (!t.defined())
    throw Error(std::string("parity comparison: the ") + which + " tensor is undefined");
}

} // namespace

TensorSummary summarize(const Tensor &t) {
  checkDefined(t, "summarized");
  TensorSummary s;
  s.dtype = dtypeName(t.dtype());
  s.shape = shapeToString(t.shape());
  s.numel = t.numel();
  Sum sum;
  int64_t finite = 0;
  double lo = kInf, hi = -kInf;
  forEachValue(t, [&](int64_t i, double v) {
    if (std::isnan(v)) {
      if (s.nanCount++ == 0)
        s.firstNan = i;
    } else if (std::isinf(v)) {
      if (s.infCount++ == 0)
        s.firstInf = i;
    } else {
      ++finite;
      sum.add(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  });
  if (finite == 0)
    return s;
  s.mean = sum.value() / double(finite);
  s.min = lo;
  s.max = hi;
  s.maxAbs = std::max(std::fabs(lo), std::fabs(hi));
  // Centred second pass (no sum-of-squares cancellation), scaled against overflow.
  const double scale = s.maxAbs > 0 ? s.maxAbs : 1.0;
  Sum sq;
  forEachValue(t, [&](int64_t, double v) {
    if (std::isfinite(v)) {
      const double c = (v - s.mean) / scale;
      sq.add(c * c);
    }
  });
  s.std = lo == hi ? 0.0 : scale * std::sqrt(sq.value() / double(finite));
  return s;
}

TensorMetrics compareTensors(const Tensor &candidate, const Tensor &reference,
                             const MetricOptions &opts) {
  checkDefined(candidate, "candidate");
  checkDefined(reference, "reference");
  TensorMetrics m;
  m.candidate = summarize(candidate);
  m.reference = summarize(reference);
  m.shapeMatch = candidate.shape() == reference.shape();
  m.dtypeMatch = candidate.dtype() == reference.dtype();
  m.numel = reference.numel();
  m.atol = opts.atol;
  m.rtol = opts.rtol;
  // ULPs of the coarser float type of the two: an f32 candidate against the f64 truth is
  // judged in f32 ULPs (in f64 ULPs every f32 rounding would read as ~1e8).
  auto mantissa = [](DType t) {
    return t == DType::F64 ? 52 : t == DType::F32 ? 23 : t == DType::F16 ? 10 : 7;
  };
  DType ulpType = reference.dtype();
  if (isFloat(candidate.dtype()) && isFloat(reference.dtype()) &&
      mantissa(candidate.dtype()) < mantissa(reference.dtype()))
    ulpType = candidate.dtype();
  const UlpKind ulp = ulpKind(ulpType);
  m.ulpDtype = ulpName(ulp);
  if (!m.shapeMatch) {
    setWorst(m, candidate, reference);
    return m;
  }

  PairPass1 p1 = firstPass(candidate, reference, opts, ulp);
  m.finitePairs = p1.finite;
  m.failCount = p1.fail;
  m.nanMismatch = p1.nanMismatch;
  m.infMismatch = p1.infMismatch;
  m.relGuard = std::max(opts.relGuardAbs, opts.relGuardFrac * p1.maxAbsB);
  m.snrDb = kInf;
  if (p1.finite == 0)
    return m; // nothing finite to measure: errors 0, cosine/pearson 1 (the defaults)

  const double n = double(p1.finite);
  m.maxAbsErr = p1.maxE;
  m.maxAbsErrIndex = p1.maxEIndex;
  m.maxAbsErrPos = unravel(p1.maxEIndex, reference.shape());
  m.meanAbsErr = p1.sumE.value() / n;
  m.p99AbsErr = quantile(p1.errs, 0.99);
  m.maxUlp = p1.maxUlp;

  const double scaleRaw = std::max(p1.maxAbsA, p1.maxAbsB);
  const double scale = scaleRaw > 0 ? scaleRaw : 1.0;
  PairPass2 p2 = secondPass(candidate, reference, p1.sumA.value() / n, p1.sumB.value() / n,
                            scale, m.relGuard);
  m.maxRelErr = p2.maxRel;
  m.maxRelErrIndex = p2.maxRelIndex;
  m.meanRelErr = p2.rel.value() / n;
  const double errNorm = std::sqrt(p2.ee.value()), refNorm = std::sqrt(p2.bb.value());
  m.rmse = scale * std::sqrt(p2.ee.value() / n);
  m.relL2 = ratio(errNorm, refNorm);
  m.maeOverStd = ratio(m.meanAbsErr, m.reference.std);
  m.rmseOverStd = ratio(m.rmse, m.reference.std);
  m.cosine = cosine(p2);
  m.pearson = pearson(p1, p2);
  if (p2.ee.value() > 0)
    m.snrDb = p2.bb.value() > 0 ? 10.0 * std::log10(p2.bb.value() / p2.ee.value()) : -kInf;
  return m;
}

nlohmann::json jsonNumber(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  return v;
}

namespace {
nlohmann::json jsonPosition(int64_t i) {
  return i < 0 ? nlohmann::json(nullptr) : nlohmann::json(i);
}
} // namespace

nlohmann::json toJson(const TensorSummary &s) {
  return {{"dtype", s.dtype},
          {"shape", s.shape},
          {"numel", s.numel},
          {"mean", jsonNumber(s.mean)},
          {"std", jsonNumber(s.std)},
          {"min", jsonNumber(s.min)},
          {"max", jsonNumber(s.max)},
          {"max_abs", jsonNumber(s.maxAbs)},
          {"nan_count", s.nanCount},
          {"first_nan", jsonPosition(s.firstNan)},
          {"inf_count", s.infCount},
          {"first_inf", jsonPosition(s.firstInf)}};
}

nlohmann::json toJson(const TensorMetrics &m) {
  nlohmann::json j;
  j["shape_match"] = m.shapeMatch;
  j["dtype_match"] = m.dtypeMatch;
  j["numel"] = m.numel;
  j["finite_pairs"] = m.finitePairs;
  j["candidate"] = toJson(m.candidate);
  j["reference"] = toJson(m.reference);
  j["max_abs_err"] = jsonNumber(m.maxAbsErr);
  j["max_abs_err_index"] = jsonPosition(m.maxAbsErrIndex);
  j["max_abs_err_position"] = m.maxAbsErrPos;
  j["mean_abs_err"] = jsonNumber(m.meanAbsErr);
  j["p99_abs_err"] = jsonNumber(m.p99AbsErr);
  j["rel_guard"] = jsonNumber(m.relGuard);
  j["max_rel_err"] = jsonNumber(m.maxRelErr);
  j["max_rel_err_index"] = jsonPosition(m.maxRelErrIndex);
  j["mean_rel_err"] = jsonNumber(m.meanRelErr);
  j["rmse"] = jsonNumber(m.rmse);
  j["rel_l2"] = jsonNumber(m.relL2);
  j["mae_over_std"] = jsonNumber(m.maeOverStd);
  j["rmse_over_std"] = jsonNumber(m.rmseOverStd);
  j["cosine"] = jsonNumber(m.cosine);
  j["pearson"] = jsonNumber(m.pearson);
  j["snr_db"] = jsonNumber(m.snrDb);
  j["max_ulp"] = jsonNumber(m.maxUlp);
  j["ulp_dtype"] = m.ulpDtype;
  j["atol"] = jsonNumber(m.atol);
  j["rtol"] = jsonNumber(m.rtol);
  j["fail_count"] = m.failCount;
  j["nan_mismatch"] = m.nanMismatch;
  j["inf_mismatch"] = m.infMismatch;
  return j;
}

} // namespace plumb::parity
