// Shape simplification: Shape of a known-size value becomes a constant (also when only the
// dims a following Gather/Slice picks are static), so that fold_constants can then collapse
// Shape → Gather → Concat → Reshape chains; no-op reshapes, casts and transposes go away, and a
// transpose that only moves dims of size 1 becomes a reshape.
#include <algorithm>
#include <numeric>
#include <optional>

#include "ir/op_schema.h"
#include "ir/shape_values.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

std::optional<std::vector<ir::Dim>> dims_of_shape_value(const ir::Value* value) {
  if (value == nullptr || value->producer == nullptr || value->producer->op != "Shape") {
    return std::nullopt;
  }
  return ir::shape_node_dims(*value->producer);
}

std::optional<std::vector<int64_t>> constant_values(const ir::Value* value) {
  if (value == nullptr || !value->is_constant() || !is_integral(value->constant->dtype())) {
    return std::nullopt;
  }
  return value->constant->to_int64_vector();
}

// The picked dims as an int64 tensor, if every one of them is static.
std::optional<Tensor> static_dims_tensor(const std::vector<ir::Dim>& dims, Dims tensor_dims) {
  std::vector<int64_t> values;
  for (const ir::Dim& dim : dims) {
    if (!dim.is_static()) return std::nullopt;
    values.push_back(dim.value);
  }
  return Tensor::from_vector<int64_t>(std::move(tensor_dims), values);
}

std::optional<Tensor> fold_shape(const ir::Node& node) {
  auto dims = ir::shape_node_dims(node);
  if (!dims) return std::nullopt;
  return static_dims_tensor(*dims, {static_cast<int64_t>(dims->size())});
}

// Gather(Shape(x), constant indices): fine when the picked dims are static, even if x's
// other dims (the batch) are symbolic.
std::optional<Tensor> fold_gather_of_shape(const ir::Node& node) {
  auto dims = dims_of_shape_value(node.input(0));
  auto indices = constant_values(node.input(1));
  if (!dims || !indices) return std::nullopt;
  int64_t length = static_cast<int64_t>(dims->size());
  std::vector<ir::Dim> picked;
  for (int64_t index : *indices) {
    if (index < -length || index >= length) return std::nullopt;  // left for the kernel to report
    picked.push_back((*dims)[static_cast<size_t>(index < 0 ? index + length : index)]);
  }
  return static_dims_tensor(picked, node.inputs[1]->constant->dims());
}

// Slice(Shape(x), constant starts, ends[, axes = 0][, steps]) with static picked dims.
std::optional<Tensor> fold_slice_of_shape(const ir::Node& node) {
  auto dims = dims_of_shape_value(node.input(0));
  auto starts = constant_values(node.input(1));
  auto ends = constant_values(node.input(2));
  auto axes = node.input(3) ? constant_values(node.input(3)) : std::vector<int64_t>{0};
  auto steps = node.input(4) ? constant_values(node.input(4)) : std::vector<int64_t>{1};
  if (!dims || !starts || !ends || !axes || !steps) return std::nullopt;
  if (starts->size() != 1 || ends->size() != 1 || steps->size() != 1 || axes->size() != 1) {
    return std::nullopt;
  }
  if (((*axes)[0] != 0 && (*axes)[0] != -1) || (*steps)[0] == 0) return std::nullopt;
  int64_t length = static_cast<int64_t>(dims->size());
  int64_t step = (*steps)[0];
  int64_t start = (*starts)[0] < 0 ? (*starts)[0] + length : (*starts)[0];
  int64_t end = (*ends)[0] < 0 ? (*ends)[0] + length : (*ends)[0];
  start =
      step > 0 ? std::clamp<int64_t>(start, 0, length) : std::clamp<int64_t>(start, 0, length - 1);
  end = step > 0 ? std::clamp<int64_t>(end, 0, length) : std::clamp<int64_t>(end, -1, length - 1);
  std::vector<ir::Dim> picked;
  for (int64_t i = start; step > 0 ? i < end : i > end; i += step) {
    picked.push_back((*dims)[static_cast<size_t>(i)]);
  }
  return static_dims_tensor(picked, {static_cast<int64_t>(picked.size())});
}

// True for a node that returns its first input unchanged.
bool is_no_op(const ir::Node& node) {
  const ir::Value* input = node.input(0);
  const ir::Value* output = node.outputs.empty() ? nullptr : node.outputs[0];
  if (input == nullptr || output == nullptr || input->dtype != output->dtype) return false;
  if (node.op == "Cast") return true;  // same dtype in and out
  if (node.op == "Transpose") {
    if (!input->shape.rank_known()) return false;
    std::vector<int64_t> identity(static_cast<size_t>(input->shape.rank()));
    std::iota(identity.begin(), identity.end(), 0);
    return input->shape.rank() <= 1 || node.attr_ints("perm") == identity;
  }
  bool reshapes = node.op == "Reshape" || node.op == "Expand" || node.op == "Squeeze" ||
                  node.op == "Unsqueeze" || node.op == "Flatten";
  // Inference proved the output's dims equal to the input's (same sizes, same symbols).
  return reshapes && input->shape.is_known() && input->shape == output->shape;
}

// Transpose(Transpose(x, inner), outer) reads x directly with the composed permutation
// (channels-last regions next to a model's own permutes: ConvNeXt's NCHW↔NHWC around its
// LayerNorm); an identity is then removed as a no-op. Returns whether it rewired the node.
bool compose_transposes(ir::Node& node) {
  ir::Value* middle = node.input(0);
  if (node.op != "Transpose" || middle == nullptr || middle->producer == nullptr) return false;
  const ir::Node& inner = *middle->producer;
  if (inner.op != "Transpose" || inner.input(0) == nullptr || !node.has_attr("perm") ||
      !inner.has_attr("perm")) {
    return false;
  }
  std::vector<int64_t> outer = node.attr_ints("perm"), first = inner.attr_ints("perm");
  if (outer.size() != first.size()) return false;
  std::vector<int64_t> composed(outer.size());
  for (size_t i = 0; i < outer.size(); ++i) {
    if (outer[i] < 0 || size_t(outer[i]) >= first.size()) return false;
    composed[i] = first[size_t(outer[i])];
  }
  node.inputs[0] = inner.inputs[0];
  node.attrs["perm"] = composed;
  return true;
}

// A Transpose that moves only dims of size 1 keeps every element where it was: it is a
// Reshape, which the runtimes run as a view instead of a copy (a channels-last region's exit
// after global pooling, [N, 1, 1, C] to [N, C, 1, 1]). The target shape spells static dims out,
// keeps a symbolic dim that stays in place with 0 and lets one that moves be -1; with two
// moving symbolic dims the Transpose stays. Returns whether it rewrote the node.
bool transpose_as_reshape(ir::Graph& graph, ir::Node& node) {
  const ir::Value* input = node.input(0);
  if (node.op != "Transpose" || input == nullptr || !input->shape.rank_known() ||
      !node.has_attr("perm") || node.outputs.size() != 1) {
    return false;
  }
  const std::vector<ir::Dim>& dims = input->shape.dims();
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.size() != dims.size()) return false;
  int64_t last_moved = -1;
  std::vector<int64_t> target;
  int inferred = 0;
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || size_t(perm[i]) >= dims.size()) return false;
    const ir::Dim& dim = dims[size_t(perm[i])];
    if (dim.value == 1) {
      target.push_back(1);
      continue;
    }
    if (perm[i] < last_moved) return false;  // two dims that are not 1 change order
    last_moved = perm[i];
    if (dim.value > 0) {
      target.push_back(dim.value);
    } else if (dim.value == 0) {
      return false;  // Reshape's 0 would mean "copy"; an empty tensor is not worth it
    } else if (size_t(perm[i]) == i) {
      target.push_back(0);
    } else {
      target.push_back(-1);
      if (++inferred > 1) return false;
    }
  }
  node.op = "Reshape";
  node.attrs.clear();
  node.inputs = {node.inputs[0], int64s_constant(graph, node.name + ".shape", target)};
  return true;
}

}  // namespace

int simplify_shape_ops(ir::Graph& graph) {
  int rewrites = 0;
  for (ir::Node* node : graph.nodes()) {
    std::optional<Tensor> folded;
    if (node->op == "Shape")
      folded = fold_shape(*node);
    else if (node->op == "Gather")
      folded = fold_gather_of_shape(*node);
    else if (node->op == "Slice")
      folded = fold_slice_of_shape(*node);
    if (folded) {
      replace_by_constants(graph, node, {std::move(*folded)});
      ++rewrites;
      continue;
    }
    if (compose_transposes(*node)) ++rewrites;
    if (is_no_op(*node) && bypass_node(graph, node)) {
      ++rewrites;
      continue;
    }
    if (transpose_as_reshape(graph, *node)) ++rewrites;
  }
  return rewrites;
}

}  // namespace kiln::passes
