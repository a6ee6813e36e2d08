// Nodes that a constant operand makes trivial, as torch.export leaves them in Hugging Face's
// mask code (masking_utils builds a padding mask with vmap-style index functions):
// - a GatherND whose constant indices enumerate the data's leading dims in order reads every
//   element where it lies: a Reshape (a view on every backend);
// - And with an all-true constant gives the other operand broadcast: an Expand (which
//   simplify_shape_ops removes where the output has the operand's dims);
// - an Expand read only as attention masks is not needed: Attention broadcasts its mask
//   (over every axis but the keys').
// BERT's padding mask was Cast → GatherND → And → 12 Attentions, two kernels per inference
// (16 and 36 us at batch 32 on an H100); it becomes Cast → view → 12 Attentions.
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// Whether GatherND `node` (batch_dims 0, constant indices, static dims) reads its data's
// leading dims in row-major order, each index tuple once: output == Reshape(data).
bool is_identity_gather_nd(const ir::Node& node) {
  const ir::Value* data = node.input(0);
  const ir::Value* indices = node.input(1);
  if (node.op != "GatherND" || node.attr_int("batch_dims", 0) != 0 || data == nullptr ||
      indices == nullptr || !indices->is_constant() || !data->shape.is_static()) {
    return false;
  }
  Dims data_dims = data->shape.static_dims();
  Dims index_dims = indices->constant->dims();
  if (index_dims.empty()) return false;
  auto depth = size_t(index_dims.back());
  if (depth == 0 || depth > data_dims.size()) return false;
  int64_t tuples = element_count(index_dims) / int64_t(depth);
  Dims leading(data_dims.begin(), data_dims.begin() + int64_t(depth));
  if (tuples != element_count(leading)) return false;
  std::vector<int64_t> values = indices->constant->to_int64_vector();
  for (int64_t tuple = 0; tuple < tuples; ++tuple) {
    int64_t rest = tuple;  // the tuple's position, decoded over the leading dims
    for (size_t axis = depth; axis-- > 0;) {
      int64_t expected = rest % leading[axis];
      rest /= leading[axis];
      int64_t index = values[size_t(tuple) * depth + axis];
      if (index < 0) index += leading[axis];
      if (index != expected) return false;
    }
  }
  return true;
}

// The operand that an And with an all-true constant passes on.
ir::Value* passed_operand(const ir::Node& node) {
  if (node.op != "And" || node.inputs.size() != 2) return nullptr;
  for (size_t i = 0; i < 2; ++i) {
    const ir::Value* constant = node.inputs[i];
    if (constant == nullptr || !constant->is_constant() ||
        constant->constant->dtype() != DType::Bool)
      continue;
    bool all_true = true;
    for (int64_t value : constant->constant->to_int64_vector()) all_true &= value != 0;
    if (all_true) return node.inputs[1 - i];
  }
  return nullptr;
}

// Whether every reader of `value` takes it as an Attention's mask (input 3), and it is not
// a graph output.
bool read_only_as_masks(const ir::Graph& graph, const ir::Value* value) {
  if (graph.is_graph_output(value)) return false;
  const std::vector<ir::Node*> users = graph.users(value);
  if (users.empty()) return false;
  for (const ir::Node* user : users) {
    if (user->op != "Attention" || user->input(3) != value) return false;
    for (size_t i = 0; i < user->inputs.size(); ++i) {
      if (i != 3 && user->inputs[i] == value) return false;
    }
  }
  return true;
}

// Whether `mask` already spans the keys of an expanded mask of `expanded` dims: Attention
// treats a mask narrower than the keys as padded with "masked", not as broadcast.
bool keeps_key_axis(const ir::Value& mask, const Dims& expanded) {
  return mask.shape.is_static() && !expanded.empty() && mask.shape.rank() > 0 &&
         mask.shape.static_dims().back() == expanded.back();
}

}  // namespace

int simplify_constant_operands(ir::Graph& graph) {
  int rewrites = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->outputs.size() != 1 || !node->outputs[0]->shape.is_static()) continue;
    Dims out_dims = node->outputs[0]->shape.static_dims();
    if (is_identity_gather_nd(*node)) {
      node->op = "Reshape";
      node->attrs.clear();
      node->inputs = {node->inputs[0], int64s_constant(graph, node->name + ".shape", out_dims)};
      ++rewrites;
      continue;
    }
    ir::Value* operand = passed_operand(*node);
    if (operand != nullptr && operand->dtype == node->outputs[0]->dtype &&
        operand->shape.is_static()) {
      node->op = "Expand";
      node->attrs.clear();
      node->inputs = {operand, int64s_constant(graph, node->name + ".shape", out_dims)};
      ++rewrites;
    }
    if (node->op == "Expand" && node->input(0) != nullptr &&
        keeps_key_axis(*node->inputs[0], out_dims) && read_only_as_masks(graph, node->outputs[0])) {
      graph.replace_all_uses(node->outputs[0], node->inputs[0]);
      ++rewrites;
    }
  }
  if (rewrites > 0) tidy_after_rewrite(graph);
  return rewrites;
}

}  // namespace kiln::passes
