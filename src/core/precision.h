// The precisions a layer may run in, and sets of them ("enabled precisions").
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/dtype.h"

namespace kiln {

enum class Precision { FP32, TF32, FP16, BF16 };

std::string_view precision_name(Precision precision);  // "fp32", "tf32", "fp16", "bf16"
std::optional<Precision> precision_from_name(std::string_view name);
// Parses "fp32,bf16"; throws InvalidArgument naming the bad entry and the valid ones.
std::set<Precision> parse_precisions(std::string_view list);
std::string precisions_to_string(const std::set<Precision>& precisions);
// The storage type of activations in this precision (tf32 stores float32).
DType precision_storage_dtype(Precision precision);
// True for float32, float16 and bfloat16: the dtypes some precision stores tensors in.
bool is_float_storage(DType dtype);
// Rounds a float32 to what the precision can hold (tf32: 10-bit mantissa).
float round_to_precision(float value, Precision precision);

}  // namespace kiln
