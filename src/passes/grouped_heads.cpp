// Grouped-query attention without the copies of its key/value heads. Hugging Face's Llama,
// Mistral, Qwen2 and Gemma repeat each KV head for the query heads that share it (repeat_kv):
//   K[B, KV·G, S, D] = Reshape(Expand(k[B, KV, 1, S, D] → [B, KV, G, S, D]))
// which writes G copies of every key and value before attention reads them. Attention takes
// grouped heads itself, query head h reading KV head h / G (ONNX's rule, the same one), so
// K and V become views of the unrepeated heads and the Expands go.
#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// The unrepeated heads [B, KV, 1, S, D] behind `repeated` [B, KV·G, S, D], and G; null where
// `repeated` is not Reshape(Expand(u)) of that form, or something else reads the Expand.
ir::Value* unrepeated(const ir::Graph& graph, const ir::Value* repeated, int64_t& group) {
  const ir::Node* merge = repeated->producer;
  if (merge == nullptr || merge->op != "Reshape") return nullptr;
  const ir::Node* expand = merge->inputs[0]->producer;
  if (expand == nullptr || expand->op != "Expand" ||
      sole_reader(graph, expand->outputs[0]) != merge) {
    return nullptr;
  }
  ir::Value* heads = expand->inputs[0];
  Dims out = static_dims_or_empty(repeated), wide = static_dims_or_empty(expand->outputs[0]),
       narrow = static_dims_or_empty(heads);
  if (out.size() != 4 || wide.size() != 5 || narrow.size() != 5 || narrow[2] != 1 || wide[2] < 2 ||
      wide[0] != out[0] || wide[1] * wide[2] != out[1] || wide[3] != out[2] || wide[4] != out[3] ||
      narrow[0] != wide[0] || narrow[1] != wide[1] || narrow[3] != wide[3] ||
      narrow[4] != wide[4]) {
    return nullptr;
  }
  group = wide[2];
  return heads;
}

}  // namespace

int fold_repeated_kv_heads(ir::Graph& graph) {
  int folded = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "Attention" || node->inputs.size() < 3 || node->has_attr("q_num_heads"))
      continue;
    int64_t key_group = 0, value_group = 0;
    ir::Value* keys = unrepeated(graph, node->inputs[1], key_group);
    ir::Value* values = unrepeated(graph, node->inputs[2], value_group);
    Dims q = static_dims_or_empty(node->inputs[0]);
    if (keys == nullptr || values == nullptr || key_group != value_group || q.size() != 4 ||
        q[1] != static_dims_or_empty(node->inputs[1])[1]) {
      continue;
    }
    for (int input = 1; input <= 2; ++input) {
      ir::Value* heads = input == 1 ? keys : values;
      Dims dims = static_dims_or_empty(heads);
      std::string name = node->name + (input == 1 ? ".kv_keys" : ".kv_values");
      node->inputs[size_t(input)] =
          graph
              .insert_node_before(node, "Reshape", graph.unique_name(name),
                                  {heads, int64s_constant(graph, name + ".shape",
                                                          {dims[0], dims[1], dims[3], dims[4]})},
                                  {graph.unique_name(name)})
              ->outputs[0];
    }
    ++folded;
  }
  if (folded > 0) {
    eliminate_dead_code(graph);  // the Expands and their merges
    graph.remove_unused_values();
    ir::infer_graph(graph);
  }
  return folded;
}

}  // namespace kiln::passes
