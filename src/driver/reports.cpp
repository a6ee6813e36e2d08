// Model and engine reports as JSON (reports.h).
#include "driver/reports.h"

#include "kiln/summary.h"
#ifdef KILN_HAS_CUDA
#include "backends/cuda/runtime/fused_groups.h"
#endif

namespace kiln::driver {
namespace {

nlohmann::json values_json(const std::vector<ValueInfo>& values) {
  nlohmann::json list = nlohmann::json::array();
  for (const ValueInfo& value : values) {
    list.push_back({{"name", value.name}, {"dtype", value.dtype}, {"shape", value.shape}});
  }
  return list;
}

nlohmann::json unsupported_json(const std::vector<UnsupportedOp>& ops) {
  nlohmann::json list = nlohmann::json::array();
  for (const UnsupportedOp& op : ops) {
    list.push_back({{"op", op.op_type}, {"nodes", op.node_names}, {"reasons", op.reasons}});
  }
  return list;
}

nlohmann::json fusion_groups_json(const engine::LoadedEngine& loaded) {
  nlohmann::json groups = nlohmann::json::array();
#ifdef KILN_HAS_CUDA
  // The timed dims; an engine built without a GPU has none: symbolic dims are taken as 1.
  std::map<std::string, Dims> dims = loaded.config.tuned_input_dims;
  for (const ir::Value* input : loaded.graph.inputs()) {
    if (!input->is_constant() && !dims.contains(input->name))
      dims[input->name] = concrete_input_dims(*input, {});
  }
  for (const cuda::FusionGroupInfo& group : cuda::describe_fusion_groups(loaded.graph, dims)) {
    groups.push_back({{"ops", group.label},
                      {"kernel", group.kernel},
                      {"nodes", group.nodes},
                      {"row_length", group.row_length},
                      {"compiled_in_engine", loaded.kernels.contains(group.kernel)}});
  }
#else
  (void)loaded;
#endif
  return groups;
}

nlohmann::json layers_json(const engine::LoadedEngine& loaded) {
  nlohmann::json layers = nlohmann::json::array();
  for (const ir::Node* node : loaded.graph.nodes()) {
    nlohmann::json layer = {
        {"name", node->name},
        {"op", node->op},
        {"precision", node->precision ? precision_name(*node->precision) : "none"},
        {"tactic", node->attr_string("tactic", "")}};
    if (auto found = loaded.layer_timings.find(node->name); found != loaded.layer_timings.end()) {
      for (const auto& [precision, ms] : found->second)
        layer["timed_ms"][std::string(precision_name(precision))] = ms;
    }
    layers.push_back(layer);
  }
  return layers;
}

}  // namespace

nlohmann::json model_report(const LoadedModel& model) {
  ModelSummary summary = summarize_model(model.graph);
  return {{"format", model.format},
          {"producer", model.producer},
          {"opset", model.opset},
          {"optimized", model.optimized},
          {"inputs", values_json(summary.inputs)},
          {"outputs", values_json(summary.outputs)},
          {"node_count", summary.node_count},
          {"ops", summary.op_counts},
          {"constant_count", summary.constant_count},
          {"constant_bytes", summary.constant_bytes},
          {"unsupported", unsupported_json(model.unsupported)}};
}

namespace {

// {"batch": {"min": 1, "max": 32}} (max null: no upper bound) for the sizes an engine takes.
nlohmann::json dim_ranges_json(const ir::Graph& graph) {
  nlohmann::json ranges = nlohmann::json::object();
  for (const auto& [symbol, range] : graph.dim_ranges) {
    ranges[symbol] = {{"min", range.min},
                      {"max", range.max < 0 ? nlohmann::json(nullptr) : nlohmann::json(range.max)}};
  }
  return ranges;
}

}  // namespace

nlohmann::json engine_report(const engine::LoadedEngine& loaded) {
  ModelSummary summary = summarize_model(loaded.graph);
  std::map<std::string, std::string> constraints;
  for (const auto& [key, precision] : loaded.config.layer_precisions) {
    constraints[key] = precision_name(precision);
  }
  return {{"format_version", loaded.header.format_version},
          {"kiln_version", loaded.header.kiln_version},
          {"cuda_version", loaded.header.cuda_version},
          {"gpu_architecture", loaded.header.gpu_architecture},
          {"gpu_name", loaded.header.gpu_name},
          {"tuned_input_dims", loaded.config.tuned_input_dims},
          {"dim_ranges", dim_ranges_json(loaded.graph)},
          {"workspace_bytes", loaded.config.workspace_bytes},
          {"precisions", precisions_to_string(loaded.config.enabled_precisions)},
          {"strongly_typed", loaded.config.strongly_typed},
          {"layer_precisions", constraints},
          {"inputs", values_json(summary.inputs)},
          {"outputs", values_json(summary.outputs)},
          {"constant_count", summary.constant_count},
          {"constant_bytes", summary.constant_bytes},
          {"layers", layers_json(loaded)},
          {"fusion_groups", fusion_groups_json(loaded)}};
}

}  // namespace kiln::driver
