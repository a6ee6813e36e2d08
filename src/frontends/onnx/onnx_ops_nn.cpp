// Importers for convolution, normalization, pooling, softmax, reductions, ArgMax/ArgMin and TopK.
#include <algorithm>

#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

void import_conv(OnnxNode& node) {
  node.allow_attributes({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  ir::Value* weight = node.required_input(1, "W");
  // Kiln takes the kernel shape from W; a kernel_shape that disagrees is a broken model.
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (!kernel.empty() && weight->shape.rank_known() && weight->shape.is_static()) {
    Dims weight_dims = weight->shape.static_dims();
    bool agrees = weight_dims.size() == kernel.size() + 2 &&
                  std::equal(kernel.begin(), kernel.end(), weight_dims.begin() + 2);
    if (!agrees) {
      node.invalid("kernel_shape ", dims_to_string(kernel), " disagrees with the weight's dims ",
                   dims_to_string(weight_dims));
    }
  }
  // Kiln's Conv takes a fourth input (a fused residual); ONNX's takes X, W and B only.
  if (node.input_count() > 3) {
    node.invalid("has ", node.input_count(), " inputs; ONNX Conv takes X, W and an optional B");
  }
  node.emit("Conv", node.all_inputs(),
            node.copied_attrs({"auto_pad", "dilations", "group", "pads", "strides"}));
}

void import_batch_normalization(OnnxNode& node) {
  node.allow_attributes({"epsilon", "momentum", "training_mode"});
  if (node.attr_int("training_mode", 0) != 0) {
    node.unsupported(
        "training_mode=1 computes batch statistics, which Kiln does not support; "
        "export the model in eval mode");
  }
  for (size_t output = 1; output < 3; ++output) {
    if (node.output_used(output)) {
      node.unsupported("output ", output, " (running statistics) exists only in training mode");
    }
  }
  std::vector<ir::Value*> inputs = {
      node.required_input(0, "X"), node.required_input(1, "scale"), node.required_input(2, "B"),
      node.required_input(3, "input_mean"), node.required_input(4, "input_var")};
  node.emit("BatchNormalization", inputs, node.copied_attrs({"epsilon"}), 1);
}

void import_max_pool(OnnxNode& node) {
  // storage_order only changes the Indices output, which Kiln does not produce.
  node.allow_attributes(
      {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
  if (node.output_used(1)) {
    node.unsupported("its Indices output is used; Kiln's MaxPool computes values only");
  }
  node.emit(
      "MaxPool", {node.required_input(0, "X")},
      node.copied_attrs({"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides"}),
      1);
}

// ReduceSum takes axes as an input since opset 13; ReduceMean, ReduceMax, ReduceMin and
// ReduceProd since 18, before that as an attribute. Kiln holds them as an attribute either way.
void import_reduce(OnnxNode& node, int64_t axes_input_since) {
  bool axes_as_input = node.opset() >= axes_input_since;
  std::optional<std::vector<int64_t>> axes;
  if (axes_as_input) {
    node.allow_attributes({"keepdims", "noop_with_empty_axes"});
    axes = node.optional_constant_ints(1, "axes");
  } else {
    node.allow_attributes({"axes", "keepdims", "noop_with_empty_axes"});
    if (node.input_count() > 1) {
      node.invalid("takes axes as an attribute before opset ", axes_input_since,
                   ", not as an input");
    }
    if (node.has_attr("axes")) axes = node.attr_ints("axes");
  }
  AttrMap attrs = node.copied_attrs({"keepdims", "noop_with_empty_axes"});
  if (axes) attrs["axes"] = *axes;
  node.emit(node.op_type(), {node.required_input(0, "data")}, std::move(attrs));
}

// ArgMax/ArgMin map 1:1; select_last_index exists since opset 12 (Kiln reads opset 13 on).
void import_arg_reduce(OnnxNode& node) {
  node.allow_attributes({"axis", "keepdims", "select_last_index"});
  node.emit(node.op_type(), {node.required_input(0, "data")},
            node.copied_attrs({"axis", "keepdims", "select_last_index"}));
}

// TopK (opset 11 on: K is input 1); Kiln holds K as the attribute k, so it must be a constant.
void import_top_k(OnnxNode& node) {
  node.allow_attributes({"axis", "largest", "sorted"});
  std::vector<int64_t> k = node.constant_ints(1, "K");
  if (k.size() != 1) node.invalid("its K input must hold one value, not ", k.size());
  AttrMap attrs = node.copied_attrs({"axis", "largest", "sorted"});
  attrs["k"] = k[0];
  node.emit("TopK", {node.required_input(0, "X")}, std::move(attrs));
}

// RMSNormalization (opset 23) as ONNX's reference computes it: X * 1/sqrt(mean(X^2 over axes
// axis..rank-1) + epsilon) * scale. Over the last axis alone, the CUDA backend fuses the
// chain into one row kernel (docs/fusion.md).
void import_rms_normalization(OnnxNode& node) {
  node.allow_attributes({"axis", "epsilon", "stash_type"});
  if (node.attr_int("stash_type", 1) != 1)
    node.unsupported("stash_type ", node.attr_int("stash_type", 1),
                     " (only 1, float32, is defined)");
  ir::Value* x = node.required_input(0, "X");
  ir::Value* scale = node.required_input(1, "scale");
  if (!x->shape.rank_known()) node.unsupported("an input of unknown rank");
  int64_t rank = x->shape.rank();
  int64_t axis = node.attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    node.invalid("axis ", node.attr_int("axis", -1), " for rank ", rank);
  std::vector<int64_t> axes;
  for (int64_t d = axis; d < rank; ++d) axes.push_back(d);
  ir::Value* squares = node.add("Mul", {x, x});
  ir::Value* mean = node.add("ReduceMean", {squares}, {{"axes", axes}, {"keepdims", int64_t{1}}});
  ir::Value* shifted =
      node.add("Add", {mean, node.scalar(node.attr_float("epsilon", 1e-5), x->dtype)});
  ir::Value* inverse = node.add("Reciprocal", {node.add("Sqrt", {shifted})});
  node.emit("Mul", {node.add("Mul", {x, inverse}), scale});
}

}  // namespace

void add_nn_ops(OpTable& table) {
  table["Conv"] = {import_conv, 1};
  // Kiln's ConvTranspose keeps ONNX's attributes; its geometry (ir/conv_transpose_geometry.h)
  // checks them against the weight.
  table["ConvTranspose"] = {same_op({"auto_pad", "dilations", "group", "kernel_shape",
                                     "output_padding", "output_shape", "pads", "strides"}),
                            1};
  table["BatchNormalization"] = {import_batch_normalization, 1};
  table["MaxPool"] = {import_max_pool, 1};
  table["AveragePool"] = {same_op({"auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                   "kernel_shape", "pads", "strides"}),
                          1};
  table["GlobalAveragePool"] = {same_op({}), 1};
  table["Softmax"] = {same_op({"axis"}), 1};
  table["LayerNormalization"] = {same_op({"axis", "epsilon", "stash_type"}), 17};
  table["RMSNormalization"] = {import_rms_normalization, 23};
  table["ReduceMean"] = {[](OnnxNode& node) { import_reduce(node, 18); }, 1};
  table["ReduceMax"] = {[](OnnxNode& node) { import_reduce(node, 18); }, 1};
  table["ReduceMin"] = {[](OnnxNode& node) { import_reduce(node, 18); }, 1};
  table["ReduceSum"] = {[](OnnxNode& node) { import_reduce(node, 13); }, 1};
  table["ReduceProd"] = {[](OnnxNode& node) { import_reduce(node, 18); }, 1};
  table["ArgMax"] = {import_arg_reduce, 1};
  table["TopK"] = {import_top_k, 11};
  table["ArgMin"] = {import_arg_reduce, 1};
}

}  // namespace kiln::onnx
