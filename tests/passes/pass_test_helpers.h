// Helpers shared by the pass tests: random constant weights, finding and counting nodes, and
// PyTorch fixtures with their shapes made static.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "backends/cpu/reference_helpers.h"  // tests/backends/cpu: random_tensor
#include "ir/graph.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

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

// tests/models/fixtures/NAME/FILE loaded, then specialized with every symbolic dim set to
// `size` (where passes that need static shapes apply, as in an execution context).
inline ir::Graph specialized_fixture(const std::string& name, const std::string& file,
                                     int64_t size) {
  ir::Graph loaded =
      load_model(std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/" + name + "/" + file);
  std::map<std::string, Dims> dims;
  for (const ir::Value* input : loaded.inputs()) {
    Dims sizes;
    for (const ir::Dim& dim : input->shape.dims())
      sizes.push_back(dim.is_static() ? dim.value : size);
    dims[input->name] = sizes;
  }
  return specialize_shapes(loaded, dims);
}

}  // namespace kiln::passes::pass_testing
