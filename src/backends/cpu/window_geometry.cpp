// Output sizes and paddings of Conv and pooling windows, following the ONNX operator specs.
#include "backends/cpu/window_geometry.h"

#include <algorithm>
#include <string>
#include <vector>

namespace kiln::cpu {
namespace {

std::vector<int64_t> spatial_attr(const ir::Node& node, const std::string& key, size_t count,
                                  int64_t fallback) {
  std::vector<int64_t> values = node.attr_ints(key, std::vector<int64_t>(count, fallback));
  check(values.size() == count, ErrorKind::InvalidModel, node.describe(), ": attribute '", key,
        "' has ", values.size(), " entries, expected ", count, " (one per spatial dim)");
  return values;
}

// Output size with explicit pads; ceil_mode keeps the last window only if it starts inside
// the input or its leading padding (the ONNX and PyTorch rule).
int64_t explicit_out_size(const WindowDim& dim, int64_t extent, bool ceil_mode) {
  int64_t span = dim.in + dim.pad_begin + dim.pad_end - extent;
  if (span < 0) return 0;
  if (!ceil_mode) return span / dim.stride + 1;
  int64_t out = (span + dim.stride - 1) / dim.stride + 1;
  if ((out - 1) * dim.stride >= dim.in + dim.pad_begin) --out;
  return out;
}

}  // namespace

Dims WindowGeometry::out_spatial() const {
  Dims result;
  for (int i = kMaxSpatialDims - spatial_rank; i < kMaxSpatialDims; ++i) {
    result.push_back(dims[static_cast<size_t>(i)].out);
  }
  return result;
}

WindowGeometry resolve_window(const ir::Node& node, const Dims& in_spatial, const Dims& kernel,
                              bool ceil_mode) {
  size_t rank = in_spatial.size();
  check(rank >= 1 && rank <= size_t(kMaxSpatialDims), ErrorKind::Unsupported, node.describe(),
        ": the CPU backend supports 1 to 3 spatial dims, got ", rank);
  check(kernel.size() == rank, ErrorKind::InvalidModel, node.describe(), ": kernel has ",
        kernel.size(), " dims for ", rank, " spatial dims");
  std::vector<int64_t> strides = spatial_attr(node, "strides", rank, 1);
  std::vector<int64_t> dilations = spatial_attr(node, "dilations", rank, 1);
  std::vector<int64_t> pads = spatial_attr(node, "pads", 2 * rank, 0);
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  check(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" ||
            auto_pad == "SAME_LOWER",
        ErrorKind::InvalidModel, node.describe(), ": unknown auto_pad '", auto_pad,
        "' (valid: NOTSET, VALID, SAME_UPPER, SAME_LOWER)");

  WindowGeometry geometry;
  geometry.spatial_rank = static_cast<int>(rank);
  for (size_t i = 0; i < rank; ++i) {
    WindowDim& dim = geometry.dims[kMaxSpatialDims - rank + i];
    dim.in = in_spatial[i];
    dim.kernel = kernel[i];
    dim.stride = strides[i];
    dim.dilation = dilations[i];
    check(dim.kernel >= 1 && dim.stride >= 1 && dim.dilation >= 1, ErrorKind::InvalidModel,
          node.describe(), ": kernel, strides and dilations must be positive, got kernel ",
          dim.kernel, ", stride ", dim.stride, ", dilation ", dim.dilation, " on spatial dim ", i);
    int64_t extent = (dim.kernel - 1) * dim.dilation + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      // The output keeps ceil(in / stride) positions; padding makes up the difference, the
      // odd element going to the end (UPPER) or the beginning (LOWER).
      dim.out = (dim.in + dim.stride - 1) / dim.stride;
      int64_t total = std::max<int64_t>(0, (dim.out - 1) * dim.stride + extent - dim.in);
      dim.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      dim.pad_end = total - dim.pad_begin;
    } else {
      if (auto_pad == "NOTSET") {
        dim.pad_begin = pads[i];
        dim.pad_end = pads[rank + i];
        check(dim.pad_begin >= 0 && dim.pad_end >= 0, ErrorKind::InvalidModel, node.describe(),
              ": pads must be non-negative");
      }
      // With VALID there is no padding, and ceil_mode cannot add a window (ONNX spec).
      dim.out = explicit_out_size(dim, extent, ceil_mode && auto_pad == "NOTSET");
    }
    check(dim.out >= 1, ErrorKind::InvalidModel, node.describe(), ": the window (extent ", extent,
          ") does not fit spatial dim ", i, " of size ", dim.in, " with pads ", dim.pad_begin, "+",
          dim.pad_end);
  }
  return geometry;
}

}  // namespace kiln::cpu
