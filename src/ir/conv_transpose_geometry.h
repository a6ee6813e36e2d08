// ConvTranspose's geometry as ONNX defines it (and its reference implementation computes):
// the pads, from `pads`, or from auto_pad SAME_* and output_shape; the spatial output dims,
// from output_shape or from strides, output_padding, dilated kernel and pads. Shared by the
// schema (shape inference) and the CPU kernel, so both agree.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

struct ConvTransposeGeometry {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pads;  // all begins, then all ends (may be negative: output_shape wider)
  Dims output;                // spatial output dims
  int64_t group = 1;
};

// For static spatial input dims `input` and weight dims [C, M/group, k...]. Throws
// InvalidModel naming the node for attributes of the wrong length, non-positive strides or
// dilations, a kernel_shape that disagrees with the weight, or an empty output.
ConvTransposeGeometry conv_transpose_geometry(const Node& node, const Dims& input,
                                              const Dims& weight);

}  // namespace kiln::ir
