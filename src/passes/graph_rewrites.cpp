// Node replacement and removal that keep graph output names intact, and the conditions of
// the epilogue fusions.
#include "passes/graph_rewrites.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// The precision a node's outputs (and a library epilogue) are computed in: TF32 rounds only
// the inputs of matrix products, so it counts as fp32 here.
Precision output_precision(Precision precision) {
  return precision == Precision::TF32 ? Precision::FP32 : precision;
}

bool precisions_agree(const ir::Node& producer, const ir::Node& follower) {
  if (!follower.precision) return true;
  return output_precision(*follower.precision) ==
         output_precision(producer.precision.value_or(Precision::FP32));
}

}  // namespace

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

ir::Node* sole_reader(const ir::Graph& graph, const ir::Value* value) {
  if (graph.is_graph_output(value)) return nullptr;
  std::vector<ir::Node*> users = graph.users(value);
  return users.size() == 1 ? users[0] : nullptr;
}

ir::Node* sole_user(const ir::Graph& graph, const ir::Node& producer) {
  return producer.outputs.size() == 1 ? sole_reader(graph, producer.outputs[0]) : nullptr;
}

Dims static_dims_or_empty(const ir::Value* value) {
  if (value == nullptr || !value->shape.rank_known() || !value->shape.is_static()) return {};
  return value->shape.static_dims();
}

void tidy_after_rewrite(ir::Graph& graph) {
  graph.sort_topologically();
  eliminate_dead_code(graph);
  graph.remove_unused_values();
  ir::infer_graph(graph);
}

bool is_layout_op(const std::string& op) {
  return op == "Transpose" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
         op == "Unsqueeze";
}

ir::Value* int64s_constant(ir::Graph& graph, const std::string& name,
                           const std::vector<int64_t>& values) {
  return graph.add_constant(graph.unique_name(name),
                            Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

bool fusable_follower(const ir::Node& producer, const ir::Node& follower) {
  const ir::Value* value = producer.outputs[0];
  return follower.outputs.size() == 1 && follower.outputs[0]->dtype == value->dtype &&
         is_floating(value->dtype) && precisions_agree(producer, follower);
}

void absorb(ir::Graph& graph, ir::Node* producer, ir::Node* follower) {
  ir::Value* result = follower->outputs.at(0);
  ir::Value* intermediate = producer->outputs[0];
  follower->inputs.clear();
  follower->outputs.clear();
  graph.remove_node(follower);
  intermediate->producer = nullptr;
  producer->outputs[0] = result;
  result->producer = producer;
}

ir::Node* insert_follower(ir::Graph& graph, ir::Node* producer, const std::string& op,
                          const std::string& name, const std::vector<ir::Value*>& other_inputs,
                          const std::string& produced_name) {
  std::vector<ir::Value*> inputs{nullptr};
  inputs.insert(inputs.end(), other_inputs.begin(), other_inputs.end());
  ir::Node* follower = graph.add_node(op, name, std::move(inputs), {produced_name});
  ir::Value* result = producer->outputs[0];
  ir::Value* produced = follower->outputs[0];
  follower->outputs[0] = result;
  result->producer = follower;
  producer->outputs[0] = produced;
  produced->producer = producer;
  follower->inputs[0] = produced;
  return follower;
}

std::optional<BatchNormAffine> batch_norm_affine(const ir::Node& batch_norm, int64_t channels) {
  std::vector<std::vector<double>> params;  // scale, bias, mean, var
  for (size_t i = 1; i < 5; ++i) {
    const ir::Value* param = batch_norm.input(i);
    if (param == nullptr || !param->is_constant() || !is_float_storage(param->dtype) ||
        param->constant->numel() != channels) {
      return std::nullopt;
    }
    params.push_back(param->constant->to_double_vector());
  }
  double epsilon = batch_norm.attr_float("epsilon", 1e-5);
  BatchNormAffine affine{std::vector<double>(size_t(channels)), std::move(params[2]),
                         std::move(params[1])};
  for (size_t c = 0; c < size_t(channels); ++c) {
    affine.s[c] = params[0][c] / std::sqrt(params[3][c] + epsilon);
  }
  return affine;
}

}  // namespace kiln::passes
