// Fusion groups: chains and trees of pointwise ops (with broadcasts and casts) that a
// backend may run as one generated kernel, reading each outside value once and writing only
// the values read outside the group. An analysis, not a rewrite: the graph is unchanged, so
// the CPU reference runs every group unfused and is the reference for the fused kernel.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

struct FusionGroup {
  std::vector<const ir::Node*> nodes;  // in graph order; the group runs where its last one is
  Dims domain;                         // the dims every node of the group writes
};

// True if `node` can be a member: a pointwise op the generator expresses, on float (float32,
// bfloat16, float16) and bool values, with static output dims, whose every input broadcasts
// to them as one contiguous block of the output's dims (a bias over the last dims, a
// per-channel scale, a scalar), so that an element's input index is (i / div) % mod.
bool is_fusible_pointwise(const ir::Node& node);

// Partitions the fusible nodes of `graph` into groups of at least two nodes with one domain
// each. A group never needs a value that a node outside it computes from one of its members,
// so running it at its last member's place keeps the graph's order valid.
std::vector<FusionGroup> find_fusion_groups(const ir::Graph& graph);

// True if `input` dims broadcast onto `domain` as one contiguous block: after dropping
// leading ones, the input's non-one dims equal a run of consecutive domain dims and every
// other input dim is one (or the input is a scalar).
bool is_block_broadcast(const Dims& input, const Dims& domain);

// True for a constant of one float or bool element: a generated kernel writes it into its
// source as a literal instead of reading it from memory.
bool is_inlined_scalar(const ir::Value& value);

}  // namespace kiln::passes
