// A readable text form of the IR, one line per node:
//   %y: float32[batch, 10] = Gemm(%x, @fc.weight, @fc.bias) {transB=1}  # fc
#pragma once

#include <string>

#include "ir/graph.h"

namespace kiln::ir {
std::string print_graph(const Graph& graph, bool with_constant_values = false);
}  // namespace kiln::ir
