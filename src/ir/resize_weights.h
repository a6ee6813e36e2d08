// Weights of resampling that is linear and separable but not a core Resize: cubic
// (PyTorch's upsample_bicubic2d, ONNX Resize mode=cubic) and antialiased (PyTorch's
// _upsample_bilinear2d_aa / _upsample_bicubic2d_aa, ONNX Resize with antialias=1).
// A frontend applies them per axis as a MatMul with a constant [in, out] matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::ir {

// The row-major [in, out] matrix whose column o holds the weights output element o takes:
// the inputs within `support` of the center scale * (o + 0.5) (scale = in / out, or 1 /
// the given scale factor), weighted by the triangle filter (linear) or Keys' cubic with
// coefficient `cubic_a` (cubic), stretched by the scale when shrinking, normalized to sum 1.
// Taps outside the input are left out (ONNX's exclude_outside=1).
std::vector<double> antialiased_resize_weights(int64_t in, int64_t out, double scale, bool cubic,
                                               double cubic_a = -0.5);

// The source coordinate of each of `out` outputs along an axis of `in`, as ONNX Resize's
// coordinate_transformation_mode computes it ("half_pixel", "pytorch_half_pixel",
// "align_corners", "asymmetric", "half_pixel_symmetric"); `scale` is the given scale factor or
// out / in, and `resized_length` in * scale (not rounded) where a scale factor is given, else
// out, as ONNX's reference reads them. Empty for another mode.
std::vector<double> resize_source_coordinates(const std::string& mode, int64_t in, int64_t out,
                                              double scale, double resized_length);

// The row-major [in, out] matrix of cubic interpolation (Keys' kernel with coefficient `a`)
// at the given source coordinates: four taps around each, outside taps read the edge element,
// or with `exclude_outside` get no weight (the others renormalized).
std::vector<double> cubic_resize_weights(int64_t in, const std::vector<double>& sources, double a,
                                         bool exclude_outside);

}  // namespace kiln::ir
