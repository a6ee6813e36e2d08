// kiln build: loads and optimizes a model, chooses each layer's precision (with the user's
// per-layer constraints), and writes an engine file that `kiln run` and `kiln inspect` read.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "engine/build_engine.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct BuildOptions {
  std::string model;
  std::string output;
  std::string precisions = "fp32";
  bool strongly_typed = false;
  std::vector<std::string> layer_precisions;
};

// "NAME_OR_OP=fp32" → {"NAME_OR_OP", FP32}.
std::pair<std::string, Precision> parse_layer_precision(const std::string& text) {
  size_t equals = text.rfind('=');
  check(equals != std::string::npos && equals > 0, ErrorKind::InvalidArgument, "--layer-precision '",
        text, "' should be NAME_OR_OP=PRECISION, e.g. MatMul=fp32");
  std::string name = text.substr(equals + 1);
  std::optional<Precision> precision = precision_from_name(name);
  check(precision.has_value(), ErrorKind::InvalidArgument, "--layer-precision '", text,
        "': unknown precision '", name, "' (valid: fp32, tf32, fp16, bf16)");
  return {text.substr(0, equals), *precision};
}

int build_engine(const BuildOptions& options) {
  engine::BuildConfig config;
  config.enabled_precisions = parse_argument([&] { return parse_precisions(options.precisions); });
  config.strongly_typed = options.strongly_typed;
  parse_argument([&] {
    for (const std::string& text : options.layer_precisions) {
      config.layer_precisions.insert(parse_layer_precision(text));
    }
    return 0;
  });

  auto start = std::chrono::steady_clock::now();
  ir::Graph graph = load_model(options.model);
  engine::assign_engine_precisions(graph, config);
  engine::write_engine(options.output, graph, config);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<std::string, int> layers_per_precision;
  for (const ir::Node* node : graph.nodes()) {
    layers_per_precision[node->precision ? std::string(precision_name(*node->precision)) : "none"]++;
  }
  std::cout << "built " << options.output << " from " << options.model << "  ("
            << graph.node_count() << " layers, precisions "
            << precisions_to_string(config.enabled_precisions)
            << (config.strongly_typed ? ", strongly typed" : "") << ")\n";
  for (const auto& [precision, count] : layers_per_precision) {
    std::cout << "  " << precision << "  " << count << " layers\n";
  }
  std::cout << "size   " << std::filesystem::file_size(options.output) << " bytes\n"
            << "time   " << format_number(seconds) << " s\n";
  return 0;
}

}  // namespace

Command add_build_command(CLI::App& parent) {
  auto options = std::make_shared<BuildOptions>();
  CLI::App* app = parent.add_subcommand("build", "Build an engine file from a model");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt)")->required();
  app->add_option("-o,--output", options->output, "Engine file to write (e.g. model.kiln)")
      ->required();
  app->add_option("-p,--precision", options->precisions,
                  "Enabled precisions, comma-separated: fp32,tf32,fp16,bf16")
      ->capture_default_str();
  app->add_flag("--strongly-typed", options->strongly_typed,
                "Obey the model's own dtypes; choose no precisions");
  app->add_option("--layer-precision", options->layer_precisions,
                  "NAME_OR_OP=PRECISION: run the node of that name, or every node of that op, "
                  "in that precision (repeatable)");
  return {app, [options] { return build_engine(*options); }};
}

}  // namespace kiln::cli
