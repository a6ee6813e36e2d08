// Compares one output of a conformance case with its expected tensor, the way ONNX's backend
// tests do: shapes and dtypes exactly, integers and bools exactly, floats within atol + rtol*|e|.
#pragma once

#include <optional>
#include <string>

#include "core/tensor.h"

namespace kiln::conformance {

struct Tolerance {
  double rtol = 1e-3;  // ONNX backend-test defaults
  double atol = 1e-7;
};

// Nullopt when `got` matches `expected`; otherwise a description of the first mismatch
// ("dims [2, 3] vs expected [3, 2]", "index 5 [1, 2]: got 0.5, expected 0.25").
std::optional<std::string> compare_tensors(const Tensor& got, const Tensor& expected,
                                           const Tolerance& tolerance);

}  // namespace kiln::conformance
