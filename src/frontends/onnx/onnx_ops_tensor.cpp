// Importers for data movement and shape ops (Pad among them), constants, and the ops removed at
// import (Identity, Dropout).
#include <algorithm>

#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

void import_concat(OnnxNode& node) {
  node.allow_attributes({"axis"});
  if (!node.has_attr("axis")) node.invalid("has no 'axis' attribute, which ONNX requires");
  node.emit("Concat", node.all_inputs(), node.copied_attrs({"axis"}));
}

// Opset 18's num_outputs splits into chunks of ceil(dim / n), the last one smaller. Kiln's
// Split without sizes splits evenly, so uneven chunks are spelled out where dim is known.
std::optional<std::vector<int64_t>> num_outputs_sizes(OnnxNode& node, const ir::Value& input,
                                                      int64_t axis, int64_t outputs) {
  if (!input.shape.rank_known()) return std::nullopt;
  const ir::Dim& dim = input.shape[ir::normalize_axis(axis, input.shape.rank(), node.label())];
  if (!dim.is_static() || dim.value % outputs == 0) return std::nullopt;
  int64_t chunk = (dim.value + outputs - 1) / outputs;
  int64_t last = dim.value - chunk * (outputs - 1);
  if (last <= 0) node.invalid("cannot split a dim of ", dim.value, " into ", outputs, " parts");
  std::vector<int64_t> sizes(static_cast<size_t>(outputs - 1), chunk);
  sizes.push_back(last);
  return sizes;
}

void import_split(OnnxNode& node) {
  if (node.opset() >= 18) {
    node.allow_attributes({"axis", "num_outputs"});
  } else {
    node.allow_attributes({"axis"});
  }
  ir::Value* input = node.required_input(0, "input");
  int64_t outputs = static_cast<int64_t>(node.output_count());
  if (outputs == 0) node.invalid("has no outputs");
  std::optional<std::vector<int64_t>> sizes = node.optional_constant_ints(1, "split");
  if (node.has_attr("num_outputs")) {
    if (sizes) node.invalid("has both a split input and num_outputs; ONNX allows one");
    int64_t count = node.attr_int("num_outputs", 0);
    if (count != outputs)
      node.invalid("num_outputs is ", count, " but it has ", outputs, " outputs");
    sizes = num_outputs_sizes(node, *input, node.attr_int("axis", 0), outputs);
  }
  if (sizes && static_cast<int64_t>(sizes->size()) != outputs) {
    node.invalid("splits into ", sizes->size(), " parts but has ", outputs, " outputs");
  }
  if (sizes && std::any_of(sizes->begin(), sizes->end(), [](int64_t size) { return size < 0; })) {
    node.invalid("has a negative split size in ", dims_to_string(*sizes));
  }
  AttrMap attrs = node.copied_attrs({"axis"});
  if (sizes) attrs["split"] = *sizes;
  node.emit("Split", {input}, std::move(attrs), static_cast<size_t>(outputs));
}

// Opset 18's axes: `pads` holds begins then ends for the listed axes only; the others get 0.
std::vector<int64_t> pads_over_axes(OnnxNode& node, const ir::Value& data,
                                    const std::vector<int64_t>& pads,
                                    const std::vector<int64_t>& axes) {
  if (!data.shape.rank_known()) {
    node.unsupported("pads listed by axis need the rank of its input, which is unknown");
  }
  const int64_t rank = data.shape.rank();
  if (pads.size() != 2 * axes.size()) {
    node.invalid("has ", pads.size(), " pads for ", axes.size(), " axes; it needs ",
                 2 * axes.size());
  }
  std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const auto axis = static_cast<size_t>(ir::normalize_axis(axes[i], rank, node.label()));
    if (seen[axis]) node.invalid("lists axis ", axis, " twice in its axes");
    seen[axis] = true;
    full[axis] = pads[i];
    full[axis + static_cast<size_t>(rank)] = pads[i + axes.size()];
  }
  return full;
}

// Pad: pads and constant_value are inputs (since opset 11; Kiln reads opset 13 on), which
// Kiln needs to be constants, and opset 18 adds axes. Kiln holds pads for every axis and the
// value as attributes.
void import_pad(OnnxNode& node) {
  node.allow_attributes({"mode"});
  ir::Value* data = node.required_input(0, "data");
  AttrMap attrs = node.copied_attrs({"mode"});
  std::vector<int64_t> pads = node.constant_ints(1, "pads");
  std::optional<std::vector<int64_t>> axes;
  if (node.opset() >= 18) axes = node.optional_constant_ints(3, "axes");
  if (axes) pads = pads_over_axes(node, *data, pads, *axes);
  attrs["pads"] = pads;
  if (const ir::Value* value = node.input(2)) {
    if (!value->is_constant()) {
      node.unsupported("input 2 (constant_value) is computed at run time; Kiln needs it to be ",
                       "a constant (an initializer or Constant node)");
    }
    if (value->constant->numel() != 1) {
      node.invalid("constant_value must hold one value, not ", value->constant->numel());
    }
    attrs["value"] = value->constant->to_double_vector()[0];
  }
  node.emit("Pad", {data}, std::move(attrs));
}

void import_unsqueeze(OnnxNode& node) {
  node.allow_attributes({});
  std::vector<int64_t> axes = node.constant_ints(1, "axes");
  node.emit("Unsqueeze", {node.required_input(0, "data")}, {{"axes", axes}});
}

void import_squeeze(OnnxNode& node) {
  node.allow_attributes({});
  AttrMap attrs;
  if (auto axes = node.optional_constant_ints(1, "axes")) attrs["axes"] = *axes;
  node.emit("Squeeze", {node.required_input(0, "data")}, std::move(attrs));
}

void import_constant_of_shape(OnnxNode& node) {
  node.allow_attributes({"value"});
  Tensor value = node.attr_tensor("value").value_or(Tensor(DType::Float32, {1}));
  if (value.numel() != 1) {
    node.invalid("its value attribute must hold one element, not ", value.numel());
  }
  node.emit("ConstantOfShape", {node.required_input(0, "input")}, {{"value", value}});
}

std::vector<float> to_floats(const std::vector<double>& values) {
  return std::vector<float>(values.begin(), values.end());
}

void import_constant(OnnxNode& node) {
  node.allow_attributes({"value", "value_float", "value_floats", "value_int", "value_ints",
                         "sparse_value", "value_string", "value_strings"});
  if (node.proto().attribute_size() != 1) {
    node.invalid("must have exactly one value attribute, not ", node.proto().attribute_size());
  }
  const std::string& kind = node.proto().attribute(0).name();
  Tensor value;
  if (kind == "value") {
    value = *node.attr_tensor("value");
  } else if (kind == "value_float") {
    value = Tensor::scalar<float>(static_cast<float>(node.attr_float(kind, 0)));
  } else if (kind == "value_floats") {
    std::vector<float> values = to_floats(node.attr_floats(kind));
    value = Tensor::from_vector<float>({static_cast<int64_t>(values.size())}, values);
  } else if (kind == "value_int") {
    value = Tensor::scalar<int64_t>(node.attr_int(kind, 0));
  } else if (kind == "value_ints") {
    std::vector<int64_t> values = node.attr_ints(kind);
    value = Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values);
  } else {
    node.unsupported("holds a ", kind, "; Kiln supports dense numeric constants only");
  }
  node.constant_output(0, std::move(value));
}

void import_identity(OnnxNode& node) {
  node.allow_attributes({});
  node.alias_output(0, node.required_input(0, "input"));
}

// Dropout at inference passes its input through; training mode and the mask are unsupported.
void import_dropout(OnnxNode& node) {
  node.allow_attributes({"seed"});
  if (ir::Value* training = node.input(2)) {
    if (!training->is_constant()) {
      node.unsupported("its training_mode input is computed at run time; Kiln runs Dropout ",
                       "in inference mode only");
    }
    for (int64_t flag : training->constant->to_int64_vector()) {
      if (flag != 0) node.unsupported("training_mode is true; Kiln runs inference only");
    }
  }
  if (node.output_used(1)) {
    node.unsupported("its mask output is used; Kiln removes Dropout at import (inference)");
  }
  node.alias_output(0, node.required_input(0, "data"));
}

// Range; opset 27's stash_type names the type a float16 or bfloat16 range is computed in,
// float32 by default, which is what Kiln's kernels do (in float32 or wider).
// Tile(input, repeats): output[i] = input[i % dim] along each axis, as the input with a unit
// axis before each dim expanded to the repeat count, then merged: [1, d0, 1, d1] ->
// [r0, d0, r1, d1] -> [r0 d0, r1 d1]. Constant repeats and static dims.
void import_tile(OnnxNode& node) {
  node.allow_attributes({});
  ir::Value* x = node.required_input(0, "input");
  std::vector<int64_t> repeats = node.constant_ints(1, "repeats");
  if (!x->shape.is_static()) node.unsupported("input ", x->shape.to_string(), " of unknown size");
  Dims dims = x->shape.static_dims();
  if (repeats.size() != dims.size())
    node.invalid(repeats.size(), " repeats for ", dims.size(), " dims");
  std::vector<int64_t> spread, expanded, merged;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (repeats[i] < 0) node.invalid("repeat ", repeats[i], " is negative");
    spread.insert(spread.end(), {1, dims[i]});
    expanded.insert(expanded.end(), {repeats[i], dims[i]});
    merged.push_back(repeats[i] * dims[i]);
  }
  auto shape = [&](const std::vector<int64_t>& values) {
    ir::Graph& graph = node.context().graph();
    return graph.add_constant(graph.unique_name(node.name() + "/shape"),
                              Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
  };
  ir::Value* lifted = node.add("Reshape", {x, shape(spread)});
  ir::Value* copies = node.add("Expand", {lifted, shape(expanded)});
  node.emit("Reshape", {copies, shape(merged)});
}

void import_range(OnnxNode& node) {
  node.allow_attributes({"stash_type"});
  int64_t stash = node.attr_int("stash_type", 1);
  if (stash != 1) {
    node.unsupported("stash_type ", stash, ": Kiln computes 16-bit ranges in float32 (1)");
  }
  node.emit("Range", node.all_inputs(), {});
}

}  // namespace

void add_tensor_ops(OpTable& table) {
  for (const char* op : {"Slice", "Size", "Expand"}) table[op] = {same_op({}), 1};
  table["Range"] = {import_range, 1};
  table["Tile"] = {import_tile, 6};
  table["Flatten"] = {same_op({"axis"}), 1};
  table["Reshape"] = {same_op({"allowzero"}), 1};
  table["Transpose"] = {same_op({"perm"}), 1};
  table["Gather"] = {same_op({"axis"}), 1};
  table["GatherElements"] = {same_op({"axis"}), 11};
  table["ScatterElements"] = {same_op({"axis", "reduction"}), 11};
  table["ScatterND"] = {same_op({"reduction"}), 11};
  table["GatherND"] = {same_op({"batch_dims"}), 11};
  table["Shape"] = {same_op({"start", "end"}), 1};
  table["Trilu"] = {same_op({"upper"}), 14};
  table["Concat"] = {import_concat, 1};
  table["Split"] = {import_split, 1};
  table["Unsqueeze"] = {import_unsqueeze, 1};
  table["Squeeze"] = {import_squeeze, 1};
  table["ConstantOfShape"] = {import_constant_of_shape, 1};
  table["Pad"] = {import_pad, 2};
  table["Constant"] = {import_constant, 1};
  table["Identity"] = {import_identity, 1};
  table["Dropout"] = {import_dropout, 1};
}

}  // namespace kiln::onnx
