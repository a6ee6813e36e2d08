// The model-input options shared by run, bench, sweep and debug-precision (input_options.h).
#include "input_options.h"

#include "commands.h"

namespace kiln::cli {

void add_input_options(CLI::App* app, InputOptions* options, DimDefault dim_default) {
  app->add_option("-i,--input", options->inputs,
                  "NAME=FILE (.npy, or .safetensors holding NAME), or FILE.safetensors for all "
                  "inputs by name; inputs not given are random");
  add_random_input_options(app, options, dim_default);
}

void add_random_input_options(CLI::App* app, InputOptions* options, DimDefault dim_default) {
  const char* dim_help =
      dim_default == DimDefault::TunedSizes
          ? "Size of a symbolic dim: NAME=SIZE (default: an engine's tuned size, else 1)"
          : "Size of a symbolic dim: NAME=SIZE (default 1)";
  app->add_option("--dim", options->dims, dim_help);
  app->add_option("--seed", options->seed, "Seed for random inputs")->capture_default_str();
}

InputArguments parse_input_arguments(const InputOptions& options) {
  return parse_argument([&] {
    InputArguments parsed;
    parsed.seed = options.seed;
    for (const std::string& text : options.inputs) parsed.specs.push_back(parse_input_spec(text));
    for (const std::string& text : options.dims) parsed.dim_sizes.insert(parse_dim_size(text));
    return parsed;
  });
}

std::map<std::string, Tensor> model_inputs(const ir::Graph& graph, const InputArguments& arguments,
                                           std::map<std::string, std::string>* sources,
                                           const DimSizes& fallback) {
  std::map<std::string, Tensor> inputs = load_input_files(arguments.specs, graph, sources);
  DimSizes dim_sizes = arguments.dim_sizes;
  for (const auto& [symbol, size] : dim_sizes_from_inputs(graph, inputs))
    dim_sizes.emplace(symbol, size);
  dim_sizes.insert(fallback.begin(), fallback.end());  // only symbols still unsized
  for (const ir::Value* input : graph.inputs()) {
    if (inputs.count(input->name)) continue;
    inputs.emplace(input->name, make_random_input(graph, *input, arguments.seed, dim_sizes));
    if (sources) (*sources)[input->name] = "random (seed " + std::to_string(arguments.seed) + ")";
  }
  return inputs;
}

}  // namespace kiln::cli
