// Moves a Transpose below the region of elementwise math, slices and concatenations that reads
// it, where that lands it next to the attention (which folds it: fold_attention_transposes) or
// a layout chain it collapses with. The case that matters is the rotary embedding of the Llama
// family (Llama, Mistral, Qwen2, Gemma, Phi-3): q·cos + rotate_half(q)·sin, rotate_half being
// two Slices of the head's halves, a Neg and a Concat, sits between the head split's Transpose
// and the attention, so q and k keep one copy each per layer, and the V and output Transposes
// stay too (the attention folds its head Transposes only all together).
//
// The region's ops then read the untransposed tensor: elementwise ops as they were, a Slice or
// Concat on the axis the Transpose carried there, and each operand from outside the region
// (cos and sin, [B or 1, 1, S, D]) transposed back, which must cost nothing: the move is made
// only where each such operand is a constant (the transpose folds), broadcasts alike in both
// layouts, or its transpose moves dims of 1 only (a view). One Transpose, the old one, follows
// the region's one result.
#include <algorithm>
#include <optional>
#include <set>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// A region larger than this is not a rotary embedding; the search stops there.
constexpr size_t kMaxRegionNodes = 64;

bool is_elementwise(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Add", "Sub",  "Mul",       "Div",  "Pow",        "Max",     "Min",  "Where", "Neg",
      "Abs", "Relu", "Erf",       "Tanh", "Gelu",       "Sigmoid", "Exp",  "Log",   "Sqrt",
      "Sin", "Cos",  "HardSwish", "Silu", "Reciprocal", "Cast",    "Clip", "Not",   "Softplus"};
  return kOps.count(op) > 0;
}

// Slice's starts, ends, axes and steps are constants (the axes are rewritten).
bool constant_slice(const ir::Node& node) {
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    if (node.inputs[i] != nullptr && !node.inputs[i]->is_constant()) return false;
  }
  return node.inputs.size() >= 3;
}

// Whether `node` commutes with a Transpose of its inputs (given the axis rewrite below).
bool commutes(const ir::Node& node) {
  if (node.outputs.empty() || node.inputs.empty()) return false;
  if (node.op == "Split")
    return node.inputs.size() == 1 || node.inputs[1] == nullptr || node.inputs[1]->is_constant();
  if (node.outputs.size() != 1) return false;
  if (is_elementwise(node.op)) return true;
  if (node.op == "Slice") return constant_slice(node);
  return node.op == "Concat";
}

std::vector<int64_t> inverse(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[size_t(perm[i])] = int64_t(i);
  return inv;
}

// How an operand from outside the region reaches the rewritten op.
enum class Operand { Unchanged, Transposed, Refused };

// `value` broadcast against the region's rank-`rank` tensors, read in the untransposed layout
// instead: unchanged where it has no dim longer than 1 (a scalar, a [1, 1, 1, D] bias... only
// where its long dims stay put), transposed where that is a view or folds, refused otherwise.
Operand outside_operand(const ir::Value* value, const std::vector<int64_t>& perm) {
  if (value == nullptr) return Operand::Unchanged;
  if (!value->shape.rank_known() || value->shape.rank() > int64_t(perm.size())) {
    return Operand::Refused;
  }
  const std::vector<ir::Dim>& dims = value->shape.dims();
  const size_t lead = perm.size() - dims.size();
  // The axes (of the aligned rank) whose size may be other than 1.
  std::vector<int64_t> long_axes;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (!(dims[i].is_static() && dims[i].value == 1)) long_axes.push_back(int64_t(lead + i));
  }
  bool fixed = true;  // every long axis maps to itself
  for (int64_t axis : long_axes) fixed = fixed && perm[size_t(axis)] == axis;
  if (fixed) return Operand::Unchanged;
  if (value->is_constant()) return Operand::Transposed;
  // A view: the long axes keep their order once transposed back.
  std::vector<int64_t> inv = inverse(perm), order;
  for (int64_t axis : inv) {
    if (std::find(long_axes.begin(), long_axes.end(), axis) != long_axes.end()) {
      order.push_back(axis);
    }
  }
  return std::is_sorted(order.begin(), order.end()) ? Operand::Transposed : Operand::Refused;
}

struct Region {
  std::vector<ir::Node*> nodes;     // topological order
  std::vector<ir::Value*> results;  // the values read from outside
};

// Whether `node` reads `value` as data (not as a Slice's or Split's index input).
bool reads_as_data(const ir::Node& node, const ir::Value* value) {
  if (node.op != "Slice" && node.op != "Split") return true;
  return node.inputs[0] == value;
}

// The attention that reads `value` as its query, key or value (through views or a layout
// chain that a Transpose there collapses with: then `collapses` is set), else null.
const ir::Node* landing(const ir::Graph& graph, const ir::Value* value, bool& collapses) {
  collapses = false;
  const ir::Node* reader = sole_reader(graph, value);
  while (reader != nullptr && is_layout_op(reader->op) && reader->outputs.size() == 1) {
    if (reader->op == "Transpose") {
      collapses = true;
      return nullptr;
    }
    value = reader->outputs[0];
    reader = sole_reader(graph, value);
  }
  if (reader == nullptr || reader->op != "Attention") return nullptr;
  for (size_t i = 0; i < 3 && i < reader->inputs.size(); ++i) {
    if (reader->inputs[i] == value) return reader;
  }
  return nullptr;
}

// Whether Transposes writing the region's results would all disappear: one result meeting
// the attention or another layout chain, or several (a fused QKV Split) all read by one
// attention, which folds them together.
bool lands_well(const ir::Graph& graph, const std::vector<ir::Value*>& results) {
  bool collapses = false;
  const ir::Node* attention = landing(graph, results.front(), collapses);
  if (results.size() == 1) return collapses || attention != nullptr;
  for (const ir::Value* result : results) {
    if (attention == nullptr || landing(graph, result, collapses) != attention) return false;
  }
  return true;
}

// The nodes that read `t` (Transpose's output) through commuting ops, closed: each reads only
// region values and acceptable outside operands, t is read inside alone, and whatever leaves
// the region is read outside alone.
std::optional<Region> region_after(const ir::Graph& graph, ir::Value* t,
                                   const std::vector<int64_t>& perm) {
  std::set<const ir::Value*> values = {t};
  std::set<ir::Node*> members;
  std::vector<const ir::Value*> frontier = {t};
  while (!frontier.empty()) {
    const ir::Value* value = frontier.back();
    frontier.pop_back();
    for (ir::Node* user : graph.users(value)) {
      if (members.count(user) > 0 || !commutes(*user) || !reads_as_data(*user, value)) continue;
      members.insert(user);
      if (members.size() > kMaxRegionNodes) return std::nullopt;
      for (ir::Value* out : user->outputs) {
        values.insert(out);
        frontier.push_back(out);
      }
    }
  }
  if (members.empty() || graph.is_graph_output(t)) return std::nullopt;
  for (ir::Node* user : graph.users(t)) {
    if (members.count(user) == 0) return std::nullopt;
  }
  Region region;
  for (ir::Node* node : graph.nodes()) {
    if (members.count(node) == 0) continue;
    region.nodes.push_back(node);
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr || values.count(input) > 0 || !reads_as_data(*node, input)) continue;
      if (outside_operand(input, perm) == Operand::Refused) return std::nullopt;
    }
    for (ir::Value* out : node->outputs) {
      std::vector<ir::Node*> users = graph.users(out);
      size_t inside = size_t(std::count_if(
          users.begin(), users.end(), [&](ir::Node* user) { return members.count(user) > 0; }));
      if (inside == users.size() && !graph.is_graph_output(out)) continue;
      if (inside > 0 || users.empty()) return std::nullopt;  // read on both sides, or unread
      region.results.push_back(out);
    }
  }
  if (region.results.empty()) return std::nullopt;
  return region;
}

int64_t normalized_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// Rewrites `node` of the region to read the untransposed layout (see the top of the file).
void rewrite_member(ir::Graph& graph, ir::Node* node, const std::set<const ir::Value*>& inside,
                    const std::vector<int64_t>& perm) {
  const int64_t rank = int64_t(perm.size());
  const std::vector<int64_t> inv = inverse(perm);
  if (node->op == "Concat" || node->op == "Split") {
    node->attrs["axis"] = perm[size_t(normalized_axis(node->attr_int("axis", 0), rank))];
  }
  if (node->op == "Slice") {
    const int64_t count = node->inputs[1]->constant->numel();
    std::vector<int64_t> axes(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) axes[size_t(i)] = i;  // ONNX: absent axes = 0, 1, ...
    if (node->input(3) != nullptr) axes = node->inputs[3]->constant->to_int64_vector();
    for (int64_t& axis : axes) axis = perm[size_t(normalized_axis(axis, rank))];
    if (node->inputs.size() < 4) node->inputs.resize(4, nullptr);
    node->inputs[3] = int64s_constant(graph, node->name + ".axes", axes);
  }
  for (size_t i = 0; i < node->inputs.size(); ++i) {
    ir::Value* input = node->inputs[i];
    if (input == nullptr || inside.count(input) > 0 || !reads_as_data(*node, input) ||
        outside_operand(input, perm) != Operand::Transposed) {
      continue;
    }
    ir::Value* aligned = input;
    const int64_t lead = rank - input->shape.rank();
    if (lead > 0) {
      std::vector<int64_t> axes(static_cast<size_t>(lead));
      for (int64_t a = 0; a < lead; ++a) axes[size_t(a)] = a;
      ir::Node* lift =
          graph.insert_node_before(node, "Unsqueeze", graph.unique_name(node->name + ".lift"),
                                   {input}, {graph.unique_name(node->name + ".lifted")});
      lift->attrs["axes"] = axes;
      aligned = lift->outputs[0];
    }
    ir::Node* back =
        graph.insert_node_before(node, "Transpose", graph.unique_name(node->name + ".unpermute"),
                                 {aligned}, {graph.unique_name(node->name + ".unpermuted")});
    back->attrs["perm"] = inv;
    node->inputs[i] = back->outputs[0];
  }
}

bool sink_below_region(ir::Graph& graph, ir::Node* transpose) {
  if (transpose->outputs.size() != 1 || transpose->inputs.size() != 1) return false;
  std::vector<int64_t> perm = transpose->attr_ints("perm");
  ir::Value* x = transpose->inputs[0];
  ir::Value* t = transpose->outputs[0];
  if (perm.empty() || !x->shape.rank_known() || x->shape.rank() != int64_t(perm.size())) {
    return false;
  }
  std::optional<Region> region = region_after(graph, t, perm);
  if (!region || !lands_well(graph, region->results)) return false;
  std::set<const ir::Value*> inside = {t};
  for (ir::Node* node : region->nodes) inside.insert(node->outputs.begin(), node->outputs.end());
  for (ir::Node* node : region->nodes) {
    rewrite_member(graph, node, inside, perm);
    for (ir::Value*& input : node->inputs) {
      if (input == t) input = x;
    }
    for (ir::Value* out : node->outputs) out->shape = ir::Shape();  // re-inferred untransposed
  }
  // A Transpose follows each result: the region's node writes a new value in the untransposed
  // layout, and the Transpose writes the result value its readers know. The first result takes
  // the old Transpose and its old output value.
  for (size_t r = 0; r < region->results.size(); ++r) {
    ir::Value* result = region->results[r];
    ir::Node* restore = transpose;
    ir::Value* untransposed = t;
    if (r > 0) {
      restore = graph.add_node("Transpose", graph.unique_name(transpose->name), {},
                               {graph.unique_name(result->name + ".untransposed")});
      restore->attrs["perm"] = perm;
      untransposed = restore->outputs[0];
    }
    ir::Node* maker = result->producer;
    std::replace(maker->outputs.begin(), maker->outputs.end(), result, untransposed);
    untransposed->producer = maker;
    untransposed->shape = ir::Shape();
    restore->inputs = {untransposed};
    restore->outputs[0] = result;
    result->producer = restore;
    result->shape = ir::Shape();
  }
  return true;
}

}  // namespace

int sink_transposes_below_regions(ir::Graph& graph) {
  int moved = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op == "Transpose" && sink_below_region(graph, node)) ++moved;
  }
  if (moved > 0) {
    tidy_after_rewrite(graph);
  }
  return moved;
}

}  // namespace kiln::passes
