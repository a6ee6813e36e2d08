// Copies a graph with its symbolic input dims fixed to concrete sizes, then re-runs the
// optimizer so shape chains fold and every value's shape becomes static (the GPU path's need).
#include <map>

#include "ir/input_dims.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

ir::Shape concrete_shape(const ir::Value& input, const std::map<std::string, Dims>& input_dims) {
  auto given = input_dims.find(input.name);
  if (given == input_dims.end()) {
    check(input.shape.is_static() || input.is_constant(), ErrorKind::InvalidArgument, "input '",
          input.name, "' has shape ", input.shape.to_string(), ": give its concrete dims");
    return input.shape;
  }
  // Rank and fixed dims were checked with the rest by ir::check_input_dims.
  return ir::Shape::from_dims(given->second);
}

}  // namespace

ir::Graph specialize_shapes(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims) {
  ir::check_input_dims(graph, input_dims);  // ranks, fixed dims, one size per symbol, ranges
  ir::Graph copy = ir::copy_graph(
      graph, [&](const ir::Value& input) { return concrete_shape(input, input_dims); });
  optimize(copy);
  for (const ir::Value* value : copy.values()) {
    check(value->shape.is_static(), ErrorKind::Unsupported, "value '", value->name, "' has shape ",
          value->shape.to_string(),
          " even with concrete input dims; data-dependent shapes are "
          "not supported on the GPU yet");
  }
  return copy;
}

}  // namespace kiln::passes
