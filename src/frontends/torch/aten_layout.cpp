// ATen ops that rearrange elements, written as core ops: narrow, movedim / moveaxis, mT, tile,
// the stack family (hstack, vstack, dstack, column_stack) and atleast_Nd, rot90, block_diag,
// cartesian_prod, unfold (sliding windows), channel_shuffle and take_along_dim.
#include <algorithm>
#include <limits>
#include <numeric>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

ir::Value* transposed(AtenNode& node, ir::Value* x, std::vector<int64_t> perm) {
  return node.add("Transpose", {x}, {{"perm", std::move(perm)}});
}

std::vector<int64_t> identity_order(int64_t rank) {
  std::vector<int64_t> order(static_cast<size_t>(rank));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

// narrow(self, dim, start, length) and narrow_copy: self[start:start + length] along dim; a
// negative start counts from the end; start may be a run-time size or a 0-D tensor.
void convert_narrow(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  SymInt length = node.sym_int("length");
  const Argument* start_arg = node.find("start");
  bool tensor_start = start_arg && std::holds_alternative<ir::Value*>(*start_arg);
  SymInt start = tensor_start ? SymInt{} : node.sym_int("start");
  if (!tensor_start && start.is_static() && length.is_static()) {
    int64_t from = start.value;
    if (from < 0 && x->shape[axis].is_static()) from += x->shape[axis].value;
    if (from < 0) node.unsupported("a negative start along a dim known only at run time");
    return node.set_output(0, slice_axis(node, x, axis, from, from + length.value));
  }
  ir::Value* from = tensor_start
                        ? node.add("Reshape", {cast_to(node, node.tensor("start"), DType::Int64),
                                               int64_constant(node, {1})})
                        : size_tensor(node, start);
  ir::Value* to = node.add("Add", {from, size_tensor(node, length)});
  node.set_output(0, node.add("Slice", {x, from, to, int64_constant(node, {axis})}));
}

// movedim / moveaxis (self, source, destination): the named dims go to their destinations, the
// others keep their order in the remaining places.
void convert_movedim(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  std::vector<int64_t> source = node.ints("source");
  std::vector<int64_t> destination = node.ints("destination");
  if (source.size() != destination.size()) {
    node.invalid(source.size(), " source dims for ", destination.size(), " destinations");
  }
  std::vector<int64_t> perm(static_cast<size_t>(rank), -1);
  std::vector<bool> moved(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < source.size(); ++i) {
    int64_t from = normalize_dim(node, source[i], rank);
    int64_t to = normalize_dim(node, destination[i], rank);
    if (perm[static_cast<size_t>(to)] != -1 || moved[static_cast<size_t>(from)]) {
      node.invalid("repeated dim in source or destination");
    }
    perm[static_cast<size_t>(to)] = from;
    moved[static_cast<size_t>(from)] = true;
  }
  int64_t next = 0;
  for (int64_t& slot : perm) {
    if (slot != -1) continue;
    while (moved[static_cast<size_t>(next)]) ++next;
    slot = next++;
  }
  node.set_output(0, transposed(node, x, perm));
}

// mT / mH / adjoint: the last two dims swapped (real tensors: no conjugation).
void convert_matrix_transpose(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (rank < 2) node.invalid("a matrix transpose of a ", rank, "-D tensor");
  std::vector<int64_t> perm = identity_order(rank);
  std::swap(perm[static_cast<size_t>(rank - 2)], perm[static_cast<size_t>(rank - 1)]);
  node.set_output(0, transposed(node, x, perm));
}

// tile(self, dims): repeat, with fewer dims than self's rank padded by leading 1s.
void convert_tile(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<int64_t> dims = node.ints("dims");
  int64_t rank = rank_of(node, x);
  while (static_cast<int64_t>(dims.size()) < rank) dims.insert(dims.begin(), 1);
  node.set_output(0, repeated(node, x, dims));
}

// atleast_1d / 2d / 3d: 0-D → [1] / [1, 1] / [1, 1, 1]; 1-D [n] → [1, n] / [1, n, 1];
// 2-D [m, n] → [m, n, 1] for 3d; tensors of enough dims unchanged.
ir::Value* at_least(AtenNode& node, ir::Value* x, int64_t rank) {
  int64_t have = rank_of(node, x);
  if (have >= rank) return x;
  std::vector<int64_t> axes;
  if (have == 0) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  } else if (rank == 2) {
    axes = {0};
  } else if (have == 1) {
    axes = {0, 2};
  } else {
    axes = {2};
  }
  return unsqueezed(node, x, axes);
}

AtenConverter at_least_converter(int64_t rank) {
  return [rank](AtenNode& node) { node.set_output(0, at_least(node, node.tensor("self"), rank)); };
}

// The tensors of a list argument in their promoted dtype (as torch.cat promotes).
TensorList promoted_tensors(AtenNode& node) {
  TensorList tensors = node.tensors("tensors");
  if (tensors.empty()) node.invalid("an empty tensor list");
  DType type = dtype_of(node, tensors.front());
  for (ir::Value* t : tensors) type = promote_types(type, dtype_of(node, t));
  for (ir::Value*& t : tensors) t = cast_to(node, t, type);
  return tensors;
}

// hstack, vstack / row_stack, dstack, column_stack: each tensor raised to the needed rank,
// then one Concat (hstack joins 1-D tensors along dim 0, others along dim 1).
enum class Stack { Horizontal, Vertical, Depth, Column };

AtenConverter stacked(Stack kind) {
  return [kind](AtenNode& node) {
    TensorList tensors = promoted_tensors(node);
    int64_t axis = 0;
    for (ir::Value*& t : tensors) {
      switch (kind) {
        case Stack::Horizontal:
          t = at_least(node, t, 1);
          break;
        case Stack::Vertical:
          t = at_least(node, t, 2);
          break;
        case Stack::Depth:
          t = at_least(node, t, 3);
          break;
        case Stack::Column:
          if (rank_of(node, t) <= 1) t = reshape_to(node, t, {SymInt::fixed(-1), SymInt::fixed(1)});
          break;
      }
    }
    if (kind == Stack::Horizontal) axis = rank_of(node, tensors.front()) == 1 ? 0 : 1;
    if (kind == Stack::Depth) axis = 2;
    if (kind == Stack::Column) axis = 1;
    node.set_output(0, node.add("Concat", tensors, {{"axis", axis}}));
  };
}

// rot90(self, k, dims): k quarter turns from dims[0] toward dims[1], as flips and a swap.
void convert_rot90(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  std::vector<int64_t> dims = node.ints("dims", {0, 1});
  if (dims.size() != 2) node.invalid("rot90 takes 2 dims, got ", dims.size());
  int64_t a = normalize_dim(node, dims[0], rank);
  int64_t b = normalize_dim(node, dims[1], rank);
  if (a == b) node.invalid("rot90 dims must differ");
  int64_t turns = ((node.int_arg("k", 1) % 4) + 4) % 4;
  std::vector<int64_t> swap = identity_order(rank);
  std::swap(swap[static_cast<size_t>(a)], swap[static_cast<size_t>(b)]);
  ir::Value* result = x;
  if (turns == 1) result = transposed(node, flipped(node, x, {b}), swap);
  if (turns == 2) result = flipped(node, x, {a, b});
  if (turns == 3) result = transposed(node, flipped(node, x, {a}), swap);
  node.set_output(0, result);
}

// block_diag(tensors): the tensors (0-D as [1, 1], 1-D as rows) along the diagonal of a zero
// matrix: each padded to the full width, then stacked by rows.
void convert_block_diag(AtenNode& node) {
  TensorList tensors = promoted_tensors(node);
  int64_t width = 0;
  for (ir::Value*& t : tensors) {
    int64_t rank = rank_of(node, t);
    if (rank > 2) node.invalid("block_diag of a ", rank, "-D tensor");
    if (rank < 2) t = reshape_to(node, t, {SymInt::fixed(1), SymInt::fixed(-1)});
    if (!t->shape.is_static()) node.unsupported("block_diag of sizes known only at run time");
    width += t->shape[1].value;
  }
  TensorList rows;
  int64_t column = 0;
  for (ir::Value* t : tensors) {
    int64_t columns = t->shape[1].value;
    std::vector<int64_t> pads = {0, column, 0, width - column - columns};
    rows.push_back(
        node.add("Pad", {t}, {{"mode", std::string("constant")}, {"pads", pads}, {"value", 0.0}}));
    column += columns;
  }
  node.set_output(
      0, rows.size() == 1 ? rows.front() : node.add("Concat", rows, {{"axis", int64_t{0}}}));
}

// cartesian_prod(tensors): every combination of the 1-D tensors' elements, first tensor
// slowest, as rows of [prod n_i, k] (one tensor: itself).
void convert_cartesian_prod(AtenNode& node) {
  TensorList tensors = promoted_tensors(node);
  if (tensors.size() == 1) return node.set_output(0, tensors.front());
  std::vector<SymInt> grid;
  for (ir::Value* t : tensors) {
    if (rank_of(node, t) != 1) node.invalid("cartesian_prod takes 1-D tensors");
    grid.push_back(sizes_of(node, t).front());
  }
  ir::Value* grid_shape = shape_tensor(node, grid);
  TensorList columns;
  int64_t count = static_cast<int64_t>(tensors.size());
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int64_t> axes;
    for (int64_t j = 0; j < count; ++j) {
      if (j != i) axes.push_back(j);
    }
    ir::Value* spread = unsqueezed(node, tensors[static_cast<size_t>(i)], axes);
    ir::Value* full = node.add("Expand", {spread, grid_shape});
    columns.push_back(reshape_to(node, full, {SymInt::fixed(-1), SymInt::fixed(1)}));
  }
  node.set_output(0, node.add("Concat", columns, {{"axis", int64_t{1}}}));
}

// unfold(self, dimension, size, step): windows of `size` every `step` along the dim, as a
// Gather of a constant [windows, size] index, the window axis moved last.
void convert_unfold(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (rank == 0) x = node.add("Reshape", {x, int64_constant(node, {1})});
  int64_t axis = rank == 0 ? 0 : normalize_dim(node, node.int_arg("dimension"), rank);
  int64_t size = node.int_arg("size");
  int64_t step = node.int_arg("step");
  const ir::Dim& dim = x->shape[axis];
  if (!dim.is_static()) node.unsupported("unfold along a dim known only at run time");
  if (step <= 0 || size < 0 || size > dim.value) {
    node.invalid("unfold size ", size, " step ", step, " of a dim of ", dim.value);
  }
  int64_t windows = (dim.value - size) / step + 1;
  std::vector<int64_t> index;
  for (int64_t w = 0; w < windows; ++w) {
    for (int64_t s = 0; s < size; ++s) index.push_back(w * step + s);
  }
  ir::Value* positions = node.constant(Tensor::from_vector<int64_t>(Dims{windows, size}, index));
  ir::Value* gathered = node.add("Gather", {x, positions}, {{"axis", axis}});
  int64_t out_rank = std::max<int64_t>(rank, 1) + 1;
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (i != axis + 1) perm.push_back(i);
  }
  perm.push_back(axis + 1);
  node.set_output(0, transposed(node, gathered, perm));
}

// channel_shuffle(self, groups): [N, C, ...] as [N, g, C/g, ...], the two swapped, and back.
void convert_channel_shuffle(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t groups = node.int_arg("groups");
  std::vector<SymInt> sizes = sizes_of(node, x);
  if (sizes.size() < 2 || !sizes[1].is_static()) {
    node.unsupported("channel_shuffle needs a fixed channel dim 1");
  }
  if (groups <= 0 || sizes[1].value % groups != 0) {
    node.invalid(groups, " groups do not divide ", sizes[1].value, " channels");
  }
  std::vector<SymInt> split = sizes;
  split[1] = SymInt::fixed(groups);
  split.insert(split.begin() + 2, SymInt::fixed(sizes[1].value / groups));
  std::vector<int64_t> perm = identity_order(static_cast<int64_t>(split.size()));
  std::swap(perm[1], perm[2]);
  ir::Value* grouped = reshape_to(node, x, split);
  node.set_output(0, reshape_to(node, transposed(node, grouped, perm), sizes));
}

// take_along_dim(self, indices, dim=None): gather after broadcasting both tensors over every
// dim but `dim`; without dim, over the flattened tensor.
void convert_take_along_dim(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* indices = node.tensor("indices");
  if (!node.has("dim")) {
    ir::Value* flat = reshape_to(node, x, {SymInt::fixed(-1)});
    ir::Value* where = reshape_to(node, indices, {SymInt::fixed(-1)});
    return node.set_output(0, node.add("GatherElements", {flat, where}, {{"axis", int64_t{0}}}));
  }
  int64_t rank = rank_of(node, x);
  if (rank_of(node, indices) != rank) node.invalid("self and indices differ in rank");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
  if (!x->shape.is_static() || !indices->shape.is_static()) {
    node.unsupported("take_along_dim with sizes known only at run time");
  }
  std::vector<int64_t> x_dims, index_dims;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t a = x->shape[i].value, b = indices->shape[i].value;
    if (i != axis && a != b && a != 1 && b != 1) node.invalid("shapes do not broadcast at dim ", i);
    int64_t common = std::max(a, b);
    x_dims.push_back(i == axis ? a : common);
    index_dims.push_back(i == axis ? b : common);
  }
  ir::Value* wide = node.add("Expand", {x, int64_constant(node, x_dims)});
  ir::Value* where = node.add("Expand", {indices, int64_constant(node, index_dims)});
  node.set_output(0, node.add("GatherElements", {wide, where}, {{"axis", axis}}));
}

}  // namespace

void add_layout_ops(AtenTable& table) {
  table["aten.narrow.default"] = convert_narrow;
  table["aten.narrow.Tensor"] = convert_narrow;
  table["aten.narrow_copy.default"] = convert_narrow;
  table["aten.movedim.int"] = convert_movedim;
  table["aten.movedim.intlist"] = convert_movedim;
  table["aten.moveaxis.int"] = convert_movedim;
  table["aten.moveaxis.intlist"] = convert_movedim;
  table["aten.mT.default"] = convert_matrix_transpose;
  table["aten.mH.default"] = convert_matrix_transpose;
  table["aten.adjoint.default"] = convert_matrix_transpose;
  table["aten.tile.default"] = convert_tile;
  table["aten.atleast_1d.default"] = at_least_converter(1);
  table["aten.atleast_2d.default"] = at_least_converter(2);
  table["aten.atleast_3d.default"] = at_least_converter(3);
  table["aten.hstack.default"] = stacked(Stack::Horizontal);
  table["aten.vstack.default"] = stacked(Stack::Vertical);
  table["aten.row_stack.default"] = stacked(Stack::Vertical);
  table["aten.dstack.default"] = stacked(Stack::Depth);
  table["aten.column_stack.default"] = stacked(Stack::Column);
  table["aten.rot90.default"] = convert_rot90;
  table["aten.block_diag.default"] = convert_block_diag;
  table["aten.cartesian_prod.default"] = convert_cartesian_prod;
  table["aten.unfold.default"] = convert_unfold;
  table["aten.channel_shuffle.default"] = convert_channel_shuffle;
  table["aten.native_channel_shuffle.default"] = convert_channel_shuffle;
  table["aten.take_along_dim.default"] = convert_take_along_dim;
}

}  // namespace kiln::torch
