// ATen ops that build a tensor from several or repeat elements, written in core ops: stack,
// meshgrid, repeat_interleave with an int count, reshape_as / view_as, numpy_T (x.T) and
// pixel_shuffle / pixel_unshuffle (super-resolution networks), im2col / col2im (nn.Unfold and
// nn.Fold, MobileViTV2's patches). Left
// in torch.export's default (training) dialect by Hugging Face's GPT-J, CodeGen and Funnel
// (repeat_interleave, stack), BEiT (meshgrid for its relative positions), LeViT (reshape_as)
// and Falcon (x.T).
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <string>

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

// pixel_shuffle(self, r): [*, C*r*r, H, W] -> [*, C, H*r, W*r], each channel block of r*r
// spread over an r x r patch; pixel_unshuffle the inverse. Static sizes.
void emit_pixel_shuffle(AtenNode& node, bool shuffle) {
  ir::Value* x = node.tensor("self");
  int64_t r = node.int_arg(shuffle ? "upscale_factor" : "downscale_factor");
  int64_t rank = rank_of(node, x);
  if (rank < 3 || !x->shape.is_static()) node.unsupported("input ", x->shape.to_string());
  if (r <= 0) node.invalid("factor ", r);
  Dims dims = x->shape.static_dims();
  Dims lead(dims.begin(), dims.end() - 3);
  int64_t c = dims[size_t(rank - 3)], h = dims[size_t(rank - 2)], w = dims[size_t(rank - 1)];
  if (shuffle ? c % (r * r) != 0 : (h % r != 0 || w % r != 0))
    node.invalid("dims ", dims_to_string(dims), " do not divide by ", r);
  auto sizes = [&](std::vector<int64_t> tail) {
    std::vector<SymInt> all;
    for (int64_t d : lead) all.push_back(SymInt::fixed(d));
    for (int64_t d : tail) all.push_back(SymInt::fixed(d));
    return all;
  };
  int64_t n = int64_t(lead.size());
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < n; ++i) perm.push_back(i);
  ir::Value* split;
  if (shuffle) {  // [C, r, r, H, W] -> [C, H, r, W, r]
    split = reshape_to(node, x, sizes({c / (r * r), r, r, h, w}));
    for (int64_t axis : {0, 3, 1, 4, 2}) perm.push_back(n + axis);
  } else {  // [C, H, r, W, r] -> [C, r, r, H, W]
    split = reshape_to(node, x, sizes({c, h / r, r, w / r, r}));
    for (int64_t axis : {0, 2, 4, 1, 3}) perm.push_back(n + axis);
  }
  ir::Value* moved = node.add("Transpose", {split}, {{"perm", perm}});
  node.set_output(0, reshape_to(node, moved,
                                shuffle ? sizes({c / (r * r), h * r, w * r})
                                        : sizes({c * r * r, h / r, w / r})));
}

// A 2-D window argument (kernel_size, dilation, padding, stride): one int for both dims or two.
std::vector<int64_t> pair_of(AtenNode& node, const char* name) {
  std::vector<int64_t> values = node.ints(name);
  if (values.size() == 1) values.push_back(values[0]);
  if (values.size() != 2) node.invalid(name, " has ", values.size(), " values (expected 1 or 2)");
  return values;
}

// One-hot grouped filters [C * kh * kw, 1, kh, kw] copying each element of a kh x kw window
// of every channel to an output channel of its own, channel-major as im2col orders them.
Tensor window_selectors(int64_t channels, int64_t kh, int64_t kw, DType dtype) {
  int64_t taps = kh * kw;
  std::vector<float> values(static_cast<size_t>(channels * taps * taps), 0.f);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t t = 0; t < taps; ++t) values[static_cast<size_t>((c * taps + t) * taps + t)] = 1.f;
  }
  return Tensor::from_vector<float>({channels * taps, 1, kh, kw}, values).to(dtype);
}

struct Windows {
  std::vector<int64_t> kernel, dilation, padding, stride;
  std::map<std::string, ir::AttrValue> attrs(int64_t channels) const {
    return {{"strides", stride},
            {"pads", std::vector<int64_t>{padding[0], padding[1], padding[0], padding[1]}},
            {"dilations", dilation},
            {"group", channels}};
  }
};

Windows windows_of(AtenNode& node) {
  return {pair_of(node, "kernel_size"), pair_of(node, "dilation"), pair_of(node, "padding"),
          pair_of(node, "stride")};
}

// im2col (nn.Unfold) of [N, C, H, W]: [N, C*kh*kw, L], each window's elements as a column,
// as a grouped convolution with one-hot filters (exact: each output copies one input).
void convert_im2col(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (rank_of(node, x) != 4 || !x->shape[1].is_static())
    node.unsupported("input ", x->shape.to_string(), " (expected [N, C, H, W], C static)");
  Windows w = windows_of(node);
  int64_t channels = x->shape[1].value;
  ir::Value* filters =
      node.constant(window_selectors(channels, w.kernel[0], w.kernel[1], dtype_of(node, x)));
  ir::Value* columns = node.add("Conv", {x, filters}, w.attrs(channels));
  node.set_output(
      0, node.add("Reshape",
                  {columns, int64_constant(node, {0, channels * w.kernel[0] * w.kernel[1], -1})}));
}

// col2im (nn.Fold) of [N, C*kh*kw, L] into [N, C, H, W]: the transposed convolution with the
// same filters, which sums the windows' overlapping elements.
void convert_col2im(AtenNode& node) {
  ir::Value* columns = node.tensor("self");
  std::vector<int64_t> size = pair_of(node, "output_size");
  Windows w = windows_of(node);
  int64_t taps = w.kernel[0] * w.kernel[1];
  if (rank_of(node, columns) != 3 || !columns->shape[1].is_static() ||
      columns->shape[1].value % taps != 0)
    node.unsupported("input ", columns->shape.to_string(), " for ", taps, "-element windows");
  int64_t channels = columns->shape[1].value / taps;
  std::vector<int64_t> blocks(2), output_padding(2);
  for (size_t d = 0; d < 2; ++d) {
    int64_t span = w.dilation[d] * (w.kernel[d] - 1) + 1;
    blocks[d] = (size[d] + 2 * w.padding[d] - span) / w.stride[d] + 1;
    output_padding[d] = size[d] - ((blocks[d] - 1) * w.stride[d] - 2 * w.padding[d] + span);
  }
  ir::Value* grid = node.add(
      "Reshape", {columns, int64_constant(node, {0, channels * taps, blocks[0], blocks[1]})});
  ir::Value* filters =
      node.constant(window_selectors(channels, w.kernel[0], w.kernel[1], dtype_of(node, columns)));
  std::map<std::string, ir::AttrValue> attrs = w.attrs(channels);
  attrs["output_padding"] = output_padding;
  node.set_output(0, node.add("ConvTranspose", {grid, filters}, attrs));
}

// tensor_split(self, indices | sections, dim): pieces cut at the given indices, or
// `sections` pieces of which the first size % sections are one longer (unlike chunk).
void convert_tensor_split(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", 0), rank_of(node, x));
  if (!x->shape[axis].is_static()) node.unsupported("splitting a dim known only at run time");
  const int64_t size = x->shape[axis].value;
  std::vector<int64_t> cuts;
  if (node.has("indices")) {
    for (int64_t index : node.ints("indices")) {
      int64_t at = index < 0 ? index + size : index;
      cuts.push_back(std::clamp<int64_t>(at, 0, size));
    }
  } else {
    int64_t sections = node.int_arg("sections");
    if (sections <= 0) node.invalid("sections ", sections);
    int64_t start = 0;
    for (int64_t i = 0; i + 1 < sections; ++i) {
      start += size / sections + (i < size % sections ? 1 : 0);
      cuts.push_back(start);
    }
  }
  if (cuts.size() + 1 != list_length(node))
    node.invalid("cuts into ", cuts.size() + 1, " pieces but names ", list_length(node));
  std::vector<ir::Value*> pieces;
  int64_t from = 0;
  cuts.push_back(size);
  for (int64_t to : cuts) {
    pieces.push_back(slice_axis(node, x, axis, from, std::max(from, to)));
    from = std::max(from, to);
  }
  node.set_outputs(0, pieces);
}

}  // namespace

void add_arrange_ops(AtenTable& table) {
  table["aten.tensor_split.indices"] = convert_tensor_split;
  table["aten.tensor_split.sections"] = convert_tensor_split;
  table["aten.im2col.default"] = convert_im2col;
  table["aten.col2im.default"] = convert_col2im;
  table["aten.pixel_shuffle.default"] = [](AtenNode& node) { emit_pixel_shuffle(node, true); };
  table["aten.pixel_unshuffle.default"] = [](AtenNode& node) { emit_pixel_shuffle(node, false); };
  table["aten.stack.default"] = convert_stack;
  table["aten.meshgrid.default"] = convert_meshgrid;
  table["aten.meshgrid.indexing"] = convert_meshgrid;
  table["aten.repeat_interleave.self_int"] = convert_repeat_interleave;
  table["aten.reshape_as.default"] = convert_reshape_as;
  table["aten.view_as.default"] = convert_reshape_as;
  table["aten.numpy_T.default"] = convert_numpy_t;
}

}  // namespace kiln::torch
