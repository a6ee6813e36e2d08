// ATen ops that only rearrange data: reshape/view, flatten, permute, transpose, squeeze,
// unsqueeze, expand, repeat, cat, split, chunk, unbind, roll, flip, and getitem on tensor lists.
#include <limits>
#include <numeric>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

void convert_reshape(AtenNode& node) {
  const char* sizes_name = node.find("shape") != nullptr ? "shape" : "size";
  node.set_output(0, reshape_to(node, node.tensor("self"), node.sym_ints(sizes_name)));
}

// flatten(self, start_dim, end_dim): merges the dims start..end into one.
void convert_flatten(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (rank == 0) return node.set_output(0, reshape_to(node, x, {SymInt::fixed(1)}));
  int64_t start = normalize_dim(node, node.int_arg("start_dim", 0), rank);
  int64_t end = normalize_dim(node, node.int_arg("end_dim", -1), rank);
  if (start > end) node.invalid("start_dim ", start, " is after end_dim ", end);
  if (start == end) return node.set_output(0, x);
  if (start == 1 && end == rank - 1) {
    return node.set_output(0, node.add("Flatten", {x}, {{"axis", int64_t{1}}}));
  }
  std::vector<SymInt> sizes = sizes_of(node, x);
  std::vector<SymInt> target(sizes.begin(), sizes.begin() + start);
  target.push_back(SymInt::fixed(-1));
  target.insert(target.end(), sizes.begin() + end + 1, sizes.end());
  node.set_output(0, reshape_to(node, x, target));
}

// unflatten(self, dim, sizes): splits dim into `sizes`.
void convert_unflatten(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t dim = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  std::vector<SymInt> sizes = sizes_of(node, x);
  std::vector<SymInt> target(sizes.begin(), sizes.begin() + dim);
  for (const SymInt& size : node.sym_ints("sizes")) target.push_back(size);
  target.insert(target.end(), sizes.begin() + dim + 1, sizes.end());
  node.set_output(0, reshape_to(node, x, target));
}

void convert_permute(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  std::vector<int64_t> perm = node.ints("dims");
  for (int64_t& axis : perm) axis = normalize_dim(node, axis, rank);
  node.set_output(0, node.add("Transpose", {x}, {{"perm", perm}}));
}

void emit_swap(AtenNode& node, ir::Value* x, int64_t dim0, int64_t dim1) {
  int64_t rank = rank_of(node, x);
  if (rank < 2) return node.set_output(0, x);
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[normalize_dim(node, dim0, rank)], perm[normalize_dim(node, dim1, rank)]);
  node.set_output(0, node.add("Transpose", {x}, {{"perm", perm}}));
}

void convert_transpose(AtenNode& node) {
  emit_swap(node, node.tensor("self"), node.int_arg("dim0"), node.int_arg("dim1"));
}

void convert_t(AtenNode& node) { emit_swap(node, node.tensor("self"), 0, 1); }

// swapaxes / swapdims(self, axis0|dim0, axis1|dim1): transpose under NumPy's names.
void convert_swapaxes(AtenNode& node) {
  bool numpy_names = node.find("axis0") != nullptr;
  emit_swap(node, node.tensor("self"), node.int_arg(numpy_names ? "axis0" : "dim0"),
            node.int_arg(numpy_names ? "axis1" : "dim1"));
}

void convert_unsqueeze(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x) + 1);
  node.set_output(0, node.add("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{axis}}}));
}

// squeeze(self[, dim or dims]): PyTorch drops only the named dims that have size 1.
void convert_squeeze(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (!node.has("dim")) {
    if (!x->shape.is_static()) return node.set_output(0, node.add("Squeeze", {x}));
    std::vector<int64_t> axes;
    for (int64_t axis = 0; axis < rank; ++axis) {
      if (x->shape[axis].value == 1) axes.push_back(axis);
    }
    if (axes.empty()) return node.set_output(0, x);
    return node.set_output(0, node.add("Squeeze", {x}, {{"axes", axes}}));
  }
  std::vector<int64_t> axes;
  for (int64_t dim : node.ints("dim")) {
    if (rank == 0) continue;
    int64_t axis = normalize_dim(node, dim, rank);
    const ir::Dim& size = x->shape[axis];
    if (!size.is_static()) {
      node.unsupported("squeezing dim ", axis, " of '", x->name, "' whose size ", size.to_string(),
                       " is known only at run time");
    }
    if (size.value == 1) axes.push_back(axis);
  }
  if (axes.empty()) return node.set_output(0, x);
  node.set_output(0, node.add("Squeeze", {x}, {{"axes", axes}}));
}

// expand(self, size): -1 keeps a dim. Expand broadcasts both ways, so 1 in the target keeps
// the input's dim too; sizes equal to the input's own symbolic dim become 1 the same way.
void convert_expand(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<SymInt> sizes = node.sym_ints("size");
  int64_t rank = rank_of(node, x);
  int64_t offset = static_cast<int64_t>(sizes.size()) - rank;
  if (offset < 0) node.invalid("expands rank ", rank, " to fewer dims ", sizes.size());
  for (int64_t i = 0; i < static_cast<int64_t>(sizes.size()); ++i) {
    SymInt& size = sizes[static_cast<size_t>(i)];
    if (size.is_static() && size.value == -1) {
      if (i < offset) node.invalid("-1 for a new leading dim");
      size = SymInt::fixed(1);
    } else if (!size.is_static() && i >= offset && x->shape[i - offset].is_symbolic() &&
               x->shape[i - offset].symbol == size.symbol) {
      size = SymInt::fixed(1);
    }
  }
  node.set_output(0, node.add("Expand", {x, shape_tensor(node, sizes)}));
}

void convert_expand_as(AtenNode& node) {
  ir::Value* shape = node.add("Shape", {node.tensor("other")});
  node.set_output(0, node.add("Expand", {node.tensor("self"), shape}));
}

// cat(tensors, dim): promotes to a common dtype; legacy empty 1-D tensors are skipped.
void convert_cat(AtenNode& node) {
  std::vector<ir::Value*> inputs;
  std::optional<DType> type;
  for (ir::Value* input : node.tensors("tensors")) {
    if (input == nullptr) node.invalid("a tensor in the list is None");
    if (input->shape.is_static() && input->shape.static_dims() == Dims{0}) continue;
    DType dtype = dtype_of(node, input);
    type = type ? promote_types(*type, dtype) : dtype;
    inputs.push_back(input);
  }
  if (inputs.empty()) node.unsupported("concatenating only empty tensors");
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, inputs.front()));
  for (ir::Value*& input : inputs) input = cast_to(node, input, *type);
  node.set_output(
      0, inputs.size() == 1 ? inputs.front() : node.add("Concat", inputs, {{"axis", axis}}));
}

void emit_split(AtenNode& node, ir::Value* x, int64_t axis, std::vector<int64_t> sizes) {
  if (sizes.size() != list_length(node)) {
    node.invalid("splits into ", sizes.size(), " pieces but names ", list_length(node), " outputs");
  }
  node.set_outputs(0,
                   node.add_multi("Split", {x}, {{"axis", axis}, {"split", sizes}}, sizes.size()));
}

// The fixed size of dim `axis`; cutting (split, roll) a run-time size is unsupported.
int64_t fixed_dim(AtenNode& node, ir::Value* x, int64_t axis) {
  const ir::Dim& dim = x->shape[axis];
  if (!dim.is_static()) {
    node.unsupported("cutting dim ", axis, " of '", x->name, "' whose size ", dim.to_string(),
                     " is known only at run time");
  }
  return dim.value;
}

// roll(self, shifts, dims): each dim rotated by its shift (the last `shift` elements move to
// the front), as two Slices swapped by a Concat; with no dims the flattened tensor rotates.
void convert_roll(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<int64_t> shifts = node.ints("shifts");
  std::vector<int64_t> dims = node.ints("dims", {});
  bool flatten = dims.empty();
  ir::Value* rolled = flatten ? reshape_to(node, x, {SymInt::fixed(-1)}) : x;
  if (flatten) dims = {0};
  if (shifts.size() != dims.size()) {
    node.invalid(shifts.size(), " shifts for ", dims.size(), " dims");
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t axis = normalize_dim(node, dims[i], rank_of(node, rolled));
    int64_t size = fixed_dim(node, rolled, axis);
    if (size == 0) continue;
    int64_t shift = ((shifts[i] % size) + size) % size;
    if (shift == 0) continue;
    rolled = node.add("Concat",
                      {slice_axis(node, rolled, axis, size - shift, size),
                       slice_axis(node, rolled, axis, 0, size - shift)},
                      {{"axis", axis}});
  }
  node.set_output(0, flatten ? reshape_to(node, rolled, sizes_of(node, x)) : rolled);
}

// flip(self, dims): flipped along each dim.
void convert_flip(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  std::vector<int64_t> axes;
  for (int64_t dim : node.ints("dims")) axes.push_back(normalize_dim(node, dim, rank_of(node, x)));
  node.set_output(0, flipped(node, x, axes));
}

}  // namespace

// One Slice stepping -1 along each axis, from its last element past its first.
ir::Value* flipped(AtenNode& node, ir::Value* x, const std::vector<int64_t>& axes) {
  if (axes.empty()) return x;
  size_t count = axes.size();
  ir::Value* starts = int64_constant(node, std::vector<int64_t>(count, -1));
  ir::Value* ends =
      int64_constant(node, std::vector<int64_t>(count, std::numeric_limits<int64_t>::min()));
  ir::Value* steps = int64_constant(node, std::vector<int64_t>(count, -1));
  return node.add("Slice", {x, starts, ends, int64_constant(node, axes), steps});
}

namespace {

// repeat(self, repeats): self (with leading 1s for repeats beyond its rank) as
// [1, d0, 1, d1, ...], expanded to [r0, d0, r1, d1, ...], reshaped to [r0 * d0, r1 * d1, ...].
}  // namespace

ir::Value* repeated(AtenNode& node, ir::Value* x, const std::vector<int64_t>& repeats) {
  int64_t rank = rank_of(node, x);
  int64_t count = static_cast<int64_t>(repeats.size());
  if (count < rank) node.invalid(count, " repeats for ", rank, " dims");
  if (count == 0) return x;
  std::vector<SymInt> dims(static_cast<size_t>(count - rank), SymInt::fixed(1));
  for (const SymInt& size : sizes_of(node, x)) dims.push_back(size);
  std::vector<int64_t> new_axes, expanded;
  std::vector<SymInt> sizes;
  for (int64_t i = 0; i < count; ++i) {
    int64_t times = repeats[static_cast<size_t>(i)];
    if (times < 0) node.invalid("repeat count ", times, " is negative");
    new_axes.push_back(2 * i);
    if (i < count - rank) new_axes.push_back(2 * i + 1);
    expanded.insert(expanded.end(), {times, 1});
    const SymInt& dim = dims[static_cast<size_t>(i)];
    if (dim.is_static() || times == 1) {
      sizes.push_back(dim.is_static() ? SymInt::fixed(dim.value * times) : dim);
    } else {
      ir::Value* product = node.add("Mul", {size_tensor(node, dim), int64_constant(node, {times})});
      sizes.push_back(SymInt{0, product, {}});
    }
  }
  ir::Value* spread = node.add("Unsqueeze", {x}, {{"axes", new_axes}});
  ir::Value* tiled = node.add("Expand", {spread, int64_constant(node, expanded)});
  return reshape_to(node, tiled, sizes);
}

namespace {

void convert_repeat(AtenNode& node) {
  node.set_output(0, repeated(node, node.tensor("self"), node.ints("repeats")));
}

// split(self, split_size, dim) and chunk(self, chunks, dim): pieces of one size along dim, the
// last one smaller when it does not divide. chunk's size is ceil(size / chunks), so fewer than
// `chunks` pieces can result (6 in 4 gives 2, 2, 2), as in torch.
void convert_even_split(AtenNode& node, bool chunk) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, x));
  int64_t total = fixed_dim(node, x, axis);
  const char* argument = chunk ? "chunks" : "split_size";
  int64_t count = node.int_arg(argument);
  if (count <= 0) node.invalid(argument, " must be positive, got ", count);
  int64_t piece = chunk ? (total + count - 1) / count : count;
  std::vector<int64_t> sizes;
  for (int64_t begin = 0; begin < total; begin += piece)
    sizes.push_back(std::min(piece, total - begin));
  // An empty dim: split gives one empty piece, chunk gives `chunks` of them.
  if (total == 0) sizes.assign(chunk ? static_cast<size_t>(count) : 1, 0);
  emit_split(node, x, axis, sizes);
}

void convert_split_with_sizes(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, x));
  emit_split(node, x, axis, node.ints("split_sizes"));
}

// unbind(self, dim): one Split into size-1 pieces, each squeezed.
void convert_unbind(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, x));
  int64_t count = fixed_dim(node, x, axis);
  if (static_cast<size_t>(count) != list_length(node)) {
    node.invalid("unbinds ", count, " pieces but names ", list_length(node), " outputs");
  }
  std::vector<ir::Value*> pieces = node.add_multi(
      "Split", {x}, {{"axis", axis}, {"split", std::vector<int64_t>(count, 1)}}, count);
  for (ir::Value*& piece : pieces) {
    piece = node.add("Squeeze", {piece}, {{"axes", std::vector<int64_t>{axis}}});
  }
  node.set_outputs(0, pieces);
}

// operator.getitem(a, b): element b of a tensor list.
void convert_getitem(AtenNode& node) {
  TensorList list = node.tensors("a");
  int64_t index = node.int_arg("b");
  int64_t size = static_cast<int64_t>(list.size());
  if (index < -size || index >= size) node.invalid("index ", index, " of a list of ", size);
  ir::Value* element = list[static_cast<size_t>(index < 0 ? index + size : index)];
  if (element == nullptr) node.invalid("element ", index, " is None");
  node.set_output(0, element);
}

}  // namespace

void add_shape_ops(AtenTable& table) {
  table["aten.reshape.default"] = convert_reshape;
  table["aten.view.default"] = convert_reshape;
  table["aten._unsafe_view.default"] = convert_reshape;
  table["aten.flatten.using_ints"] = convert_flatten;
  table["aten.unflatten.int"] = convert_unflatten;
  table["aten.permute.default"] = convert_permute;
  table["aten.transpose.int"] = convert_transpose;
  table["aten.t.default"] = convert_t;
  table["aten.swapaxes.default"] = convert_swapaxes;
  table["aten.swapdims.default"] = convert_swapaxes;
  table["aten.roll.default"] = convert_roll;
  table["aten.flip.default"] = convert_flip;
  table["aten.repeat.default"] = convert_repeat;
  table["aten.unsqueeze.default"] = convert_unsqueeze;
  table["aten.squeeze.default"] = convert_squeeze;
  table["aten.squeeze.dim"] = convert_squeeze;
  table["aten.squeeze.dims"] = convert_squeeze;
  table["aten.expand.default"] = convert_expand;
  table["aten.expand_as.default"] = convert_expand_as;
  table["aten.broadcast_to.default"] = convert_expand;
  table["aten.cat.default"] = convert_cat;
  table["aten.concat.default"] = convert_cat;
  table["aten.split.Tensor"] = [](AtenNode& node) { convert_even_split(node, false); };
  table["aten.split_with_sizes.default"] = convert_split_with_sizes;
  table["aten.chunk.default"] = [](AtenNode& node) { convert_even_split(node, true); };
  table["aten.unbind.int"] = convert_unbind;
  table["operator.getitem"] = convert_getitem;
}

}  // namespace kiln::torch
