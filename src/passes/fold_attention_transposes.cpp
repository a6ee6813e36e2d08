// Folds the head split/merge Transposes around attention into the attention itself. Hugging
// Face's models (BERT, GPT-2, ...) write
//   q = X_q[B, S, H, D].transpose(1, 2); k = ...; v = ...; y = sdpa(q, k, v)
//   out = y.transpose(1, 2)                    → [B, S, H, D], then usually reshaped
// which costs four copies per layer. ONNX Attention's 3-D form reads Q, K, V as (B, S, H·D)
// and writes Y so: the same function with the tensors as the projections lie. Q/K/V become
// reshapes of X (views, no copy) and the merge Transpose a reshape of Y.
#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

const std::vector<int64_t> kSwapHeadsAndSeq = {0, 2, 1, 3};

// X when `value` is Transpose(X, perm [0, 2, 1, 3]) of a 4-D X with static heads and head
// size (dims 2 and 3), else null.
ir::Value* untransposed(const ir::Value* value) {
  const ir::Node* transpose = value == nullptr ? nullptr : value->producer;
  if (transpose == nullptr || transpose->op != "Transpose" || transpose->inputs.size() != 1 ||
      transpose->attr_ints("perm") != kSwapHeadsAndSeq) {
    return nullptr;
  }
  ir::Value* source = transpose->inputs[0];
  if (source == nullptr || !source->shape.rank_known() || source->shape.rank() != 4 ||
      !source->shape[2].is_static() || !source->shape[3].is_static()) {
    return nullptr;
  }
  return source;
}

// The node that merges the heads of `y` back, Transpose(y, perm [0, 2, 1, 3]), if it is y's
// only reader and y is no graph output.
ir::Node* merging_transpose(const ir::Graph& graph, const ir::Value* y) {
  std::vector<ir::Node*> users = graph.users(y);
  if (users.size() != 1 || graph.is_graph_output(y)) return nullptr;
  ir::Node* user = users[0];
  if (user->op != "Transpose" || user->attr_ints("perm") != kSwapHeadsAndSeq) return nullptr;
  return user;
}

bool foldable(const ir::Node& node) {
  if (node.op != "Attention" || node.inputs.size() < 3 || node.outputs.size() != 1) return false;
  for (size_t i = 4; i < node.inputs.size(); ++i) {
    if (node.inputs[i] != nullptr) return false;  // a KV cache keeps the 4-D form
  }
  const ir::Value* y = node.outputs[0];
  return y->shape.rank_known() && y->shape.rank() == 4 && y->shape[1].is_static() &&
         y->shape[3].is_static();
}

// `value` [B, S, A, C] as [B, S, A·C] (or back, with `heads` and `size`), a view.
ir::Value* reshaped(ir::Graph& graph, const std::string& name, ir::Value* value,
                    std::vector<int64_t> trailing) {
  std::vector<int64_t> target = {0, 0};  // ONNX Reshape: 0 keeps the input's dim
  target.insert(target.end(), trailing.begin(), trailing.end());
  ir::Value* shape =
      graph.add_constant(graph.unique_name(name + ".shape"),
                         Tensor::from_vector<int64_t>({int64_t(target.size())}, target));
  return graph
      .add_node("Reshape", graph.unique_name(name), {value, shape},
                {graph.unique_name(name + ".out")})
      ->outputs[0];
}

}  // namespace

int fold_attention_transposes(ir::Graph& graph) {
  int changed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (!foldable(*node)) continue;
    ir::Value* sources[3] = {untransposed(node->inputs[0]), untransposed(node->inputs[1]),
                             untransposed(node->inputs[2])};
    ir::Node* merge = merging_transpose(graph, node->outputs[0]);
    if (sources[0] == nullptr || sources[1] == nullptr || sources[2] == nullptr || !merge) {
      continue;
    }
    int64_t q_heads = sources[0]->shape[2].value, kv_heads = sources[1]->shape[2].value;
    const char* roles[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; ++i) {
      int64_t size = sources[i]->shape[2].value * sources[i]->shape[3].value;
      node->inputs[size_t(i)] =
          reshaped(graph, node->name + "." + roles[i] + "_bshd", sources[i], {size});
    }
    node->attrs["q_num_heads"] = q_heads;
    node->attrs["kv_num_heads"] = kv_heads;
    // The merged output [B, S, H, Dv] is now a view of Y [B, S, H·Dv]: the merge Transpose
    // becomes that Reshape (keeping its output value, its readers and its name).
    int64_t v_head = node->outputs[0]->shape[3].value;
    ir::Value* y = node->outputs[0];
    y->shape = ir::Shape();  // re-inferred as 3-D
    merge->op = "Reshape";
    merge->attrs.clear();
    merge->inputs = {
        y, graph.add_constant(graph.unique_name(merge->name + ".shape"),
                              Tensor::from_vector<int64_t>({4}, {0, 0, q_heads, v_head}))};
    ++changed;
  }
  if (changed > 0) {
    // The new Reshapes come before the attention reading them; the split Transposes go.
    tidy_after_rewrite(graph);
  }
  return changed;
}

}  // namespace kiln::passes
