// The CPU reference backend's kernel interface: one function per core op, found through a
// table. Kernels compute in float32 (float64 for float64 tensors) and never see float16 or
// bfloat16: the executor widens those first and rounds results to the layer's precision.
#pragma once

#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu {

// inputs[i] is an empty Tensor (defined() == false) where an optional input is absent.
// Returns one tensor per node output, with the dims computed from the actual inputs.
// Floating inputs arrive as Float32 or Float64 only; a kernel returns floating outputs in
// its computation type (the executor converts to the value's dtype).
using Kernel = std::vector<Tensor> (*)(const ir::Node& node, const std::vector<Tensor>& inputs);

// Null if no kernel is registered for `op`.
Kernel find_kernel(std::string_view op);

// Runs one node on concrete inputs with no precision emulation (used by constant folding).
// Widens float16/bfloat16 inputs and converts outputs back to the dtypes of node.outputs
// where those are set.
std::vector<Tensor> run_node(const ir::Node& node, const std::vector<Tensor>& inputs);

}  // namespace kiln::cpu
