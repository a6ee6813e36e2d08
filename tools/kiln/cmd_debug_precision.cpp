// kiln debug-precision: runs a model in the given precisions beside an fp32 run, layer by
// layer on the CPU reference, and lists the layers whose error against fp32 grows most, so
// that the user knows which layer to pin to fp32.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "commands.h"
#include "engine/build_engine.h"
#include "engine/engine_file.h"
#include "input_options.h"

namespace kiln::cli {
namespace {

constexpr const char* kPinHint = "pin a layer with: kiln build MODEL --layer-precision NAME=fp32";

struct DebugPrecisionOptions {
  std::string model;
  std::string precisions;
  bool strongly_typed = false;
  InputOptions input;
  int top = 10;
  bool json = false;
};

// One layer's error against the fp32 run, and how much of it the layer added.
struct LayerError {
  std::string name;
  std::string op;
  std::string precision;  // "-" for a layer without one
  double error = 0;       // normalized error of its float outputs (the largest)
  // error − the largest error of its computed float inputs; +inf where a NaN first appears,
  // NaN where an input was NaN already (nothing to learn there).
  double growth = 0;
};

// The larger of two errors; NaN if either is.
double worse(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
}

// The graph `kiln build` would store for `config` without a GPU (so layer names are those
// --layer-precision takes), with every float value a node computes made a graph output.
// The first `original_outputs` outputs are the model's own.
ir::Graph probe_graph(const ir::Graph& graph, const engine::BuildConfig& config) {
  ir::Graph built = engine::build_engine(ir::copy_graph(graph), config, nullptr, nullptr).graph;
  for (ir::Node* node : built.nodes()) {
    for (ir::Value* output : node->outputs) {
      if (output != nullptr && is_floating(output->dtype) && !built.is_graph_output(output)) {
        built.add_output(output);
      }
    }
  }
  return built;
}

// Runs `graph` with the precisions its build chose.
std::map<std::string, Tensor> run_probe(ir::Graph graph, const engine::BuildConfig& config,
                                        const std::map<std::string, Tensor>& inputs) {
  CpuSession session(std::move(graph), config.enabled_precisions, config.strongly_typed,
                     /*keep_precisions=*/true);
  return session.run(inputs);
}

// Every float-computing node's error and growth, in node order.
std::vector<LayerError> layer_errors(const ir::Graph& tested,
                                     const std::map<std::string, Tensor>& actual,
                                     const std::map<std::string, Tensor>& reference) {
  std::map<const ir::Value*, double> value_error;
  std::vector<LayerError> layers;
  for (const ir::Node* node : tested.nodes()) {
    bool has_float_output = false;
    double error = 0;
    for (const ir::Value* output : node->outputs) {
      if (output == nullptr || !is_floating(output->dtype)) continue;
      has_float_output = true;
      value_error[output] = normalized_error(actual.at(output->name), reference.at(output->name));
      error = worse(error, value_error[output]);
    }
    if (!has_float_output) continue;
    double inherited = 0;
    for (const ir::Value* input : node->inputs) {
      auto found = input == nullptr ? value_error.end() : value_error.find(input);
      if (found != value_error.end()) inherited = worse(inherited, found->second);
    }
    double growth = std::isnan(inherited) ? std::nan("")
                    : std::isnan(error)   ? std::numeric_limits<double>::infinity()
                                          : error - inherited;
    layers.push_back({node->name, node->op,
                      node->precision ? std::string(precision_name(*node->precision)) : "-", error,
                      growth});
  }
  return layers;
}

// Largest growth first; NaN growth (an input was NaN already) last.
void sort_by_growth(std::vector<LayerError>& layers) {
  auto key = [](double growth) {
    return std::isnan(growth) ? -std::numeric_limits<double>::infinity() : growth;
  };
  std::stable_sort(layers.begin(), layers.end(), [&](const LayerError& a, const LayerError& b) {
    return key(a.growth) > key(b.growth);
  });
}

void print_table(const DebugPrecisionOptions& options, const std::string& precisions,
                 size_t compared, double output_error, const std::vector<LayerError>& shown) {
  std::cout << "model " << options.model << ": " << precisions
            << (options.strongly_typed ? ", strongly typed" : "")
            << " vs fp32, layer by layer on the CPU reference (rounding emulated)\n"
            << "output error " << format_number(output_error)
            << " (largest normalized error over the model's outputs)\n"
            << "layers whose error grows most (" << shown.size() << " of " << compared << "):\n";
  int name_width = 5, op_width = 2;
  for (const LayerError& layer : shown) {
    name_width = std::max(name_width, int(layer.name.size()));
    op_width = std::max(op_width, int(layer.op.size()));
  }
  std::printf("  %-*s  %-*s  %-9s  %12s  %12s\n", name_width, "layer", op_width, "op", "precision",
              "output error", "growth");
  for (const LayerError& layer : shown) {
    std::printf("  %-*s  %-*s  %-9s  %12s  %12s\n", name_width, layer.name.c_str(), op_width,
                layer.op.c_str(), layer.precision.c_str(), format_number(layer.error).c_str(),
                format_number(layer.growth).c_str());
  }
  std::cout << kPinHint << '\n';
}

// NaN and infinities become null in JSON (nlohmann's rule).
void print_json(const DebugPrecisionOptions& options, const std::string& precisions,
                size_t compared, double output_error, const std::vector<LayerError>& shown) {
  nlohmann::json report = {{"model", options.model},
                           {"precisions", precisions},
                           {"strongly_typed", options.strongly_typed},
                           {"backend", "cpu"},
                           {"layers_compared", compared},
                           {"output_error", output_error},
                           {"layers", nlohmann::json::array()},
                           {"hint", kPinHint}};
  for (const LayerError& layer : shown) {
    report["layers"].push_back({{"name", layer.name},
                                {"op", layer.op},
                                {"precision", layer.precision},
                                {"error", layer.error},
                                {"growth", layer.growth}});
  }
  std::cout << report.dump(2) << '\n';
}

int debug_precision(const DebugPrecisionOptions& options) {
  engine::BuildConfig tested_config;
  tested_config.enabled_precisions =
      parse_argument([&] { return parse_precisions(options.precisions); });
  tested_config.strongly_typed = options.strongly_typed;
  InputArguments input_arguments = parse_input_arguments(options.input);
  if (engine::is_engine_file(options.model)) {
    throw UsageError("debug-precision needs a model (.onnx, .pt2, .pt), not an engine: '" +
                     options.model + "' has its precisions chosen already");
  }
  ir::Graph graph = load_model(options.model);
  std::map<std::string, Tensor> inputs = model_inputs(graph, input_arguments);
  size_t model_outputs = graph.outputs().size();

  engine::BuildConfig fp32_config;  // fp32 only, not strongly typed
  ir::Graph tested = probe_graph(graph, tested_config);
  std::map<std::string, Tensor> reference =
      run_probe(probe_graph(graph, fp32_config), fp32_config, inputs);
  std::map<std::string, Tensor> actual = run_probe(ir::copy_graph(tested), tested_config, inputs);

  double output_error = 0;
  for (size_t i = 0; i < model_outputs; ++i) {
    const std::string& name = tested.outputs()[i]->name;
    output_error = worse(output_error, normalized_error(actual.at(name), reference.at(name)));
  }
  std::vector<LayerError> layers = layer_errors(tested, actual, reference);
  size_t compared = layers.size();
  sort_by_growth(layers);
  if (layers.size() > size_t(options.top)) layers.resize(size_t(options.top));
  std::string precisions = precisions_to_string(tested_config.enabled_precisions);
  if (options.json) {
    print_json(options, precisions, compared, output_error, layers);
  } else {
    print_table(options, precisions, compared, output_error, layers);
  }
  return 0;
}

}  // namespace

Command add_debug_precision_command(CLI::App& parent) {
  auto options = std::make_shared<DebugPrecisionOptions>();
  CLI::App* app = parent.add_subcommand(
      "debug-precision", "List the layers whose error against fp32 grows most in a precision");
  app->footer(
      "Runs on the CPU reference backend, which emulates each precision's rounding, beside an "
      "fp32 run of the same inputs, comparing every layer's output. growth = a layer's output "
      "error minus the largest error of its computed inputs.");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt)")->required();
  app->add_option("-p,--precision", options->precisions,
                  "Enabled precisions to debug, comma-separated: e.g. bf16 or fp32,fp16")
      ->required();
  app->add_flag("--strongly-typed", options->strongly_typed,
                "Obey the model's own dtypes; choose no precisions");
  add_input_options(app, &options->input, DimDefault::One);
  app->add_option("--top", options->top, "How many layers to list")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app->add_flag("--json", options->json, "Print a JSON report instead of a table");
  return {app, [options] { return debug_precision(*options); }};
}

}  // namespace kiln::cli
