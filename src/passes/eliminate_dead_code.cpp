// Dead-code elimination: drops nodes whose outputs reach no graph output, then unused values.
#include <set>

#include "passes/passes.h"

namespace kiln::passes {

int eliminate_dead_code(ir::Graph& graph) {
  std::set<const ir::Value*> live(graph.outputs().begin(), graph.outputs().end());
  std::vector<ir::Node*> nodes = graph.nodes();
  int removed = 0;
  // Walking backwards, a node is live if any output is; its inputs then become live too.
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* node = *it;
    bool needed = false;
    for (const ir::Value* output : node->outputs) needed = needed || live.count(output);
    if (needed) {
      live.insert(node->inputs.begin(), node->inputs.end());
    } else {
      graph.remove_node(node);
      ++removed;
    }
  }
  graph.remove_unused_values();
  return removed;
}

}  // namespace kiln::passes
