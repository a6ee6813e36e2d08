// Rewrites shared by the passes that replace or remove nodes while keeping the names of
// graph outputs (callers of an engine find outputs by name).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::passes {

// Turns each output of `node` into a constant holding the matching tensor (converted to the
// value's dtype if one is set), then removes the node. Names and users stay as they were.
void replace_by_constants(ir::Graph& graph, ir::Node* node, std::vector<Tensor> results);

// Removes a node whose output equals its first input (a no-op Reshape, Cast, ...), pointing
// readers at that input. When the output is a graph output, the input's producer takes over
// the output's name instead. Returns false (and changes nothing) where that is impossible:
// the input is a graph input or itself a graph output.
bool bypass_node(ir::Graph& graph, ir::Node* node);

}  // namespace kiln::passes
