// Bit-exact conversions between float32 and the two 16-bit float formats (bfloat16, IEEE
// half). Round to nearest even; NaN stays NaN (quiet), infinities and signed zeros are kept.
#pragma once

#include <bit>
#include <cstdint>

namespace kiln {

struct bfloat16 {
  uint16_t bits = 0;
};
struct float16 {
  uint16_t bits = 0;
};

inline uint16_t float_to_bf16_bits(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep sign and top payload, force quiet
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  uint32_t rounding_bias = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding_bias) >> 16);
}

inline float bf16_bits_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

inline float float16_bits_to_float(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) {  // Inf or NaN
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    // Subnormal half: value = mantissa * 2^-24, exactly representable in float32.
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

inline uint16_t float_to_float16_bits(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) {  // NaN: keep the top payload bits, force quiet
    return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  }
  if (magnitude >= 0x477ff000u) {  // rounds to >= 65520: overflow to infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (magnitude < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    // Scale so that one half-subnormal ulp (2^-24) becomes 1, then round to nearest even in
    // float arithmetic, which is exact here because the scaled value is below 2^10.
    float scaled = std::bit_cast<float>(magnitude) * 0x1p24f;
    // Adding and subtracting 2^23 rounds to an integer with the FPU's nearest-even mode.
    float rounded = (scaled + 0x1p23f) - 0x1p23f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(rounded));
  }
  // Normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits to even.
  uint32_t rebased = magnitude - (112u << 23);
  uint32_t rounding_bias = 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rebased + rounding_bias) >> 13));
}

inline float to_float(bfloat16 value) { return bf16_bits_to_float(value.bits); }
inline float to_float(float16 value) { return float16_bits_to_float(value.bits); }
inline bfloat16 to_bfloat16(float value) { return bfloat16{float_to_bf16_bits(value)}; }
inline float16 to_float16(float value) { return float16{float_to_float16_bits(value)}; }

// Rounds a float32 to the nearest value representable in the narrower format.
inline float round_to_bf16(float value) { return bf16_bits_to_float(float_to_bf16_bits(value)); }
inline float round_to_fp16(float value) {
  return float16_bits_to_float(float_to_float16_bits(value));
}
// TF32 keeps float32's exponent and 10 mantissa bits; round to nearest even.
inline float round_to_tf32(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) >= 0x7f800000u) return value;
  uint32_t rounding_bias = 0xfffu + ((bits >> 13) & 1u);
  return std::bit_cast<float>((bits + rounding_bias) & ~0x1fffu);
}

}  // namespace kiln
