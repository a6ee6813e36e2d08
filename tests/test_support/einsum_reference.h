// Test helper: einsum computed by loops in double, the way its definition reads (sum over
// every letter not in the output of the product of the operands), to check the frontends'
// decomposition against. Letters only (no "..."), explicit output; spaces are ignored and a
// dim of size 1 broadcasts against the letter's largest size, as torch.einsum does.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln::test_support {

// A few distinct, exactly representable values for an operand of `dims`.
inline Tensor einsum_operand(const Dims& dims, int seed) {
  int64_t count = 1;
  for (int64_t dim : dims) count *= dim;
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    values[static_cast<size_t>(i)] = float((i * 7 + seed * 3) % 11 - 5) * 0.5f;
  }
  return Tensor::from_vector(dims, values);
}

struct EinsumResult {
  Dims dims;
  std::vector<double> values;
};

inline EinsumResult reference_einsum(const std::string& equation,
                                     const std::vector<Tensor>& operands) {
  std::string compact;
  for (char c : equation) {
    if (c != ' ') compact += c;
  }
  size_t arrow = compact.find("->");
  std::string output = compact.substr(arrow + 2);
  std::vector<std::string> terms(1);
  for (char c : compact.substr(0, arrow)) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back() += c;
  }
  std::map<char, int64_t> sizes;
  for (size_t t = 0; t < terms.size(); ++t) {
    for (size_t d = 0; d < terms[t].size(); ++d) {
      int64_t& size = sizes[terms[t][d]];
      size = std::max(size, operands[t].dims()[d]);
    }
  }
  EinsumResult result;
  int64_t out_count = 1;
  for (char letter : output) {
    result.dims.push_back(sizes[letter]);
    out_count *= sizes[letter];
  }
  result.values.assign(static_cast<size_t>(out_count), 0.0);
  std::vector<std::vector<double>> data;
  for (const Tensor& operand : operands) data.push_back(operand.to_double_vector());
  std::map<char, int64_t> index;
  for (const auto& [letter, size] : sizes) index[letter] = 0;
  while (true) {
    double product = 1.0;
    for (size_t t = 0; t < terms.size(); ++t) {
      int64_t flat = 0;
      for (size_t d = 0; d < terms[t].size(); ++d) {
        int64_t dim = operands[t].dims()[d];
        flat = flat * dim + (dim == 1 ? 0 : index[terms[t][d]]);
      }
      product *= data[t][static_cast<size_t>(flat)];
    }
    int64_t out_flat = 0;
    for (char letter : output) out_flat = out_flat * sizes[letter] + index[letter];
    result.values[static_cast<size_t>(out_flat)] += product;
    auto it = index.begin();  // odometer over every letter
    for (; it != index.end(); ++it) {
      if (++it->second < sizes[it->first]) break;
      it->second = 0;
    }
    if (it == index.end()) break;
  }
  return result;
}

}  // namespace kiln::test_support
