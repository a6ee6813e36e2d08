// Small helpers shared by CPU kernels: reading inputs and axes with errors that name the
// node, and dtype dispatch restricted to the types a kernel supports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu {

// The required input at `index`; fails naming the node when it is absent.
inline const Tensor& required_input(const ir::Node& node, const std::vector<Tensor>& inputs,
                                    size_t index) {
  check(index < inputs.size() && inputs[index].defined(), ErrorKind::InvalidModel, node.describe(),
        " needs input ", index, ", which is missing");
  return inputs[index];
}

// The optional input at `index`, or null when absent.
inline const Tensor* optional_input(const std::vector<Tensor>& inputs, size_t index) {
  return index < inputs.size() && inputs[index].defined() ? &inputs[index] : nullptr;
}

// `axis` in [-rank, rank) made non-negative.
inline int64_t node_axis(const ir::Node& node, int64_t axis, int64_t rank) {
  const int64_t normalized = axis < 0 ? axis + rank : axis;
  check(normalized >= 0 && normalized < rank, ErrorKind::InvalidModel, node.describe(), ": axis ",
        axis, " is out of range for an input of rank ", rank);
  return normalized;
}

// Several axes made non-negative and sorted; duplicates are an error.
inline std::vector<int64_t> node_axes(const ir::Node& node, const std::vector<int64_t>& axes,
                                      int64_t rank) {
  std::vector<int64_t> normalized;
  for (int64_t axis : axes) normalized.push_back(node_axis(node, axis, rank));
  std::sort(normalized.begin(), normalized.end());
  check(std::adjacent_find(normalized.begin(), normalized.end()) == normalized.end(),
        ErrorKind::InvalidModel, node.describe(), ": an axis is listed twice");
  return normalized;
}

[[noreturn]] inline void fail_dtype(const ir::Node& node, DType dtype, const char* expected) {
  fail(ErrorKind::Unsupported, node.describe(), " does not support ", dtype_name(dtype),
       " inputs (expected ", expected, ")");
}

// Calls fn(T{}) for T float or double; Unsupported naming the node otherwise (float16 and
// bfloat16 are widened by the executor before a kernel sees them).
template <typename Fn>
decltype(auto) visit_float(const ir::Node& node, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn(float{});
    case DType::Float64:
      return fn(double{});
    default:
      fail_dtype(node, dtype, "float32 or float64");
  }
}

// As visit_float, plus int32 and int64 (the integer types shape arithmetic uses).
template <typename Fn>
decltype(auto) visit_numeric(const ir::Node& node, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn(float{});
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
    default:
      fail_dtype(node, dtype, "float32, float64 or an integer type");
  }
}

// The single value of a one-element integer tensor (a scalar input such as Trilu's k).
inline int64_t scalar_int(const ir::Node& node, const Tensor& tensor, const char* what) {
  check(tensor.numel() == 1, ErrorKind::InvalidArgument, node.describe(), ": ", what,
        " must hold one value, got dims ", dims_to_string(tensor.dims()));
  check(is_integral(tensor.dtype()), ErrorKind::InvalidArgument, node.describe(), ": ", what,
        " must be an integer, got ", dtype_name(tensor.dtype()));
  return tensor.to_int64_vector()[0];
}

// An integer tensor of any rank read as int64 values, with errors naming the node.
inline std::vector<int64_t> int_values(const ir::Node& node, const Tensor& tensor,
                                       const char* what) {
  check(is_integral(tensor.dtype()), ErrorKind::InvalidArgument, node.describe(), ": ", what,
        " must be an integer tensor, got ", dtype_name(tensor.dtype()));
  return tensor.to_int64_vector();
}

}  // namespace kiln::cpu
