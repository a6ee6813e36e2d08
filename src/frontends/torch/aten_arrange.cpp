// ATen ops that build a tensor from several or repeat elements, written in core ops: stack,
// meshgrid, repeat_interleave with an int count, reshape_as / view_as and numpy_T (x.T). Left
// in torch.export's default (training) dialect by Hugging Face's GPT-J, CodeGen and Funnel
// (repeat_interleave, stack), BEiT (meshgrid for its relative positions), LeViT (reshape_as)
// and Falcon (x.T).
#include <numeric>
#include <optional>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// stack(tensors, dim): each tensor with a new axis at `dim`, concatenated along it (the
// common dtype as cat promotes).
void convert_stack(AtenNode& node) {
  TensorList list = node.tensors("tensors");
  if (list.empty()) node.invalid("stacks an empty list");
  std::optional<DType> type;
  for (ir::Value* input : list) {
    if (input == nullptr) node.invalid("a tensor in the list is None");
    DType dtype = dtype_of(node, input);
    type = type ? promote_types(*type, dtype) : dtype;
  }
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, list.front()) + 1);
  std::vector<ir::Value*> pieces;
  for (ir::Value* input : list) {
    pieces.push_back(node.add("Unsqueeze", {cast_to(node, input, *type)},
                              {{"axes", std::vector<int64_t>{axis}}}));
  }
  node.set_output(
      0, pieces.size() == 1 ? pieces.front() : node.add("Concat", pieces, {{"axis", axis}}));
}

// meshgrid(tensors, indexing): N 1-D tensors give N tensors over [len_0, ..., len_N-1], the
// i-th varying along axis i ("ij"); "xy" swaps the first two axes (and which input varies
// along them).
void convert_meshgrid(AtenNode& node) {
  TensorList list = node.tensors("tensors");
  std::string indexing = node.string_arg("indexing", "ij");
  if (indexing != "ij" && indexing != "xy") node.invalid("indexing '", indexing, "'");
  if (list.size() != list_length(node)) {
    node.invalid(list.size(), " tensors but ", list_length(node), " outputs");
  }
  const size_t count = list.size();
  std::vector<int64_t> axis_of(count);
  std::iota(axis_of.begin(), axis_of.end(), 0);
  if (indexing == "xy" && count >= 2) std::swap(axis_of[0], axis_of[1]);
  std::vector<SymInt> grid(count, SymInt::fixed(1));
  std::vector<ir::Value*> flat;
  for (size_t i = 0; i < count; ++i) {
    if (list[i] == nullptr) node.invalid("a tensor in the list is None");
    if (rank_of(node, list[i]) > 1) node.invalid("input ", i, " is not 0-D or 1-D");
    flat.push_back(reshape_to(node, list[i], {SymInt::fixed(-1)}));
    grid[size_t(axis_of[i])] = sizes_of(node, flat.back())[0];
  }
  std::vector<ir::Value*> outputs;
  for (size_t i = 0; i < count; ++i) {
    std::vector<SymInt> line(count, SymInt::fixed(1));
    line[size_t(axis_of[i])] = grid[size_t(axis_of[i])];
    outputs.push_back(
        node.add("Expand", {reshape_to(node, flat[i], line), shape_tensor(node, grid)}));
  }
  node.set_outputs(0, outputs);
}

// repeat_interleave(self, repeats: int, dim): each element `repeats` times in a row along
// `dim` (no dim: of the flattened tensor): a new axis after `dim`, expanded, merged back.
void convert_repeat_interleave(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t repeats = node.int_arg("repeats");
  if (repeats < 0) node.invalid("repeats ", repeats, " is negative");
  std::optional<int64_t> dim;
  if (node.has("dim")) dim = node.int_arg("dim");
  if (!dim) {
    x = reshape_to(node, x, {SymInt::fixed(-1)});
    dim = 0;
  }
  int64_t rank = rank_of(node, x);
  int64_t axis = normalize_dim(node, *dim, rank);
  std::vector<SymInt> sizes = sizes_of(node, x);
  const SymInt& along = sizes[size_t(axis)];
  if (!along.is_static()) {
    node.unsupported("repeating dim ", axis, " whose size is known only at run time");
  }
  ir::Value* spread = node.add("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{axis + 1}}});
  std::vector<SymInt> expanded = sizes;
  expanded.insert(expanded.begin() + axis + 1, SymInt::fixed(repeats));
  spread = node.add("Expand", {spread, shape_tensor(node, expanded)});
  std::vector<SymInt> merged = sizes;
  merged[size_t(axis)] = SymInt::fixed(along.value * repeats);
  node.set_output(0, reshape_to(node, spread, merged));
}

// reshape_as / view_as(self, other): self in other's sizes.
void convert_reshape_as(AtenNode& node) {
  node.set_output(0, reshape_to(node, node.tensor("self"), sizes_of(node, node.tensor("other"))));
}

// numpy_T (x.T): every axis reversed.
void convert_numpy_t(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (rank < 2) return node.set_output(0, x);
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.rbegin(), perm.rend(), 0);
  node.set_output(0, node.add("Transpose", {x}, {{"perm", perm}}));
}

}  // namespace

void add_arrange_ops(AtenTable& table) {
  table["aten.stack.default"] = convert_stack;
  table["aten.meshgrid.default"] = convert_meshgrid;
  table["aten.meshgrid.indexing"] = convert_meshgrid;
  table["aten.repeat_interleave.self_int"] = convert_repeat_interleave;
  table["aten.reshape_as.default"] = convert_reshape_as;
  table["aten.view_as.default"] = convert_reshape_as;
  table["aten.numpy_T.default"] = convert_numpy_t;
}

}  // namespace kiln::torch
