// DType traits and names.
#include "core/dtype.h"

#include <array>
#include <utility>

namespace kiln {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeInfo, 11> kDTypes{{
    {DType::Undefined, "undefined", 0},
    {DType::Float32, "float32", 4},
    {DType::Float16, "float16", 2},
    {DType::BFloat16, "bfloat16", 2},
    {DType::Float64, "float64", 8},
    {DType::Int8, "int8", 1},
    {DType::Int16, "int16", 2},
    {DType::Int32, "int32", 4},
    {DType::Int64, "int64", 8},
    {DType::UInt8, "uint8", 1},
    {DType::Bool, "bool", 1},
}};

const DTypeInfo& info(DType dtype) { return kDTypes.at(static_cast<size_t>(dtype)); }

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }

bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float16 || dtype == DType::BFloat16 ||
         dtype == DType::Float64;
}

bool is_integral(DType dtype) {
  return dtype == DType::Int8 || dtype == DType::Int16 || dtype == DType::Int32 ||
         dtype == DType::Int64 || dtype == DType::UInt8;
}

std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.name == name && entry.dtype != DType::Undefined) return entry.dtype;
  }
  static constexpr std::pair<std::string_view, DType> kAliases[] = {
      {"fp32", DType::Float32},  {"fp16", DType::Float16}, {"bf16", DType::BFloat16},
      {"fp64", DType::Float64},  {"half", DType::Float16}, {"float", DType::Float32},
      {"double", DType::Float64}};
  for (const auto& [alias, dtype] : kAliases) {
    if (alias == name) return dtype;
  }
  return std::nullopt;
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidModel:
      return "invalid model";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::InvalidArgument:
      return "invalid argument";
    case ErrorKind::Runtime:
      return "runtime error";
    case ErrorKind::Cuda:
      return "CUDA error";
  }
  return "error";
}

}  // namespace kiln
