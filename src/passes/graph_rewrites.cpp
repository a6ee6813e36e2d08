// Node replacement and removal that keep graph output names intact.
#include "passes/graph_rewrites.h"

#include <algorithm>

#include "core/error.h"

namespace kiln::passes {

void replace_by_constants(ir::Graph& graph, ir::Node* node, std::vector<Tensor> results) {
  check(results.size() == node->outputs.size(), ErrorKind::Runtime, node->describe(), ": computed ",
        results.size(), " results for ", node->outputs.size(), " outputs");
  for (size_t i = 0; i < results.size(); ++i) {
    ir::Value* output = node->outputs[i];
    Tensor& result = results[i];
    if (output->dtype != DType::Undefined && result.dtype() != output->dtype) {
      result = result.to(output->dtype);
    }
    output->dtype = result.dtype();
    output->shape = ir::Shape::from_dims(result.dims());
    output->constant = std::move(result);
    output->producer = nullptr;
  }
  node->outputs.clear();
  graph.remove_node(node);
}

bool bypass_node(ir::Graph& graph, ir::Node* node) {
  ir::Value* input = node->inputs.at(0);
  ir::Value* output = node->outputs.at(0);
  if (!graph.is_graph_output(output)) {
    graph.replace_all_uses(output, input);
    graph.remove_node(node);
    return true;
  }
  if (input->is_constant()) {
    output->constant = input->constant;
    output->producer = nullptr;
    node->outputs.clear();
    graph.remove_node(node);
    return true;
  }
  ir::Node* producer = input->producer;
  if (producer == nullptr || graph.is_graph_output(input)) return false;
  // The producer now writes the graph output directly; the node and `input` disappear.
  node->inputs.clear();
  node->outputs.clear();
  std::replace(producer->outputs.begin(), producer->outputs.end(), input, output);
  output->producer = producer;
  input->producer = nullptr;
  graph.replace_all_uses(input, output);
  graph.remove_node(node);
  return true;
}

}  // namespace kiln::passes
