// Exhaustive and randomized checks of the bf16 / fp16 / tf32 conversions in core/half.h
// against a reference that rounds in float64 arithmetic instead of bit tricks.
#include "core/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace kiln {
namespace {

// A binary format with `precision` significant bits (implicit bit included), normals down
// to 2^(min_exponent-1) and subnormals below, and largest finite value `max_finite`.
struct FloatFormat {
  int precision;
  int min_exponent;  // as std::frexp reports it for the smallest normal (m in [0.5, 1))
  double max_finite;
};
constexpr FloatFormat kBFloat16{8, -125, 0x1.fep127};
constexpr FloatFormat kFloat16{11, -13, 65504.0};
constexpr FloatFormat kTensorFloat32{11, -125, 0x1.ffcp127};

// The nearest value of `format` to `value`, ties to even, overflowing to infinity.
float reference_round(float value, const FloatFormat& format) {
  if (std::isnan(value) || std::isinf(value) || value == 0.0f) return value;
  double exact = value;  // every float is exact in double
  int exponent = 0;
  std::frexp(exact, &exponent);
  // One unit in the last place of `format` at this magnitude (fixed below the normals).
  double ulp = std::ldexp(1.0, std::max(exponent, format.min_exponent) - format.precision);
  double units = exact / ulp;                    // exact: a power-of-two scaling
  double rounded = std::nearbyint(units) * ulp;  // default rounding mode: nearest, ties even
  if (std::abs(rounded) > format.max_finite) {
    return std::signbit(value) ? -std::numeric_limits<float>::infinity()
                               : std::numeric_limits<float>::infinity();
  }
  return static_cast<float>(rounded);  // exact: fits in the float's range and precision
}

uint32_t bits_of(float value) { return std::bit_cast<uint32_t>(value); }
float float_of(uint32_t bits) { return std::bit_cast<float>(bits); }

bool is_bf16_nan(uint16_t bits) { return (bits & 0x7f80u) == 0x7f80u && (bits & 0x007fu) != 0; }
bool is_fp16_nan(uint16_t bits) { return (bits & 0x7c00u) == 0x7c00u && (bits & 0x03ffu) != 0; }

// Checks one float against the reference in all three formats.
::testing::AssertionResult rounds_like_reference(float value) {
  float bf16 = round_to_bf16(value);
  float fp16 = round_to_fp16(value);
  float tf32 = round_to_tf32(value);
  if (std::isnan(value)) {
    if (std::isnan(bf16) && std::isnan(fp16) && std::isnan(tf32))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "NaN " << std::hex << bits_of(value) << " lost";
  }
  const std::pair<float, const FloatFormat*> results[] = {
      {bf16, &kBFloat16}, {fp16, &kFloat16}, {tf32, &kTensorFloat32}};
  const char* names[] = {"bf16", "fp16", "tf32"};
  for (int i = 0; i < 3; ++i) {
    float expected = reference_round(value, *results[i].second);
    if (bits_of(results[i].first) != bits_of(expected)) {
      return ::testing::AssertionFailure()
             << names[i] << " of " << std::hexfloat << value << " gave " << results[i].first
             << ", expected " << expected;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(Half, ReferenceItselfRoundsKnownCases) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  // 1 + 2^-8 lies halfway between bf16 1 and 1 + 2^-7: ties to even gives 1.
  EXPECT_EQ(reference_round(1.0f + 0x1p-8f, kBFloat16), 1.0f);
  EXPECT_EQ(reference_round(1.0f + 3 * 0x1p-8f, kBFloat16), 1.0f + 0x1p-6f);
  EXPECT_EQ(reference_round(65520.0f, kFloat16), std::numeric_limits<float>::infinity());
  EXPECT_EQ(reference_round(65519.0f, kFloat16), 65504.0f);
  EXPECT_EQ(reference_round(0x1p-25f, kFloat16), 0.0f);         // tie to even zero
  EXPECT_EQ(reference_round(0x1.8p-25f, kFloat16), 0x1p-24f);   // above the tie
  EXPECT_EQ(reference_round(0x1p-133f, kBFloat16), 0x1p-133f);  // smallest bf16 subnormal
}

TEST(Half, EveryBFloat16SurvivesTheRoundTripThroughFloat) {
  for (uint32_t pattern = 0; pattern <= 0xffff; ++pattern) {
    auto bits = static_cast<uint16_t>(pattern);
    float widened = bf16_bits_to_float(bits);
    ASSERT_EQ(bits_of(widened), pattern << 16);  // widening is exact by definition
    uint16_t back = float_to_bf16_bits(widened);
    if (is_bf16_nan(bits)) {
      ASSERT_TRUE(is_bf16_nan(back)) << std::hex << pattern;
      ASSERT_TRUE(std::isnan(widened));
    } else {
      ASSERT_EQ(back, bits) << std::hex << pattern;
    }
  }
}

TEST(Half, EveryFloat16SurvivesTheRoundTripThroughFloat) {
  for (uint32_t pattern = 0; pattern <= 0xffff; ++pattern) {
    auto bits = static_cast<uint16_t>(pattern);
    float widened = float16_bits_to_float(bits);
    uint16_t back = float_to_float16_bits(widened);
    if (is_fp16_nan(bits)) {
      ASSERT_TRUE(std::isnan(widened)) << std::hex << pattern;
      ASSERT_TRUE(is_fp16_nan(back)) << std::hex << pattern;
      continue;
    }
    ASSERT_EQ(back, bits) << std::hex << pattern;
    // The widened value matches the format's definition, computed independently.
    int exponent = (pattern >> 10) & 0x1f;
    double mantissa = pattern & 0x3ff;
    double expected = exponent == 0x1f ? std::numeric_limits<double>::infinity()
                      : exponent == 0  ? std::ldexp(mantissa, -24)
                                       : std::ldexp(1024.0 + mantissa, exponent - 25);
    if (pattern & 0x8000) expected = -expected;
    ASSERT_EQ(static_cast<double>(widened), expected) << std::hex << pattern;
  }
}

TEST(Half, EveryBFloat16MidpointAndItsNeighboursRoundLikeTheReference) {
  for (uint32_t pattern = 0; pattern <= 0xffff; ++pattern) {
    uint32_t midpoint = (pattern << 16) | 0x8000u;  // exactly halfway to the next bf16
    for (uint32_t candidate : {midpoint - 1, midpoint, midpoint + 1, pattern << 16}) {
      ASSERT_TRUE(rounds_like_reference(float_of(candidate)));
    }
  }
}

TEST(Half, EveryFloat16MidpointAndItsNeighboursRoundLikeTheReference) {
  int ties_checked = 0;
  for (uint32_t pattern = 0; pattern < 0x7c00; ++pattern) {  // finite non-negative halves
    double low = float16_bits_to_float(static_cast<uint16_t>(pattern));
    double high = pattern + 1 == 0x7c00 ? 65536.0  // where the next binade would start
                                        : float16_bits_to_float(static_cast<uint16_t>(pattern + 1));
    auto midpoint = static_cast<float>((low + high) / 2);  // 12 significant bits: exact
    ASSERT_EQ(static_cast<double>(midpoint), (low + high) / 2);
    for (float sign : {1.0f, -1.0f}) {
      float tie = sign * midpoint;
      ASSERT_TRUE(rounds_like_reference(tie));
      ASSERT_TRUE(rounds_like_reference(std::nextafter(tie, 0.0f)));
      ASSERT_TRUE(rounds_like_reference(std::nextafter(tie, sign * 1e30f)));
      // Ties go to the even neighbour: the one whose last mantissa bit is 0.
      uint16_t rounded = float_to_float16_bits(tie);
      if ((rounded & 0x7fffu) != 0x7c00u) {
        ASSERT_EQ(rounded & 1u, 0u) << std::hexfloat << tie;
      }
      ++ties_checked;
    }
  }
  EXPECT_EQ(ties_checked, 2 * 0x7c00);
}

TEST(Half, RandomFloatPatternsRoundLikeTheReference) {
  std::mt19937 generator(20241123);
  for (int i = 0; i < 4'000'000; ++i) ASSERT_TRUE(rounds_like_reference(float_of(generator())));
  // Random values in the ranges where fp16 subnormals and overflow happen.
  std::uniform_real_distribution<float> small(-0x1p-13f, 0x1p-13f);
  std::uniform_real_distribution<float> large(60000.0f, 70000.0f);
  for (int i = 0; i < 500'000; ++i) {
    ASSERT_TRUE(rounds_like_reference(small(generator)));
    ASSERT_TRUE(rounds_like_reference(large(generator)));
  }
}

TEST(Half, SpecialValues) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(float_to_bf16_bits(inf), 0x7f80u);
  EXPECT_EQ(float_to_bf16_bits(-inf), 0xff80u);
  EXPECT_EQ(float_to_float16_bits(inf), 0x7c00u);
  EXPECT_EQ(float_to_float16_bits(-0.0f), 0x8000u);
  EXPECT_EQ(float_to_bf16_bits(-0.0f), 0x8000u);
  EXPECT_EQ(float_to_float16_bits(1e6f), 0x7c00u);
  EXPECT_EQ(float_to_float16_bits(-1e6f), 0xfc00u);
  EXPECT_EQ(float_to_float16_bits(65504.0f), 0x7bffu);
  EXPECT_EQ(float_to_float16_bits(0x1p-24f), 0x0001u);
  // bf16 max (0x7f7f) rounds up to infinity only from its upper midpoint on.
  EXPECT_EQ(float_to_bf16_bits(float_of(0x7f7f7fffu)), 0x7f7fu);
  EXPECT_EQ(float_to_bf16_bits(float_of(0x7f7f8000u)), 0x7f80u);
  // Signalling NaNs become quiet NaNs, in every format.
  float signalling = float_of(0x7f800001u);
  EXPECT_TRUE(is_bf16_nan(float_to_bf16_bits(signalling)));
  EXPECT_TRUE(is_fp16_nan(float_to_float16_bits(signalling)));
  EXPECT_TRUE(std::isnan(round_to_tf32(signalling)));
  EXPECT_EQ(round_to_tf32(inf), inf);
}

TEST(Half, TensorFloat32KeepsTenMantissaBits) {
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-10f), 1.0f + 0x1p-10f);     // representable
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-11f), 1.0f);                // tie to even (down)
  EXPECT_EQ(round_to_tf32(1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f);  // tie to even (up)
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-11f + 0x1p-20f), 1.0f + 0x1p-10f);
  EXPECT_EQ(bits_of(round_to_tf32(3.14159265f)) & 0x1fffu, 0u);
}

}  // namespace
}  // namespace kiln
