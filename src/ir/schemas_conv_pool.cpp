// Schemas of convolution and pooling: Conv, ConvTranspose, MaxPool, AveragePool,
// GlobalAveragePool.
// Output sizes follow ONNX: explicit pads, auto_pad (SAME_UPPER/LOWER, VALID), dilations,
// and ceil_mode for pooling. With attribute channels_last=1 (set by
// passes::convert_to_channels_last; 2-D only) X and Y are [N, H, W, C] and Conv's W is
// [K, R, S, C/group]. Conv's optional input 3, Z (set by passes::fuse_conv_residual), is
// added before the fused activation and has Y's dtype and shape.
#include <string>

#include "core/error.h"
#include "ir/conv_transpose_geometry.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: all begins, then all ends
  std::string auto_pad;
  bool ceil_mode = false;
};

Window read_window(const Node& node, std::vector<int64_t> kernel) {
  size_t spatial = kernel.size();
  Window window;
  window.kernel = std::move(kernel);
  window.strides = node.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  window.dilations = node.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  window.pads = node.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  window.auto_pad = node.attr_string("auto_pad", "NOTSET");
  window.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  check(window.strides.size() == spatial && window.dilations.size() == spatial &&
            window.pads.size() == 2 * spatial,
        ErrorKind::InvalidModel, node.describe(), ": strides, dilations and pads must have ",
        spatial, ", ", spatial, " and ", 2 * spatial, " entries for ", spatial, " spatial dims");
  for (size_t i = 0; i < spatial; ++i) {
    check(window.strides[i] > 0 && window.dilations[i] > 0 && window.kernel[i] > 0,
          ErrorKind::InvalidModel, node.describe(),
          ": kernel sizes, strides and dilations must be positive");
  }
  check(window.auto_pad == "NOTSET" || window.auto_pad == "VALID" ||
            window.auto_pad == "SAME_UPPER" || window.auto_pad == "SAME_LOWER",
        ErrorKind::InvalidModel, node.describe(), ": unknown auto_pad '", window.auto_pad, "'");
  return window;
}

// One spatial output size. Symbolic inputs keep their symbol only where the window cannot
// change the size (stride 1 with SAME padding, or a 1-wide unpadded window).
Dim window_output_dim(const Node& node, const Dim& input, const Window& window, size_t axis) {
  size_t spatial = window.kernel.size();
  int64_t stride = window.strides[axis];
  int64_t extent = window.dilations[axis] * (window.kernel[axis] - 1) + 1;
  bool same = window.auto_pad == "SAME_UPPER" || window.auto_pad == "SAME_LOWER";
  int64_t pad_begin = window.auto_pad == "NOTSET" ? window.pads[axis] : 0;
  int64_t pad_end = window.auto_pad == "NOTSET" ? window.pads[axis + spatial] : 0;
  if (!input.is_static()) {
    bool keeps_size = stride == 1 && (same || (extent == 1 && pad_begin == 0 && pad_end == 0));
    return keeps_size ? input : Dim::unknown();
  }
  if (same) return Dim::fixed((input.value + stride - 1) / stride);
  int64_t span = input.value + pad_begin + pad_end - extent;
  check(span >= 0, ErrorKind::InvalidModel, node.describe(), ": window of extent ", extent,
        " is larger than the padded input size ", input.value + pad_begin + pad_end);
  if (!window.ceil_mode) return Dim::fixed(span / stride + 1);
  int64_t size = (span + stride - 1) / stride + 1;
  // A last window that would start in the end padding is dropped (as ONNX and PyTorch do).
  if ((size - 1) * stride >= input.value + pad_begin) --size;
  return Dim::fixed(size);
}

// Whether the node's data tensors are [N, H, W, C]; only 4-D tensors may be.
bool channels_last(const Node& node, const Shape& x) {
  if (node.attr_int("channels_last", 0) == 0) return false;
  check(!x.rank_known() || x.rank() == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last applies to 4-D (N, H, W, C) inputs only, got ", x.to_string());
  return true;
}

// `x` as (N, C, spatial...) whatever its layout, so one rule serves both.
Shape logical_nchw(const Shape& x, bool nhwc) {
  if (!nhwc || !x.rank_known()) return x;
  return Shape({x[0], x[3], x[1], x[2]});
}

// `nchw` in the node's physical layout.
Shape physical(std::vector<Dim> nchw, bool nhwc) {
  if (nhwc) nchw = {nchw[0], nchw[2], nchw[3], nchw[1]};
  return Shape(std::move(nchw));
}

std::vector<Dim> spatial_output(const Node& node, const Shape& x, const Window& window) {
  std::vector<Dim> result;
  for (size_t axis = 0; axis < window.kernel.size(); ++axis) {
    result.push_back(window_output_dim(node, x[static_cast<int64_t>(axis) + 2], window, axis));
  }
  return result;
}

// False (the output's rank set, its dims unknown) when `x`'s rank is unknown; else checks it
// is the weight's.
bool rank_matches_weight(Node& node, const Value& x, const Dims& weight) {
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, unknown_dims(static_cast<int64_t>(weight.size())));
    return false;
  }
  check(x.shape.rank() == static_cast<int64_t>(weight.size()), ErrorKind::InvalidModel,
        node.describe(), ": input of shape ", x.shape.to_string(), " and weight of shape ",
        dims_to_string(weight), " must have the same rank");
  return true;
}

// Conv's and ConvTranspose's X, W and B?: a float X, W and B of its dtype, W of static dims
// (returned).
Dims checked_conv_weight(const Node& node) {
  const Value& x = required_input(node, 0);
  const Value& w = required_input(node, 1);
  require_floating(node, x);
  require_same_dtype(node, x, w);
  if (const Value* bias = node.input(2)) require_same_dtype(node, x, *bias);
  check(w.shape.is_static(), ErrorKind::Unsupported, node.describe(), ": weight '", w.name,
        "' must have a static shape, got ", w.shape.to_string());
  return w.shape.static_dims();
}

// Conv's residual Z, when present, is added to Y element for element: X's dtype, and where
// both are known, Y's shape (in Y's layout); no broadcasting.
void check_residual(const Node& node, const Value& x, const Shape& y) {
  const Value* z = node.input(3);
  if (z == nullptr) return;
  check(z->dtype == x.dtype, ErrorKind::InvalidModel, node.describe(), ": residual Z '", z->name,
        "' is ", dtype_name(z->dtype), " but X is ", dtype_name(x.dtype),
        "; Z must have the output's dtype");
  if (!z->shape.rank_known() || !y.rank_known()) return;
  bool agrees = z->shape.rank() == y.rank();
  for (int64_t d = 0; agrees && d < y.rank(); ++d) {
    agrees = !z->shape[d].is_static() || !y[d].is_static() || z->shape[d] == y[d];
  }
  check(agrees, ErrorKind::InvalidModel, node.describe(), ": residual Z '", z->name, "' has shape ",
        z->shape.to_string(), " but the output has shape ", y.to_string(),
        "; Z must have the output's shape exactly (no broadcasting)");
}

void infer_conv(Node& node) {
  const Value& x = required_input(node, 0);
  Dims weight = checked_conv_weight(node);
  // Set by passes::fuse_epilogues: the activations cuDNN's convolution graphs apply, and a
  // Sigmoid where Kiln's vector projection kernel runs the layer.
  std::string activation = node.attr_string("fused_activation", "");
  check(
      activation.empty() || activation == "Relu" || activation == "Silu" || activation == "Sigmoid",
      ErrorKind::Unsupported, node.describe(), ": fused_activation '", activation,
      "' is not supported (valid: Relu, Silu, Sigmoid)");
  check(activation != "Sigmoid" || is_vector_projection(node), ErrorKind::Unsupported,
        node.describe(),
        ": fused_activation Sigmoid needs a 1x1 convolution of 1x1 images with one group and "
        "no pads");
  bool nhwc = channels_last(node, x.shape);
  check(!nhwc || weight.size() == 4, ErrorKind::InvalidModel, node.describe(),
        ": a channels_last Conv needs a 4-D weight [K, R, S, C/group], got ",
        dims_to_string(weight));
  if (nhwc) weight = {weight[0], weight[3], weight[1], weight[2]};  // as KCRS
  check(weight.size() >= 3 && weight.size() <= 5, ErrorKind::Unsupported, node.describe(),
        ": only 1-D, 2-D and 3-D convolutions are supported; weight has shape ",
        dims_to_string(weight));
  if (!rank_matches_weight(node, x, weight)) {
    check_residual(node, x, Shape());
    return;
  }
  int64_t group = node.attr_int("group", 1);
  check(group >= 1 && weight[0] % group == 0, ErrorKind::InvalidModel, node.describe(), ": group ",
        group, " must divide the output channels ", weight[0]);
  Shape input = logical_nchw(x.shape, nhwc);
  const Dim& channels = input[1];
  check(!channels.is_static() || channels.value == weight[1] * group, ErrorKind::InvalidModel,
        node.describe(), ": input has ", channels.to_string(), " channels but the weight expects ",
        weight[1] * group, " (", weight[1], " per group x group ", group, ")");
  std::vector<int64_t> kernel(weight.begin() + 2, weight.end());
  if (node.has_attr("kernel_shape")) {
    check(node.attr_ints("kernel_shape") == kernel, ErrorKind::InvalidModel, node.describe(),
          ": kernel_shape does not match the weight's shape ", dims_to_string(weight));
  }
  std::vector<Dim> result{input[0], Dim::fixed(weight[0])};
  for (Dim& dim : spatial_output(node, input, read_window(node, kernel))) result.push_back(dim);
  Shape output = physical(std::move(result), nhwc);
  check_residual(node, x, output);
  set_output(node, 0, x.dtype, std::move(output));
}

// ConvTranspose: X [N, C, spatial...], W [C, M/group, k...], B [M]; Y [N, M, spatial'...]
// (conv_transpose_geometry.h). Symbolic spatial input dims give unknown output dims.
void infer_conv_transpose(Node& node) {
  const Value& x = required_input(node, 0);
  Dims weight = checked_conv_weight(node);
  check(weight.size() >= 3 && weight.size() <= 5, ErrorKind::Unsupported, node.describe(),
        ": only 1-D, 2-D and 3-D transposed convolutions are supported; weight has shape ",
        dims_to_string(weight));
  int64_t group = node.attr_int("group", 1);
  check(group >= 1 && weight[0] % group == 0, ErrorKind::InvalidModel, node.describe(), ": group ",
        group, " must divide the input channels ", weight[0]);
  Dim channels_out = Dim::fixed(weight[1] * group);
  if (!rank_matches_weight(node, x, weight)) return;
  check(!x.shape[1].is_static() || x.shape[1].value == weight[0], ErrorKind::InvalidModel,
        node.describe(), ": input has ", x.shape[1].to_string(), " channels but the weight ",
        dims_to_string(weight), " expects ", weight[0]);
  std::vector<Dim> result{x.shape[0], channels_out};
  Dims spatial;
  bool known = true;
  for (int64_t d = 2; d < x.shape.rank(); ++d) {
    known &= x.shape[d].is_static();
    spatial.push_back(x.shape[d].is_static() ? x.shape[d].value : 1);
  }
  if (known) {
    for (int64_t size : conv_transpose_geometry(node, spatial, weight).output)
      result.push_back(Dim::fixed(size));
  } else {
    result.resize(x.shape.dims().size(), Dim::unknown());
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

void infer_pool(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  check(!kernel.empty(), ErrorKind::InvalidModel, node.describe(),
        ": attribute kernel_shape is required");
  int64_t rank = static_cast<int64_t>(kernel.size()) + 2;
  bool nhwc = channels_last(node, x.shape);
  check(!nhwc || rank == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last needs a 2-D kernel_shape");
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, unknown_dims(rank));
    return;
  }
  check(x.shape.rank() == rank, ErrorKind::InvalidModel, node.describe(), ": input of shape ",
        x.shape.to_string(), " does not match kernel_shape of ", kernel.size(), " dims");
  Shape input = logical_nchw(x.shape, nhwc);
  std::vector<Dim> result{input[0], input[1]};
  for (Dim& dim : spatial_output(node, input, read_window(node, kernel))) result.push_back(dim);
  set_output(node, 0, x.dtype, physical(std::move(result), nhwc));
}

void infer_global_pool(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, Shape());
    return;
  }
  check(x.shape.rank() >= 3, ErrorKind::InvalidModel, node.describe(),
        ": input must be (N, C, spatial...), got ", x.shape.to_string());
  bool nhwc = channels_last(node, x.shape);
  Shape input = logical_nchw(x.shape, nhwc);
  std::vector<Dim> result(static_cast<size_t>(x.shape.rank()), Dim::fixed(1));
  result[0] = input[0];
  result[1] = input[1];
  set_output(node, 0, x.dtype, physical(std::move(result), nhwc));
}

}  // namespace

bool is_vector_projection(const Node& conv) {
  const Value* x = conv.input(0);
  const Value* w = conv.input(1);
  if (conv.op != "Conv" || x == nullptr || w == nullptr || !x->shape.rank_known() ||
      !w->shape.rank_known() || x->shape.rank() != w->shape.rank() || x->shape.rank() < 3 ||
      conv.attr_int("group", 1) != 1) {
    return false;
  }
  const bool nhwc = conv.attr_int("channels_last", 0) != 0 && x->shape.rank() == 4;
  const int64_t rank = x->shape.rank();
  for (int64_t axis = 1; axis < rank; ++axis) {  // every spatial axis of X and W is 1
    const bool channel = nhwc ? axis == rank - 1 : axis == 1;
    if (channel) continue;
    const Dim &x_dim = x->shape[axis], &w_dim = w->shape[axis];
    if (!x_dim.is_static() || x_dim.value != 1 || !w_dim.is_static() || w_dim.value != 1) {
      return false;
    }
  }
  for (int64_t pad : conv.attr_ints("pads", {})) {
    if (pad != 0) return false;
  }
  const std::string auto_pad = conv.attr_string("auto_pad", "NOTSET");
  return auto_pad == "NOTSET" || auto_pad == "VALID";
}

void add_conv_pool_schemas(std::vector<OpSchema>& table) {
  table.push_back({"Conv", 2, 4, 1, 1, true, infer_conv});  // X, W, B?, Z?
  table.push_back({"ConvTranspose", 2, 3, 1, 1, true, infer_conv_transpose});
  table.push_back({"MaxPool", 1, 1, 1, 1, true, infer_pool});
  table.push_back({"AveragePool", 1, 1, 1, 1, true, infer_pool});
  table.push_back({"GlobalAveragePool", 1, 1, 1, 1, true, infer_global_pool});
}

}  // namespace kiln::ir
