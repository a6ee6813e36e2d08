// Copies a graph with its symbolic input dims fixed to concrete sizes, then re-runs the
// optimizer so shape chains fold and every value's shape becomes static (the GPU path's need).
#include <map>

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
  const Dims& dims = given->second;
  if (input.shape.rank_known()) {
    check(input.shape.rank() == int64_t(dims.size()), ErrorKind::InvalidArgument, "input '",
          input.name, "' has rank ", input.shape.rank(), ", given dims ", dims_to_string(dims));
    for (size_t axis = 0; axis < dims.size(); ++axis) {
      const ir::Dim& dim = input.shape.dims()[axis];
      check(!dim.is_static() || dim.value == dims[axis], ErrorKind::InvalidArgument, "input '",
            input.name, "' axis ", axis, " is fixed at ", dim.value, ", given ", dims[axis]);
    }
  }
  return ir::Shape::from_dims(dims);
}

}  // namespace

ir::Graph specialize_shapes(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims) {
  ir::Graph copy;
  copy.name = graph.name;
  std::map<const ir::Value*, ir::Value*> mapped;
  for (const ir::Value* input : graph.inputs()) {
    ir::Value* value = copy.add_input(input->name, input->dtype, concrete_shape(*input, input_dims));
    if (input->is_constant()) value->constant = input->constant;
    mapped[input] = value;
  }
  auto lookup = [&](const ir::Value* value) -> ir::Value* {
    if (value == nullptr) return nullptr;
    auto it = mapped.find(value);
    if (it != mapped.end()) return it->second;
    check(value->is_constant(), ErrorKind::InvalidModel, "value '", value->name,
          "' is read before it is produced");
    ir::Value* constant = copy.add_constant(value->name, *value->constant);
    mapped[value] = constant;
    return constant;
  };
  for (const ir::Node* node : graph.nodes()) {
    std::vector<ir::Value*> inputs;
    for (const ir::Value* input : node->inputs) inputs.push_back(lookup(input));
    std::vector<std::string> output_names;
    for (const ir::Value* output : node->outputs) output_names.push_back(output->name);
    ir::Node* clone = copy.add_node(node->op, node->name, inputs, output_names);
    clone->attrs = node->attrs;
    clone->precision = node->precision;
    clone->source = node->source;
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      clone->outputs[i]->dtype = node->outputs[i]->dtype;
      mapped[node->outputs[i]] = clone->outputs[i];
    }
  }
  for (const ir::Value* output : graph.outputs()) copy.add_output(lookup(output));
  optimize(copy);
  for (const ir::Value* value : copy.values()) {
    check(value->shape.is_static(), ErrorKind::Unsupported, "value '", value->name, "' has shape ",
          value->shape.to_string(), " even with concrete input dims; data-dependent shapes are "
          "not supported on the GPU yet");
  }
  return copy;
}

}  // namespace kiln::passes
