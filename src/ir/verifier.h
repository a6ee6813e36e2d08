// Checks IR invariants: known ops with valid arity, topological order, SSA (one producer
// per value), inputs defined before use, types inferred. Throws InvalidModel listing all
// problems found.
#pragma once

#include "ir/graph.h"

namespace kiln::ir {
void verify(const Graph& graph);
}  // namespace kiln::ir
