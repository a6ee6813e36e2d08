// Moves Transposes that keep the last axis through row-wise ops (a matrix product with a 2-D
// B, a bias over the last axis, elementwise math, LayerNorm over the last axis: each row is
// computed alone, so the order of rows does not matter) until they meet another layout op they
// collapse with (collapse_layout_chains) or fold into attention (fold_attention_transposes).
// Sequence-first attention (torchvision's nn.MultiheadAttention in ViT, CLIP, DETR) permutes
// [B, S, E] to [S, B, E] before the QKV projection and back after the output projection: seven
// copies per layer, most of which vanish once the permutes sit next to the head split/merge.
//
// A move is made only where it lands the Transpose next to a layout chain holding another
// Transpose (or a Gather of one slice, which the Transpose then follows), so every move is
// followed by a collapse and moves never undo each other.
#include <algorithm>
#include <numeric>
#include <set>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

bool keeps_last_axis(const ir::Node& transpose) {
  if (transpose.op != "Transpose" || transpose.outputs.size() != 1) return false;
  std::vector<int64_t> perm = transpose.attr_ints("perm");
  return !perm.empty() && perm.back() == int64_t(perm.size()) - 1;
}

bool is_row_wise_unary(const std::string& op) {
  static const std::set<std::string> kOps = {"Relu", "Neg",     "Abs",  "Erf",       "Tanh",
                                             "Gelu", "Sigmoid", "Exp",  "Sqrt",      "HardSwish",
                                             "Cast", "Clip",    "Silu", "Reciprocal"};
  return kOps.count(op) > 0;
}

// A value that broadcasts along every axis but the last: a bias, a scalar.
bool broadcasts_over_rows(const ir::Value* value, int64_t rank) {
  if (value == nullptr || !value->shape.rank_known() || value->shape.rank() > rank) return false;
  const std::vector<ir::Dim>& dims = value->shape.dims();
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    if (dims[i].value != 1) return false;
  }
  return true;
}

// Whether `node` computes each row of its output from the same row of input `data` alone
// (other inputs shared by every row), with the output as many dims as `data`: then it
// commutes with a Transpose of `data` that keeps the last axis.
bool row_wise(const ir::Node& node, const ir::Value* data) {
  if (node.outputs.size() != 1 || data == nullptr || !data->shape.rank_known()) return false;
  int64_t rank = data->shape.rank();
  if (rank < 2 || node.inputs.empty()) return false;
  if (is_row_wise_unary(node.op)) {
    if (node.inputs[0] != data) return false;
    for (size_t i = 1; i < node.inputs.size(); ++i) {
      if (node.inputs[i] != nullptr && !broadcasts_over_rows(node.inputs[i], 0)) return false;
    }
    return true;
  }
  if (node.op == "Add" || node.op == "Sub" || node.op == "Mul" || node.op == "Div") {
    if (node.inputs.size() != 2) return false;
    const ir::Value* other = node.inputs[0] == data ? node.inputs[1] : node.inputs[0];
    return (node.inputs[0] == data) != (node.inputs[1] == data) &&
           broadcasts_over_rows(other, rank);
  }
  if (node.op == "MatMul") {
    const ir::Value* b = node.input(1);
    return node.inputs[0] == data && b != nullptr && b->shape.rank_known() &&
           b->shape.rank() == 2 && node.input(3) == nullptr &&
           (node.input(2) == nullptr || broadcasts_over_rows(node.input(2), 1));
  }
  if (node.op == "LayerNormalization") {
    int64_t axis = node.attr_int("axis", -1);
    return node.inputs[0] == data && (axis == -1 || axis == rank - 1) && node.outputs.size() == 1;
  }
  return false;
}

// Whether a layout chain starting at `node` (following single readers) holds a Transpose, or
// `node` is a Gather of one constant index: the places a moved Transpose collapses into.
bool collapses_downstream(const ir::Graph& graph, const ir::Node* node) {
  if (node->op == "Gather" && node->input(1) != nullptr && node->inputs[1]->is_constant() &&
      node->inputs[1]->constant->rank() == 0) {
    return true;
  }
  while (node != nullptr && is_layout_op(node->op) && node->outputs.size() == 1) {
    if (node->op == "Transpose") return true;
    node = sole_reader(graph, node->outputs[0]);
  }
  return false;
}

bool collapses_upstream(const ir::Graph& graph, const ir::Node* node) {
  while (node != nullptr && is_layout_op(node->op) && node->outputs.size() == 1) {
    if (node->op == "Transpose") return true;
    const ir::Value* input = node->input(0);
    if (input == nullptr || sole_reader(graph, input) != node) return false;
    node = input->producer;
  }
  return false;
}

// Transpose T (reading x, writing t) and its single reader U (reading t as `data`, writing v)
// swap places: U reads x and writes t, T reads t and writes v. Values keep their readers.
void sink_once(ir::Node* transpose, ir::Node* user) {
  ir::Value* x = transpose->inputs[0];
  ir::Value* t = transpose->outputs[0];
  ir::Value* v = user->outputs[0];
  for (ir::Value*& input : user->inputs) {
    if (input == t) input = x;
  }
  user->outputs[0] = t;
  t->producer = user;
  t->shape = ir::Shape();
  transpose->inputs[0] = t;
  transpose->outputs[0] = v;
  v->producer = transpose;
}

// The mirror image: U (reading d, writing v) and its single reader T (writing t) swap: T
// reads d and writes v, U reads v and writes t.
void hoist_once(ir::Node* transpose, ir::Node* producer, ir::Value* data) {
  ir::Value* v = transpose->inputs[0];
  ir::Value* t = transpose->outputs[0];
  transpose->inputs[0] = data;
  transpose->outputs[0] = v;
  v->producer = transpose;
  v->shape = ir::Shape();
  for (ir::Value*& input : producer->inputs) {
    if (input == data) input = v;
  }
  producer->outputs[0] = t;
  t->producer = producer;
}

bool sink(ir::Graph& graph, ir::Node* transpose) {
  std::vector<ir::Node*> chain;
  const ir::Value* current = transpose->outputs[0];
  ir::Node* next = sole_reader(graph, current);
  while (next != nullptr && row_wise(*next, current)) {
    chain.push_back(next);
    current = next->outputs[0];
    next = sole_reader(graph, current);
  }
  if (chain.empty() || next == nullptr || !collapses_downstream(graph, next)) return false;
  for (ir::Node* user : chain) sink_once(transpose, user);
  return true;
}

bool hoist(ir::Graph& graph, ir::Node* transpose) {
  std::vector<std::pair<ir::Node*, ir::Value*>> chain;  // producer, its data input
  ir::Value* current = transpose->inputs[0];
  while (current->producer != nullptr && sole_reader(graph, current) != nullptr) {
    ir::Node* producer = current->producer;
    ir::Value* data = producer->inputs.empty() ? nullptr : producer->inputs[0];
    if ((producer->op == "Add" || producer->op == "Sub" || producer->op == "Mul" ||
         producer->op == "Div") &&
        producer->inputs.size() == 2 && !row_wise(*producer, data)) {
      data = producer->inputs[1];
    }
    if (!row_wise(*producer, data)) break;
    chain.push_back({producer, data});
    current = data;
  }
  if (chain.empty() || current->producer == nullptr || sole_reader(graph, current) == nullptr ||
      !collapses_upstream(graph, current->producer)) {
    return false;
  }
  for (auto& [producer, data] : chain) hoist_once(transpose, producer, data);
  return true;
}

// T(Reshape(Gemm(Reshape(X, [R, K]), W, bias), L + [N])) with X = L + F (prod F = K, prod L =
// R): a linear layer over X's rows written through 2-D views (nn.MultiheadAttention's output
// projection). T permutes only L, so it moves onto X (its F axes staying put), the first view
// keeps its [R, K] and the second splits the rows in T's order.
bool hoist_through_gemm_sandwich(ir::Graph& graph, ir::Node* transpose) {
  ir::Value* v = transpose->inputs[0];
  ir::Node* split = v->producer;
  if (split == nullptr || split->op != "Reshape" || sole_reader(graph, v) != transpose)
    return false;
  ir::Node* gemm = split->inputs[0]->producer;
  if (gemm == nullptr || gemm->op != "Gemm" || sole_reader(graph, split->inputs[0]) != split ||
      gemm->attr_int("transA", 0) != 0 ||
      (gemm->input(2) != nullptr && !broadcasts_over_rows(gemm->input(2), 2))) {
    return false;
  }
  ir::Node* merge = gemm->inputs[0]->producer;
  if (merge == nullptr || merge->op != "Reshape" || sole_reader(graph, gemm->inputs[0]) != gemm) {
    return false;
  }
  ir::Value* x = merge->inputs[0];
  Dims x_dims = static_dims_or_empty(x), rows = static_dims_or_empty(merge->outputs[0]),
       out = static_dims_or_empty(v);
  std::vector<int64_t> perm = transpose->attr_ints("perm");
  if (x_dims.empty() || rows.size() != 2 || out.size() < 2 || perm.size() != out.size() ||
      x_dims.size() < out.size() || sole_reader(graph, x) != merge || x->producer == nullptr ||
      !collapses_upstream(graph, x->producer)) {
    return false;
  }
  size_t leading = out.size() - 1;  // L
  for (size_t i = 0; i < leading; ++i) {
    if (x_dims[i] != out[i]) return false;
  }
  std::vector<int64_t> x_perm(perm.begin(), perm.end() - 1);
  for (size_t i = leading; i < x_dims.size(); ++i) x_perm.push_back(int64_t(i));
  Dims split_dims;
  for (int64_t axis : perm) split_dims.push_back(out[size_t(axis)]);
  // The Transpose reads X and writes v (now X permuted), the first view reads v, the second
  // writes T's old output with the permuted rows.
  ir::Value* t = transpose->outputs[0];
  transpose->inputs[0] = x;
  transpose->attrs["perm"] = x_perm;
  transpose->outputs[0] = v;
  v->producer = transpose;
  v->shape = ir::Shape();
  merge->inputs[0] = v;
  split->outputs[0] = t;
  t->producer = split;
  split->inputs[1] =
      graph.add_constant(graph.unique_name(split->name + ".shape"),
                         Tensor::from_vector<int64_t>({int64_t(split_dims.size())}, split_dims));
  return true;
}

// The axes of `dims` longer than 1, in order.
std::vector<int64_t> long_axes(const Dims& dims) {
  std::vector<int64_t> axes;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] != 1) axes.push_back(int64_t(i));
  }
  return axes;
}

// Whether `to` is `from` with dims of 1 added or dropped only (a view that moves nothing).
bool only_unit_dims_differ(const Dims& from, const Dims& to) {
  auto long_dims = [](const Dims& dims) {
    Dims kept;
    for (int64_t size : dims) {
      if (size != 1) kept.push_back(size);
    }
    return kept;
  };
  return long_dims(from) == long_dims(to);
}

// The Gathers that cut T's output t one slice each, read directly or through one view that
// only adds or drops dims of 1 (what collapse_layout_chains leaves of a batch-1 chain such as
// torchvision's unflatten, unsqueeze, transpose, squeeze); `view` is that view or null. Each
// Gather's axis must stand for one of t's axes longer than 1. Empty where t is read otherwise.
std::vector<ir::Node*> slice_gathers(const ir::Graph& graph, ir::Value* t, ir::Node*& view) {
  view = nullptr;
  const ir::Value* cut = t;
  std::vector<ir::Node*> users = graph.users(t);
  if (users.size() == 1 && users[0]->op == "Reshape" && users[0]->outputs.size() == 1 &&
      !graph.is_graph_output(users[0]->outputs[0]) &&
      only_unit_dims_differ(static_dims_or_empty(t), static_dims_or_empty(users[0]->outputs[0]))) {
    view = users[0];
    cut = view->outputs[0];
    users = graph.users(cut);
  }
  Dims cut_dims = static_dims_or_empty(cut);
  if (users.empty() || graph.is_graph_output(cut) || cut_dims.empty()) return {};
  for (const ir::Node* user : users) {
    if (user->op != "Gather" || user->inputs[0] != cut || !collapses_downstream(graph, user))
      return {};
    int64_t axis = user->attr_int("axis", 0);
    if (axis < 0) axis += int64_t(cut_dims.size());
    if (axis < 0 || axis >= int64_t(cut_dims.size()) || cut_dims[size_t(axis)] == 1) return {};
  }
  return users;
}

// The axes of z that remain after slicing `source_axis`, in T's order (`perm`), renumbered.
std::vector<int64_t> remaining_axes(const std::vector<int64_t>& perm, int64_t source_axis) {
  std::vector<int64_t> rest;
  for (int64_t p : perm) {
    if (p != source_axis) rest.push_back(p > source_axis ? p - 1 : p);
  }
  return rest;
}

// Gather `gather`'s axis as an axis of t (through `view`, a view of dims of 1, if not null).
int64_t axis_of_t(const ir::Node& gather, const ir::Node* view, const Dims& t_dims) {
  int64_t axis = gather.attr_int("axis", 0);
  if (view == nullptr) return axis < 0 ? axis + int64_t(t_dims.size()) : axis;
  Dims cut_dims = static_dims_or_empty(view->outputs[0]);
  if (axis < 0) axis += int64_t(cut_dims.size());
  std::vector<int64_t> cut_long = long_axes(cut_dims), t_long = long_axes(t_dims);
  auto place = std::find(cut_long.begin(), cut_long.end(), axis) - cut_long.begin();
  return t_long[size_t(place)];
}

// Gather(T(z), i, axis a) for every reader of T, one constant index each, z static: each
// becomes a Slice of z along axis perm[a] (a strided copy in 16-byte words where a Gather moves
// elements), a view dropping that axis, and the Transpose of what remains, which then meets
// the layout chain after it. T itself goes. Through a view of dims of 1 between T and the
// Gathers, the Gather's axis is the view's, and a last view restores the Gather's dims.
bool sink_into_gathers(ir::Graph& graph, ir::Node* transpose) {
  ir::Value* t = transpose->outputs[0];
  ir::Value* z = transpose->inputs[0];
  Dims z_dims = static_dims_or_empty(z), t_dims = static_dims_or_empty(t);
  if (graph.is_graph_output(t) || z_dims.empty() || t_dims.empty()) return false;
  ir::Node* view = nullptr;
  std::vector<ir::Node*> gathers = slice_gathers(graph, t, view);
  int64_t rank = int64_t(z_dims.size());
  std::vector<int64_t> perm = transpose->attr_ints("perm");
  if (gathers.empty() || int64_t(perm.size()) != rank) return false;
  // What each slice leaves to permute must meet a Transpose after the Gather, or be nothing.
  for (const ir::Node* gather : gathers) {
    std::vector<int64_t> rest =
        remaining_axes(perm, perm[size_t(axis_of_t(*gather, view, t_dims))]);
    bool in_order = std::is_sorted(rest.begin(), rest.end());
    const ir::Node* next = sole_reader(graph, gather->outputs[0]);
    if (!in_order && (next == nullptr || !collapses_downstream(graph, next))) return false;
  }
  for (ir::Node* gather : gathers) {
    ir::Value* out = gather->outputs[0];
    Dims out_dims = static_dims_or_empty(out);
    int64_t source_axis = perm[size_t(axis_of_t(*gather, view, t_dims))];
    int64_t index = gather->inputs[1]->constant->to(DType::Int64).data<int64_t>()[0];
    if (index < 0) index += z_dims[size_t(source_axis)];
    Dims kept = z_dims;  // z without the sliced axis
    kept.erase(kept.begin() + source_axis);
    std::vector<int64_t> rest = remaining_axes(perm, source_axis);
    // The gather node becomes the Slice; a view and the Transpose follow, the Transpose (or,
    // through a view, a last view after it) taking over the gather's output value.
    gather->op = "Slice";
    gather->attrs.clear();
    gather->inputs = {z, int64s_constant(graph, gather->name + ".start", {index}),
                      int64s_constant(graph, gather->name + ".end", {index + 1}),
                      int64s_constant(graph, gather->name + ".axis", {source_axis})};
    ir::Node* squeeze = graph.add_node("Reshape", graph.unique_name(gather->name + ".squeeze"),
                                       {out, int64s_constant(graph, gather->name + ".kept", kept)},
                                       {graph.unique_name(gather->name + ".kept")});
    ir::Node* after =
        graph.add_node("Transpose", graph.unique_name(gather->name + ".permute"),
                       {squeeze->outputs[0]}, {graph.unique_name(gather->name + ".sliced")});
    after->attrs["perm"] = rest;
    ir::Value* sliced = after->outputs[0];
    gather->outputs[0] = sliced;
    sliced->producer = gather;
    squeeze->inputs[0] = sliced;
    ir::Node* last = after;
    if (view != nullptr) {
      last = graph.add_node("Reshape", graph.unique_name(gather->name + ".view"),
                            {sliced, int64s_constant(graph, gather->name + ".dims", out_dims)},
                            {graph.unique_name(gather->name + ".permuted")});
      ir::Value* permuted = last->outputs[0];  // becomes the Transpose's output
      after->outputs[0] = permuted;
      permuted->producer = after;
      permuted->shape = ir::Shape();
      last->inputs[0] = permuted;
    }
    last->outputs[0] = out;
    out->producer = last;
    out->shape = ir::Shape();
    sliced->shape = ir::Shape();
  }
  return true;
}

}  // namespace

int move_transposes(ir::Graph& graph) {
  int moved = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "Transpose" || node->outputs.size() != 1 || node->inputs.empty()) continue;
    if (keeps_last_axis(*node) &&
        (sink(graph, node) || hoist(graph, node) || hoist_through_gemm_sandwich(graph, node))) {
      ++moved;
      continue;
    }
    if (sink_into_gathers(graph, node)) ++moved;
  }
  if (moved > 0) {
    tidy_after_rewrite(graph);
  }
  return moved;
}

}  // namespace kiln::passes
