// Element-by-element comparison of a computed tensor with ONNX's expected one.
#include "conformance/tensor_compare.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace kiln::conformance {
namespace {

// "index 5 [1, 2]": the flat index and the same position as per-axis indices.
std::string describe_index(const Dims& dims, int64_t flat) {
  Dims position(dims.size(), 0);
  int64_t rest = flat;
  for (size_t axis = dims.size(); axis-- > 0;) {
    if (dims[axis] == 0) break;
    position[axis] = rest % dims[axis];
    rest /= dims[axis];
  }
  return "index " + std::to_string(flat) + " " + dims_to_string(position);
}

bool floats_match(double got, double expected, const Tolerance& tolerance) {
  if (std::isnan(expected) || std::isnan(got)) return std::isnan(expected) && std::isnan(got);
  if (got == expected) return true;  // also covers matching infinities
  return std::fabs(got - expected) <= tolerance.atol + tolerance.rtol * std::fabs(expected);
}

template <typename Element, typename Matches>
std::optional<std::string> first_mismatch(const std::vector<Element>& got,
                                          const std::vector<Element>& expected, const Dims& dims,
                                          Matches matches) {
  for (size_t i = 0; i < expected.size(); ++i) {
    if (matches(got[i], expected[i])) continue;
    std::ostringstream message;
    message.precision(9);
    message << describe_index(dims, static_cast<int64_t>(i)) << ": got " << got[i] << ", expected "
            << expected[i];
    return message.str();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> compare_tensors(const Tensor& got, const Tensor& expected,
                                           const Tolerance& tolerance) {
  if (got.dtype() != expected.dtype()) {
    return "dtype " + std::string(dtype_name(got.dtype())) + " vs expected " +
           std::string(dtype_name(expected.dtype()));
  }
  if (got.dims() != expected.dims()) {
    return "dims " + dims_to_string(got.dims()) + " vs expected " + dims_to_string(expected.dims());
  }
  if (is_floating(expected.dtype())) {
    Tolerance effective = tolerance;
    // As ONNX's own backend-test runner does: bfloat16 outputs get at least two bf16 ULPs of
    // relative tolerance, since the expected values come from bf16 intermediate arithmetic.
    if (expected.dtype() == DType::BFloat16) effective.rtol = std::max(effective.rtol, 0x1p-6);
    return first_mismatch(got.to_double_vector(), expected.to_double_vector(), expected.dims(),
                          [&](double g, double e) { return floats_match(g, e, effective); });
  }
  return first_mismatch(got.to_int64_vector(), expected.to_int64_vector(), expected.dims(),
                        [](int64_t g, int64_t e) { return g == e; });
}

}  // namespace kiln::conformance
