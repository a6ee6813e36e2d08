// Weights of resampling that is linear and separable but not a core Resize: antialiased
// (PyTorch's _upsample_bilinear2d_aa / _upsample_bicubic2d_aa, ONNX Resize with antialias=1).
// A frontend applies them per axis as a MatMul with a constant [in, out] matrix.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::ir {

// The row-major [in, out] matrix whose column o holds the weights output element o takes:
// the inputs within `support` of the center scale * (o + 0.5) (scale = in / out, or 1 /
// the given scale factor), weighted by the triangle filter (linear) or Keys' cubic with
// coefficient `cubic_a` (cubic), stretched by the scale when shrinking, normalized to sum 1.
// Taps outside the input are left out (ONNX's exclude_outside=1).
std::vector<double> antialiased_resize_weights(int64_t in, int64_t out, double scale, bool cubic,
                                               double cubic_a = -0.5);

}  // namespace kiln::ir
