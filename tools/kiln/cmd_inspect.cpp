// kiln inspect: a model's inputs and outputs (symbolic dims by name), op histogram,
// weights, and the ops Kiln does not support yet, with the nodes that use them.

#include "commands.h"
#include "driver/reports.h"
#include "engine/engine_file.h"
#include "ir/printer.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct InspectOptions {
  std::string model;
  bool no_optimize = false;
  bool json = false;
  bool graph = false;
};

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

// An engine file: its header, build config, every layer with its chosen precision, and its
// fusion groups.
int inspect_engine(const InspectOptions& options) {
  auto load_start = std::chrono::steady_clock::now();
  engine::LoadedEngine loaded = engine::read_engine(options.model);
  // What reading the engine cost; summarizing it below reads no weight bytes.
  double load_ms = milliseconds_since(load_start);
  uint64_t peak_memory = peak_host_memory_bytes();
  nlohmann::json report = driver::engine_report(loaded);
  if (options.json) {
    report["engine"] = options.model;
    report["load_ms"] = load_ms;
    report["peak_host_memory_bytes"] = peak_memory;
    std::cout << report.dump(2) << '\n';
    return 0;
  }
  ModelSummary summary = summarize_model(loaded.graph);
  auto layer_precision = [](const ir::Node& node) {
    return node.precision ? std::string(precision_name(*node.precision)) : std::string("none");
  };
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
  std::cout << "engine " << options.model << "\n  format " << loaded.header.format_version
            << ", built by kiln " << loaded.header.kiln_version << ", GPU "
            << loaded.header.gpu_architecture
            << (loaded.header.gpu_name.empty() ? "" : " (" + loaded.header.gpu_name + ")")
            << ", precisions " << precisions_to_string(loaded.config.enabled_precisions)
            << (loaded.config.strongly_typed ? ", strongly typed" : "") << '\n';
  for (const auto& [key, precision] : loaded.config.layer_precisions) {
    std::cout << "  constraint " << key << "=" << precision_name(precision) << '\n';
  }
  print_values("inputs", summary.inputs);
  print_values("outputs", summary.outputs);
  std::cout << "layers (" << summary.node_count << ")\n";
  for (const auto& [input, dims] : loaded.config.tuned_input_dims) {
    std::cout << "  timed at " << input << " " << dims_to_string(dims) << '\n';
  }
  for (const auto& [symbol, range] : loaded.graph.dim_ranges) {
    std::cout << "  accepts " << symbol << " in " << range.to_string() << '\n';
  }
  for (const ir::Node* node : loaded.graph.nodes()) {
    std::string timings = timings_text(*node);
    std::string tactic = node->attr_string("tactic", "");
    std::cout << "  " << layer_precision(*node) << "  " << node->op
              << (tactic.empty() ? "" : "/" + tactic) << "  " << node->name
              << (timings.empty() ? "" : "  (timed: " + timings + ")") << '\n';
  }
  const nlohmann::json& fusion_groups = report["fusion_groups"];
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
    nlohmann::json report = driver::model_report(model);
    report["model"] = options.model;
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
    if (options.graph) std::cout << "graph\n" << ir::print_graph(model.graph);
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
  app->add_flag("--graph", options->graph,
                "Also print every node (op, inputs, outputs with shapes, attributes) as text");
  return {app, [options] { return inspect_model(*options); }};
}

}  // namespace kiln::cli
