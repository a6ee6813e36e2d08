// Packs the query, key and value projections of an attention into one product whose column
// blocks the attention reads in place. BERT, ViT and GPT-2 (once split_sliced_products has cut
// its fused c_attn) compute Q, K and V as three products of one input, each written to memory
// and read back through views; one product three times as wide makes better use of the GPU at
// small batches and launches once. The attention then reads Slices of its output, which the
// GPU's storage plan turns into aliases with the packed row pitch (plan_column_block in
// backends/cuda/runtime/plan/storage_plan.cpp): no copy.
//
// Applies where Q, K and V reach a 3-D attention through views alone (no rotary embedding in
// between) from products that read the same input with constant weights and no activation:
// MatMul with a 2-D B, or Gemm without transA, alpha and beta 1, each with or without the
// constant bias row that fuse_epilogues (run before, as the builder does) gave it.
#include <optional>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

bool is_view(const std::string& op) {
  return op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze";
}

// One projection feeding the attention: its product, bias and width.
struct Projection {
  ir::Node* product = nullptr;
  ir::Value* bias = nullptr;  // input 2 (MatMul's fused bias, Gemm's C); null where absent
  int64_t width = 0;          // columns
};

// The value `input` is a view of, through views read by nothing else.
ir::Value* unviewed(const ir::Graph& graph, ir::Value* input) {
  while (input->producer != nullptr && is_view(input->producer->op) &&
         input->producer->inputs[0] != nullptr &&
         sole_reader(graph, input->producer->inputs[0]) == input->producer) {
    input = input->producer->inputs[0];
  }
  return input;
}

bool constant_row(const ir::Value* value, int64_t width) {
  if (value == nullptr || !value->is_constant() || value->constant->numel() != width) return false;
  Dims dims = static_dims_or_empty(value);
  return !dims.empty() && dims.back() == width;
}

// The product's inner (reduced) size: its weights' rows (columns where Gemm transposes B).
int64_t inner_size(const ir::Node& product) {
  Dims w = static_dims_or_empty(product.inputs[1]);
  return product.op == "Gemm" && product.attr_int("transB", 0) != 0 ? w[1] : w[0];
}

// The projection that makes `value` (read only by the views to the attention).
std::optional<Projection> projection_of(const ir::Graph& graph, ir::Value* value) {
  ir::Node* node = value->producer;
  if (node == nullptr || graph.is_graph_output(value) || graph.users(value).size() != 1 ||
      (node->op != "MatMul" && node->op != "Gemm") || node->has_attr("fused_activation")) {
    return std::nullopt;
  }
  const ir::Value* weights = node->input(1);
  Dims w = static_dims_or_empty(weights);
  if (weights == nullptr || !weights->is_constant() || w.size() != 2) return std::nullopt;
  if (node->op == "Gemm" &&
      (node->attr_int("transA", 0) != 0 || node->attr_float("alpha", 1.0) != 1.0 ||
       node->attr_float("beta", 1.0) != 1.0)) {
    return std::nullopt;
  }
  Projection p;
  p.product = node;
  p.width = node->op == "Gemm" && node->attr_int("transB", 0) != 0 ? w[0] : w[1];
  p.bias = node->input(2);
  if (p.bias != nullptr && !constant_row(p.bias, p.width)) return std::nullopt;
  return p;
}

// The three projections as one: the product with its weights (and biases) concatenated, viewed
// as [B, S, columns] where `rows` gives [B, S] (empty: it is that already) and sliced back into
// Q, K and V, which the attention reads directly.
void pack(ir::Graph& graph, ir::Node* attention, const Projection (&parts)[3], const Dims& rows) {
  ir::Node* first = parts[0].product;
  const std::string name = first->name + ".packed";
  const bool transposed = first->op == "Gemm" && first->attr_int("transB", 0) != 0;
  auto concat = [&](const std::string& suffix, std::vector<ir::Value*> values, int64_t axis) {
    ir::Node* node = graph.add_node("Concat", graph.unique_name(name + suffix), std::move(values),
                                    {graph.unique_name(name + suffix)});
    node->attrs["axis"] = axis;
    return node->outputs[0];
  };
  std::vector<ir::Value*> weights, biases;
  bool any_bias = false;
  for (const Projection& part : parts) {
    weights.push_back(part.product->inputs[1]);
    any_bias = any_bias || part.bias != nullptr;
  }
  for (const Projection& part : parts) {
    if (part.bias == nullptr && any_bias) {
      Tensor zeros(part.product->outputs[0]->dtype, {part.width});
      biases.push_back(
          graph.add_constant(graph.unique_name(name + ".zero_bias"), std::move(zeros)));
    } else if (part.bias != nullptr) {
      biases.push_back(
          graph
              .add_node("Reshape", graph.unique_name(name + ".bias_row"),
                        {part.bias, int64s_constant(graph, name + ".bias_row", {part.width})},
                        {graph.unique_name(name + ".bias_row")})
              ->outputs[0]);
    }
  }
  ir::Value* x = first->inputs[0];
  ir::Value* w = concat(".weights", weights, transposed ? 0 : 1);
  std::vector<ir::Value*> inputs = {x, w};
  if (any_bias) inputs.push_back(concat(".bias", biases, 0));
  ir::Node* product = graph.add_node(first->op, graph.unique_name(name), std::move(inputs),
                                     {graph.unique_name(name)});
  product->attrs = first->attrs;
  ir::Value* packed = product->outputs[0];
  if (!rows.empty()) {
    int64_t columns = 0;
    for (const Projection& part : parts) columns += part.width;
    Dims view = rows;
    view.push_back(columns);
    packed = graph
                 .add_node("Reshape", graph.unique_name(name + ".rows"),
                           {packed, int64s_constant(graph, name + ".rows", view)},
                           {graph.unique_name(name + ".rows")})
                 ->outputs[0];
  }
  int64_t start = 0;
  const char* roles[3] = {".q", ".k", ".v"};
  for (size_t i = 0; i < 3; ++i) {
    const int64_t end = start + parts[i].width;
    ir::Node* slice =
        graph.add_node("Slice", graph.unique_name(name + roles[i]),
                       {packed, int64s_constant(graph, name + roles[i] + ".start", {start}),
                        int64s_constant(graph, name + roles[i] + ".end", {end}),
                        int64s_constant(graph, name + roles[i] + ".axis", {2})},
                       {graph.unique_name(name + roles[i])});
    attention->inputs[i] = slice->outputs[0];
    start = end;
  }
}

bool pack_attention(ir::Graph& graph, ir::Node* attention) {
  if (attention->op != "Attention" || attention->inputs.size() < 3 ||
      attention->outputs.size() != 1 || attention->input(4) != nullptr ||
      attention->input(5) != nullptr) {
    return false;
  }
  Projection parts[3];
  for (size_t i = 0; i < 3; ++i) {
    ir::Value* input = attention->inputs[i];
    if (input == nullptr || !input->shape.rank_known() || input->shape.rank() != 3 ||
        !input->shape[2].is_static() || !(input->shape[0] == attention->inputs[0]->shape[0]) ||
        !(input->shape[1] == attention->inputs[0]->shape[1])) {
      return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (attention->inputs[j] == input) return false;  // self-attention sharing K and V
    }
    std::optional<Projection> part = projection_of(graph, unviewed(graph, input));
    if (!part || part->width != input->shape[2].value) return false;
    parts[i] = *part;
  }
  // The packed product's output as [B, S, columns]: MatMul's already is where it has Q's
  // rows; Gemm's 2-D one needs static rows for its view.
  const ir::Shape& q_shape = attention->inputs[0]->shape;
  const ir::Shape& out = parts[0].product->outputs[0]->shape;
  const bool same_rows =
      out.rank_known() && out.rank() == 3 && out[0] == q_shape[0] && out[1] == q_shape[1];
  Dims rows;
  if (!same_rows) {
    if (!q_shape[0].is_static() || !q_shape[1].is_static()) return false;
    rows = {q_shape[0].value, q_shape[1].value};
  }
  const ir::Node& q = *parts[0].product;
  for (const Projection& part : parts) {
    const ir::Node& p = *part.product;
    if (p.op != q.op || p.inputs[0] != q.inputs[0] || p.inputs[1]->dtype != q.inputs[1]->dtype ||
        inner_size(p) != inner_size(q) || p.attr_int("transB", 0) != q.attr_int("transB", 0)) {
      return false;
    }
  }
  if (parts[0].product == parts[1].product || parts[1].product == parts[2].product) return false;
  pack(graph, attention, parts, rows);
  return true;
}

}  // namespace

int pack_projections(ir::Graph& graph) {
  int packed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (pack_attention(graph, node)) ++packed;
  }
  if (packed > 0) {
    tidy_after_rewrite(graph);
    fold_constants(graph);  // the concatenated weights and biases
  }
  return packed;
}

}  // namespace kiln::passes
