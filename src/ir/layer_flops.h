// Arithmetic per layer, for reports: `kiln bench` divides it by a layer's time to show how
// close each convolution and matrix product comes to the GPU's tensor-core peak.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::ir {

// Floating-point operations (a multiply-add counts 2) of one run of `node` with inputs and
// outputs of these dims: Conv (either layout, groups counted), MatMul and Gemm; 0 for any
// other op or dims that do not fit it.
double layer_flops(const Node& node, const std::vector<Dims>& inputs,
                   const std::vector<Dims>& outputs);

}  // namespace kiln::ir
