// kiln inspect: a model's inputs and outputs (symbolic dims by name), op histogram,
// weights, and the ops Kiln does not support yet, with the nodes that use them.
#include <iostream>

#include "commands.h"
#include "engine/engine_file.h"
#ifdef KILN_HAS_CUDA
#include "backends/cuda/runtime/fused_groups.h"
#endif
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct InspectOptions {
  std::string model;
  bool no_optimize = false;
  bool json = false;
};

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

void print_values(const char* title, const std::vector<ValueInfo>& values) {
  std::cout << title << '\n';
  for (const ValueInfo& value : values) {
    std::cout << "  " << value.name << "  " << value.dtype << " " << value.shape << '\n';
  }
}

void print_unsupported(const std::vector<UnsupportedOp>& ops) {
  std::cout << "unsupported" << (ops.empty() ? "  none" : "") << '\n';
  for (const UnsupportedOp& op : ops) {
    std::cout << "  " << op.op_type << "  nodes:";
    for (const std::string& node : op.node_names) std::cout << " '" << node << "'";
    std::cout << '\n';
    for (const std::string& reason : op.reasons) std::cout << "    " << reason << '\n';
  }
}

// An engine file: its header, build config, and every layer with its chosen precision.
// The engine's fusion groups at the dims its layers were timed at (as the CUDA runtime makes
// them; none in a build without CUDA), each with whether the engine holds its compiled kernel.
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

int inspect_engine(const InspectOptions& options) {
  auto load_start = std::chrono::steady_clock::now();
  engine::LoadedEngine loaded = engine::read_engine(options.model);
  // What reading the engine cost; summarizing it below reads no weight bytes.
  double load_ms = milliseconds_since(load_start);
  uint64_t peak_memory = peak_host_memory_bytes();
  ModelSummary summary = summarize_model(loaded.graph);
  nlohmann::json fusion_groups = fusion_groups_json(loaded);
  auto layer_precision = [](const ir::Node& node) {
    return node.precision ? std::string(precision_name(*node.precision)) : std::string("none");
  };
  std::map<std::string, std::string> constraints;
  for (const auto& [key, precision] : loaded.config.layer_precisions) {
    constraints[key] = precision_name(precision);
  }
  // "bf16 0.0123 ms, fp32 0.0345 ms": what the build measured for a timed layer.
  auto timings_text = [&](const ir::Node& node) {
    std::string text;
    auto found = loaded.layer_timings.find(node.name);
    if (found == loaded.layer_timings.end()) return text;
    for (const auto& [precision, ms] : found->second) {
      text += (text.empty() ? "" : ", ") + std::string(precision_name(precision)) + " " +
              format_number(ms) + " ms";
    }
    return text;
  };
  if (options.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const ir::Node* node : loaded.graph.nodes()) {
      nlohmann::json layer = {{"name", node->name},
                              {"op", node->op},
                              {"precision", layer_precision(*node)},
                              {"tactic", node->attr_string("tactic", "")}};
      if (auto found = loaded.layer_timings.find(node->name); found != loaded.layer_timings.end()) {
        for (const auto& [precision, ms] : found->second)
          layer["timed_ms"][std::string(precision_name(precision))] = ms;
      }
      layers.push_back(layer);
    }
    nlohmann::json report = {{"engine", options.model},
                             {"format_version", loaded.header.format_version},
                             {"kiln_version", loaded.header.kiln_version},
                             {"cuda_version", loaded.header.cuda_version},
                             {"gpu_architecture", loaded.header.gpu_architecture},
                             {"gpu_name", loaded.header.gpu_name},
                             {"tuned_input_dims", loaded.config.tuned_input_dims},
                             {"workspace_bytes", loaded.config.workspace_bytes},
                             {"precisions", precisions_to_string(loaded.config.enabled_precisions)},
                             {"strongly_typed", loaded.config.strongly_typed},
                             {"layer_precisions", constraints},
                             {"inputs", values_json(summary.inputs)},
                             {"outputs", values_json(summary.outputs)},
                             {"constant_bytes", summary.constant_bytes},
                             {"load_ms", load_ms},
                             {"peak_host_memory_bytes", peak_memory},
                             {"layers", layers},
                             {"fusion_groups", fusion_groups}};
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  std::cout << "engine " << options.model << "\n  format " << loaded.header.format_version
            << ", built by kiln " << loaded.header.kiln_version << ", GPU "
            << loaded.header.gpu_architecture
            << (loaded.header.gpu_name.empty() ? "" : " (" + loaded.header.gpu_name + ")")
            << ", precisions " << precisions_to_string(loaded.config.enabled_precisions)
            << (loaded.config.strongly_typed ? ", strongly typed" : "") << '\n';
  for (const auto& [key, precision] : constraints) {
    std::cout << "  constraint " << key << "=" << precision << '\n';
  }
  print_values("inputs", summary.inputs);
  print_values("outputs", summary.outputs);
  std::cout << "layers (" << summary.node_count << ")\n";
  for (const auto& [input, dims] : loaded.config.tuned_input_dims) {
    std::cout << "  timed at " << input << " " << dims_to_string(dims) << '\n';
  }
  for (const ir::Node* node : loaded.graph.nodes()) {
    std::string timings = timings_text(*node);
    std::string tactic = node->attr_string("tactic", "");
    std::cout << "  " << layer_precision(*node) << "  " << node->op
              << (tactic.empty() ? "" : "/" + tactic) << "  " << node->name
              << (timings.empty() ? "" : "  (timed: " + timings + ")") << '\n';
  }
  std::cout << "fusion groups (" << fusion_groups.size() << ", one generated kernel each)\n";
  for (const nlohmann::json& group : fusion_groups) {
    std::vector<std::string> nodes = group["nodes"];
    std::cout << "  " << group["ops"].get<std::string>() << "  " << nodes.front()
              << (nodes.size() > 1 ? " .. " + nodes.back() : "") << "  "
              << group["kernel"].get<std::string>()
              << (group["compiled_in_engine"].get<bool>() ? "" : " (compiled when loaded)") << '\n';
  }
  std::cout << "constants  " << summary.constant_count << " (" << summary.constant_bytes
            << " bytes)\n"
            << "loaded in " << format_number(load_ms) << " ms, peak host memory "
            << format_number(double(peak_memory) / (1 << 20)) << " MiB\n";
  return 0;
}

int inspect_model(const InspectOptions& options) {
  if (engine::is_engine_file(options.model)) return inspect_engine(options);
  LoadOptions load_options;
  load_options.optimize = !options.no_optimize;
  load_options.keep_unsupported = true;
  LoadedModel model = open_model(options.model, load_options);
  ModelSummary summary = summarize_model(model.graph);

  if (options.json) {
    nlohmann::json report = {{"model", options.model},
                             {"format", model.format},
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
    std::cout << report.dump(2) << '\n';
  } else {
    std::cout << "model " << options.model << "\n  " << model.format;
    if (!model.producer.empty()) std::cout << ", made by " << model.producer;
    if (model.opset) std::cout << ", opset " << model.opset;
    std::cout << (model.optimized ? ", optimized" : ", as imported") << '\n';
    print_values("inputs", summary.inputs);
    print_values("outputs", summary.outputs);
    std::cout << "ops (" << summary.node_count << " nodes)\n";
    for (const auto& [op, count] : summary.op_counts)
      std::cout << "  " << op << "  " << count << '\n';
    std::cout << "constants  " << summary.constant_count << " (" << summary.constant_bytes
              << " bytes)\n";
    print_unsupported(model.unsupported);
  }
  if (!model.unsupported.empty()) {
    std::cerr << "kiln: error: the model uses " << model.unsupported.size()
              << " op type(s) Kiln does not support yet (listed above)\n";
    return 1;
  }
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& parent) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* app = parent.add_subcommand("inspect", "Describe a model: interface, ops, weights");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt) or engine (.kiln)")
      ->required();
  app->add_flag("--no-optimize", options->no_optimize, "Show the graph as imported");
  app->add_flag("--json", options->json, "Print a JSON report instead of text");
  return {app, [options] { return inspect_model(*options); }};
}

}  // namespace kiln::cli
