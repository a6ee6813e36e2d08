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
      "Relu",  "Gelu",  "Erf",  "Tanh",  "Sigmoid", "HardSigmoid", "HardSwish", "Neg",
      "Abs",   "Sign",  "Exp",  "Log",   "Sqrt",    "Reciprocal",  "Sin",       "Cos",
      "Tan",   "Asin",  "Acos", "Atan",  "Sinh",    "Cosh",        "Asinh",     "Acosh",
      "Atanh", "Floor", "Ceil", "Round", "Clip",    "Add",         "Sub",       "Mul",
      "Div",   "Pow",   "Max",  "Min",   "Mod"};
  return ops;
}

// Ops with a bool output (comparisons, logic, IsNaN, IsInf); Where and Cast take any of the
// types.
const std::set<std::string, std::less<>>& bool_result_ops() {
  static const std::set<std::string, std::less<>> ops = {"Equal", "Less",  "Greater", "And",
                                                         "Not",   "IsNaN", "IsInf"};
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
  if (node.attr_string(kFusionAttribute, "") == "off") return false;
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

namespace {

Dims row_dims(const Dims& domain) {
  Dims dims = domain;
  if (!dims.empty()) dims.back() = 1;
  return dims;
}

}  // namespace

bool is_row_sum(const ir::Node& node) {
  return node.op == "ReduceMean" || node.op == "ReduceSum" || node.op == "ReduceMax";
}

bool is_fusible_row_reduction(const ir::Node& node, const ir::Graph& graph) {
  if (node.attr_string(kFusionAttribute, "") == "off") return false;
  bool row_sum = is_row_sum(node);
  if (node.op != "Softmax" && node.op != "LayerNormalization" && !row_sum) return false;
  const ir::Value* x = node.input(0);
  if (x == nullptr || !x->shape.is_static() || x->shape.rank() == 0) return false;
  Dims dims = x->shape.static_dims();
  int64_t rank = int64_t(dims.size());
  if (row_sum) {
    std::vector<int64_t> axes = node.attr_ints("axes");
    if (axes.size() != 1 || (axes[0] != -1 && axes[0] != rank - 1) ||
        node.attr_int("keepdims", 1) == 0 || node.inputs.size() != 1 || dims.back() < 2)
      return false;
  } else {
    int64_t axis = node.attr_int("axis", -1);
    if (axis != -1 && axis != rank - 1) return false;
  }
  if (dims.back() < 1 || dims.back() > kMaxFusedRowLength) return false;
  for (const ir::Value* value : {x, static_cast<const ir::Value*>(node.outputs[0])}) {
    if (value->dtype != DType::Float32 && value->dtype != DType::BFloat16 &&
        value->dtype != DType::Float16)
      return false;
  }
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr &&
        (!graph.users(node.outputs[i]).empty() || graph.is_graph_output(node.outputs[i])))
      return false;
  }
  for (size_t i = 1; i < node.inputs.size(); ++i) {  // LayerNorm's scale and bias
    const ir::Value* parameter = node.inputs[i];
    if (parameter == nullptr) continue;
    if (!parameter->shape.is_static() || !is_fusible_value_dtype(parameter->dtype) ||
        parameter->dtype == DType::Bool ||
        element_count(parameter->shape.static_dims()) != dims.back() ||
        !is_block_broadcast(parameter->shape.static_dims(), dims))
      return false;
  }
  return true;
}

namespace {

struct Building {
  FusionGroup group;  // its inputs grow as members join; its outputs are found at the end
  bool open = true;
  std::set<const ir::Value*> row_values;  // a ReduceMean/Sum/Max's output and math on it
  std::set<const ir::Value*> made;        // the members' outputs
  std::set<const ir::Value*> read;        // group.inputs, for lookup
};

// The outside values `node` reads that `group` does not read yet, in `node`'s input order.
std::vector<const ir::Value*> new_reads(const Building& group, const ir::Node& node) {
  std::vector<const ir::Value*> fresh;
  for (const ir::Value* input : node.inputs) {
    if (input != nullptr && !group.made.contains(input) && !group.read.contains(input) &&
        !is_inlined_scalar(*input) && std::find(fresh.begin(), fresh.end(), input) == fresh.end())
      fresh.push_back(input);
  }
  return fresh;
}

// The members' values `group` must write: those a node outside it reads or the graph delivers.
std::vector<const ir::Value*> written_values(const FusionGroup& group, const ir::Graph& graph) {
  std::set<const ir::Node*> members(group.nodes.begin(), group.nodes.end());
  std::vector<const ir::Value*> written;
  for (const ir::Node* node : group.nodes) {
    const ir::Value* value = node->outputs[0];
    bool outside = graph.is_graph_output(value);
    for (const ir::Node* user : graph.users(value)) outside |= !members.contains(user);
    if (outside) written.push_back(value);
  }
  return written;
}

// Whether `node` (fusible, writing `dims`; a reduction: reading them) may join `candidate`.
// Besides nodes over the group's domain, a group with a ReduceMean/Sum/Max takes pointwise
// nodes over its rows (dims with the last one 1) that read only row values and scalars: the
// epsilon and square root of an RMSNorm.
bool may_join(const Building& candidate, const ir::Node& node, const Dims& dims,
              bool is_reduction) {
  if (!candidate.open) return false;
  const FusionGroup& group = candidate.group;
  if (is_reduction) {
    if (group.reduction != nullptr || group.domain != dims) return false;
    for (size_t i = 1; i < node.inputs.size(); ++i) {  // parameters are operands
      if (node.inputs[i] != nullptr && node.inputs[i]->producer != nullptr &&
          std::find(group.nodes.begin(), group.nodes.end(), node.inputs[i]->producer) !=
              group.nodes.end())
        return false;
    }
    return true;
  }
  if (group.domain == dims) return true;
  if (group.reduction == nullptr || !is_row_sum(*group.reduction) || dims != row_dims(group.domain))
    return false;
  for (const ir::Value* input : node.inputs) {
    if (input == nullptr || candidate.row_values.contains(input)) continue;
    if (!input->shape.is_static() || element_count(input->shape.static_dims()) != 1) return false;
  }
  return true;
}

}  // namespace

std::vector<FusionGroup> find_fusion_groups(const ir::Graph& graph,
                                            const NodePredicate& without_kernel) {
  std::vector<Building> building;
  std::map<const ir::Node*, size_t> group_of;
  for (const ir::Node* node : graph.nodes()) {
    bool is_reduction = is_fusible_row_reduction(*node, graph);
    bool fusible = is_reduction || is_fusible_pointwise(*node);
    Dims domain = !fusible       ? Dims{}
                  : is_reduction ? node->inputs[0]->shape.static_dims()
                                 : node->outputs[0]->shape.static_dims();
    std::optional<size_t> joined;
    for (const ir::Value* input : node->inputs) {
      if (!fusible || joined || input == nullptr || input->producer == nullptr) continue;
      auto found = group_of.find(input->producer);
      if (found != group_of.end() &&
          may_join(building[found->second], *node, domain, is_reduction) &&
          building[found->second].read.size() + new_reads(building[found->second], *node).size() <=
              size_t(kMaxGroupInputs))
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
      building.push_back({FusionGroup{{}, domain, nullptr, {}, {}}, true, {}});
    }
    Building& group = building[*joined];
    for (const ir::Value* input : new_reads(group, *node)) {
      group.read.insert(input);
      group.group.inputs.push_back(input);
    }
    group.made.insert(node->outputs[0]);
    group.group.nodes.push_back(node);
    if (is_reduction) group.group.reduction = node;
    bool row_value = group.group.reduction != nullptr && is_row_sum(*group.group.reduction) &&
                     (node == group.group.reduction || domain != group.group.domain);
    if (row_value) group.row_values.insert(node->outputs[0]);
    group_of[node] = *joined;
  }
  std::vector<FusionGroup> groups;
  for (Building& candidate : building) {
    bool worth_it = candidate.group.nodes.size() >= 2 || candidate.group.reduction != nullptr ||
                    (without_kernel && without_kernel(*candidate.group.nodes.front()));
    if (!worth_it) continue;
    candidate.group.outputs = written_values(candidate.group, graph);
    // A node alone reads at most its own inputs; a group whose writes exceed what a generated
    // kernel takes stays unfused.
    if (candidate.group.inputs.size() <= size_t(kMaxGroupInputs) &&
        candidate.group.outputs.size() <= size_t(kMaxGroupOutputs))
      groups.push_back(std::move(candidate.group));
  }
  return groups;
}

}  // namespace kiln::passes
