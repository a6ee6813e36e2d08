// CPU reference kernels that select elements by index: Slice and Gather. Registered by
// register_data_movement_kernels.
#pragma once

#include <vector>

#include "backends/cpu/kernel.h"

namespace kiln::cpu {

std::vector<Tensor> slice_kernel(const ir::Node& node, const std::vector<Tensor>& inputs);
std::vector<Tensor> gather_kernel(const ir::Node& node, const std::vector<Tensor>& inputs);

}  // namespace kiln::cpu
