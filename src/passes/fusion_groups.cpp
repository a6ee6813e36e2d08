// Fusion groups: a node joins the open group of one of its producers when both write the
// same dims; a group closes (takes no more members) once a node outside it reads one of its
// values, which is what keeps "run the group at its last member" a valid order.
#include "passes/fusion_groups.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace kiln::passes {
namespace {

// The pointwise ops the kernel generator (backends/cuda/fusion) expresses.
// Float math: float inputs, a float output.
const std::set<std::string, std::less<>>& float_math_ops() {
  static const std::set<std::string, std::less<>> ops = {
      "Relu", "Gelu", "Erf",  "Tanh",       "Sigmoid", "HardSigmoid", "HardSwish", "Neg",
      "Exp",  "Log",  "Sqrt", "Reciprocal", "Sin",     "Cos",         "Clip",      "Add",
      "Sub",  "Mul",  "Div",  "Pow",        "Max",     "Min"};
  return ops;
}

// Ops with a bool output (comparisons, logic, IsNaN); Where and Cast take any of the types.
const std::set<std::string, std::less<>>& bool_result_ops() {
  static const std::set<std::string, std::less<>> ops = {"Equal", "Less", "Greater",
                                                         "And",   "Not",  "IsNaN"};
  return ops;
}

bool is_fusible_value_dtype(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::BFloat16 || dtype == DType::Float16 ||
         dtype == DType::Bool;
}

}  // namespace

bool is_block_broadcast(const Dims& input, const Dims& domain) {
  if (input.size() > domain.size()) return false;
  size_t lead = domain.size() - input.size();
  // Per domain position that is not one: does the input cover it (same size) or broadcast it?
  std::vector<bool> covered;
  for (size_t p = 0; p < domain.size(); ++p) {
    int64_t size = p < lead ? 1 : input[p - lead];
    if (size != 1 && size != domain[p]) return false;
    if (domain[p] != 1) covered.push_back(size != 1);
  }
  // The covered positions must be one run.
  size_t first = covered.size(), last = 0;
  for (size_t i = 0; i < covered.size(); ++i) {
    if (!covered[i]) continue;
    first = std::min(first, i);
    last = i;
  }
  for (size_t i = first; i < last; ++i) {
    if (!covered[i]) return false;
  }
  return true;
}

bool is_inlined_scalar(const ir::Value& value) {
  return value.is_constant() && value.constant->numel() == 1 &&
         is_fusible_value_dtype(value.constant->dtype());
}

bool is_fusible_pointwise(const ir::Node& node) {
  if (node.outputs.size() != 1) return false;
  const ir::Value& output = *node.outputs[0];
  if (!output.shape.is_static() || !is_fusible_value_dtype(output.dtype)) return false;
  bool float_math = float_math_ops().contains(node.op);
  if (float_math && output.dtype == DType::Bool) return false;
  if (!float_math && !bool_result_ops().contains(node.op) && node.op != "Where" &&
      node.op != "Cast")
    return false;
  Dims domain = output.shape.static_dims();
  bool any_input = false;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr) continue;
    any_input = true;
    bool integer_cast =
        node.op == "Cast" && (input->dtype == DType::Int32 || input->dtype == DType::Int64);
    if (!is_fusible_value_dtype(input->dtype) && !integer_cast) return false;
    if (float_math && input->dtype == DType::Bool) return false;
    if (!input->shape.is_static() || !is_block_broadcast(input->shape.static_dims(), domain))
      return false;
  }
  return any_input;
}

std::vector<FusionGroup> find_fusion_groups(const ir::Graph& graph) {
  struct Building {
    FusionGroup group;
    bool open = true;
  };
  std::vector<Building> building;
  std::map<const ir::Node*, size_t> group_of;
  for (const ir::Node* node : graph.nodes()) {
    bool fusible = is_fusible_pointwise(*node);
    Dims domain = fusible ? node->outputs[0]->shape.static_dims() : Dims{};
    std::optional<size_t> joined;
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr || input->producer == nullptr) continue;
      auto found = group_of.find(input->producer);
      if (found == group_of.end()) continue;
      Building& candidate = building[found->second];
      if (fusible && !joined && candidate.open && candidate.group.domain == domain)
        joined = found->second;
    }
    // Every other group this node reads from is closed: the node runs after it.
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr || input->producer == nullptr) continue;
      auto found = group_of.find(input->producer);
      if (found != group_of.end() && found->second != joined) building[found->second].open = false;
    }
    if (!fusible) continue;
    if (!joined) {
      joined = building.size();
      building.push_back({FusionGroup{{}, domain}, true});
    }
    building[*joined].group.nodes.push_back(node);
    group_of[node] = *joined;
  }
  std::vector<FusionGroup> groups;
  for (Building& candidate : building) {
    if (candidate.group.nodes.size() >= 2) groups.push_back(std::move(candidate.group));
  }
  return groups;
}

}  // namespace kiln::passes
