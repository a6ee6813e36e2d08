// Per-layer precisions for `kiln build`: the automatic choice, then the user's constraints.
#include "engine/build_engine.h"

#include "core/error.h"
#include "passes/passes.h"

namespace kiln::engine {

void assign_engine_precisions(ir::Graph& graph, const BuildConfig& config) {
  check(!config.enabled_precisions.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
  passes::assign_precisions(graph, config.enabled_precisions, config.strongly_typed);
  std::map<std::string, int> matches;
  for (ir::Node* node : graph.nodes()) {
    if (!node->precision) continue;  // not a float-computing layer: it has no precision
    auto by_name = config.layer_precisions.find(node->name);
    auto by_op = config.layer_precisions.find(node->op);
    auto chosen = by_name != config.layer_precisions.end() ? by_name : by_op;
    if (chosen == config.layer_precisions.end()) continue;
    node->precision = chosen->second;
    ++matches[chosen->first];
  }
  for (const auto& [key, precision] : config.layer_precisions) {
    check(matches.count(key) > 0, ErrorKind::InvalidArgument, "--layer-precision ", key, "=",
          precision_name(precision),
          ": no float-computing layer has that name or op (see 'kiln inspect' for the layers)");
  }
}

}  // namespace kiln::engine
