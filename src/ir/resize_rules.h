// Resize's attributes, read and checked once for the schema and the CPU kernel: mode,
// coordinate_transformation_mode, nearest_mode, sizes (one per axis; -1: floor(dim * scale),
// worked out from the input) and scales (one per axis, for the coordinate transform; absent or
// 0: output size / input size).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "ir/graph.h"

namespace kiln::ir {

struct ResizeAttrs {
  bool linear = false;  // else nearest
  std::string coordinates;
  std::string nearest;
  std::vector<int64_t> sizes;
  std::vector<double> scales;
};

inline void check_resize_choice(const Node& node, const char* what, const std::string& value,
                                const std::vector<std::string>& allowed,
                                const std::vector<std::string>& unsupported) {
  for (const std::string& choice : allowed) {
    if (value == choice) return;
  }
  for (const std::string& choice : unsupported) {
    check(value != choice, ErrorKind::Unsupported, node.describe(), ": ", what, " '", value,
          "' is not supported (Kiln resizes with nearest or linear; no cubic, no "
          "tf_crop_and_resize)");
  }
  std::string list;
  for (const std::string& choice : allowed) list += (list.empty() ? "" : ", ") + choice;
  fail(ErrorKind::InvalidModel, node.describe(), ": ", what, " '", value, "' is not one of ", list);
}

// The attributes of a Resize node; throws naming the node when one is bad. `rank` is the
// input's rank, or -1 when unknown.
inline ResizeAttrs resize_attrs(const Node& node, int64_t rank) {
  ResizeAttrs attrs;
  const std::string mode = node.attr_string("mode", "nearest");
  check_resize_choice(node, "mode", mode, {"nearest", "linear"}, {"cubic"});
  attrs.linear = mode == "linear";
  attrs.coordinates = node.attr_string("coordinate_transformation_mode", "half_pixel");
  check_resize_choice(
      node, "coordinate_transformation_mode", attrs.coordinates,
      {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric"},
      {"tf_crop_and_resize", "tf_half_pixel_for_nn"});
  attrs.nearest = node.attr_string("nearest_mode", "round_prefer_floor");
  check_resize_choice(node, "nearest_mode", attrs.nearest,
                      {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}, {});
  attrs.sizes = node.attr_ints("sizes");
  attrs.scales = node.attr_floats("scales");
  const int64_t count = static_cast<int64_t>(attrs.sizes.size());
  check(rank < 0 || count == rank, ErrorKind::InvalidModel, node.describe(), ": sizes ",
        dims_to_string(attrs.sizes), " has ", count, " values; an input of rank ", rank, " needs ",
        rank);
  check(attrs.scales.empty() || attrs.scales.size() == attrs.sizes.size(), ErrorKind::InvalidModel,
        node.describe(), ": ", attrs.scales.size(), " scales for ", count, " sizes");
  for (size_t axis = 0; axis < attrs.sizes.size(); ++axis) {
    const double scale = attrs.scales.empty() ? 0.0 : attrs.scales[axis];
    check(attrs.sizes[axis] >= 0 || (attrs.sizes[axis] == -1 && scale > 0), ErrorKind::InvalidModel,
          node.describe(), ": size ", attrs.sizes[axis], " of axis ", axis,
          " is neither a size nor -1 with a positive scale");
    check(std::isfinite(scale) && scale >= 0, ErrorKind::InvalidModel, node.describe(), ": scale ",
          scale, " of axis ", axis, " must be positive");
  }
  return attrs;
}

// The output size of one axis of size `dim`.
inline int64_t resized_dim(const ResizeAttrs& attrs, size_t axis, int64_t dim) {
  if (attrs.sizes[axis] >= 0) return attrs.sizes[axis];
  return static_cast<int64_t>(std::floor(static_cast<double>(dim) * attrs.scales[axis]));
}

}  // namespace kiln::ir
