#include "ir/shape_values.h"

#include <algorithm>

#include "core/dtype.h"

namespace kiln::ir {
namespace {

using Entries = std::vector<ShapeEntry>;

// Chains of shape arithmetic are short (Shape → Gather → Unsqueeze → Concat); the bound only
// stops a pathological graph from recursing deeply.
constexpr int kMaxDepth = 16;

std::optional<Entries> entries_at(const Value* value, int depth);

std::optional<Entries> constant_entries(const Tensor& tensor) {
  if (!is_integral(tensor.dtype()) || tensor.rank() > 1) return std::nullopt;
  Entries entries;
  for (int64_t size : tensor.to_int64_vector()) {
    if (size == -1) {
      entries.push_back({Dim::unknown(), true});
    } else if (size >= 0) {
      entries.push_back({Dim::fixed(size), false});
    } else {
      return std::nullopt;  // invalid: the op's own inference reports it
    }
  }
  return entries;
}

std::optional<Entries> shape_of(const Node& node) {
  std::optional<std::vector<Dim>> dims = shape_node_dims(node);
  if (!dims) return std::nullopt;
  Entries entries;
  for (const Dim& dim : *dims) entries.push_back({dim, false});
  return entries;
}

std::optional<Entries> concat_of(const Node& node, int depth) {
  if (node.attr_int("axis", 0) != 0 && node.attr_int("axis", 0) != -1) return std::nullopt;
  Entries entries;
  for (const Value* part : node.inputs) {
    std::optional<Entries> more = entries_at(part, depth + 1);
    if (!more) return std::nullopt;
    entries.insert(entries.end(), more->begin(), more->end());
  }
  return entries;
}

// Gather along axis 0 at constant indices (a scalar index picks one entry).
std::optional<Entries> gather_of(const Node& node, int depth) {
  const Value* indices = node.input(1);
  if (node.attr_int("axis", 0) != 0 || indices == nullptr || !indices->is_constant() ||
      indices->constant->rank() > 1 || !is_integral(indices->constant->dtype())) {
    return std::nullopt;
  }
  std::optional<Entries> from = entries_at(node.input(0), depth + 1);
  if (!from) return std::nullopt;
  Entries entries;
  auto count = static_cast<int64_t>(from->size());
  for (int64_t index : indices->constant->to_int64_vector()) {
    if (index < 0) index += count;
    if (index < 0 || index >= count) return std::nullopt;
    entries.push_back((*from)[size_t(index)]);
  }
  return entries;
}

// The single value of a constant integer input, or nullopt.
std::optional<int64_t> constant_scalar(const Value* value) {
  if (value == nullptr || !value->is_constant() || !is_integral(value->constant->dtype()) ||
      value->constant->numel() != 1) {
    return std::nullopt;
  }
  return value->constant->to_int64_vector()[0];
}

// Slice along axis 0 with constant bounds and a positive step (ONNX's clamping).
std::optional<Entries> slice_of(const Node& node, int depth) {
  std::optional<int64_t> start = constant_scalar(node.input(1));
  std::optional<int64_t> end = constant_scalar(node.input(2));
  std::optional<int64_t> axis = node.input(3) ? constant_scalar(node.input(3)) : 0;
  std::optional<int64_t> step = node.input(4) ? constant_scalar(node.input(4)) : 1;
  if (!start || !end || !axis || !step || (*axis != 0 && *axis != -1) || *step <= 0) {
    return std::nullopt;
  }
  std::optional<Entries> from = entries_at(node.input(0), depth + 1);
  if (!from) return std::nullopt;
  const auto count = static_cast<int64_t>(from->size());
  auto clamp_bound = [count](int64_t bound) {
    return std::clamp<int64_t>(bound < 0 ? bound + count : bound, 0, count);
  };
  Entries entries;
  for (int64_t i = clamp_bound(*start); i < clamp_bound(*end); i += *step) {
    entries.push_back((*from)[size_t(i)]);
  }
  return entries;
}

std::optional<Entries> entries_at(const Value* value, int depth) {
  if (value == nullptr || depth > kMaxDepth || !is_integral(value->dtype)) return std::nullopt;
  if (value->is_constant()) return constant_entries(*value->constant);
  const Node* node = value->producer;
  if (node == nullptr || node->outputs.size() != 1) return std::nullopt;
  if (node->op == "Shape") return shape_of(*node);
  if (node->op == "Concat") return concat_of(*node, depth);
  if (node->op == "Gather") return gather_of(*node, depth);
  if (node->op == "Slice") return slice_of(*node, depth);
  if (node->op == "Cast" || node->op == "Unsqueeze" || node->op == "Squeeze" ||
      node->op == "Reshape" || node->op == "Identity") {
    // Only a change of dtype or of rank between a scalar and a one-entry vector: the entries
    // stay (a Reshape's own shape input is not read: one entry has one layout).
    std::optional<Entries> entries = entries_at(node->input(0), depth + 1);
    if (!entries || (node->op != "Cast" && node->op != "Identity" && entries->size() != 1)) {
      return std::nullopt;
    }
    return entries;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<Dim>> shape_node_dims(const Node& shape_node) {
  const Value* x = shape_node.input(0);
  if (x == nullptr || !x->shape.rank_known()) return std::nullopt;
  const int64_t rank = x->shape.rank();
  auto clamp_bound = [rank](int64_t bound) {
    return std::clamp<int64_t>(bound < 0 ? bound + rank : bound, 0, rank);
  };
  const int64_t start = clamp_bound(shape_node.attr_int("start", 0));
  const int64_t end = std::max(start, clamp_bound(shape_node.attr_int("end", rank)));
  return std::vector<Dim>(x->shape.dims().begin() + start, x->shape.dims().begin() + end);
}

std::optional<std::vector<ShapeEntry>> shape_entries(const Value* value) {
  return entries_at(value, 0);
}

}  // namespace kiln::ir
