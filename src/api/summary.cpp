// Tensor statistics, tensor comparison and model summaries for the CLI's reports.
#include "kiln/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln {

TensorStats tensor_stats(const Tensor& tensor, size_t first_count) {
  TensorStats stats;
  std::vector<double> values = tensor.to_double_vector();
  double sum = 0, sum_squares = 0;
  int64_t finite = 0;
  stats.min = std::numeric_limits<double>::infinity();
  stats.max = -std::numeric_limits<double>::infinity();
  for (double v : values) {
    if (std::isnan(v)) {
      ++stats.nan_count;
    } else if (std::isinf(v)) {
      ++stats.inf_count;
    } else {
      ++finite;
      sum += v;
      stats.min = std::min(stats.min, v);
      stats.max = std::max(stats.max, v);
    }
  }
  if (finite == 0) {
    stats.min = stats.max = stats.mean = stats.std = std::numeric_limits<double>::quiet_NaN();
  } else {
    stats.mean = sum / static_cast<double>(finite);
    // Second pass around the mean: the one-pass formula loses precision for large means.
    for (double v : values) {
      if (std::isfinite(v)) sum_squares += (v - stats.mean) * (v - stats.mean);
    }
    stats.std = std::sqrt(sum_squares / static_cast<double>(finite));
  }
  size_t shown = std::min(first_count, values.size());
  stats.first_values.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(shown));
  return stats;
}

TensorComparison compare_tensors(const Tensor& actual, const Tensor& reference) {
  check(actual.dims() == reference.dims(), ErrorKind::InvalidArgument, "cannot compare dims ",
        dims_to_string(actual.dims()), " with ", dims_to_string(reference.dims()));
  TensorComparison result;
  result.normalized_error = normalized_error(actual, reference);
  std::vector<double> a = actual.to_double_vector();
  std::vector<double> b = reference.to_double_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      result.max_abs_diff = std::numeric_limits<double>::quiet_NaN();
      break;
    }
    if (a[i] == b[i]) continue;  // equal infinities differ by nothing
    result.max_abs_diff = std::max(result.max_abs_diff, std::abs(a[i] - b[i]));
  }
  return result;
}

ModelSummary summarize_model(const ir::Graph& graph) {
  ModelSummary summary;
  auto describe = [](const ir::Value* value) {
    return ValueInfo{value->name, std::string(dtype_name(value->dtype)), value->shape.to_string()};
  };
  for (const ir::Value* input : graph.inputs()) summary.inputs.push_back(describe(input));
  for (const ir::Value* output : graph.outputs()) summary.outputs.push_back(describe(output));
  for (const ir::Node* node : graph.nodes()) ++summary.op_counts[node->op];
  summary.node_count = static_cast<int64_t>(graph.node_count());
  for (const ir::Value* value : graph.values()) {
    if (!value->is_constant()) continue;
    ++summary.constant_count;
    summary.constant_bytes += static_cast<int64_t>(value->constant->nbytes());
  }
  return summary;
}

}  // namespace kiln
