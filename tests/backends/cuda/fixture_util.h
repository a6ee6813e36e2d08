// The model fixtures (tests/models/fixtures) as GPU tests read them: inputs, their dims, and
// bit-for-bit comparison of results.
#pragma once

#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "core/tensor.h"
#include "core/tensor_io.h"

namespace kiln::cuda_test {

inline std::filesystem::path fixture_folder(const std::string& name) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / name;
}

inline std::map<std::string, Tensor> fixture_inputs(const std::string& name) {
  return read_safetensors(fixture_folder(name) / (name + "_fp32_inputs.safetensors"));
}

inline std::map<std::string, Dims> dims_of(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Dims> dims;
  for (const auto& [name, tensor] : inputs) dims[name] = tensor.dims();
  return dims;
}

inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace kiln::cuda_test
