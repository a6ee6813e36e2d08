// A readable text form of the IR, one line per node:
//   %y: float32[batch, 10] = Gemm(%x, @fc.weight, @fc.bias) {transB=1}  # fc
#pragma once

#include <ostream>
#include <string>

#include "ir/graph.h"

namespace kiln::ir {
std::string print_graph(const Graph& graph, bool with_constant_values = false);
// One attribute as the graph printer writes it: key=value (a tensor: dtype, dims, first values).
void print_attribute(std::ostream& out, const Node& node, const std::string& key,
                     const AttrValue& value);
}  // namespace kiln::ir
