// The element types Kiln stores and computes with, and their small traits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/half.h"

namespace kiln {

enum class DType : uint8_t {
  Undefined = 0,  // a value whose type is not inferred yet
  Float32,
  Float16,
  BFloat16,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  UInt8,
  Bool,
};

size_t dtype_size(DType dtype);
bool is_floating(DType dtype);
bool is_integral(DType dtype);  // signed or unsigned integers, not bool
// Short names used in dumps, CLI flags and error messages: "float32", "bfloat16", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);

// Maps a C++ element type to its DType.
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct DTypeOf<float16> {
  static constexpr DType value = DType::Float16;
};
template <>
struct DTypeOf<bfloat16> {
  static constexpr DType value = DType::BFloat16;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::Int8;
};
template <>
struct DTypeOf<int16_t> {
  static constexpr DType value = DType::Int16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::Bool;
};

// Calls fn(T{}) with T the C++ type of `dtype`; used to write one templated kernel for all
// types instead of a switch per kernel. Throws Unsupported for Undefined.
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn);

}  // namespace kiln

#include "core/error.h"

namespace kiln {
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn(float{});
    case DType::Float16:
      return fn(float16{});
    case DType::BFloat16:
      return fn(bfloat16{});
    case DType::Float64:
      return fn(double{});
    case DType::Int8:
      return fn(int8_t{});
    case DType::Int16:
      return fn(int16_t{});
    case DType::Int32:
      return fn(int32_t{});
    case DType::Int64:
      return fn(int64_t{});
    case DType::UInt8:
      return fn(uint8_t{});
    case DType::Bool:
      return fn(bool{});
    case DType::Undefined:
      break;
  }
  throw Error(ErrorKind::Unsupported, "element type is undefined");
}
}  // namespace kiln
