// ATen neural-network layers kept high-level in the IR: linear → Gemm / MatMul+Add,
// convolution → Conv (transposed: ConvTranspose), batch and layer norms, scaled dot-product
// attention, softmax, pooling; group norm and weight norm as their formulas in core ops.
#include <algorithm>
#include <functional>
#include <map>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

std::vector<int64_t> symmetric_pads(const std::vector<int64_t>& padding) {
  std::vector<int64_t> pads = padding;  // begins, then the same ends
  pads.insert(pads.end(), padding.begin(), padding.end());
  return pads;
}

// linear(input, weight, bias): Gemm with transB for matrices, else MatMul by weightᵀ (+ bias).
void convert_linear(AtenNode& node) {
  node.set_output(
      0, linear(node, node.tensor("input"), node.tensor("weight"), node.optional_tensor("bias")));
}

// Explicit begin/end pads for padding="same" (extra padding at the end, as PyTorch).
std::vector<int64_t> same_pads(AtenNode& node, ir::Value* weight,
                               const std::vector<int64_t>& dilation) {
  if (!weight->shape.is_static()) node.unsupported("padding='same' with a weight of unknown shape");
  Dims kernel = weight->shape.static_dims();
  size_t spatial = dilation.size();
  std::vector<int64_t> pads(2 * spatial);
  for (size_t i = 0; i < spatial; ++i) {
    int64_t total = dilation[i] * (kernel[2 + i] - 1);
    pads[i] = total / 2;
    pads[spatial + i] = total - total / 2;
  }
  return pads;
}

// A transposed convolution (aten.convolution with transposed=True, conv_transpose1d/2d/3d):
// PyTorch's weight is already [C_in, C_out/groups, k...] as ConvTranspose wants; padding p
// takes p off both ends, output_padding adds to the end.
void emit_conv_transpose(AtenNode& node) {
  ir::Value* input = node.tensor("input");
  ir::Value* weight = node.tensor("weight");
  int64_t weight_rank = rank_of(node, weight);
  if (weight_rank < 3) node.invalid("weight of rank ", weight_rank);
  size_t spatial = static_cast<size_t>(weight_rank - 2);
  const Argument* padding = node.find("padding");
  if (padding != nullptr && std::holds_alternative<std::string>(*padding))
    node.unsupported("padding='", std::get<std::string>(*padding),
                     "' for a transposed convolution");
  std::map<std::string, ir::AttrValue> attrs{
      {"strides", per_spatial_dim(node, node.ints("stride", {1}), spatial, "stride")},
      {"pads",
       symmetric_pads(per_spatial_dim(node, node.ints("padding", {0}), spatial, "padding"))},
      {"dilations", per_spatial_dim(node, node.ints("dilation", {1}), spatial, "dilation")},
      {"output_padding",
       per_spatial_dim(node, node.ints("output_padding", {0}), spatial, "output_padding")},
      {"group", node.int_arg("groups", 1)}};
  node.set_output(0,
                  node.add("ConvTranspose", {input, weight, node.optional_tensor("bias")}, attrs));
}

void emit_conv(AtenNode& node, bool transposed) {
  if (transposed) return emit_conv_transpose(node);
  ir::Value* input = node.tensor("input");
  ir::Value* weight = node.tensor("weight");
  int64_t weight_rank = rank_of(node, weight);
  if (weight_rank < 3) node.invalid("weight of rank ", weight_rank);
  size_t spatial = static_cast<size_t>(weight_rank - 2);
  auto strides = per_spatial_dim(node, node.ints("stride", {1}), spatial, "stride");
  auto dilations = per_spatial_dim(node, node.ints("dilation", {1}), size_t(spatial), "dilation");
  std::vector<int64_t> pads;
  const Argument* padding = node.find("padding");
  if (padding != nullptr && std::holds_alternative<std::string>(*padding)) {
    std::string mode = std::get<std::string>(*padding);
    if (mode == "same") {
      pads = same_pads(node, weight, dilations);
    } else if (mode == "valid") {
      pads.assign(2 * spatial, 0);
    } else {
      node.invalid("padding='", mode, "' (expected 'same' or 'valid')");
    }
  } else {
    pads = symmetric_pads(per_spatial_dim(node, node.ints("padding", {0}), spatial, "padding"));
  }
  std::map<std::string, ir::AttrValue> attrs{{"strides", strides},
                                             {"pads", pads},
                                             {"dilations", dilations},
                                             {"group", node.int_arg("groups", 1)}};
  node.set_output(0, node.add("Conv", {input, weight, node.optional_tensor("bias")}, attrs));
}

void convert_conv(AtenNode& node) { emit_conv(node, false); }
void convert_convolution(AtenNode& node) { emit_conv(node, node.bool_arg("transposed", false)); }
void convert_conv_transpose(AtenNode& node) { emit_conv_transpose(node); }

// A norm's optional weight (ones) or bias (zeros) of `dims`, in the input's dtype.
ir::Value* weight_or(AtenNode& node, std::string_view name, Dims dims, double fill, DType dtype) {
  if (ir::Value* value = node.optional_tensor(name)) return value;
  if (folded_count(node, dims) > kMaxFoldedElements) {
    node.unsupported("a default ", name, " of ", dims_to_string(dims), " is too large");
  }
  Tensor filled = Tensor::from_vector<double>(
      dims, std::vector<double>(static_cast<size_t>(element_count(dims)), fill));
  return node.constant(filled.to(dtype));
}

void emit_batch_norm(AtenNode& node) {
  ir::Value* input = node.tensor("input");
  ir::Value* mean = node.tensor("running_mean");
  ir::Value* var = node.tensor("running_var");
  if (!mean->shape.is_static()) node.unsupported("running_mean of unknown shape");
  Dims channels = mean->shape.static_dims();
  DType dtype = dtype_of(node, mean);
  ir::Value* scale = weight_or(node, "weight", channels, 1.0, dtype);
  ir::Value* bias = weight_or(node, "bias", channels, 0.0, dtype);
  double epsilon = node.float_arg("eps", 1e-5);
  node.set_output(
      0, node.add("BatchNormalization", {input, scale, bias, mean, var}, {{"epsilon", epsilon}}));
}

// batch_norm with training=True normalizes by the input's own statistics over every axis
// but the channels (biased variance); the running ones it would update are never read in
// inference. timm's ScaledStdConv2d (NFNet) standardizes its weights so even in eval mode.
void emit_batch_statistics_norm(AtenNode& node) {
  ir::Value* x = node.tensor("input");
  const int64_t rank = rank_of(node, x);
  if (rank < 2) node.invalid("input of rank ", rank, " (batch_norm needs (N, C, ...))");
  std::vector<int64_t> axes{0};
  for (int64_t axis = 2; axis < rank; ++axis) axes.push_back(axis);
  std::map<std::string, ir::AttrValue> reduce{{"axes", axes}, {"keepdims", int64_t{1}}};
  DType dtype = dtype_of(node, x);
  ir::Value* centered = node.add("Sub", {x, node.add("ReduceMean", {x}, reduce)});
  ir::Value* variance = node.add("ReduceMean", {node.add("Mul", {centered, centered})}, reduce);
  ir::Value* deviation = node.add(
      "Sqrt",
      {node.add("Add", {variance, scalar_constant(node, node.float_arg("eps", 1e-5), dtype)})});
  ir::Value* y = node.add("Div", {centered, deviation});
  auto channel_vector = [&](ir::Value* vector) {
    std::vector<int64_t> trailing;
    for (int64_t axis = 1; axis < rank - 1; ++axis) trailing.push_back(axis);
    return trailing.empty() ? vector : node.add("Unsqueeze", {vector}, {{"axes", trailing}});
  };
  if (ir::Value* weight = node.optional_tensor("weight"))
    y = node.add("Mul", {y, channel_vector(weight)});
  if (ir::Value* bias = node.optional_tensor("bias"))
    y = node.add("Add", {y, channel_vector(bias)});
  node.set_output(0, y);
}

void convert_batch_norm(AtenNode& node) {
  if (node.bool_arg("training", false)) return emit_batch_statistics_norm(node);
  emit_batch_norm(node);
}

// _native_batch_norm_legit_no_training, and _native_batch_norm_legit / native_batch_norm as
// core-ATen graphs spell batch_norm: (output, save_mean, save_rstd); the last two must be
// unused. With training=True (or no running statistics, .no_stats) the input's own statistics
// normalize it, as batch_norm(training=True) does.
void convert_native_batch_norm(AtenNode& node) {
  if (node.output_used(1) || node.output_used(2)) {
    node.unsupported("the saved mean / rstd outputs are used");
  }
  if (node.bool_arg("training", false) || node.target().ends_with(".no_stats"))
    return emit_batch_statistics_norm(node);
  emit_batch_norm(node);
}

// layer_norm and native_layer_norm (whose mean and rstd outputs are built only if used).
void convert_layer_norm(AtenNode& node) {
  ir::Value* input = node.tensor("input");
  std::vector<int64_t> normalized = node.ints("normalized_shape");
  if (normalized.empty()) node.invalid("normalized_shape is empty");
  DType dtype = dtype_of(node, input);
  ir::Value* scale = weight_or(node, "weight", normalized, 1.0, dtype);
  ir::Value* bias = node.optional_tensor("bias");
  std::map<std::string, ir::AttrValue> attrs{{"axis", -static_cast<int64_t>(normalized.size())},
                                             {"epsilon", node.float_arg("eps", 1e-5)}};
  size_t count = node.output_used(1) || node.output_used(2) ? 3 : 1;
  std::vector<ir::Value*> results =
      node.add_multi("LayerNormalization", {input, scale, bias}, attrs, count);
  node.set_output(0, results[0]);
  if (count == 3) {
    node.set_output(1, results[1]);
    node.set_output(2, results[2]);
  }
}

// A per-channel vector of C values as [C, 1, ..., 1], to broadcast over x [N, C, *spatial].
ir::Value* per_channel(AtenNode& node, ir::Value* vector, int64_t rank) {
  if (rank <= 2) return vector;
  std::vector<int64_t> axes;
  for (int64_t axis = 1; axis < rank - 1; ++axis) axes.push_back(axis);
  return node.add("Unsqueeze", {vector}, {{"axes", axes}});
}

// The Reshape target that turns a tensor with x's elements and leading dim back into x's
// shape: 0 copies the leading dim (a symbolic batch stays symbolic), static dims stay, one
// unknown dim is inferred (-1); with more unknown dims x's shape is read at run time.
ir::Value* shape_like(AtenNode& node, ir::Value* x) {
  std::vector<int64_t> target{0};
  for (size_t axis = 1; axis < x->shape.dims().size(); ++axis) {
    const ir::Dim& dim = x->shape.dims()[axis];
    target.push_back(dim.is_static() ? dim.value : -1);
  }
  if (std::count(target.begin(), target.end(), -1) > 1) return node.add("Shape", {x});
  return int64_constant(node, target);
}

// group_norm(input, num_groups, weight?, bias?, eps) and native_group_norm(input, weight?,
// bias?, N, C, HxW, group, eps): x [N, C, *spatial] viewed as [N, G, rest], normalized by
// each group's mean and biased variance, viewed back and scaled per channel. Half-precision
// inputs are normalized in float32, as PyTorch accumulates. native_group_norm's mean and rstd
// outputs ([N, G]) are built only if used.
void emit_group_norm(AtenNode& node, int64_t groups) {
  ir::Value* input = node.tensor("input");
  int64_t rank = rank_of(node, input);
  if (rank < 2) node.invalid("input of rank ", rank, " (expected [N, C, *])");
  const ir::Dim& channels = input->shape[1];
  if (!channels.is_static())
    node.unsupported("input ", input->shape.to_string(), " with unknown channels");
  if (groups <= 0 || channels.value % groups != 0) {
    node.invalid(channels.value, " channels do not split into ", groups, " groups");
  }
  DType dtype = dtype_of(node, input);
  if (!is_floating(dtype)) node.unsupported("a ", dtype_name(dtype), " input");
  DType compute = dtype == DType::Float16 || dtype == DType::BFloat16 ? DType::Float32 : dtype;
  ir::Value* x = cast_to(node, input, compute);
  ir::Value* grouped = node.add("Reshape", {x, int64_constant(node, {0, groups, -1})});
  std::map<std::string, ir::AttrValue> last_axis{{"axes", std::vector<int64_t>{2}},
                                                 {"keepdims", int64_t{1}}};
  ir::Value* mean = node.add("ReduceMean", {grouped}, last_axis);
  ir::Value* centered = node.add("Sub", {grouped, mean});
  ir::Value* variance = node.add("ReduceMean", {node.add("Mul", {centered, centered})}, last_axis);
  ir::Value* shifted =
      node.add("Add", {variance, scalar_constant(node, node.float_arg("eps", 1e-5), compute)});
  ir::Value* deviation = node.add("Sqrt", {shifted});
  ir::Value* normed =
      node.add("Reshape", {node.add("Div", {centered, deviation}), shape_like(node, input)});
  ir::Value* result = cast_to(node, normed, dtype);
  if (ir::Value* weight = node.optional_tensor("weight")) {
    result = node.add("Mul", {result, per_channel(node, weight, rank)});
  }
  if (ir::Value* bias = node.optional_tensor("bias")) {
    result = node.add("Add", {result, per_channel(node, bias, rank)});
  }
  node.set_output(0, result);
  auto statistic = [&](ir::Value* value) {  // [N, G, 1] → [N, G] in the input's dtype
    return cast_to(node, node.add("Reshape", {value, int64_constant(node, {0, groups})}), dtype);
  };
  if (node.output_count() > 1 && node.output_used(1)) node.set_output(1, statistic(mean));
  if (node.output_count() > 2 && node.output_used(2)) {
    node.set_output(2, statistic(node.add("Reciprocal", {deviation})));
  }
}

void convert_group_norm(AtenNode& node) {
  emit_group_norm(node,
                  node.has("num_groups") ? node.int_arg("num_groups") : node.int_arg("group"));
}

// instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, ...): with
// the input's own statistics (InstanceNorm without running statistics, as style-transfer and
// GAN generators have it), a group norm with a group per channel.
void convert_instance_norm(AtenNode& node) {
  if (!node.bool_arg("use_input_stats", true))
    node.unsupported("running statistics (InstanceNorm with track_running_stats=True)");
  ir::Value* input = node.tensor("input");
  if (rank_of(node, input) < 2 || !input->shape[1].is_static())
    node.unsupported("input ", input->shape.to_string(), " without static channels");
  emit_group_norm(node, input->shape[1].value);
}

// norm_except_dim(v, pow, dim): the pow-norm of v over every axis but `dim`, kept as size-1
// axes so that it broadcasts (dim -1: over all of v).
ir::Value* norm_except_dim(AtenNode& node, ir::Value* v, double pow, int64_t dim) {
  int64_t rank = rank_of(node, v);
  int64_t kept = dim == -1 ? -1 : normalize_dim(node, dim, rank);
  std::vector<int64_t> axes;
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis != kept) axes.push_back(axis);
  }
  std::map<std::string, ir::AttrValue> reduce{
      {"axes", axes}, {"keepdims", int64_t{1}}, {"noop_with_empty_axes", int64_t{1}}};
  if (pow == 2.0)
    return node.add("Sqrt", {node.add("ReduceSum", {node.add("Mul", {v, v})}, reduce)});
  DType dtype = dtype_of(node, v);
  ir::Value* powered = node.add("Pow", {node.add("Abs", {v}), scalar_constant(node, pow, dtype)});
  return node.add(
      "Pow", {node.add("ReduceSum", {powered}, reduce), scalar_constant(node, 1.0 / pow, dtype)});
}

// _weight_norm(v, g, dim): v * (g / ||v||), the 2-norm over every axis but `dim` (dim -1:
// over all of v, as torch's norm_except_dim). _weight_norm_interface, what torch.export of
// older PyTorch releases leaves for the dims its fused kernel takes (the first and the last),
// also returns the norms.
void convert_weight_norm(AtenNode& node) {
  ir::Value* v = node.tensor("v");
  ir::Value* norms = norm_except_dim(node, v, 2.0, node.int_arg("dim", 0));
  node.set_output(0, node.add("Mul", {v, node.add("Div", {node.tensor("g"), norms})}));
  if (node.output_count() > 1 && node.output_used(1)) node.set_output(1, norms);
}

void convert_norm_except_dim(AtenNode& node) {
  double pow = double(node.int_arg("pow", 2));
  if (!(pow > 0)) node.unsupported("pow=", pow, " (the norm needs a positive power)");
  node.set_output(0, norm_except_dim(node, node.tensor("v"), pow, node.int_arg("dim", 0)));
}

// softmax.int(self, dim, dtype) and _softmax(self, dim, half_to_float).
void convert_softmax(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (auto dtype = node.scalar_type("dtype")) x = cast_to(node, x, *dtype);
  if (node.bool_arg("half_to_float", false)) x = cast_to(node, x, DType::Float32);
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  node.set_output(0, node.add("Softmax", {x}, {{"axis", axis}}));
}

// max_pool2d(self, kernel_size, stride, padding, dilation, ceil_mode); the _with_indices
// form's indices must be unused.
// max_pool2d/3d and avg_pool2d/3d: the ONNX pools over `spatial` dims (LocalResponseNorm's
// decomposition pools 3-D over channels).
// A pool whose one window covers the whole (unpadded) input: PyTorch's ceil_mode admits a
// window longer than the input (Hugging Face's EfficientNet pools 2x2 maps with a 2560-wide
// AvgPool2d) and clips it to the input; that is a mean (max) over the spatial dims. Returns
// null where the window does not cover the input so.
ir::Value* whole_input_pool(AtenNode& node, int64_t spatial, const std::vector<int64_t>& kernel,
                            const std::vector<int64_t>& strides,
                            const std::vector<int64_t>& padding, const char* reduce) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  if (!node.bool_arg("ceil_mode", false) || rank < spatial + 1) return nullptr;
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < spatial; ++d) {
    const ir::Dim& dim = x->shape[rank - spatial + d];
    size_t i = size_t(d);
    if (!dim.is_static() || padding[i] != 0 || kernel[i] < dim.value ||
        kernel[i] - dim.value >= strides[i])  // more than one output along this dim
      return nullptr;
    axes.push_back(rank - spatial + d);
  }
  return node.add(reduce, {x}, {{"axes", axes}, {"keepdims", int64_t{1}}});
}

// The ONNX pools take [N, C, spatial...]; PyTorch also pools an unbatched [C, spatial...]
// input, which runs as a batch of one.
ir::Value* pooled_batched(AtenNode& node, int64_t spatial, const std::string& op,
                          std::map<std::string, ir::AttrValue> attrs) {
  ir::Value* x = node.tensor("self");
  bool unbatched = rank_of(node, x) == spatial + 1;
  if (unbatched) x = node.add("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{0}}});
  ir::Value* pooled = node.add(op, {x}, std::move(attrs));
  if (!unbatched) return pooled;
  return node.add("Squeeze", {pooled}, {{"axes", std::vector<int64_t>{0}}});
}

AtenConverter max_pool(int64_t spatial) {
  return [spatial](AtenNode& node) {
    if (node.output_used(1)) node.unsupported("the indices output of max pooling is used");
    auto kernel = per_spatial_dim(node, node.ints("kernel_size"), size_t(spatial), "kernel_size");
    auto strides = node.ints("stride", {});
    strides = strides.empty() ? kernel : per_spatial_dim(node, strides, size_t(spatial), "stride");
    auto padding = per_spatial_dim(node, node.ints("padding", {0}), size_t(spatial), "padding");
    auto dilations = per_spatial_dim(node, node.ints("dilation", {1}), size_t(spatial), "dilation");
    bool undilated =
        std::all_of(dilations.begin(), dilations.end(), [](int64_t d) { return d == 1; });
    if (ir::Value* whole =
            undilated ? whole_input_pool(node, spatial, kernel, strides, padding, "ReduceMax")
                      : nullptr)
      return node.set_output(0, whole);
    std::map<std::string, ir::AttrValue> attrs{
        {"kernel_shape", kernel},
        {"strides", strides},
        {"pads", symmetric_pads(padding)},
        {"dilations", dilations},
        {"ceil_mode", int64_t{node.bool_arg("ceil_mode", false)}}};
    node.set_output(0, pooled_batched(node, spatial, "MaxPool", attrs));
  };
}

AtenConverter avg_pool(int64_t spatial) {
  return [spatial](AtenNode& node) {
    if (node.has("divisor_override")) node.unsupported("divisor_override");
    auto kernel = per_spatial_dim(node, node.ints("kernel_size"), size_t(spatial), "kernel_size");
    auto strides = node.ints("stride", {});
    strides = strides.empty() ? kernel : per_spatial_dim(node, strides, size_t(spatial), "stride");
    auto padding = per_spatial_dim(node, node.ints("padding", {0}), size_t(spatial), "padding");
    if (ir::Value* whole = whole_input_pool(node, spatial, kernel, strides, padding, "ReduceMean"))
      return node.set_output(0, whole);
    std::map<std::string, ir::AttrValue> attrs{
        {"kernel_shape", kernel},
        {"strides", strides},
        {"pads", symmetric_pads(padding)},
        {"ceil_mode", int64_t{node.bool_arg("ceil_mode", false)}},
        {"count_include_pad", int64_t{node.bool_arg("count_include_pad", true)}}};
    node.set_output(0, pooled_batched(node, spatial, "AveragePool", attrs));
  };
}

// avg_pool1d / max_pool1d over [N, C, L] or [C, L]: the 2-D pool over a unit height (the
// kernels Kiln has for images), its window [1, k].
AtenConverter pool1d(const char* op) {
  return [op = std::string(op)](AtenNode& node) {
    bool average = op == "AveragePool";
    if (!average && node.output_count() > 1 && node.output_used(1))
      node.unsupported("the indices output of max pooling is used");
    if (average && node.has("divisor_override")) node.unsupported("divisor_override");
    ir::Value* x = node.tensor("self");
    int64_t rank = rank_of(node, x);
    if (rank != 2 && rank != 3) node.invalid("input of rank ", rank, " (expected [N, C, L])");
    int64_t kernel = per_spatial_dim(node, node.ints("kernel_size"), 1, "kernel_size")[0];
    auto strides = node.ints("stride", {});
    int64_t stride = strides.empty() ? kernel : per_spatial_dim(node, strides, 1, "stride")[0];
    int64_t padding = per_spatial_dim(node, node.ints("padding", {0}), 1, "padding")[0];
    std::map<std::string, ir::AttrValue> attrs{
        {"kernel_shape", std::vector<int64_t>{1, kernel}},
        {"strides", std::vector<int64_t>{1, stride}},
        {"pads", std::vector<int64_t>{0, padding, 0, padding}},
        {"ceil_mode", int64_t{node.bool_arg("ceil_mode", false)}}};
    if (average) {
      attrs["count_include_pad"] = int64_t{node.bool_arg("count_include_pad", true)};
    } else {
      int64_t dilation = per_spatial_dim(node, node.ints("dilation", {1}), 1, "dilation")[0];
      attrs["dilations"] = std::vector<int64_t>{1, dilation};
    }
    ir::Value* image = node.add("Unsqueeze", {x}, {{"axes", std::vector<int64_t>{rank - 1}}});
    if (rank == 2) image = node.add("Unsqueeze", {image}, {{"axes", std::vector<int64_t>{0}}});
    ir::Value* pooled = node.add(op, {image}, attrs);
    std::vector<int64_t> axes{rank == 2 ? int64_t{0} : int64_t{2}};
    if (rank == 2) axes.push_back(1);
    node.set_output(0, node.add("Squeeze", {pooled}, {{"axes", axes}}));
  };
}

}  // namespace

void add_nn_ops(AtenTable& table) {
  table["aten.linear.default"] = convert_linear;
  table["aten.conv1d.default"] = convert_conv;
  table["aten.conv2d.default"] = convert_conv;
  table["aten.conv3d.default"] = convert_conv;
  table["aten.conv1d.padding"] = convert_conv;
  table["aten.conv2d.padding"] = convert_conv;
  table["aten.conv3d.padding"] = convert_conv;
  // TorchScript traces a convolution with padding='same' / 'valid' as _convolution_mode.
  table["aten._convolution_mode.default"] = convert_conv;
  table["aten.convolution.default"] = convert_convolution;
  table["aten.conv_transpose1d.default"] = convert_conv_transpose;
  table["aten.conv_transpose2d.input"] = convert_conv_transpose;
  table["aten.conv_transpose3d.input"] = convert_conv_transpose;
  table["aten.batch_norm.default"] = convert_batch_norm;
  table["aten._native_batch_norm_legit_no_training.default"] = convert_native_batch_norm;
  table["aten._native_batch_norm_legit.default"] = convert_native_batch_norm;
  table["aten._native_batch_norm_legit.no_stats"] = convert_native_batch_norm;
  table["aten.native_batch_norm.default"] = convert_native_batch_norm;
  table["aten.layer_norm.default"] = convert_layer_norm;
  table["aten.native_layer_norm.default"] = convert_layer_norm;
  table["aten.group_norm.default"] = convert_group_norm;
  table["aten.native_group_norm.default"] = convert_group_norm;
  table["aten._weight_norm.default"] = convert_weight_norm;
  table["aten.instance_norm.default"] = convert_instance_norm;
  table["aten._weight_norm_interface.default"] = convert_weight_norm;
  table["aten.norm_except_dim.default"] = convert_norm_except_dim;
  table["aten.softmax.int"] = convert_softmax;
  table["aten._softmax.default"] = convert_softmax;
  table["aten.max_pool2d.default"] = max_pool(2);
  table["aten.max_pool2d_with_indices.default"] = max_pool(2);
  table["aten.max_pool3d.default"] = max_pool(3);
  table["aten.max_pool3d_with_indices.default"] = max_pool(3);
  table["aten.avg_pool2d.default"] = avg_pool(2);
  table["aten.avg_pool3d.default"] = avg_pool(3);
  table["aten.avg_pool1d.default"] = pool1d("AveragePool");
  table["aten.max_pool1d.default"] = pool1d("MaxPool");
  table["aten.max_pool1d_with_indices.default"] = pool1d("MaxPool");
}

}  // namespace kiln::torch
