// ATen indexing: select, slice, their scatters (the functional form of writes into them:
// Concat of the pieces around), index.Tensor (→ Gather / GatherND), index_put (→ ScatterND, or
// Where for a boolean mask), gather (→ GatherElements),
// index_select and embedding (→ Gather), scatter, scatter_add, scatter_reduce
// (→ ScatterElements).
#include <algorithm>
#include <limits>
#include <map>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

constexpr int64_t kToEnd = std::numeric_limits<int64_t>::max();

ir::Value* index_tensor(AtenNode& node, const SymInt& index) {
  return size_scalar(node, index);  // 0-D int64: Gather drops the axis
}

// A view's write-back (see TensorView): `base` with `part` in place of base[start:end] along
// `axis`, as the pieces before and after concatenated around it.
TensorView::WriteBack put_slice(int64_t axis, SymInt start, SymInt end, int64_t step) {
  return [=](AtenNode& node, ir::Value* base, ir::Value* part) {
    if (step != 1 || !start.is_static() || !end.is_static()) {
      node.unsupported("writing in place into a slice of '", base->name,
                       "' with a step or run-time bounds");
    }
    std::vector<ir::Value*> pieces;
    if (start.value != 0) pieces.push_back(slice_axis(node, base, axis, 0, start.value));
    pieces.push_back(cast_to(node, part, dtype_of(node, base)));
    if (end.value < kToEnd / 2) pieces.push_back(slice_axis(node, base, axis, end.value, kToEnd));
    return pieces.size() == 1 ? pieces[0] : node.add("Concat", pieces, {{"axis", axis}});
  };
}

// select(self, dim, index): one slice along dim, without the dim.
void convert_select(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  SymInt index = node.sym_int("index");
  SymInt end = SymInt::fixed(index.value == -1 ? kToEnd : index.value + 1);
  TensorView::WriteBack put_row = put_slice(axis, index, end, 1);
  node.set_view_output(
      [=](AtenNode& node, ir::Value* base) {
        return node.add("Gather", {base, index_tensor(node, index)}, {{"axis", axis}});
      },
      [=](AtenNode& node, ir::Value* base, ir::Value* part) {
        return put_row(node, base,
                       node.add("Unsqueeze", {part}, {{"axes", std::vector<int64_t>{axis}}}));
      });
}

// The dim, start, end and step of slice and slice_scatter over `x`, the dim normalized.
struct SliceBounds {
  int64_t axis;
  SymInt start, end;
  int64_t step;
};

// `rank`: x's, or one less for a complex pair, whose last dim is not sliced.
SliceBounds slice_bounds(AtenNode& node, int64_t rank) {
  SliceBounds b{normalize_dim(node, node.int_arg("dim", 0), rank),
                node.optional_sym_int("start").value_or(SymInt::fixed(0)),
                node.optional_sym_int("end").value_or(SymInt::fixed(kToEnd)),
                node.int_arg("step", 1)};
  if (b.step <= 0) node.invalid("step must be positive, got ", b.step);
  return b;
}

// A slice of a complex tensor (a real pair with a trailing dim of 2, aten_fft.cpp): along one
// of its own dims, so the pair stays whole; a copy, not a view (nothing writes into spectra).
void slice_complex(AtenNode& node, ir::Value* x) {
  auto [axis, start, end, step] = slice_bounds(node, rank_of(node, x) - 1);
  ir::Value* part = node.add("Slice", {x, size_tensor(node, start), size_tensor(node, end),
                                       int64_constant(node, {axis}), int64_constant(node, {step})});
  node.context().mark_complex(part);
  node.set_output(0, part);
}

// slice(self, dim, start, end, step); a slice of everything is the input itself.
void convert_slice(AtenNode& node) {
  node.accept_complex();
  ir::Value* x = node.tensor("self");
  if (node.context().is_complex(x)) return slice_complex(node, x);
  auto [axis, start, end, step] = slice_bounds(node, rank_of(node, x));
  const ir::Dim& size = x->shape[axis];
  bool from_start = start.is_static() && start.value == 0;
  bool to_end =
      end.is_static() && (end.value >= kToEnd / 2 || (size.is_static() && end.value >= size.value));
  bool same_symbol = !end.is_static() && size.is_symbolic() && end.symbol == size.symbol;
  if (from_start && (to_end || same_symbol) && step == 1) {
    return node.set_view_output([](AtenNode&, ir::Value* base) { return base; },
                                [](AtenNode&, ir::Value*, ir::Value* part) { return part; });
  }
  node.set_view_output(
      [=](AtenNode& node, ir::Value* base) {
        return node.add("Slice", {base, size_tensor(node, start), size_tensor(node, end),
                                  int64_constant(node, {axis}), int64_constant(node, {step})});
      },
      put_slice(axis, start, end, step));
}

// slice_scatter(self, src, dim, start, end, step): self with src in place of the slice, as
// core-ATen graphs (run_decompositions) spell x[:, a:b] = src.
void convert_slice_scatter(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  SliceBounds b = slice_bounds(node, rank_of(node, x));
  node.set_output(0, put_slice(b.axis, b.start, b.end, b.step)(node, x, node.tensor("src")));
}

// select_scatter(self, src, dim, index): self with src (one dim fewer) as row `index` of dim.
void convert_select_scatter(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* src = node.tensor("src");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  SymInt index = node.sym_int("index");
  SymInt end = SymInt::fixed(index.value == -1 ? kToEnd : index.value + 1);
  ir::Value* row = node.add("Unsqueeze", {src}, {{"axes", std::vector<int64_t>{axis}}});
  node.set_output(0, put_slice(axis, index, end, 1)(node, x, row));
}

void require_integer_indices(AtenNode& node, ir::Value* indices) {
  DType dtype = dtype_of(node, indices);
  if (dtype == DType::Bool || dtype == DType::UInt8) {
    node.unsupported("boolean mask indexing with '", indices->name, "' (shape depends on data)");
  }
  if (is_floating(dtype)) node.invalid("index '", indices->name, "' has type ", dtype_name(dtype));
}

// NumPy's advanced indexing by several integer tensors, as index and index_put share it:
// `x` with the indexed dims moved to the front (`first`), and the index tensors broadcast,
// cast to int64 and stacked along a new last axis (`stacked`), which GatherND and ScatterND
// read. `positions` are the indexed dims; the broadcast dims replace them in the result, in
// their place where they are adjacent and not leading, else in front.
struct AdvancedIndex {
  std::vector<int64_t> positions;
  std::vector<int64_t> perm;  // x's dims → first's (empty when the indexed dims lead)
  ir::Value* first = nullptr;
  ir::Value* stacked = nullptr;
  ir::Value* broadcast_shape = nullptr;
  int64_t broadcast_rank = 0;

  bool adjacent_inside() const {
    return !perm.empty() &&
           positions.back() - positions.front() == static_cast<int64_t>(positions.size()) - 1;
  }
  // The perm from the internal order [broadcast, before, after] to NumPy's [before,
  // broadcast, after] (adjacent_inside), over a result of `rank` dims.
  std::vector<int64_t> to_numpy(int64_t rank) const {
    const int64_t before = positions.front();
    std::vector<int64_t> order;
    for (int64_t axis = 0; axis < before; ++axis) order.push_back(broadcast_rank + axis);
    for (int64_t axis = 0; axis < broadcast_rank; ++axis) order.push_back(axis);
    for (int64_t axis = broadcast_rank + before; axis < rank; ++axis) order.push_back(axis);
    return order;
  }
};

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = int64_t(i);
  return inverse;
}

AdvancedIndex advanced_index(AtenNode& node, ir::Value* x, const TensorList& indices,
                             const std::vector<int64_t>& positions) {
  AdvancedIndex index;
  index.positions = positions;
  index.first = x;
  const int64_t count = static_cast<int64_t>(positions.size());
  if (positions.back() != count - 1) {  // the indexed dims first, the others after them in order
    index.perm = positions;
    for (int64_t axis = 0; axis < rank_of(node, x); ++axis)
      if (std::find(positions.begin(), positions.end(), axis) == positions.end())
        index.perm.push_back(axis);
    index.first = node.add("Transpose", {x}, {{"perm", index.perm}});
  }
  std::vector<ir::Value*> parts;
  for (int64_t position : positions)
    parts.push_back(cast_to(node, indices[position], DType::Int64));
  ir::Value* broadcast = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) broadcast = node.add("Add", {broadcast, parts[i]});
  index.broadcast_shape = node.add("Shape", {broadcast});
  index.broadcast_rank = rank_of(node, broadcast);
  const int64_t rank = index.broadcast_rank;
  for (ir::Value*& part : parts) {
    part = node.add("Expand", {part, index.broadcast_shape});
    part = node.add("Unsqueeze", {part}, {{"axes", std::vector<int64_t>{rank}}});
  }
  index.stacked = node.add("Concat", parts, {{"axis", rank}});
  return index;
}

// The positions of the non-None index tensors (trailing Nones dropped from `indices`).
std::vector<int64_t> index_positions(TensorList& indices) {
  while (!indices.empty() && indices.back() == nullptr) indices.pop_back();
  std::vector<int64_t> positions;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] != nullptr) positions.push_back(static_cast<int64_t>(i));
  }
  return positions;
}

// index(self, indices): one index tensor → Gather on its dim; several → GatherND (see
// AdvancedIndex; x[:, :, i, j] is bicubic interpolation as core ATen spells it).
void convert_index(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  TensorList indices = node.tensors("indices");
  std::vector<int64_t> positions = index_positions(indices);
  if (positions.empty()) return node.set_output(0, x);
  for (int64_t position : positions) require_integer_indices(node, indices[position]);
  if (positions.size() == 1) {
    return node.set_output(
        0, node.add("Gather", {x, indices[positions[0]]}, {{"axis", positions[0]}}));
  }
  AdvancedIndex index = advanced_index(node, x, indices, positions);
  ir::Value* gathered = node.add("GatherND", {index.first, index.stacked});
  if (index.adjacent_inside()) {
    const int64_t count = static_cast<int64_t>(positions.size());
    int64_t out_rank = index.broadcast_rank + rank_of(node, x) - count;
    gathered = node.add("Transpose", {gathered}, {{"perm", index.to_numpy(out_rank)}});
  }
  node.set_output(0, gathered);
}

// `values` of index_put broadcast to NumPy's shape of x[indices] (rank `rank`): leading 1s
// added, so that they can be permuted and expanded like it.
ir::Value* values_at_rank(AtenNode& node, ir::Value* values, int64_t rank) {
  const int64_t given = rank_of(node, values);
  if (given > rank) {
    node.invalid("values '", values->name, "' have ", given, " dims; the indexed part has ", rank);
  }
  if (given == rank) return values;
  std::vector<int64_t> axes;
  for (int64_t axis = 0; axis < rank - given; ++axis) axes.push_back(axis);
  return node.add("Unsqueeze", {values}, {{"axes", axes}});
}

// index_put with one boolean mask over dims p.. of self (x[mask] = v, masked_fill's indexed
// form): Where(mask, v, x), or x + Where(mask, v, 0) when accumulating. The values must be
// the same for every masked element: one per masked element depends on the data.
ir::Value* put_masked(AtenNode& node, ir::Value* x, ir::Value* mask, int64_t position,
                      ir::Value* values, bool accumulate) {
  const int64_t x_rank = rank_of(node, x), mask_rank = rank_of(node, mask);
  if (mask_rank == 0 || position + mask_rank > x_rank) {
    node.invalid("mask '", mask->name, "' does not fit dims ", position, ".. of '", x->name, "'");
  }
  const int64_t rank = x_rank - mask_rank + 1;  // x[mask]: before, the masked elements, after
  values = values_at_rank(node, values, rank);
  ir::Dim per_element = values->shape.rank_known() ? values->shape[position] : ir::Dim();
  if (!per_element.is_static() || per_element.value != 1) {
    node.unsupported("writing different values into each element of boolean mask '", mask->name,
                     "' (which values go where depends on the data)");
  }
  std::vector<int64_t> mask_axes;  // the mask's dims in x's
  for (int64_t axis = 0; axis < position; ++axis) mask_axes.push_back(axis);
  for (int64_t axis = position + mask_rank; axis < x_rank; ++axis) mask_axes.push_back(axis);
  ir::Value* full_mask =
      mask_axes.empty() ? mask : node.add("Unsqueeze", {mask}, {{"axes", mask_axes}});
  if (mask_rank > 1) {
    std::vector<int64_t> axes;
    for (int64_t k = 1; k < mask_rank; ++k) axes.push_back(position + k);
    values = node.add("Unsqueeze", {values}, {{"axes", axes}});
  }
  full_mask = cast_to(node, full_mask, DType::Bool);
  if (!accumulate) return node.add("Where", {full_mask, values, x});
  ir::Value* zero = scalar_constant(node, 0.0, dtype_of(node, x));
  return node.add("Add", {x, node.add("Where", {full_mask, values, zero})});
}

// index_put(self, indices, values, accumulate): self with values written at x[indices]
// (added there when accumulating): ScatterND into self with the indexed dims first (see
// AdvancedIndex), the values broadcast to the indexed part's shape and laid out like it. As
// in PyTorch, where an index repeats without accumulate one of its values is kept.
void convert_index_put(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  TensorList indices = node.tensors("indices");
  ir::Value* values = cast_to(node, node.tensor("values"), dtype_of(node, x));
  const bool accumulate = node.bool_arg("accumulate", false);
  std::vector<int64_t> positions = index_positions(indices);
  if (positions.empty()) {  // x[...] = v: every element
    ir::Value* filled = node.add("Expand", {values, node.add("Shape", {x})});
    return node.set_output(0, accumulate ? node.add("Add", {x, filled}) : filled);
  }
  DType first_dtype = dtype_of(node, indices[positions[0]]);
  if (positions.size() == 1 && (first_dtype == DType::Bool || first_dtype == DType::UInt8)) {
    return node.set_output(
        0, put_masked(node, x, indices[positions[0]], positions[0], values, accumulate));
  }
  for (int64_t position : positions) require_integer_indices(node, indices[position]);
  AdvancedIndex index = advanced_index(node, x, indices, positions);
  const int64_t count = static_cast<int64_t>(positions.size());
  const int64_t rank = index.broadcast_rank + rank_of(node, x) - count;
  values = values_at_rank(node, values, rank);
  if (index.adjacent_inside()) {
    values = node.add("Transpose", {values}, {{"perm", inverse_permutation(index.to_numpy(rank))}});
  }
  ir::Value* rest =
      node.add("Slice", {node.add("Shape", {index.first}), int64_constant(node, {count}),
                         int64_constant(node, {std::numeric_limits<int64_t>::max()})});
  ir::Value* target = node.add("Concat", {index.broadcast_shape, rest}, {{"axis", int64_t{0}}});
  values = node.add("Expand", {values, target});
  ir::Value* written = node.add("ScatterND", {index.first, index.stacked, values},
                                {{"reduction", std::string(accumulate ? "add" : "none")}});
  if (!index.perm.empty()) {
    written = node.add("Transpose", {written}, {{"perm", inverse_permutation(index.perm)}});
  }
  node.set_output(0, written);
}

void convert_gather(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  node.set_output(0, node.add("GatherElements", {x, node.tensor("index")}, {{"axis", axis}}));
}

void convert_index_select(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  node.set_output(0, node.add("Gather", {x, node.tensor("index")}, {{"axis", axis}}));
}

// embedding(weight, indices, padding_idx, ...): rows of the table; padding_idx only
// matters for training.
void convert_embedding(AtenNode& node) {
  ir::Value* indices = node.tensor("indices");
  require_integer_indices(node, indices);
  node.set_output(0, node.add("Gather", {node.tensor("weight"), indices}, {{"axis", int64_t{0}}}));
}

// ScatterElements(self, index, updates) along dim with `reduction`.
void add_scatter(AtenNode& node, ir::Value* updates, const std::string& reduction) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  node.set_output(0, node.add("ScatterElements", {x, node.tensor("index"), updates},
                              {{"axis", axis}, {"reduction", reduction}}));
}

// src; torch reads only the index-shaped corner of a larger src, which Kiln refuses.
ir::Value* scatter_source(AtenNode& node) {
  ir::Value* src = node.tensor("src");
  ir::Value* index = node.tensor("index");
  if (!(src->shape == index->shape)) {
    node.unsupported("src ", src->shape.to_string(), " differs from index ",
                     index->shape.to_string(), " (only equal shapes map to ScatterElements)");
  }
  return src;
}

// A reduction name of scatter.reduce as ScatterElements spells it (scatter_reduce.two:
// aten_index_update.cpp).
std::string scatter_reduction(AtenNode& node, const std::map<std::string, std::string>& names) {
  std::string reduce = node.string_arg("reduce", "");
  auto found = names.find(reduce);
  if (found == names.end()) node.unsupported("reduce='", reduce, "'");
  return found->second;
}

void convert_scatter_src(AtenNode& node) { add_scatter(node, scatter_source(node), "none"); }

void convert_scatter_add(AtenNode& node) { add_scatter(node, scatter_source(node), "add"); }

void convert_scatter_value(AtenNode& node) {
  ir::Value* fill =
      scalar_constant(node, node.float_arg("value", 0.0), dtype_of(node, node.tensor("self")));
  ir::Value* shape = node.add("Shape", {node.tensor("index")});
  add_scatter(node, node.add("Expand", {fill, shape}), "none");
}

void convert_scatter_reduce(AtenNode& node) {
  add_scatter(node, scatter_source(node),
              scatter_reduction(node, {{"add", "add"}, {"multiply", "mul"}}));
}

}  // namespace

void add_indexing_ops(AtenTable& table) {
  table["aten.select.int"] = convert_select;
  table["aten.slice.Tensor"] = convert_slice;
  table["aten.slice_scatter.default"] = convert_slice_scatter;
  table["aten.select_scatter.default"] = convert_select_scatter;
  table["aten.index.Tensor"] = convert_index;
  table["aten.index_put.default"] = convert_index_put;
  table["aten.gather.default"] = convert_gather;
  table["aten.scatter.src"] = convert_scatter_src;
  table["aten.scatter.value"] = convert_scatter_value;
  table["aten.scatter.reduce"] = convert_scatter_reduce;
  table["aten.scatter_add.default"] = convert_scatter_add;
  table["aten.index_select.default"] = convert_index_select;
  table["aten.embedding.default"] = convert_embedding;
}

}  // namespace kiln::torch
