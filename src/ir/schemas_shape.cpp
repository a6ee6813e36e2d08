// Schemas of the ops that compute on shapes: Shape, Size, ConstantOfShape, Range.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ir/schema_rules.h"
#include "ir/shape_values.h"

namespace kiln::ir {
namespace {

void infer_shape(Node& node) {
  required_input(node, 0);
  std::optional<std::vector<Dim>> dims = shape_node_dims(node);
  set_output(node, 0, DType::Int64,
             dims ? Shape({Dim::fixed(int64_t(dims->size()))}) : unknown_dims(1));
}

void infer_size(Node& node) {
  required_input(node, 0);
  set_output(node, 0, DType::Int64, Shape(std::vector<Dim>{}));
}

void infer_constant_of_shape(Node& node) {
  const Value& shape = required_input(node, 0);
  require_dtype(node, shape, DType::Int64);
  DType dtype = DType::Float32;
  if (const Tensor* value = node.attr_tensor("value")) {
    check(value->numel() == 1, ErrorKind::InvalidModel, node.describe(),
          ": attribute value must hold one element, got ", value->numel());
    dtype = value->dtype();
  }
  if (auto dims = constant_ints(node, 0)) {
    for (int64_t dim : *dims) {
      check(dim >= 0, ErrorKind::InvalidModel, node.describe(), ": negative dim ", dim,
            " in the shape input");
    }
    set_output(node, 0, dtype, Shape::from_dims(*dims));
  } else if (shape.shape.rank_known() && shape.shape.rank() == 1 && shape.shape[0].is_static()) {
    set_output(node, 0, dtype, unknown_dims(shape.shape[0].value));
  } else {
    set_output(node, 0, dtype, Shape());
  }
}

// Number of elements of Range(start, limit, delta): max(ceil((limit - start) / delta), 0).
Dim range_length(const Node& node) {
  const Tensor* start = constant_input(node, 0);
  const Tensor* limit = constant_input(node, 1);
  const Tensor* delta = constant_input(node, 2);
  if (start && delta && !limit && is_integral(start->dtype()) && start->numel() == 1 &&
      delta->numel() == 1 && start->to_int64_vector()[0] == 0 && delta->to_int64_vector()[0] == 1) {
    // arange(size) of a size the graph states (Shape of a value, as HF masks count the batch).
    std::optional<std::vector<ShapeEntry>> entries = shape_entries(node.inputs[1]);
    if (entries && entries->size() == 1 && !(*entries)[0].inferred) return (*entries)[0].dim;
  }
  if (!start || !limit || !delta) return Dim::unknown();
  for (const Tensor* scalar : {start, limit, delta}) {
    check(scalar->numel() == 1, ErrorKind::InvalidModel, node.describe(),
          ": start, limit and delta must be scalars");
  }
  if (is_integral(start->dtype())) {
    int64_t first = start->to_int64_vector()[0], last = limit->to_int64_vector()[0];
    int64_t step = delta->to_int64_vector()[0];
    check(step != 0, ErrorKind::InvalidModel, node.describe(), ": delta must not be 0");
    int64_t span = last - first;
    int64_t count = span / step + ((span % step != 0 && (span > 0) == (step > 0)) ? 1 : 0);
    return Dim::fixed(std::max<int64_t>(0, count));
  }
  double first = start->to_double_vector()[0], last = limit->to_double_vector()[0];
  double step = delta->to_double_vector()[0];
  check(step != 0.0, ErrorKind::InvalidModel, node.describe(), ": delta must not be 0");
  return Dim::fixed(std::max<int64_t>(0, static_cast<int64_t>(std::ceil((last - first) / step))));
}

void infer_range(Node& node) {
  const Value& start = required_input(node, 0);
  require_numeric(node, start);
  require_same_dtype(node, start, required_input(node, 1));
  require_same_dtype(node, start, required_input(node, 2));
  set_output(node, 0, start.dtype, Shape({range_length(node)}));
}

}  // namespace

void add_shape_schemas(std::vector<OpSchema>& table) {
  table.push_back({"Shape", 1, 1, 1, 1, false, infer_shape});
  table.push_back({"Size", 1, 1, 1, 1, false, infer_size});
  table.push_back({"ConstantOfShape", 1, 1, 1, 1, false, infer_constant_of_shape});
  table.push_back({"Range", 3, 3, 1, 1, false, infer_range});
}

}  // namespace kiln::ir
