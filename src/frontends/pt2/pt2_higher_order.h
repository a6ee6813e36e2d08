// Higher-order ops of torch.export graphs that only switch a mode around a subgraph
// (wrap_with_set_grad_enabled, wrap_with_autocast: what `@torch.no_grad()` and
// `torch.autocast` become in a training-IR export) are inlined before conversion: for
// inference the mode changes nothing Kiln computes, and the subgraph's ATen nodes import like
// any others. torch.cond is inlined too: both branches, and a Where on the predicate per
// output (a constant predicate folds to one branch). Other higher-order ops stay and are
// reported as unsupported.
#pragma once

#include <string>

#include "frontends/pt2/pt2_json.h"

namespace kiln::pt2 {

struct FlatGraph {
  Json nodes;          // the graph's nodes with every mode-only subgraph spliced in
  Json tensor_values;  // the graph's value metadata and its subgraphs', renamed alike
};

// `graph` is a serialized graph ({"nodes": [...], "tensor_values": {...}}) at `where`. A
// subgraph's inputs become the wrapping node's operands, its outputs the node's outputs, and
// its other values are renamed "<node output>.<name>" so that no name collides. Throws
// InvalidModel naming the node if operands or outputs do not match the subgraph's.
FlatGraph inline_higher_order(const Json& graph, const std::string& where);

}  // namespace kiln::pt2
