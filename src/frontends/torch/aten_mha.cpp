// aten._native_multi_head_attention: the fused inference path nn.MultiheadAttention takes in
// eval mode (batch_first, as torchvision's ViT), which traced TorchScript records as one call
// (torch.export decomposes it). Spelled out in core ops: the packed input projection, the
// per-head Attention, the output projection.
#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

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
}

}  // namespace kiln::torch
