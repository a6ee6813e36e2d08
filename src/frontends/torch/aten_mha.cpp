// Attention: scaled_dot_product_attention of any rank (Kiln's Attention is 4-D), and
// aten._native_multi_head_attention, the fused inference path nn.MultiheadAttention takes in
// eval mode (batch_first, as torchvision's ViT), which traced TorchScript records as one call
// (torch.export decomposes it), spelled out in core ops: the packed input projection, the
// per-head Attention, the output projection.
#include <functional>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa).
// Q, K, V (and a mask) of another rank than Attention's 4 as 4-D: rank 3 gains a heads dim
// of 1; rank 5 and up merge their leading dims (broadcast to the query's first) into the
// batch, the last leading dim staying the heads. `restore` gives the output its rank back.
struct AttentionOperands {
  ir::Value* query;
  ir::Value* key;
  ir::Value* value;
  ir::Value* mask;
  std::function<ir::Value*(ir::Value*)> restore = [](ir::Value* out) { return out; };
};

AttentionOperands attention_as_4d(AtenNode& node, AttentionOperands in) {
  const int64_t rank = rank_of(node, in.query);
  auto unsqueeze = [&](ir::Value* x) {
    return node.add("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{1}}});
  };
  if (rank == 3) {
    AttentionOperands out{unsqueeze(in.query), unsqueeze(in.key), unsqueeze(in.value), in.mask};
    if (in.mask != nullptr && rank_of(node, in.mask) == 3) out.mask = unsqueeze(in.mask);
    out.restore = [&node](ir::Value* x) {
      return node.add("Squeeze", {x}, {{"axes", std::vector<int64_t>{1}}});
    };
    return out;
  }
  if (rank < 5)
    node.unsupported("query of rank ", rank, " (attention needs (batch, seq, head_size) or more)");
  std::vector<SymInt> q_sizes = sizes_of(node, in.query);
  std::vector<int64_t> leading;
  for (int64_t axis = 0; axis < rank - 2; ++axis) {
    if (!q_sizes[size_t(axis)].is_static())
      node.unsupported("query of rank ", rank, " with a dynamic leading dim");
    leading.push_back(q_sizes[size_t(axis)].value);
  }
  int64_t batch = 1;
  for (size_t i = 0; i + 1 < leading.size(); ++i) batch *= leading[i];
  // Each operand broadcast to the query's leading dims, then merged into [batch, heads, *, *].
  auto merged = [&](ir::Value* x, bool expand) {
    std::vector<SymInt> sizes = sizes_of(node, x);
    std::vector<int64_t> tail;
    for (size_t i = sizes.size() - 2; i < sizes.size(); ++i) {
      if (!sizes[i].is_static())
        node.unsupported("attention operand ", x->name, " with dynamic sizes");
      tail.push_back(sizes[i].value);
    }
    if (expand) {
      std::vector<int64_t> full = leading;
      full.insert(full.end(), tail.begin(), tail.end());
      x = node.add("Expand", {x, int64_constant(node, full)});
    }
    return node.add("Reshape",
                    {x, int64_constant(node, {batch, leading.back(), tail[0], tail[1]})});
  };
  AttentionOperands out{merged(in.query, false), merged(in.key, true), merged(in.value, true),
                        nullptr};
  if (in.mask != nullptr) out.mask = rank_of(node, in.mask) <= 2 ? in.mask : merged(in.mask, true);
  out.restore = [&node, leading](ir::Value* x) {
    std::vector<SymInt> sizes = sizes_of(node, x);
    std::vector<SymInt> full;
    for (int64_t size : leading) full.push_back(SymInt::fixed(size));
    full.push_back(sizes[2]);
    full.push_back(sizes[3]);
    return reshape_to(node, x, full);
  };
  return out;
}

void convert_sdpa(AtenNode& node) {
  if (node.float_arg("dropout_p", 0.0) != 0.0) {
    node.unsupported("dropout_p=", node.float_arg("dropout_p", 0.0), " (inference has no dropout)");
  }
  std::map<std::string, ir::AttrValue> attrs{
      {"is_causal", int64_t{node.bool_arg("is_causal", false) ? 1 : 0}}};
  if (node.has("scale")) attrs["scale"] = node.float_arg("scale", 0.0);
  AttentionOperands operands{node.tensor("query"), node.tensor("key"), node.tensor("value"),
                             node.optional_tensor("attn_mask")};
  if (operands.mask != nullptr && dtype_of(node, operands.mask) != DType::Bool) {
    // an additive mask in Q's dtype
    operands.mask = cast_to(node, operands.mask, dtype_of(node, operands.query));
  }
  if (rank_of(node, operands.query) != 4) operands = attention_as_4d(node, operands);
  ir::Value* out =
      node.add("Attention", {operands.query, operands.key, operands.value, operands.mask}, attrs);
  node.set_output(0, operands.restore(out));
}

// x [B, L, E] @ rows [from, from + E) of `weight` [3E, E] (transposed) + the same bias rows,
// split into heads: [B, heads, L, E / heads].
ir::Value* project_heads(AtenNode& node, ir::Value* x, ir::Value* weight, ir::Value* bias,
                         int64_t from, int64_t embed, int64_t heads) {
  ir::Value* product =
      linear(node, x, slice_axis(node, weight, 0, from, from + embed),
             bias != nullptr ? slice_axis(node, bias, 0, from, from + embed) : nullptr);
  ir::Value* split =
      node.add("Reshape", {product, int64_constant(node, {0, 0, heads, embed / heads})});
  return node.add("Transpose", {split}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}});
}

// _native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
// proj_weight, proj_bias, mask, need_weights, average_attn_weights, mask_type) -> (out,
// weights). Batched [B, L, E] inputs without a mask; the weights only as the empty tensor
// PyTorch returns for need_weights=False.
void convert_native_mha(AtenNode& node) {
  ir::Value* query = node.tensor("query");
  ir::Value* key = node.tensor("key");
  ir::Value* value = node.tensor("value");
  int64_t embed = node.int_arg("embed_dim");
  int64_t heads = node.int_arg("num_head");
  if (rank_of(node, query) != 3 || rank_of(node, key) != 3 || rank_of(node, value) != 3) {
    node.unsupported("unbatched or non-3-D inputs (Kiln takes [batch, seq, embed])");
  }
  if (heads <= 0 || embed % heads != 0)
    node.invalid(embed, " does not split into ", heads, " heads");
  if (node.optional_tensor("mask") != nullptr) {
    node.unsupported("a mask (export the model with torch.export, which spells it out)");
  }
  if (node.bool_arg("need_weights", true) && node.output_count() > 1 && node.output_used(1)) {
    node.unsupported("need_weights=True (the averaged attention weights)");
  }
  ir::Value* qkv_weight = node.tensor("qkv_weight");
  ir::Value* qkv_bias = node.optional_tensor("qkv_bias");
  ir::Value* q = project_heads(node, query, qkv_weight, qkv_bias, 0, embed, heads);
  ir::Value* k = project_heads(node, key, qkv_weight, qkv_bias, embed, embed, heads);
  ir::Value* v = project_heads(node, value, qkv_weight, qkv_bias, 2 * embed, embed, heads);
  ir::Value* attended = node.add("Attention", {q, k, v}, {{"is_causal", int64_t{0}}});
  ir::Value* merged = node.add(
      "Reshape", {node.add("Transpose", {attended}, {{"perm", std::vector<int64_t>{0, 2, 1, 3}}}),
                  int64_constant(node, {0, 0, embed})});
  node.set_output(
      0, linear(node, merged, node.tensor("proj_weight"), node.optional_tensor("proj_bias")));
  if (node.output_count() > 1 && node.output_used(1)) {
    node.set_output(1, node.constant(Tensor(dtype_of(node, query), {0})));
  }
}

}  // namespace

void add_attention_ops(AtenTable& table) {
  table["aten._native_multi_head_attention.default"] = convert_native_mha;
  table["aten.scaled_dot_product_attention.default"] = convert_sdpa;
}

}  // namespace kiln::torch
