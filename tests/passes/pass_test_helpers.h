// Helpers shared by the pass tests: random constant weights, and finding and counting nodes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "backends/cpu/reference_helpers.h"  // tests/backends/cpu: random_tensor
#include "ir/graph.h"

namespace kiln::passes::pass_testing {

// A float32 constant of uniform values in [-1, 1), deterministic per seed.
inline ir::Value* weight(ir::Graph& graph, const std::string& name, const Dims& dims,
                         uint32_t seed) {
  return graph.add_constant(name, cpu::testing::random_tensor(dims, seed));
}

inline ir::Node* find_node(const ir::Graph& graph, const std::string& name) {
  for (ir::Node* node : graph.nodes()) {
    if (node->name == name) return node;
  }
  return nullptr;
}

inline int count_op(const ir::Graph& graph, const std::string& op) {
  std::vector<ir::Node*> nodes = graph.nodes();
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(),
                                        [&](const ir::Node* node) { return node->op == op; }));
}

}  // namespace kiln::passes::pass_testing
