// Complex tensors in the ATen frontends: a real tensor with a trailing dim of 2 holding (re, im),
// marked in the conversion context (ConversionContext::mark_complex) so that a converter not
// written for them refuses them by name. The FFTs make and take them (aten_fft.cpp); views and
// arithmetic of them are in aten_complex.cpp.
#pragma once

#include <string_view>

#include "frontends/torch/aten_node.h"
#include "ir/fourier.h"

namespace kiln::torch {

// The parts of tensor argument `name`: a complex one's real and imaginary halves, a real one
// as its own real part (im null).
ir::ComplexParts parts_of(AtenNode& node, std::string_view name);
// Output 0 as the complex tensor of `parts` (a zero imaginary part where it has none).
void set_complex_output(AtenNode& node, ir::ComplexParts parts);

}  // namespace kiln::torch
