// Copying a graph (graphs are move-only, so that copies are deliberate).
#include <map>

#include "core/error.h"
#include "ir/graph.h"

namespace kiln::ir {

Graph copy_graph(const Graph& graph, const std::function<Shape(const Value&)>& input_shape) {
  Graph copy;
  copy.name = graph.name;
  copy.dim_ranges = graph.dim_ranges;
  std::map<const Value*, Value*> mapped;
  for (const Value* input : graph.inputs()) {
    Value* value =
        copy.add_input(input->name, input->dtype, input_shape ? input_shape(*input) : input->shape);
    if (input->is_constant()) value->constant = input->constant;
    mapped[input] = value;
  }
  auto lookup = [&](const Value* value) -> Value* {
    if (value == nullptr) return nullptr;
    auto it = mapped.find(value);
    if (it != mapped.end()) return it->second;
    check(value->is_constant(), ErrorKind::InvalidModel, "value '", value->name,
          "' is read before it is produced");
    Value* constant = copy.add_constant(value->name, *value->constant);
    constant->dtype = value->dtype;
    constant->shape = value->shape;
    mapped[value] = constant;
    return constant;
  };
  for (const Node* node : graph.nodes()) {
    std::vector<Value*> inputs;
    for (const Value* input : node->inputs) inputs.push_back(lookup(input));
    std::vector<std::string> output_names;
    for (const Value* output : node->outputs) output_names.push_back(output->name);
    Node* clone = copy.add_node(node->op, node->name, inputs, output_names);
    clone->attrs = node->attrs;
    clone->precision = node->precision;
    clone->source = node->source;
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      clone->outputs[i]->dtype = node->outputs[i]->dtype;
      if (!input_shape) clone->outputs[i]->shape = node->outputs[i]->shape;
      mapped[node->outputs[i]] = clone->outputs[i];
    }
  }
  for (const Value* output : graph.outputs()) copy.add_output(lookup(output));
  return copy;
}

}  // namespace kiln::ir
