// Dispatch for CPU kernels that compute only on floats: the executor hands them float32
// or float64 (float16/bfloat16 are widened first), anything else is an error naming the node.
#pragma once

#include "core/dtype.h"
#include "core/error.h"
#include "ir/graph.h"

namespace kiln::cpu {

template <typename Fn>
decltype(auto) visit_float_type(const ir::Node& node, DType dtype, Fn&& fn) {
  if (dtype == DType::Float32) return fn(float{});
  if (dtype == DType::Float64) return fn(double{});
  fail(ErrorKind::Unsupported, node.describe(), ": the CPU backend computes ", node.op,
       " on float32 or float64 only, got ", dtype_name(dtype));
}

}  // namespace kiln::cpu
