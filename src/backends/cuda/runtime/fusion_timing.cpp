// Fused against unfused: two contexts of one engine, every step timed (median of
// kIterations), each group's fused step compared with its nodes' steps in the unfused run.
// Casts count on both sides where they convert a value a member reads or writes: fused, the
// kernel converts in registers, so those casts are part of what fusion saves.
#include "backends/cuda/runtime/fusion_timing.h"

#include <set>

#include "backends/cuda/runtime/execution_context.h"
#include "passes/fusion_groups.h"

namespace kiln::cuda {
namespace {

constexpr int kIterations = 20;

// "cast VALUE to DTYPE" → VALUE.
std::string cast_value(const std::string& label) {
  size_t to = label.rfind(" to ");
  return label.starts_with("cast ") && to != std::string::npos ? label.substr(5, to - 5) : "";
}

// The values the named nodes read or write.
std::set<std::string> touched_values(const ir::Graph& graph,
                                     const std::vector<std::string>& nodes) {
  std::set<std::string> names(nodes.begin(), nodes.end()), values;
  for (const ir::Node* node : graph.nodes()) {
    if (!names.contains(node->name)) continue;
    for (const ir::Value* value : node->inputs)
      if (value != nullptr) values.insert(value->name);
    for (const ir::Value* value : node->outputs)
      if (value != nullptr) values.insert(value->name);
  }
  return values;
}

// The time of the steps that run `members` (node steps, or the fused step holding them) plus
// the casts of the values they touch.
double steps_ms(const std::vector<LayerTime>& layers, const std::vector<std::string>& members,
                const std::set<std::string>& values) {
  std::set<std::string> names(members.begin(), members.end());
  double total = 0;
  for (const LayerTime& layer : layers) {
    bool member = names.contains(layer.name) ||
                  (!layer.members.empty() && names.contains(layer.members.front()));
    bool cast = layer.op == "Cast" && values.contains(cast_value(layer.name));
    if (member || cast) total += layer.median_ms;
  }
  return total;
}

}  // namespace

std::vector<FusionTiming> choose_fusion_by_timing(ir::Graph& graph,
                                                  const std::map<std::string, Dims>& input_dims,
                                                  size_t workspace_bytes,
                                                  std::map<std::string, std::string>* cubins) {
  auto engine = std::make_shared<Engine>(ir::copy_graph(graph), std::map<std::string, Tensor>{},
                                         workspace_bytes,
                                         cubins ? *cubins : std::map<std::string, std::string>{});
  ExecutionContext fused(engine, input_dims, {.fuse_groups = true});
  ExecutionContext unfused(engine, input_dims, {.fuse_groups = false});
  Stream stream = create_stream();
  std::vector<LayerTime> fused_layers = fused.profile_layers(stream.get(), kIterations);
  std::vector<LayerTime> unfused_layers = unfused.profile_layers(stream.get(), kIterations);
  std::vector<FusionTiming> timings;
  std::set<std::string> off;
  for (const LayerTime& layer : fused_layers) {
    if (layer.members.empty()) continue;
    FusionTiming timing{layer.tactic, layer.members, 0, 0, true};
    std::set<std::string> values = touched_values(fused.specialized_graph(), layer.members);
    timing.fused_ms = steps_ms(fused_layers, layer.members, values);
    timing.unfused_ms = steps_ms(unfused_layers, layer.members, values);
    timing.kept = timing.fused_ms < timing.unfused_ms;
    if (!timing.kept) off.insert(layer.members.begin(), layer.members.end());
    timings.push_back(std::move(timing));
  }
  for (ir::Node* node : graph.nodes()) {
    if (off.contains(node->name)) node->attrs[passes::kFusionAttribute] = std::string("off");
  }
  if (cubins != nullptr) *cubins = engine->fused_kernels().cubins();
  return timings;
}

}  // namespace kiln::cuda
