// Summaries the CLI prints: statistics of a tensor, the difference between two tensors, and
// a model's interface, op histogram and weights.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln {

// Mean, std (population), min and max are over the finite values; NaNs and infinities are
// counted instead, so one bad value does not hide the rest.
struct TensorStats {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t nan_count = 0, inf_count = 0;
  std::vector<double> first_values;
};
TensorStats tensor_stats(const Tensor& tensor, size_t first_count = 6);

struct TensorComparison {
  double normalized_error = 0;  // ||actual - reference|| / ||reference||
  double max_abs_diff = 0;      // NaN if either holds a NaN
};
// Throws InvalidArgument when the dims differ.
TensorComparison compare_tensors(const Tensor& actual, const Tensor& reference);

struct ValueInfo {
  std::string name;
  std::string dtype;  // dtype_name
  std::string shape;  // "[batch, 3, 224, 224]"
};
struct ModelSummary {
  std::vector<ValueInfo> inputs, outputs;
  std::map<std::string, int> op_counts;
  int64_t node_count = 0;
  int64_t constant_count = 0;
  int64_t constant_bytes = 0;
};
ModelSummary summarize_model(const ir::Graph& graph);

}  // namespace kiln
