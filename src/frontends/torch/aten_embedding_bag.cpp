// embedding_bag (recommendation models' pooled lookups): the rows of `indices` pooled per bag
// by sum, mean or max. Bags are runs of indices starting at each offset; Kiln writes them as a
// [bags, indices] membership matrix, so a sum is one MatMul of it with the gathered rows.
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/composite_ops.h"

namespace kiln::torch {
namespace {

struct Bags {
  ir::Value* indices = nullptr;     // [N] int64
  ir::Value* membership = nullptr;  // [B, N] bool: index j belongs to bag b and counts
};

ir::Value* int64_scalar(AtenNode& node, int64_t value) {
  return scalar_constant(node, static_cast<double>(value), DType::Int64);
}

// The bags of 1-D indices with offsets, or of 2-D indices (one bag per row). Index j is in bag
// b when offsets[b] <= j < offsets[b + 1] (the last bag runs to the end, or to the last offset
// with include_last_offset); indices equal to padding_idx count in no bag.
Bags bags_of(AtenNode& node, int64_t padding_idx) {
  ir::Value* indices = cast_to(node, node.tensor("indices"), DType::Int64);
  ir::Value* offsets = node.optional_tensor("offsets");
  bool include_last = node.bool_arg("include_last_offset", false);
  if (rank_of(node, indices) == 2) {
    std::vector<SymInt> sizes = sizes_of(node, indices);
    ir::Value* length = size_scalar(node, sizes[1]);
    ir::Value* count = node.add("Mul", {size_scalar(node, sizes[0]), length});
    offsets = node.add("Range", {int64_scalar(node, 0), count, length});
    indices = reshape_to(node, indices, {SymInt::fixed(-1)});
    include_last = false;
  } else if (rank_of(node, indices) != 1 || offsets == nullptr) {
    node.invalid("indices must be 1-D with offsets, or 2-D");
  }
  offsets = cast_to(node, offsets, DType::Int64);
  ir::Value* total = size_scalar(node, sizes_of(node, indices)[0]);
  ir::Value* end = total;
  if (include_last) {
    end =
        node.add("Reshape", {slice_axis(node, offsets, 0, -1, std::numeric_limits<int64_t>::max()),
                             int64_constant(node, {})});
    offsets = slice_axis(node, offsets, 0, 0, -1);
  }
  ir::Value* positions = node.add("Range", {int64_scalar(node, 0), total, int64_scalar(node, 1)});
  // bag(j) = (number of offsets <= j) - 1.
  AtenOpBuilder builder(node);
  ir::Value* started =
      ir::less_or_equal(builder, unsqueezed(node, offsets, {0}), unsqueezed(node, positions, {1}));
  ir::Value* bag =
      node.add("Sub", {node.add("ReduceSum", {cast_to(node, started, DType::Int64)},
                                {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}),
                       int64_scalar(node, 1)});
  ir::Value* bag_count = size_scalar(node, sizes_of(node, offsets)[0]);
  ir::Value* bag_ids = node.add("Range", {int64_scalar(node, 0), bag_count, int64_scalar(node, 1)});
  ir::Value* member = node.add("Equal", {unsqueezed(node, bag_ids, {1}), bag});
  ir::Value* counts = node.add("Less", {positions, end});
  if (padding_idx >= 0) {
    ir::Value* padding = node.add("Equal", {indices, int64_scalar(node, padding_idx)});
    counts = node.add("And", {counts, node.add("Not", {padding})});
  }
  return {indices, node.add("And", {member, counts})};
}

// embedding_bag / _embedding_bag (weight, indices, offsets, scale_grad_by_freq, mode, sparse,
// per_sample_weights, include_last_offset, padding_idx) → (output, offset2bag, bag_size,
// max_indices); only the pooled output is computed (the others serve training).
void convert_embedding_bag(AtenNode& node) {
  ir::Value* weight = node.tensor("weight");
  DType type = dtype_of(node, weight);
  if (rank_of(node, weight) != 2) node.invalid("weight must be 2-D");
  int64_t padding_idx = node.has("padding_idx") ? node.int_arg("padding_idx") : -1;
  bool is_private = node.target() != "aten.embedding_bag.padding_idx";
  if (padding_idx < 0 && !is_private && node.has("padding_idx")) {
    const ir::Dim& rows = weight->shape[0];
    if (!rows.is_static()) node.unsupported("a negative padding_idx with a run-time row count");
    padding_idx += rows.value;
  }
  for (size_t i = 1; i < node.output_count(); ++i) {
    if (node.output_needed(i))
      node.unsupported("embedding_bag's output ", i, " (only training reads it)");
  }
  Bags bags = bags_of(node, padding_idx);
  ir::Value* rows = node.add("Gather", {weight, bags.indices}, {{"axis", int64_t{0}}});
  ir::Value* member = cast_to(node, bags.membership, type);
  int64_t mode = node.int_arg("mode", 0);
  if (ir::Value* scales = node.optional_tensor("per_sample_weights")) {
    if (mode != 0) node.invalid("per_sample_weights need mode='sum'");
    ir::Value* flat = reshape_to(node, cast_to(node, scales, type), {SymInt::fixed(-1)});
    member = node.add("Mul", {member, flat});
  }
  ir::Value* count = node.add("ReduceSum", {cast_to(node, bags.membership, type)},
                              {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
  ir::Value* zero = scalar_constant(node, 0, type);
  if (mode == 0 || mode == 1) {
    ir::Value* sum = node.add("MatMul", {member, rows});
    if (mode == 0) return node.set_output(0, sum);
    ir::Value* divisor = node.add("Max", {count, scalar_constant(node, 1, type)});
    return node.set_output(0, node.add("Div", {sum, divisor}));
  }
  if (mode != 2) node.invalid("mode ", mode, " (0 sum, 1 mean, 2 max)");
  ir::Value* in_bag = unsqueezed(node, bags.membership, {2});
  ir::Value* candidates = node.add(
      "Where", {in_bag, unsqueezed(node, rows, {0}), scalar_constant(node, -kInfinity, type)});
  ir::Value* largest = node.add("ReduceMax", {candidates},
                                {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}});
  // An empty bag pools to zeros.
  node.set_output(0, node.add("Where", {node.add("Greater", {count, zero}), largest, zero}));
}

}  // namespace

void add_embedding_bag_ops(AtenTable& table) {
  table["aten.embedding_bag.default"] = convert_embedding_bag;
  table["aten.embedding_bag.padding_idx"] = convert_embedding_bag;
  table["aten._embedding_bag.default"] = convert_embedding_bag;
  table["aten._embedding_bag_forward_only.default"] = convert_embedding_bag;
}

}  // namespace kiln::torch
