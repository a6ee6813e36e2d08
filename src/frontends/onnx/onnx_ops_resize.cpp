// Importer for Resize (opsets 13 on): scales or sizes must be constants, and become Kiln's
// sizes and scales over every axis (opset 18's axes lists the resized ones; the others keep
// their size). roi matters only to tf_crop_and_resize, which Kiln does not support.
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
  if (mode != "nearest" && mode != "linear") {
    node.unsupported("mode '", mode, "' (Kiln resizes with nearest or linear)");
  }
  const std::string coordinates = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coordinates == "tf_crop_and_resize") {
    node.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' (and so roi and ",
                     "extrapolation_value)");
  }
  if (node.attr_int("antialias", 0) != 0) {
    node.unsupported("antialias ", node.attr_int("antialias", 0), " (Kiln does not antialias)");
  }
  if (node.attr_int("exclude_outside", 0) != 0) {
    node.unsupported("exclude_outside ", node.attr_int("exclude_outside", 0));
  }
  const std::string policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch") node.unsupported("keep_aspect_ratio_policy '", policy, "'");
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
  AttrMap attrs = node.copied_attrs({"mode", "coordinate_transformation_mode", "nearest_mode"});
  attrs["sizes"] = all_sizes;
  attrs["scales"] = all_scales;
  node.emit("Resize", {x}, std::move(attrs));
}

}  // namespace

void add_resize_ops(OpTable& table) { table["Resize"] = {import_resize, 10}; }

}  // namespace kiln::onnx
