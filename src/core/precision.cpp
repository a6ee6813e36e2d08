// Precision names and rounding.
#include "core/precision.h"

#include <array>
#include <sstream>

#include "core/error.h"

namespace kiln {
namespace {
constexpr std::array<std::pair<Precision, std::string_view>, 4> kNames{{{Precision::FP32, "fp32"},
                                                                        {Precision::TF32, "tf32"},
                                                                        {Precision::FP16, "fp16"},
                                                                        {Precision::BF16, "bf16"}}};
}  // namespace

std::string_view precision_name(Precision precision) {
  for (const auto& [value, name] : kNames) {
    if (value == precision) return name;
  }
  return "?";
}

std::optional<Precision> precision_from_name(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::set<Precision> parse_precisions(std::string_view list) {
  std::set<Precision> result;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view entry = list.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (!entry.empty()) {
      auto precision = precision_from_name(entry);
      check(precision.has_value(), ErrorKind::InvalidArgument, "unknown precision '", entry,
            "' (valid: fp32, tf32, fp16, bf16)");
      result.insert(*precision);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  check(!result.empty(), ErrorKind::InvalidArgument,
        "no precision given (valid: fp32, tf32, fp16, bf16)");
  return result;
}

std::string precisions_to_string(const std::set<Precision>& precisions) {
  std::ostringstream out;
  bool first = true;
  for (Precision precision : precisions) {
    out << (first ? "" : ",") << precision_name(precision);
    first = false;
  }
  return out.str();
}

DType precision_storage_dtype(Precision precision) {
  switch (precision) {
    case Precision::FP16:
      return DType::Float16;
    case Precision::BF16:
      return DType::BFloat16;
    default:
      return DType::Float32;
  }
}

bool is_float_storage(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float16 || dtype == DType::BFloat16;
}

float round_to_precision(float value, Precision precision) {
  switch (precision) {
    case Precision::FP32:
      return value;
    case Precision::TF32:
      return round_to_tf32(value);
    case Precision::FP16:
      return round_to_fp16(value);
    case Precision::BF16:
      return round_to_bf16(value);
  }
  return value;
}

}  // namespace kiln
