// The one ATen table: every family adds its converters; in-place variants (relu_, add_)
// reuse the functional converter and rebind the mutated name (and what it views) to the result.
#include <algorithm>

#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// `self` is updated in place: later readers of its name see the result.
AtenConverter in_place(AtenConverter functional) {
  return [functional](AtenNode& node) {
    std::string mutated = node.tensor_name("self");
    functional(node);
    if (mutated.empty() || node.output_count() == 0) return;
    const OutputSlot& slot = node.output(0);
    if (slot.kind != OutputSlot::Kind::Tensor || slot.names.empty()) return;
    if (ir::Value* result = node.context().find_tensor(slot.names[0])) {
      node.context().redefine_tensor(mutated, result);
      node.context().write_back_views(node, mutated);
    }
  };
}

// "aten.add.Tensor" → "aten.add_.Tensor".
std::string in_place_name(const std::string& target) {
  size_t overload = target.rfind('.');
  return target.substr(0, overload) + "_" + target.substr(overload);
}

AtenTable build_table() {
  AtenTable table;
  add_math_ops(table);
  add_reduce_ops(table);
  add_nn_ops(table);
  add_shape_ops(table);
  add_arrange_ops(table);
  add_rnn_ops(table);
  add_sampling_ops(table);
  add_indexing_ops(table);
  add_creation_ops(table);
  add_pad_ops(table);
  add_resize_ops(table);
  add_composite_ops(table);
  add_attention_ops(table);
  add_pointwise_ops(table);
  add_storage_view_ops(table);
  add_fft_ops(table);
  add_expert_ops(table);
  add_complex_ops(table);
  add_special_math_ops(table);
  add_statistics_ops(table);
  add_layout_ops(table);
  add_matrix_ops(table);
  add_index_update_ops(table);
  add_norm_pool_ops(table);
  add_special_function_ops(table);
  const std::vector<std::string> mutable_ops = {
      "aten.add.Tensor",         "aten.add.Scalar",          "aten.sub.Tensor",
      "aten.sub.Scalar",         "aten.mul.Tensor",          "aten.mul.Scalar",
      "aten.div.Tensor",         "aten.div.Scalar",          "aten.relu.default",
      "aten.hardswish.default",  "aten.hardsigmoid.default", "aten.hardtanh.default",
      "aten.clamp.default",      "aten.silu.default",        "aten.gelu.default",
      "aten.sigmoid.default",    "aten.tanh.default",        "aten.masked_fill.Scalar",
      "aten.masked_fill.Tensor", "aten.dropout.default",     "aten.unsqueeze.default",
      "aten.squeeze.dim",        "aten.transpose.int",       "aten.elu.default",
      "aten.celu.default",       "aten.selu.default",        "aten.leaky_relu.default",
      "aten.threshold.default",  "aten.fill.Scalar",         "aten.fill.Tensor",
      "aten.copy.default",       "aten.zero.default",        "aten.scatter.src",
      "aten.scatter.value",      "aten.scatter.reduce",      "aten.scatter_add.default",
      "aten.index_put.default"};
  for (const std::string& target : mutable_ops) {
    table[in_place_name(target)] = in_place(table.at(target));
  }
  return table;
}

const AtenTable& table() {
  static const AtenTable instance = build_table();
  return instance;
}

}  // namespace

const AtenConverter* find_aten_converter(std::string_view target) {
  auto it = table().find(target);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> aten_targets() {
  std::vector<std::string> targets;
  for (const auto& [target, converter] : table()) targets.push_back(target);
  return targets;
}

}  // namespace kiln::torch
