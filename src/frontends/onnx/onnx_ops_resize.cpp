// Importer for Resize (opsets 13 on): scales or sizes must be constants, and become Kiln's
// sizes and scales over every axis (opset 18's axes lists the resized ones; the others keep
// their size). roi matters only to tf_crop_and_resize, which Kiln does not support.
#include <cmath>

#include "ir/resize_weights.h"
#include "onnx_import_context.h"

namespace kiln::onnx {
namespace {

// The values of a constant float input, or nullopt when it is absent or empty.
std::optional<std::vector<double>> constant_floats(OnnxNode& node, size_t index, const char* what) {
  const ir::Value* value = node.input(index);
  if (value == nullptr) return std::nullopt;
  if (!value->is_constant()) {
    node.unsupported("input ", index, " (", what, ") is computed at run time; Kiln needs it to ",
                     "be a constant (an initializer or Constant node)");
  }
  if (value->constant->numel() == 0) return std::nullopt;
  return value->constant->to_double_vector();
}

// The attributes Kiln refuses: each must keep its ONNX default.
void refuse_unsupported(OnnxNode& node) {
  const std::string mode = node.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic") {
    node.invalid("mode '", mode, "' (nearest, linear or cubic)");
  }
  const std::string coordinates = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coordinates == "tf_crop_and_resize") {
    node.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' (and so roi and ",
                     "extrapolation_value)");
  }
  const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch") node.unsupported("keep_aspect_ratio_policy '", policy, "'");
  // Cubic and antialiased resizes are products with weight matrices (separable(): checks its
  // own attributes).
  if (mode == "cubic" || node.attr_int("antialias", 0) != 0) return;
  if (node.attr_int("exclude_outside", 0) != 0) {
    node.unsupported("exclude_outside ", node.attr_int("exclude_outside", 0));
  }
}

// The [in, out] weights of a cubic or antialiased resize along one axis (see
// ir/resize_weights.h); antialiasing as PyTorch exports it (linear, half_pixel,
// exclude_outside=1, which match ONNX's reference there).
std::vector<double> separable_weights(OnnxNode& node, int64_t in, int64_t out, double scale,
                                      bool scale_given) {
  const std::string mode = node.attr_string("mode", "nearest");
  const std::string coordinates = node.attr_string("coordinate_transformation_mode", "half_pixel");
  bool exclude = node.attr_int("exclude_outside", 0) != 0;
  if (node.attr_int("antialias", 0) != 0) {
    if (mode != "linear" || coordinates != "half_pixel" || !exclude) {
      node.unsupported("antialias with mode '", mode, "', coordinate_transformation_mode '",
                       coordinates, "', exclude_outside ", exclude,
                       " (Kiln antialiases linear, half_pixel, exclude_outside=1 resizes)");
    }
    return ir::antialiased_resize_weights(in, out, 1.0 / scale, false);
  }
  double resized_length = scale_given ? double(in) * scale : double(out);
  std::vector<double> sources =
      ir::resize_source_coordinates(coordinates, in, out, scale, resized_length);
  if (sources.empty()) {
    node.unsupported("cubic with coordinate_transformation_mode '", coordinates, "'");
  }
  return ir::cubic_resize_weights(in, sources, node.attr_float("cubic_coeff_a", -0.75), exclude);
}

// A cubic or antialiased resize: per resized axis, a MatMul with constant weights (the axis
// moved last and back). The resized axes need sizes known at import.
void separable(OnnxNode& node, ir::Value* x, const std::vector<int64_t>& sizes,
               const std::vector<double>& scales) {
  DType dtype = x->dtype;
  if (!is_floating(dtype)) node.unsupported("a cubic or antialiased resize of ", dtype_name(dtype));
  const int64_t rank = x->shape.rank();
  ir::Value* result = x;
  for (int64_t axis = 0; axis < rank; ++axis) {
    const ir::Dim& dim = x->shape[axis];
    const auto i = static_cast<size_t>(axis);
    if (sizes[i] < 0 && scales[i] == 1.0) continue;  // not resized
    if (!dim.is_static()) node.unsupported("resizing axis ", axis, " of run-time size");
    int64_t out =
        sizes[i] >= 0 ? sizes[i] : static_cast<int64_t>(std::floor(double(dim.value) * scales[i]));
    double scale = scales[i] > 0 ? scales[i] : double(out) / double(dim.value);
    if (out == dim.value && scale == 1.0) continue;
    std::vector<double> weights = separable_weights(node, dim.value, out, scale, scales[i] > 0);
    OnnxOpBuilder builder(node);
    ir::Value* matrix =
        builder.constant(Tensor::from_vector<double>({dim.value, out}, weights).to(dtype));
    std::vector<int64_t> swap;
    for (int64_t d = 0; d < rank; ++d) swap.push_back(d);
    std::swap(swap[i], swap.back());
    bool last = axis == rank - 1;
    ir::Value* moved = last ? result : node.add("Transpose", {result}, {{"perm", swap}});
    ir::Value* resized = node.add("MatMul", {moved, matrix});
    result = last ? resized : node.add("Transpose", {resized}, {{"perm", swap}});
  }
  node.alias_output(0, result);
}

void import_resize(OnnxNode& node) {
  node.allow_attributes({"antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a",
                         "exclude_outside", "extrapolation_value", "keep_aspect_ratio_policy",
                         "mode", "nearest_mode"});
  refuse_unsupported(node);
  ir::Value* x = node.required_input(0, "X");
  if (!x->shape.rank_known()) node.unsupported("the rank of input X is unknown");
  const int64_t rank = x->shape.rank();
  std::vector<int64_t> axes;
  if (node.opset() >= 18 && node.has_attr("axes")) {
    for (int64_t axis : node.attr_ints("axes")) {
      axes.push_back(ir::normalize_axis(axis, rank, node.label()));
    }
  } else {
    for (int64_t axis = 0; axis < rank; ++axis) axes.push_back(axis);
  }
  const std::optional<std::vector<double>> scales = constant_floats(node, 2, "scales");
  std::optional<std::vector<int64_t>> sizes;
  if (node.input(3) != nullptr) {
    sizes = node.constant_ints(3, "sizes");
    if (sizes->empty()) sizes.reset();
  }
  if (scales.has_value() == sizes.has_value()) {
    node.invalid("needs exactly one of scales and sizes, not ", scales ? "both" : "neither");
  }
  const size_t count = scales ? scales->size() : sizes->size();
  if (count != axes.size()) {
    node.invalid("has ", count, " ", scales ? "scales" : "sizes", " for ", axes.size(), " axes");
  }
  std::vector<int64_t> all_sizes(static_cast<size_t>(rank), -1);
  std::vector<double> all_scales(static_cast<size_t>(rank), 1.0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const auto axis = static_cast<size_t>(axes[i]);
    if (seen[axis]) node.invalid("lists axis ", axis, " twice in its axes");
    seen[axis] = true;
    if (scales) {
      if (!((*scales)[i] > 0)) node.invalid("scale ", (*scales)[i], " must be positive");
      all_scales[axis] = (*scales)[i];
    } else {
      if ((*sizes)[i] < 0) node.invalid("size ", (*sizes)[i], " must not be negative");
      all_sizes[axis] = (*sizes)[i];
      all_scales[axis] = 0.0;  // output size / input size
    }
  }
  if (node.attr_int("antialias", 0) != 0 || node.attr_string("mode", "nearest") == "cubic") {
    return separable(node, x, all_sizes, all_scales);
  }
  AttrMap attrs = node.copied_attrs({"mode", "coordinate_transformation_mode", "nearest_mode"});
  attrs["sizes"] = all_sizes;
  attrs["scales"] = all_scales;
  node.emit("Resize", {x}, std::move(attrs));
}

}  // namespace

void add_resize_ops(OpTable& table) { table["Resize"] = {import_resize, 10}; }

}  // namespace kiln::onnx
