// Recognizes attention written out in matrix products and a softmax, as ONNX exports of
// scaled_dot_product_attention (opset < 23), eager-mode traces and older models spell it:
//   Y = MatMul(Softmax(MatMul(Q·c₁, Kᵀ·c₂)·c₃ + mask, axis=-1), V)
// optionally with the exporters' NaN guard Where(IsNaN(P), 0, P) after the softmax, where Kᵀ
// is K with its last two dims swapped (a Transpose, or the exporters' Reshape → Transpose →
// Reshape; any other Kᵀ gets a Transpose back to K). It becomes one Attention(Q, K, V, mask) node
// with scale c₁·c₂·c₃, which fused kernels run without writing the score matrix. A row the mask
// hides entirely gives zeros, as the guard makes it; without the guard such a row would have been
// NaN. Attention is [B, H, S, D]; products of another rank with static dims (torchvision
// MaxViT's windows [B, G, H, S, D], a bmm over [B·H, S, D]) are viewed as [N, H, S, D], N the
// product of the dims before the heads, and the output viewed back.
#include <cmath>
#include <optional>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// The value of a one-element float constant, if `value` is one.
std::optional<double> scalar_of(const ir::Value* value) {
  if (value == nullptr || !value->is_constant() || value->constant->numel() != 1 ||
      !is_floating(value->constant->dtype())) {
    return std::nullopt;
  }
  return value->constant->to_double_vector()[0];
}

// `value` without a Mul/Div by a scalar constant, the factor going into `scale`.
const ir::Value* unscaled(const ir::Graph& graph, const ir::Value* value, double& scale) {
  const ir::Node* node = value->producer;
  if (node == nullptr || node->inputs.size() != 2 || sole_reader(graph, value) == nullptr)
    return value;
  for (int side = 0; side < 2; ++side) {
    std::optional<double> factor = scalar_of(node->inputs[size_t(1 - side)]);
    if (!factor) continue;
    if (node->op == "Mul") {
      scale *= *factor;
      return node->inputs[size_t(side)];
    }
    if (node->op == "Div" && side == 0 && *factor != 0) {
      scale /= *factor;
      return node->inputs[0];
    }
  }
  return value;
}

bool static_dims(const ir::Value* value, size_t rank, Dims& dims) {
  if (value == nullptr || !value->shape.rank_known() || value->shape.rank() != int64_t(rank) ||
      !value->shape.is_static()) {
    return false;
  }
  dims = value->shape.static_dims();
  return true;
}

// K when `transposed` is K [B, H, S, D] with its last two dims swapped: Transpose(K, [0, 1, 3,
// 2]), or Reshape(Transpose(Reshape(K, [B·H, S, D]), [0, 2, 1]), [B, H, D, S]).
ir::Value* untransposed_keys(const ir::Value* transposed) {
  const ir::Node* node = transposed->producer;
  if (node == nullptr) return nullptr;
  if (node->op == "Transpose" && node->attr_ints("perm") == std::vector<int64_t>{0, 1, 3, 2})
    return node->inputs[0];
  if (node->op != "Reshape") return nullptr;
  const ir::Node* swap = node->inputs[0]->producer;
  if (swap == nullptr || swap->op != "Transpose" ||
      swap->attr_ints("perm") != std::vector<int64_t>{0, 2, 1})
    return nullptr;
  const ir::Node* merge = swap->inputs[0]->producer;
  if (merge == nullptr || merge->op != "Reshape") return nullptr;
  ir::Value* keys = merge->inputs[0];
  Dims k, flat, result;
  if (!static_dims(keys, 4, k) || !static_dims(merge->outputs[0], 3, flat) ||
      !static_dims(transposed, 4, result)) {
    return nullptr;
  }
  bool matches = flat == Dims{k[0] * k[1], k[2], k[3]} && result == Dims{k[0], k[1], k[3], k[2]};
  return matches ? keys : nullptr;
}

// The probabilities after Softmax `softmax`: its output, or the NaN guard's
// Where(IsNaN(P), 0, P) around it; null if something else reads P.
ir::Value* probabilities(const ir::Graph& graph, ir::Node* softmax) {
  ir::Value* p = softmax->outputs[0];
  std::vector<ir::Node*> users = graph.users(p);
  if (graph.is_graph_output(p)) return nullptr;
  if (users.size() == 1) return p;
  if (users.size() != 2) return nullptr;
  ir::Node* is_nan = users[0]->op == "IsNaN" ? users[0] : users[1];
  ir::Node* guard = is_nan == users[0] ? users[1] : users[0];
  if (is_nan->op != "IsNaN" || guard->op != "Where" || guard->inputs.size() != 3 ||
      guard->inputs[0] != is_nan->outputs[0] || guard->inputs[2] != p ||
      scalar_of(guard->inputs[1]) != 0.0 || sole_reader(graph, is_nan->outputs[0]) != guard) {
    return nullptr;
  }
  return guard->outputs[0];
}

// The dims before the heads of `value` (rank `rank`, static), multiplied: the batch of its
// [N, H, S, D] view. Zero where the dims are not static.
int64_t leading_product(const ir::Value* value, size_t rank) {
  Dims dims;
  if (!static_dims(value, rank, dims)) return 0;
  int64_t product = 1;
  for (size_t i = 0; i + 3 < rank; ++i) product *= dims[i];
  return product;
}

// `value` viewed as [N, H, S, D] from its last three dims and `batch`.
ir::Value* as_rank4(ir::Graph& graph, const std::string& name, ir::Value* value, int64_t batch) {
  Dims dims = value->shape.static_dims();
  Dims target = {batch, dims[dims.size() - 3], dims[dims.size() - 2], dims.back()};
  return graph
      .add_node("Reshape", graph.unique_name(name),
                {value, int64s_constant(graph, name + ".shape", target)},
                {graph.unique_name(name + ".view")})
      ->outputs[0];
}

// An additive mask of a rank-`rank` attention with leading dims `lead` (static), as a 4-D mask
// of its [N, H, S, T] view: broadcast over all of the leading dims or over none of them (one
// that varies along some alone has no 4-D broadcast form). Null where that is not so.
ir::Value* mask_as_rank4(ir::Graph& graph, const std::string& name, ir::Value* mask,
                         const Dims& lead, int64_t batch) {
  Dims dims;
  if (!static_dims(mask, size_t(mask->shape.rank()), dims)) return nullptr;
  const size_t rank = lead.size() + 3;
  dims.insert(dims.begin(), rank - dims.size(), 1);  // broadcasting's leading 1s
  bool all_one = true, all_same = true;
  for (size_t i = 0; i < lead.size(); ++i) {
    all_one = all_one && dims[i] == 1;
    all_same = all_same && dims[i] == lead[i];
  }
  if (!all_one && !all_same) return nullptr;
  Dims target = {all_one ? 1 : batch, dims[rank - 3], dims[rank - 2], dims[rank - 1]};
  return graph
      .add_node("Reshape", graph.unique_name(name),
                {mask, int64s_constant(graph, name + ".shape", target)},
                {graph.unique_name(name + ".view")})
      ->outputs[0];
}

// A Mul or Div by a scalar constant whose result reaches a MatMul through layout ops alone
// (views, Transposes) moves to just before the MatMul, where unscaled() takes it into the
// attention's scale: torchvision's MaxViT scales K before its einsum's permutes, which would
// otherwise keep the scaled K a copy of its own.
bool move_factor_to_product(const ir::Graph& graph, ir::Node* node) {
  if ((node->op != "Mul" && node->op != "Div") || node->inputs.size() != 2 ||
      node->outputs.size() != 1) {
    return false;
  }
  auto is_factor = [](const ir::Value* value) {
    return scalar_of(value).has_value() && value->shape.rank_known() && value->shape.rank() <= 1;
  };
  const int side = is_factor(node->inputs[1])                        ? 1
                   : node->op == "Mul" && is_factor(node->inputs[0]) ? 0
                                                                     : -1;
  if (side < 0) return false;
  ir::Value* x = node->inputs[size_t(1 - side)];
  ir::Value* out = node->outputs[0];
  std::vector<ir::Node*> chain;
  ir::Value* last = out;
  ir::Node* reader = sole_reader(graph, out);
  while (reader != nullptr && is_layout_op(reader->op) && reader->outputs.size() == 1 &&
         reader->inputs[0] == last) {
    chain.push_back(reader);
    last = reader->outputs[0];
    reader = sole_reader(graph, last);
  }
  if (chain.empty() || reader == nullptr || reader->op != "MatMul") return false;
  chain.front()->inputs[0] = x;
  node->inputs[size_t(1 - side)] = last;
  for (ir::Value*& input : reader->inputs) {
    if (input == last) input = out;
  }
  out->shape = ir::Shape();
  return true;
}

// Where `logits` is scores + mask (an Add read by the softmax alone), `logits` becomes the
// scores and `mask` the mask; false where that Add is no attention mask of rank <= `rank`.
bool split_mask(const ir::Graph& graph, size_t rank, const ir::Value*& logits, ir::Value*& mask) {
  if (logits->producer == nullptr || logits->producer->op != "Add" ||
      sole_reader(graph, logits) == nullptr) {
    return true;  // no mask
  }
  const ir::Node* add = logits->producer;
  auto is_product = [&](const ir::Value* value) {
    double ignored = 1;
    const ir::Node* producer = unscaled(graph, value, ignored)->producer;
    return producer != nullptr && producer->op == "MatMul";
  };
  int scores_side = is_product(add->inputs[0]) ? 0 : is_product(add->inputs[1]) ? 1 : -1;
  if (scores_side < 0) return false;
  mask = add->inputs[size_t(1 - scores_side)];
  logits = add->inputs[size_t(scores_side)];
  if (!mask->shape.rank_known() || mask->shape.rank() > int64_t(rank) ||
      !is_floating(mask->dtype) || add->outputs[0]->shape.to_string() != logits->shape.to_string())
    return false;
  // Attention reads a mask's last dim as the keys it covers (a shorter one hides the rest, as
  // ONNX pads it), so the mask must span the keys: a scalar or a key dim of 1 broadcast over
  // all keys means something else and stays spelled out.
  const ir::Shape& keys = logits->shape;
  return mask->shape.rank() != 0 && keys.rank_known() && keys.rank() != 0 &&
         mask->shape[mask->shape.rank() - 1] == keys[keys.rank() - 1];
}

// The attention's scale, given or its default 1/√head_size; none where the head size is not
// known.
std::optional<double> attention_scale(const ir::Node& attention) {
  if (attention.has_attr("scale")) return attention.attr_float("scale", 1.0);
  const ir::Shape& q = attention.inputs[0]->shape;
  if (!q.rank_known() || !q[q.rank() - 1].is_static()) return std::nullopt;
  int64_t head_size = q[q.rank() - 1].value;
  if (q.rank() == 3) {
    const int64_t heads = attention.attr_int("q_num_heads", 0);
    if (heads <= 0 || head_size % heads != 0) return std::nullopt;
    head_size /= heads;
  }
  return 1.0 / std::sqrt(double(head_size));
}

// A Mul or Div by a scalar constant that makes the attention's query or key, read by nothing
// else, goes into the attention's scale (Whisper and BART scale the query projection): one
// pass over Q fewer, and the projections become plain views of products (pack_projections).
bool fold_input_scales(const ir::Graph& graph, ir::Node* attention) {
  if (attention->op != "Attention" || attention->inputs.size() < 3 ||
      attention->outputs.size() != 1) {
    return false;
  }
  bool folded = false;
  for (size_t i = 0; i < 2; ++i) {
    ir::Value* input = attention->inputs[i];
    const ir::Node* node = input == nullptr ? nullptr : input->producer;
    if (node == nullptr || (node->op != "Mul" && node->op != "Div") || node->inputs.size() != 2 ||
        sole_reader(graph, input) != attention) {
      continue;
    }
    int side = -1;
    if (scalar_of(node->inputs[1]) && node->inputs[1]->shape.rank_known() &&
        node->inputs[1]->shape.rank() <= 1) {
      side = 1;
    } else if (node->op == "Mul" && scalar_of(node->inputs[0]) &&
               node->inputs[0]->shape.rank_known() && node->inputs[0]->shape.rank() <= 1) {
      side = 0;
    }
    std::optional<double> scale = attention_scale(*attention);
    if (side < 0 || !scale) continue;
    const double factor = *scalar_of(node->inputs[size_t(side)]);
    if (node->op == "Div" && factor == 0) continue;
    const int data = 1 - side;
    if (node->inputs[size_t(data)]->shape.to_string() != input->shape.to_string()) continue;
    attention->attrs["scale"] = node->op == "Mul" ? *scale * factor : *scale / factor;
    attention->inputs[i] = node->inputs[size_t(data)];
    folded = true;
  }
  return folded;
}

// Rewrites the attention ending at Softmax `softmax`; false where it is not one.
bool recognize(ir::Graph& graph, ir::Node* softmax) {
  if (softmax->op != "Softmax" || !softmax->outputs[0]->shape.rank_known() ||
      softmax->outputs[0]->shape.rank() < 3)
    return false;
  const size_t rank = size_t(softmax->outputs[0]->shape.rank());
  int64_t axis = softmax->attr_int("axis", -1);
  if (axis != -1 && axis != int64_t(rank) - 1) return false;
  ir::Value* p = probabilities(graph, softmax);
  ir::Node* output = p == nullptr ? nullptr : sole_reader(graph, p);
  if (output == nullptr || output->op != "MatMul" || output->inputs.size() != 2 ||
      output->inputs[0] != p || !output->attrs.empty())
    return false;
  double scale = 1;
  const ir::Value* logits = softmax->inputs[0];
  ir::Value* mask = nullptr;
  if (!split_mask(graph, rank, logits, mask)) return false;
  const ir::Value* scores = unscaled(graph, logits, scale);
  const ir::Node* product = scores->producer;
  if (product == nullptr || product->op != "MatMul" || product->inputs.size() != 2 ||
      !product->attrs.empty() || sole_reader(graph, scores) == nullptr)
    return false;
  ir::Value* queries = const_cast<ir::Value*>(unscaled(graph, product->inputs[0], scale));
  ir::Value* keys_t = const_cast<ir::Value*>(unscaled(graph, product->inputs[1], scale));
  ir::Value* values = output->inputs[1];
  for (const ir::Value* tensor : std::initializer_list<const ir::Value*>{queries, keys_t, values}) {
    if (tensor == nullptr || !tensor->shape.rank_known() || tensor->shape.rank() != int64_t(rank))
      return false;
  }
  if (queries->dtype != keys_t->dtype || values->dtype != keys_t->dtype || !std::isfinite(scale))
    return false;
  // One batch, and keys and values of the same heads: the products may broadcast either, which
  // Attention does not (its grouped heads are another rule than broadcasting).
  const ir::Shape &q_shape = queries->shape, &kt_shape = keys_t->shape, &v_shape = values->shape;
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (!(q_shape[i] == kt_shape[i]) || !(q_shape[i] == v_shape[i])) return false;
  }
  ir::Value* keys = rank == 4 ? untransposed_keys(keys_t) : nullptr;
  ir::Node* attention = output;  // 4-D: the final product becomes the attention
  if (rank != 4) {
    // Viewed as [N, H, S, D]; the final product becomes the view of the output back.
    const int64_t batch = leading_product(queries, rank);
    Dims out_dims;
    if (batch == 0 || leading_product(keys_t, rank) != batch ||
        leading_product(values, rank) != batch ||
        !static_dims(output->outputs[0], rank, out_dims)) {
      return false;
    }
    const Dims q_dims = queries->shape.static_dims();
    const Dims lead(q_dims.begin(), q_dims.end() - 3);
    if (mask != nullptr) {
      mask = mask_as_rank4(graph, output->name + ".mask", mask, lead, batch);
      if (mask == nullptr) return false;
    }
    const std::string& name = output->name;
    queries = as_rank4(graph, name + ".q", queries, batch);
    keys_t = as_rank4(graph, name + ".kt", keys_t, batch);
    values = as_rank4(graph, name + ".v", values, batch);
    attention = graph.add_node("Attention", graph.unique_name(name + ".attention"), {},
                               {graph.unique_name(name + ".attention")});
    output->op = "Reshape";
    output->attrs.clear();
    output->inputs = {attention->outputs[0], int64s_constant(graph, name + ".dims", out_dims)};
  }
  if (keys == nullptr) {
    // Kᵀ made some other way (the dynamo ONNX exporter's [B, S, H·D] → [B, H·D, S] → [B, H, D,
    // S] chain, or a computed Kᵀ): K is Kᵀ with its last two dims swapped back, a Transpose
    // that collapse_layout_chains then merges with the chain that made Kᵀ, if any.
    ir::Node* swap = graph.add_node("Transpose", graph.unique_name(output->name + ".keys"),
                                    {keys_t}, {graph.unique_name(output->name + ".keys")});
    swap->attrs["perm"] = std::vector<int64_t>{0, 1, 3, 2};
    keys = swap->outputs[0];
  }
  attention->op = "Attention";
  attention->inputs = {queries, keys, values};
  if (mask != nullptr) attention->inputs.push_back(mask);
  attention->attrs = {{"scale", scale}};
  return true;
}

}  // namespace

int recognize_attention(ir::Graph& graph) {
  int moved = 0;
  for (ir::Node* node : graph.nodes()) {
    moved += move_factor_to_product(graph, node) ? 1 : 0;
    moved += fold_input_scales(graph, node) ? 1 : 0;
  }
  if (moved > 0) {
    graph.sort_topologically();
    ir::infer_graph(graph);
  }
  int changed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op == "Softmax" && recognize(graph, node)) ++changed;
  }
  if (changed > 0) {
    // The keys' Transposes were added at the end; the products, scales, softmax and guard
    // nobody reads now go.
    tidy_after_rewrite(graph);
  }
  return changed + moved;
}

}  // namespace kiln::passes
