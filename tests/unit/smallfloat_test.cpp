// The float8 / float4 / float8e8m0 / int4 conversions against the ONNX spec's definitions:
// every bit pattern decoded with an independent formula, and encoding compared with a
// brute-force search for the nearest representable value over all f16 bit patterns, random
// f32 values and the exact midpoints between neighbours.
#include "frontend/tensorio/TensorProto.h"
#include "runtime/Error.h"
#include "runtime/SmallFloat.h"
#include "runtime/Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace plumb;

namespace {

// The spec's table for one format (onnx docs/technical/float8.md, float4.md).
struct Spec {
  DType type;
  int expBits, mantBits, bias;
  double max;
  bool ieeeSpecials; // E5M2: exponent all ones is Inf / NaN
  bool uz;           // NaN is 0x80 and there is no -0
};

const Spec kSpecs[] = {
    {DType::F8E4M3FN, 4, 3, 7, 448, false, false},
    {DType::F8E4M3FNUZ, 4, 3, 8, 240, false, true},
    {DType::F8E5M2, 5, 2, 15, 57344, true, false},
    {DType::F8E5M2FNUZ, 5, 2, 16, 57344, false, true},
    {DType::F4E2M1, 2, 1, 1, 6, false, false},
};

int codeCount(const Spec &s) { return 1 << (1 + s.expBits + s.mantBits); }
int signBit(const Spec &s) { return 1 << (s.expBits + s.mantBits); }

// (-1)^S * 2^(E - bias) * (1 + M / 2^m), or 2^(1 - bias) * M / 2^m for E = 0, written with
// pow() straight from the spec rather than the ldexp arithmetic of the implementation.
double specValue(const Spec &s, int code) {
  int sign = code >> (s.expBits + s.mantBits) & 1;
  int e = (code >> s.mantBits) & ((1 << s.expBits) - 1);
  int m = code & ((1 << s.mantBits) - 1);
  double frac = double(m) / std::pow(2.0, s.mantBits);
  if (s.uz && code == signBit(s))
    return NAN;
  if (s.type == DType::F8E4M3FN && e == 15 && m == 7)
    return NAN;
  if (s.ieeeSpecials && e == (1 << s.expBits) - 1)
    return m ? NAN : (sign ? -INFINITY : INFINITY);
  double mag = e == 0 ? std::pow(2.0, 1 - s.bias) * frac : std::pow(2.0, e - s.bias) * (1 + frac);
  return sign ? -mag : mag;
}

TEST(SmallFloatTest, DecodeMatchesSpecFormula) {
  for (const Spec &s : kSpecs)
    for (int c = 0; c < codeCount(s); ++c) {
      double want = specValue(s, c);
      float got = smallFloatToFloat(s.type, uint8_t(c));
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(got)) << dtypeName(s.type) << " code " << c;
      else
        EXPECT_EQ(double(got), want) << dtypeName(s.type) << " code " << c;
    }
}

TEST(SmallFloatTest, SpecTableValues) {
  EXPECT_EQ(smallFloatToFloat(DType::F8E4M3FN, 0x7e), 448.0f);
  EXPECT_EQ(smallFloatToFloat(DType::F8E4M3FN, 0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(smallFloatToFloat(DType::F8E4M3FNUZ, 0x7f), 240.0f);
  EXPECT_EQ(smallFloatToFloat(DType::F8E5M2, 0x7b), 57344.0f);
  EXPECT_EQ(smallFloatToFloat(DType::F8E5M2, 0x7c), INFINITY);
  EXPECT_EQ(smallFloatToFloat(DType::F8E5M2FNUZ, 0x01), std::ldexp(1.0f, -17));
  const float e2m1[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 8; ++c) {
    EXPECT_EQ(smallFloatToFloat(DType::F4E2M1, uint8_t(c)), e2m1[c]);
    EXPECT_EQ(smallFloatToFloat(DType::F4E2M1, uint8_t(c | 8)), -e2m1[c]);
  }
  for (int c = 0; c < 255; ++c)
    EXPECT_EQ(smallFloatToFloat(DType::F8E8M0, uint8_t(c)), float(std::pow(2.0, c - 127)));
  EXPECT_TRUE(std::isnan(smallFloatToFloat(DType::F8E8M0, 0xff)));
}

// The pattern the spec's rules give for v: nearest finite value by brute force (ties to the
// code with an even last bit), where one step past the largest value stands for overflow.
uint8_t oracleEncode(const Spec &s, double v, bool saturate) {
  bool neg = std::signbit(v);
  int sign = neg ? signBit(s) : 0;
  int maxCode = 0;
  for (int c = 0; c < signBit(s); ++c)
    if (specValue(s, c) == s.max)
      maxCode = c;
  auto overflow = [&]() -> uint8_t {
    if (saturate || s.type == DType::F4E2M1)
      return uint8_t(sign | maxCode);
    if (s.ieeeSpecials)
      return uint8_t(sign | 0x7c);
    return uint8_t(s.uz ? 0x80 : sign | 0x7f);
  };
  if (std::isnan(v))
    return uint8_t(s.type == DType::F4E2M1 || s.uz ? signBit(s)
                                                   : (s.ieeeSpecials ? sign | 0x7e : sign | 0x7f));
  double a = std::fabs(v);
  if (std::isinf(a))
    return overflow();
  double ulpAtMax = s.max - specValue(s, maxCode - 1);
  if (a >= s.max + ulpAtMax) // far values: distances below would lose their precision
    return overflow();
  int best = -1;
  double bestDist = INFINITY;
  for (int c = 0; c <= maxCode + 1; ++c) { // maxCode + 1: the overflow step
    double val = c == maxCode + 1 ? s.max + ulpAtMax : specValue(s, c);
    double dist = std::fabs(val - a);
    if (dist < bestDist || (dist == bestDist && (c & 1) == 0)) {
      best = c;
      bestDist = dist;
    }
  }
  if (best == maxCode + 1)
    return overflow();
  if (best == 0 && s.uz)
    return 0;
  return uint8_t(sign | best);
}

void checkEncode(const Spec &s, double v) {
  for (bool sat : {true, false}) {
    uint8_t want = oracleEncode(s, v, sat), got = floatToSmallFloat(s.type, v, sat);
    ASSERT_EQ(int(got), int(want))
        << dtypeName(s.type) << " saturate " << sat << " value " << std::hexfloat << v;
  }
}

TEST(SmallFloatTest, EncodeAllHalfValues) {
  for (const Spec &s : kSpecs)
    for (uint32_t h = 0; h <= 0xffff; ++h)
      checkEncode(s, double(halfToFloat(uint16_t(h))));
}

TEST(SmallFloatTest, EncodeRandomFloats) {
  std::mt19937 rng(20240617);
  std::uniform_int_distribution<uint32_t> bits;
  for (const Spec &s : kSpecs)
    for (int i = 0; i < 20000; ++i) {
      // Exponents near the format's range make the interesting cases likely.
      uint32_t b = bits(rng);
      b = (b & 0x807fffffu) | (uint32_t(std::uniform_int_distribution<int>(100, 150)(rng)) << 23);
      float f;
      std::memcpy(&f, &b, 4);
      checkEncode(s, double(f));
    }
}

TEST(SmallFloatTest, EncodeMidpointsAndNeighbours) {
  for (const Spec &s : kSpecs) {
    std::vector<double> vals;
    for (int c = 0; c < signBit(s); ++c)
      if (!std::isnan(specValue(s, c)) && !std::isinf(specValue(s, c)))
        vals.push_back(specValue(s, c));
    std::sort(vals.begin(), vals.end());
    vals.push_back(vals.back() + (vals.back() - vals[vals.size() - 2])); // overflow step
    for (size_t i = 0; i + 1 < vals.size(); ++i) {
      double mid = (vals[i] + vals[i + 1]) / 2;
      for (double v : {mid, std::nextafter(mid, 0.0), std::nextafter(mid, INFINITY), vals[i]}) {
        checkEncode(s, v);
        checkEncode(s, -v);
      }
    }
    checkEncode(s, NAN);
    checkEncode(s, INFINITY);
    checkEncode(s, -INFINITY);
    checkEncode(s, 1e300);
    checkEncode(s, 1e-300);
  }
}

TEST(SmallFloatTest, OnnxCastExamples) {
  // From ONNX's test_cast_FLOAT_to_FLOAT8E4M3FN / _no_saturate data.
  EXPECT_EQ(floatToSmallFloat(DType::F8E4M3FN, 0.4789254665374756, true), 0x2f);
  EXPECT_EQ(floatToSmallFloat(DType::F8E4M3FN, 1e6, true), 0x7e);
  EXPECT_EQ(floatToSmallFloat(DType::F8E4M3FN, 1e6, false), 0x7f);
  EXPECT_EQ(floatToSmallFloat(DType::F8E4M3FN, -1e-7, true), 0x80);
  EXPECT_EQ(floatToSmallFloat(DType::F8E4M3FNUZ, -1e-7, true), 0x00);
  EXPECT_EQ(floatToSmallFloat(DType::F8E5M2, INFINITY, false), 0x7c);
  EXPECT_EQ(floatToSmallFloat(DType::F8E5M2FNUZ, 1e6, false), 0x80);
  EXPECT_EQ(floatToSmallFloat(DType::F4E2M1, -3.5, true), 0xe); // tie to even: -4
  EXPECT_EQ(floatToSmallFloat(DType::F4E2M1, 0.25, true), 0x0); // tie to even: 0
}

// float8e8m0 against the powers of two it rounds between (normal floats), and ONNX's
// bit-level rules at the edges.
TEST(SmallFloatTest, E8M0Rounding) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits(0x00800000u, 0x7f7fffffu); // positive normals
  for (int i = 0; i < 100000; ++i) {
    uint32_t b = bits(rng);
    float v;
    std::memcpy(&v, &b, 4);
    int lo;
    std::frexp(double(v), &lo); // v = m * 2^lo with m in [0.5, 1)
    --lo;
    double pLo = std::ldexp(1.0, lo), pHi = std::ldexp(1.0, lo + 1);
    int down = lo + 127, up = double(v) == pLo ? down : down + 1;
    int nearest = double(v) - pLo >= pHi - double(v) ? down + 1 : down; // ties up
    auto expect = [](int code, bool sat) { return code > 254 ? (sat ? 254 : 255) : code; };
    for (bool sat : {true, false}) {
      ASSERT_EQ(floatToE8M0(v, sat, E8M0Rounding::Down), expect(down, sat)) << v;
      ASSERT_EQ(floatToE8M0(v, sat, E8M0Rounding::Up), expect(up, sat)) << v;
      ASSERT_EQ(floatToE8M0(v, sat, E8M0Rounding::Nearest), expect(nearest, sat)) << v;
      ASSERT_EQ(floatToE8M0(-v, sat, E8M0Rounding::Up), expect(up, sat)) << "sign is ignored";
    }
  }
  EXPECT_EQ(floatToE8M0(0.0f, true, E8M0Rounding::Up), 0x00);
  EXPECT_EQ(floatToE8M0(NAN, true, E8M0Rounding::Up), 0xff);
  EXPECT_EQ(floatToE8M0(INFINITY, true, E8M0Rounding::Down), 0xff);
  EXPECT_EQ(floatToE8M0(std::numeric_limits<float>::denorm_min(), true, E8M0Rounding::Up), 0x01);
  // ONNX's data: test_cast_e8m0_FLOAT_to_FLOAT8E8M0.
  const float in[8] = {0, 0.124f, 0.25f, 0.5f, 1.1f, 2, 4, 8};
  const uint8_t out[8] = {0x00, 0x7c, 0x7d, 0x7e, 0x80, 0x80, 0x81, 0x82};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(floatToE8M0(in[i], true, E8M0Rounding::Up), out[i]) << in[i];
}

TEST(SmallFloatTest, FourBitIntegersWrap) {
  for (int64_t v = -300; v <= 300; ++v) {
    int64_t low = ((v % 16) + 16) % 16;
    EXPECT_EQ(wrapToU4(v), low);
    EXPECT_EQ(wrapToI4(v), low >= 8 ? low - 16 : low);
  }
}

TEST(SmallFloatTest, TensorCastThroughSmallTypes) {
  std::vector<float> v = {-9, -8, -1, 0, 1, 7, 8, 15, 2.7f, -2.7f};
  Tensor t = Tensor::fromVector(DType::F32, {10}, v);
  Tensor i4 = t.cast(DType::I4), u4 = t.cast(DType::U4);
  const int8_t wantI4[10] = {7, -8, -1, 0, 1, 7, -8, -1, 2, -2};
  const uint8_t wantU4[10] = {7, 8, 15, 0, 1, 7, 8, 15, 2, 14};
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(i4.getAsInt(i), wantI4[i]) << v[size_t(i)];
    EXPECT_EQ(u4.getAsInt(i), wantU4[i]) << v[size_t(i)];
  }
  Tensor f8 = t.cast(DType::F8E4M3FN);
  Tensor back = f8.cast(DType::F16).cast(DType::F32);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(back.getAsDouble(i), smallFloatToFloat(DType::F8E4M3FN, f8.data<uint8_t>()[i]));
  CastMode noSat;
  noSat.saturate = false;
  Tensor big = Tensor::fromVector(DType::F32, {1}, std::vector<float>{1e6f});
  EXPECT_EQ(big.cast(DType::F8E5M2, noSat).data<uint8_t>()[0], 0x7c);
  EXPECT_EQ(big.cast(DType::F8E5M2).data<uint8_t>()[0], 0x7b);
}

// 4-bit tensors are packed two per byte, low nibble first, in TensorProto raw_data and
// int32_data (the bytes are ONNX's test_cast_FLOAT_to_INT4 output).
TEST(SmallFloatTest, TensorProtoPacksFourBitTypes) {
  std::vector<int8_t> v;
  for (int x = -9; x <= 15; ++x)
    v.push_back(wrapToI4(x));
  Tensor t = Tensor::fromVector(DType::I4, {5, 5}, v);
  onnx::TensorProto p;
  tensorToProto(t, "x", &p);
  const uint8_t want[13] = {0x87, 0xa9, 0xcb, 0xed, 0x0f, 0x21, 0x43,
                            0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f};
  ASSERT_EQ(p.raw_data().size(), 13u);
  EXPECT_EQ(std::memcmp(p.raw_data().data(), want, 13), 0);
  EXPECT_EQ(p.data_type(), 22);
  Tensor back = tensorFromProto(p, "test");
  ASSERT_EQ(back.dtype(), DType::I4);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(back.getAsInt(i), v[size_t(i)]);

  onnx::TensorProto typed; // ONNX's test_dequantizelinear_int4 input: [0, 1, 7, -4, -8]
  typed.set_data_type(22);
  typed.add_dims(5);
  for (int32_t b : {16, 199, 8})
    typed.add_int32_data(b);
  Tensor q = tensorFromProto(typed, "test");
  const int want5[5] = {0, 1, 7, -4, -8};
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(q.getAsInt(i), want5[i]);
  typed.add_int32_data(0);
  EXPECT_THROW(tensorFromProto(typed, "test"), Error);

  onnx::TensorProto f8; // float8 in int32_data: one bit pattern per value
  f8.set_data_type(17);
  f8.add_dims(2);
  f8.add_int32_data(0x7e);
  f8.add_int32_data(0x80);
  Tensor g = tensorFromProto(f8, "test");
  EXPECT_EQ(g.getAsDouble(0), 448.0);
  EXPECT_TRUE(std::signbit(g.getAsDouble(1)));
}

} // namespace

namespace {

// The ONNX TensorProto.DataType codes of onnx.proto and the one-byte storage.
TEST(SmallFloatTest, DTypeTables) {
  const std::pair<DType, int32_t> codes[] = {
      {DType::F8E4M3FN, 17}, {DType::F8E4M3FNUZ, 18}, {DType::F8E5M2, 19}, {DType::F8E5M2FNUZ, 20},
      {DType::U4, 21},       {DType::I4, 22},         {DType::F4E2M1, 23}, {DType::F8E8M0, 24}};
  for (auto [d, code] : codes) {
    EXPECT_EQ(dtypeToOnnx(d), code) << dtypeName(d);
    EXPECT_EQ(dtypeFromOnnx(code), d) << code;
    EXPECT_EQ(dtypeFromName(dtypeName(d)), d);
    EXPECT_EQ(dtypeSize(d), 1u);
    EXPECT_FALSE(isFloat(d)) << "kernels never compute in " << dtypeName(d);
    EXPECT_EQ(isSmallFloat(d), d != DType::U4 && d != DType::I4);
    EXPECT_EQ(isInteger(d), d == DType::U4 || d == DType::I4);
    EXPECT_EQ(isPacked4Bit(d), d == DType::U4 || d == DType::I4 || d == DType::F4E2M1);
  }
  EXPECT_EQ(dtypeFromNumpyDescr("|V1"), std::nullopt); // which 8-bit float is not recorded
  EXPECT_EQ(dtypeFromNumpyDescr(dtypeToNumpyDescr(DType::I4)), DType::I8);
}

} // namespace
