// Fusion groups: a node joins the open group of one of its producers when both write the
// same dims; a group closes (takes no more members) once a node outside it reads one of its
// values, which is what keeps "run the group at its last member" a valid order.
#include "passes/fusion_groups.h"

#include <algorithm>
#include <map>
#include <numeric>
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

bool broadcasts_onto(const Dims& input, const Dims& domain) {
  if (input.size() > domain.size()) return false;
  size_t lead = domain.size() - input.size();
  for (size_t p = 0; p < input.size(); ++p) {
    if (input[p] != 1 && input[p] != domain[lead + p]) return false;
  }
  return true;
}

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
    if (!input->shape.is_static() || !broadcasts_onto(input->shape.static_dims(), domain))
      return false;
  }
  return any_input;
}

std::optional<SliceWindow> slice_window(const ir::Node& node) {
  if (node.op != "Slice" || node.inputs.size() < 3 || node.outputs.size() != 1) return {};
  const ir::Value* data = node.inputs[0];
  if (data == nullptr || !data->shape.is_static()) return {};
  auto ints = [&](size_t index) -> std::optional<std::vector<int64_t>> {
    const ir::Value* value = node.input(index);
    if (value == nullptr) return std::vector<int64_t>{};
    if (!value->is_constant()) return {};
    return value->constant->to_int64_vector();
  };
  std::optional<std::vector<int64_t>> starts = ints(1), axes = ints(3), steps = ints(4);
  if (!starts || !axes || !steps) return {};
  Dims dims = data->shape.static_dims();
  int64_t rank = int64_t(dims.size());
  if (axes->empty()) {
    for (size_t i = 0; i < starts->size(); ++i) axes->push_back(int64_t(i));
  }
  if (steps->empty()) steps->assign(starts->size(), 1);
  if (axes->size() != starts->size() || steps->size() != starts->size()) return {};
  SliceWindow window{Dims(dims.size(), 0), Dims(dims.size(), 1)};
  for (size_t i = 0; i < starts->size(); ++i) {
    int64_t axis = (*axes)[i] < 0 ? (*axes)[i] + rank : (*axes)[i];
    if (axis < 0 || axis >= rank || (*steps)[i] <= 0) return {};
    int64_t start = (*starts)[i] < 0 ? (*starts)[i] + dims[size_t(axis)] : (*starts)[i];
    window.starts[size_t(axis)] = std::clamp<int64_t>(start, 0, dims[size_t(axis)]);
    window.steps[size_t(axis)] = (*steps)[i];
  }
  return window;
}

bool is_fusible_index_op(const ir::Node& node) {
  if (node.attr_string(kFusionAttribute, "") == "off") return false;
  if ((node.op != "Slice" && node.op != "Concat") || node.outputs.size() != 1) return false;
  const ir::Value& output = *node.outputs[0];
  if (!output.shape.is_static() || !is_fusible_value_dtype(output.dtype) ||
      element_count(output.shape.static_dims()) == 0)
    return false;
  for (const ir::Value* input : data_operands(node)) {
    if (input == nullptr || !input->shape.is_static() || input->dtype != output.dtype) return false;
  }
  return node.op == "Concat" || slice_window(node).has_value();
}

std::vector<const ir::Value*> data_operands(const ir::Node& node) {
  if (node.op == "Slice") return {node.inputs.empty() ? nullptr : node.inputs[0]};
  return {node.inputs.begin(), node.inputs.end()};
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
  bool indexed = false;  // has members over other dims than the domain (an index group)
  std::set<const ir::Value*> row_values;  // a ReduceMean/Sum/Max's output and math on it
  std::set<const ir::Value*> made;        // the members' outputs
  std::set<const ir::Value*> read;        // group.inputs, for lookup
};

// The outside values `node` reads that `group` does not read yet, in `node`'s input order.
std::vector<const ir::Value*> new_reads(const Building& group, const ir::Node& node) {
  std::vector<const ir::Value*> fresh;
  for (const ir::Value* input : data_operands(node)) {
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
    if (group.reduction != nullptr || group.domain != dims || candidate.indexed) return false;
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

// Whether `node` (a pointwise or index op writing `dims`) may take every group of `merging`
// (open, without a reduction) into one group over its dims: a member over other dims is then
// evaluated at the element each reader needs (a slice's source, a concatenated piece, a
// broadcast value recomputed), so everything that reads it must be inside, and the merged
// group must read no more than a kernel takes.
bool may_merge(const std::vector<Building>& building, const std::vector<size_t>& merging,
               const ir::Node& node, const Dims& dims, const ir::Graph& graph) {
  std::set<const ir::Node*> members{&node};
  std::set<const ir::Value*> made, read;
  for (size_t index : merging) {
    const Building& group = building[index];
    if (!group.open || group.group.reduction != nullptr) return false;
    members.insert(group.group.nodes.begin(), group.group.nodes.end());
    made.insert(group.made.begin(), group.made.end());
    read.insert(group.read.begin(), group.read.end());
  }
  for (const ir::Node* member : members) {
    const ir::Value* value = member->outputs[0];
    if (member == &node || value->shape.static_dims() == dims) continue;
    if (graph.is_graph_output(value)) return false;
    for (const ir::Node* user : graph.users(value)) {
      if (!members.contains(user)) return false;
    }
  }
  for (const ir::Value* input : data_operands(node)) {
    if (input != nullptr && !made.contains(input) && !is_inlined_scalar(*input)) read.insert(input);
  }
  return read.size() <= size_t(kMaxGroupInputs);
}

// Moves `other`'s members and reads into `group`, which takes them over `domain`; `other`
// is left empty and closed.
void absorb(Building& group, Building& other, const Dims& domain) {
  group.group.nodes.insert(group.group.nodes.end(), other.group.nodes.begin(),
                           other.group.nodes.end());
  group.made.insert(other.made.begin(), other.made.end());
  for (const ir::Value* input : other.group.inputs) {
    if (group.read.insert(input).second) group.group.inputs.push_back(input);
  }
  group.indexed |= other.indexed || other.group.domain != domain;
  other = Building{};
  other.open = false;
}

// A Slice of an outside value whose output the group would write anyway leaves the group,
// which then reads its output: alone it may be a view, or a crop its producer writes itself
// (a padded LM head's), where in the group it would be a copy.
void peel_written_slices(FusionGroup& group, const ir::Graph& graph) {
  std::set<const ir::Value*> made;
  for (const ir::Node* node : group.nodes) made.insert(node->outputs[0]);
  std::vector<const ir::Value*> written = written_values(group, graph);
  for (auto node = group.nodes.begin(); node != group.nodes.end();) {
    const ir::Value* output = (*node)->outputs[0];
    if ((*node)->op != "Slice" || made.contains((*node)->inputs[0]) ||
        std::find(written.begin(), written.end(), output) == written.end()) {
      ++node;
      continue;
    }
    const ir::Value* source = (*node)->inputs[0];
    node = group.nodes.erase(node);
    bool still_read = false;
    for (const ir::Node* member : group.nodes) {
      for (const ir::Value* input : data_operands(*member)) still_read |= input == source;
    }
    auto at = std::find(group.inputs.begin(), group.inputs.end(), source);
    if (!still_read && at != group.inputs.end()) group.inputs.erase(at);
    group.inputs.push_back(output);
  }
}

}  // namespace

std::vector<FusionGroup> find_fusion_groups(const ir::Graph& graph,
                                            const NodePredicate& without_kernel) {
  std::vector<Building> building;
  std::map<const ir::Node*, size_t> group_of;
  std::map<const ir::Node*, size_t> position;
  for (const ir::Node* node : graph.nodes()) position.emplace(node, position.size());
  for (const ir::Node* node : graph.nodes()) {
    bool is_reduction = is_fusible_row_reduction(*node, graph);
    bool is_index = !is_reduction && is_fusible_index_op(*node);
    bool fusible = is_reduction || is_index || is_fusible_pointwise(*node);
    Dims domain = !fusible       ? Dims{}
                  : is_reduction ? node->inputs[0]->shape.static_dims()
                                 : node->outputs[0]->shape.static_dims();
    // The open groups that made this node's inputs, in input order.
    std::vector<size_t> producers;
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr || input->producer == nullptr) continue;
      auto found = group_of.find(input->producer);
      if (found != group_of.end() && building[found->second].open &&
          std::find(producers.begin(), producers.end(), found->second) == producers.end())
        producers.push_back(found->second);
    }
    std::optional<size_t> joined;
    std::vector<size_t> merged;
    // A node that reads several groups, or changes the domain (an index op, a broadcast),
    // takes them all where it may; otherwise it joins one group over its domain.
    bool reshapes = is_index;
    for (size_t index : producers) reshapes |= building[index].group.domain != domain;
    if (fusible && !is_reduction && (producers.size() > 1 || reshapes) && !producers.empty() &&
        may_merge(building, producers, *node, domain, graph)) {
      joined = producers.front();
      merged.assign(producers.begin() + 1, producers.end());
    }
    for (size_t index : producers) {
      if (!fusible || joined) break;
      if (may_join(building[index], *node, domain, is_reduction) &&
          building[index].read.size() + new_reads(building[index], *node).size() <=
              size_t(kMaxGroupInputs))
        joined = index;
    }
    // Every other group this node reads from is closed: the node runs after it.
    for (size_t index : producers) {
      if (index != joined && std::find(merged.begin(), merged.end(), index) == merged.end())
        building[index].open = false;
    }
    if (!fusible) continue;
    if (!joined) {
      joined = building.size();
      building.push_back({FusionGroup{{}, domain, nullptr, {}, {}}, true, false, {}});
    }
    Building& group = building[*joined];
    for (size_t index : merged) {
      for (const ir::Node* member : building[index].group.nodes) group_of[member] = *joined;
      absorb(group, building[index], domain);
    }
    if (!merged.empty()) {
      std::sort(group.group.nodes.begin(), group.group.nodes.end(),
                [&](const ir::Node* a, const ir::Node* b) { return position[a] < position[b]; });
    }
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
    if (group.group.reduction == nullptr) {  // the domain is the latest member's dims
      group.indexed |= is_index || group.group.domain != domain;
      group.group.domain = domain;
    }
    group_of[node] = *joined;
  }
  std::vector<FusionGroup> groups;
  for (Building& candidate : building) {
    if (candidate.group.nodes.empty()) continue;  // merged into another
    peel_written_slices(candidate.group, graph);
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
