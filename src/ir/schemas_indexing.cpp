// Schemas of the ops that select or join parts of tensors: Concat, Split, Slice, Gather,
// GatherElements, GatherND, ScatterElements, ScatterND.
#include <algorithm>
#include <limits>
#include <map>

#include "core/error.h"
#include "ir/scatter_rules.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

// Two dims that must be equal at run time: the better known one describes both.
Dim merge_equal_dims(const Dim& a, const Dim& b, const Node& node) {
  if (a.is_static() && b.is_static()) {
    check(a.value == b.value, ErrorKind::InvalidModel, node.describe(), ": dims ", a.value, " and ",
          b.value, " must be equal");
    return a;
  }
  if (a.is_static() || a.is_symbolic()) return b.is_static() ? b : a;
  return b;
}

void infer_concat(Node& node) {
  const Value& first = required_input(node, 0);
  check(node.has_attr("axis"), ErrorKind::InvalidModel, node.describe(),
        ": attribute axis is required");
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    require_same_dtype(node, first, required_input(node, i));
  }
  std::vector<Dim> result;
  int64_t axis = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Shape& shape = node.inputs[i]->shape;
    if (!shape.rank_known()) {
      set_output(node, 0, first.dtype, Shape());
      return;
    }
    if (i == 0) {
      axis = normalize_axis(node.attr_int("axis", 0), shape.rank(), node.describe());
      result = shape.dims();
      continue;
    }
    check(shape.rank() == static_cast<int64_t>(result.size()), ErrorKind::InvalidModel,
          node.describe(), ": input '", node.inputs[i]->name, "' of shape ", shape.to_string(),
          " has another rank than '", first.name, "' ", first.shape.to_string());
    for (int64_t d = 0; d < shape.rank(); ++d) {
      Dim& merged = result[static_cast<size_t>(d)];
      if (d != axis) {
        merged = merge_equal_dims(merged, shape[d], node);
      } else if (merged.is_static() && shape[d].is_static()) {
        merged = Dim::fixed(merged.value + shape[d].value);
      } else if (shape[d] != Dim::fixed(0)) {
        merged = merged == Dim::fixed(0) ? shape[d] : Dim::unknown();
      }
    }
  }
  set_output(node, 0, first.dtype, Shape(std::move(result)));
}

void infer_split(Node& node) {
  const Value& x = required_input(node, 0);
  size_t parts = node.outputs.size();
  std::vector<int64_t> sizes = node.attr_ints("split");
  check(sizes.empty() || sizes.size() == parts, ErrorKind::InvalidModel, node.describe(), ": ",
        sizes.size(), " split sizes for ", parts, " outputs");
  if (!x.shape.rank_known()) {
    for (size_t i = 0; i < parts; ++i) set_output(node, i, x.dtype, Shape());
    return;
  }
  int64_t axis = normalize_axis(node.attr_int("axis", 0), x.shape.rank(), node.describe());
  const Dim& total = x.shape[axis];
  if (sizes.empty() && total.is_static()) {
    // Equal parts; when the size does not divide, the last part is smaller (ONNX rule).
    int64_t chunk = (total.value + static_cast<int64_t>(parts) - 1) / static_cast<int64_t>(parts);
    for (size_t i = 0; i < parts; ++i) {
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, total.value - chunk * int64_t(i))));
    }
  }
  if (!sizes.empty() && total.is_static()) {
    int64_t sum = 0;
    for (int64_t size : sizes) {
      // Sizes come from the model file: check each before adding so a hostile file cannot
      // overflow the sum.
      check(size >= 0 && size <= total.value - sum, ErrorKind::InvalidModel, node.describe(),
            ": split sizes exceed axis ", axis, " of size ", total.value);
      sum += size;
    }
    check(sum == total.value, ErrorKind::InvalidModel, node.describe(), ": split sizes add up to ",
          sum, " but axis ", axis, " has size ", total.value);
  }
  for (size_t i = 0; i < parts; ++i) {
    std::vector<Dim> dims = x.shape.dims();
    dims[static_cast<size_t>(axis)] = sizes.empty() ? Dim::unknown() : Dim::fixed(sizes[i]);
    set_output(node, i, x.dtype, Shape(std::move(dims)));
  }
}

// The length of one sliced axis under ONNX's clamping rules.
int64_t sliced_length(int64_t size, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, size);
    end = std::clamp<int64_t>(end, 0, size);
    return std::max<int64_t>(0, (end - start + step - 1) / step);
  }
  start = std::clamp<int64_t>(start, 0, size - 1);
  end = std::clamp<int64_t>(end, -1, size - 1);
  return std::max<int64_t>(0, (start - end - step - 1) / -step);
}

void infer_slice(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& starts_value = required_input(node, 1);
  required_input(node, 2);
  for (size_t i = 1; i < 5; ++i) {
    if (const Value* index = node.input(i)) require_index_dtype(node, *index);
  }
  if (!data.shape.rank_known()) {
    set_output(node, 0, data.dtype, Shape());
    return;
  }
  int64_t rank = data.shape.rank();
  auto starts = constant_ints(node, 1), ends = constant_ints(node, 2);
  auto axes = constant_ints(node, 3), steps = constant_ints(node, 4);
  bool axes_known = axes.has_value() || node.input(3) == nullptr;
  bool steps_known = steps.has_value() || node.input(4) == nullptr;
  // Without constant axes we cannot tell which dims change.
  if (!axes_known) {
    set_output(node, 0, data.dtype, unknown_dims(rank));
    return;
  }
  if (!axes) {
    const Shape& starts_shape = starts_value.shape;
    bool length_known =
        starts_shape.rank_known() && starts_shape.rank() == 1 && starts_shape[0].is_static();
    if (!length_known) {
      set_output(node, 0, data.dtype, unknown_dims(rank));
      return;
    }
    axes = std::vector<int64_t>();
    for (int64_t axis = 0; axis < starts_shape[0].value; ++axis) axes->push_back(axis);
  }
  bool bounds_known = starts && ends && steps_known;
  if (bounds_known) {
    check(starts->size() == axes->size() && ends->size() == axes->size() &&
              (!steps || steps->size() == axes->size()),
          ErrorKind::InvalidModel, node.describe(),
          ": starts, ends, axes and steps differ in length");
  }
  std::vector<Dim> result = data.shape.dims();
  for (size_t i = 0; i < axes->size(); ++i) {
    int64_t axis = normalize_axis((*axes)[i], rank, node.describe());
    Dim& dim = result[static_cast<size_t>(axis)];
    if (!bounds_known) {
      dim = Dim::unknown();
      continue;
    }
    int64_t step = steps ? (*steps)[i] : 1;
    check(step != 0, ErrorKind::InvalidModel, node.describe(), ": slice step must not be 0");
    int64_t start = (*starts)[i], end = (*ends)[i];
    if (dim.is_static()) {
      dim = Dim::fixed(sliced_length(dim.value, start, end, step));
    } else {
      // x[0:INT_MAX] of a symbolic dim keeps it; anything else is unknown.
      bool whole = step == 1 && start == 0 && end >= std::numeric_limits<int32_t>::max();
      if (!whole) dim = Dim::unknown();
    }
  }
  set_output(node, 0, data.dtype, Shape(std::move(result)));
}

void infer_gather(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& indices = required_input(node, 1);
  require_index_dtype(node, indices);
  if (!data.shape.rank_known() || !indices.shape.rank_known()) {
    set_output(node, 0, data.dtype, Shape());
    return;
  }
  int64_t axis = normalize_axis(node.attr_int("axis", 0), data.shape.rank(), node.describe());
  const auto& dims = data.shape.dims();
  std::vector<Dim> result(dims.begin(), dims.begin() + axis);
  for (const Dim& dim : indices.shape.dims()) result.push_back(dim);
  result.insert(result.end(), dims.begin() + axis + 1, dims.end());
  set_output(node, 0, data.dtype, Shape(std::move(result)));
}

// GatherElements' and ScatterElements' data and indices: one rank, and `axis` within it.
void check_element_indices(const Node& node, const Value& data, const Value& indices) {
  require_index_dtype(node, indices);
  if (data.shape.rank_known() && indices.shape.rank_known()) {
    check(data.shape.rank() == indices.shape.rank(), ErrorKind::InvalidModel, node.describe(),
          ": data ", data.shape.to_string(), " and indices ", indices.shape.to_string(),
          " must have the same rank");
    normalize_axis(node.attr_int("axis", 0), data.shape.rank(), node.describe());
  }
}

// Output has the indices' shape (same rank as data).
void infer_gather_elements(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& indices = required_input(node, 1);
  check_element_indices(node, data, indices);
  set_output(node, 0, data.dtype, indices.shape);
}

// ScatterElements: data's dtype and shape; indices and updates share a shape of data's rank.
void infer_scatter_elements(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& indices = required_input(node, 1);
  const Value& updates = required_input(node, 2);
  require_same_dtype(node, data, updates);
  scatter_reduction(node);
  check_element_indices(node, data, indices);
  set_output(node, 0, data.dtype, data.shape);
}

// ScatterND: data's dtype and shape; int64 indices, updates in data's dtype.
void infer_scatter_nd(Node& node) {
  const Value& data = required_input(node, 0);
  require_dtype(node, required_input(node, 1), DType::Int64);
  require_same_dtype(node, data, required_input(node, 2));
  scatter_reduction(node);
  set_output(node, 0, data.dtype, data.shape);
}

// Output = indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:].
void infer_gather_nd(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& indices = required_input(node, 1);
  require_dtype(node, indices, DType::Int64);
  int64_t batch_dims = node.attr_int("batch_dims", 0);
  if (!data.shape.rank_known() || !indices.shape.rank_known() || indices.shape.rank() == 0 ||
      !indices.shape[-1].is_static()) {
    set_output(node, 0, data.dtype, Shape());
    return;
  }
  int64_t index_length = indices.shape[-1].value;
  check(batch_dims >= 0 && batch_dims < indices.shape.rank() &&
            batch_dims + index_length <= data.shape.rank(),
        ErrorKind::InvalidModel, node.describe(), ": indices ", indices.shape.to_string(),
        " with batch_dims ", batch_dims, " do not fit data ", data.shape.to_string());
  std::vector<Dim> result(indices.shape.dims().begin(), indices.shape.dims().end() - 1);
  const auto& dims = data.shape.dims();
  result.insert(result.end(), dims.begin() + batch_dims + index_length, dims.end());
  set_output(node, 0, data.dtype, Shape(std::move(result)));
}

}  // namespace

ScatterReduction scatter_reduction(const Node& node) {
  static const std::map<std::string, ScatterReduction> kReductions = {
      {"none", ScatterReduction::None},
      {"add", ScatterReduction::Add},
      {"mul", ScatterReduction::Mul},
      {"max", ScatterReduction::Max},
      {"min", ScatterReduction::Min}};
  std::string name = node.attr_string("reduction", "none");
  auto found = kReductions.find(name);
  check(found != kReductions.end(), ErrorKind::InvalidModel, node.describe(), ": reduction '", name,
        "' is not none, add, mul, max or min");
  return found->second;
}

void add_indexing_schemas(std::vector<OpSchema>& table) {
  table.push_back({"Concat", 1, -1, 1, 1, false, infer_concat});
  table.push_back({"Split", 1, 1, 1, -1, false, infer_split});
  table.push_back({"Slice", 3, 5, 1, 1, false, infer_slice});
  table.push_back({"Gather", 2, 2, 1, 1, false, infer_gather});
  table.push_back({"GatherElements", 2, 2, 1, 1, false, infer_gather_elements});
  table.push_back({"GatherND", 2, 2, 1, 1, false, infer_gather_nd});
  table.push_back({"ScatterElements", 3, 3, 1, 1, false, infer_scatter_elements});
  table.push_back({"ScatterND", 3, 3, 1, 1, false, infer_scatter_nd});
}

}  // namespace kiln::ir
