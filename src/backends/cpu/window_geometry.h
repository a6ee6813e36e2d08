// The sliding-window geometry shared by Conv and the pools: per spatial dim the kernel,
// stride, dilation, padding and output size, resolved from the ONNX attributes (auto_pad,
// ceil_mode). Everything is normalized to three spatial dims (leading ones of size 1) so a
// single loop nest serves 1-D, 2-D and 3-D.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu {

constexpr int kMaxSpatialDims = 3;

struct WindowDim {
  int64_t in = 1;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
  int64_t out = 1;
};

struct WindowGeometry {
  std::array<WindowDim, kMaxSpatialDims> dims;  // dims[kMaxSpatialDims - rank ..] are real
  int spatial_rank = 0;

  Dims out_spatial() const;  // the real output dims only
  int64_t in_volume() const { return dims[0].in * dims[1].in * dims[2].in; }
  int64_t out_volume() const { return dims[0].out * dims[1].out * dims[2].out; }
  int64_t kernel_volume() const { return dims[0].kernel * dims[1].kernel * dims[2].kernel; }
};

// Reads strides, dilations, pads and auto_pad from `node`; `kernel` is the window size per
// spatial dim (from W for Conv, kernel_shape for pools). Fails naming the node on bad
// attributes or an empty output.
WindowGeometry resolve_window(const ir::Node& node, const Dims& in_spatial, const Dims& kernel,
                              bool ceil_mode);

}  // namespace kiln::cpu
