// ScatterElements' and ScatterND's reduction attribute, read in one place for the schemas and
// every backend.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {

// In this order; the CUDA kernels' cuda::ScatterReduction mirrors it.
enum class ScatterReduction { None, Add, Mul, Max, Min };

// The node's `reduction` ("none" when absent); InvalidModel naming the node for another name.
ScatterReduction scatter_reduction(const Node& node);

}  // namespace kiln::ir
