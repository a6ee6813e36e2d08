// kiln run: loads a model, runs it once on the CPU reference or the CUDA backend on given or
// random inputs, prints a summary of each output and the run time, and optionally saves outputs.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/tensor_io.h"
#include "driver/model_runner.h"
#include "input_options.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct RunOptions {
  std::string model;
  InputOptions input;
  std::string output_dir;
  std::string output_format = "npy";
  std::string save_inputs;
  std::string precisions = "fp32";
  std::string backend;  // empty: cuda where a GPU is present, else cpu
  bool strongly_typed = false;
  bool json = false;
};

// Writes outputs as DIR/NAME.npy or DIR/outputs.safetensors; returns the file per output.
std::map<std::string, std::string> save_outputs(const std::map<std::string, Tensor>& tensors,
                                                const std::filesystem::path& folder,
                                                const std::string& format) {
  std::filesystem::create_directories(folder);
  std::map<std::string, std::string> files;
  if (format == "safetensors") {
    std::filesystem::path path = folder / "outputs.safetensors";
    write_safetensors(path, tensors);
    for (const auto& [name, tensor] : tensors) files[name] = path.string();
    return files;
  }
  for (const auto& [name, tensor] : tensors) {
    std::filesystem::path path = folder / (file_safe_name(name) + ".npy");
    write_npy(path, tensor);
    files[name] = path.string();
  }
  return files;
}

nlohmann::json tensor_json(const Tensor& tensor) {
  nlohmann::json entry = stats_to_json(tensor_stats(tensor));
  entry["dtype"] = std::string(dtype_name(tensor.dtype()));
  entry["dims"] = tensor.dims();
  return entry;
}

int run_model(const RunOptions& options) {
  auto precisions = parse_argument([&] { return parse_precisions(options.precisions); });
  InputArguments input_arguments = parse_input_arguments(options.input);
  if (!options.save_inputs.empty() && !is_safetensors_path(options.save_inputs)) {
    throw UsageError("--save-inputs needs a path ending in .safetensors");
  }
  Backend backend = resolve_backend(options.backend);

  auto load_start = std::chrono::steady_clock::now();
  ModelRunner runner(options.model, precisions, options.strongly_typed, backend);
  precisions = runner.precisions();  // an engine's own
  bool strongly_typed = runner.strongly_typed();
  double load_ms = milliseconds_since(load_start);

  std::map<std::string, std::string> input_sources;
  std::map<std::string, Tensor> inputs =
      model_inputs(runner.graph(), input_arguments, &input_sources, runner.tuned_dim_sizes());
  if (!options.save_inputs.empty()) {
    std::filesystem::path path(options.save_inputs);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    write_safetensors(path, inputs);
  }

  // On CUDA the first run also builds the executor (weights uploaded, arena planned).
  auto run_start = std::chrono::steady_clock::now();
  std::map<std::string, Tensor> outputs = runner.run(inputs);
  double run_ms = milliseconds_since(run_start);
  std::vector<std::string> host_nodes = runner.host_nodes();

  std::map<std::string, std::string> files;
  if (!options.output_dir.empty()) {
    files = save_outputs(outputs, options.output_dir, options.output_format);
  }

  if (options.json) {
    nlohmann::json report = {{"model", options.model},
                             {"backend", backend_name(backend)},
                             {"precisions", precisions_to_string(precisions)},
                             {"strongly_typed", strongly_typed},
                             {"load_ms", load_ms},
                             {"run_ms", run_ms}};
    if (backend == Backend::Cuda) report["host_nodes"] = host_nodes;
    for (const auto& [name, tensor] : inputs) {
      report["inputs"][name] = {{"dtype", std::string(dtype_name(tensor.dtype()))},
                                {"dims", tensor.dims()},
                                {"source", input_sources[name]}};
    }
    // Listed in the graph's output order, which a JSON object would lose.
    report["outputs"] = nlohmann::json::array();
    for (const ir::Value* output : runner.graph().outputs()) {
      nlohmann::json entry = tensor_json(outputs.at(output->name));
      entry["name"] = output->name;
      if (files.count(output->name)) entry["file"] = files[output->name];
      report["outputs"].push_back(entry);
    }
    std::cout << report.dump(2) << '\n';
    return 0;
  }

  std::cout << "model " << options.model << "  (" << runner.graph().node_count()
            << " nodes, precisions " << precisions_to_string(precisions)
            << (strongly_typed ? ", strongly typed" : "") << ", backend " << backend_name(backend)
            << ")\n";
  for (const auto& [name, tensor] : inputs) {
    std::cout << "input  " << name << "  " << dtype_name(tensor.dtype()) << " "
              << dims_to_string(tensor.dims()) << "  " << input_sources[name] << '\n';
  }
  for (const ir::Value* output : runner.graph().outputs()) {
    const Tensor& tensor = outputs.at(output->name);
    TensorStats stats = tensor_stats(tensor);
    std::cout << "output " << output->name << "  " << dtype_name(tensor.dtype()) << " "
              << dims_to_string(tensor.dims()) << "\n       " << format_stats_line(stats)
              << "\n       first " << format_values(stats.first_values) << '\n';
    if (files.count(output->name)) std::cout << "       saved to " << files[output->name] << '\n';
  }
  if (!host_nodes.empty()) {
    std::cout << "host   " << host_nodes.size() << " node(s) ran on the CPU (no CUDA kernel)\n";
  }
  std::cout << "time   run " << format_number(run_ms) << " ms"
            << (backend == Backend::Cuda ? " (first run: includes building the executor)" : "")
            << "  (load + optimize " << format_number(load_ms) << " ms)\n";
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* app = parent.add_subcommand("run", "Run a model once on the GPU or the CPU reference");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt) or engine (.kiln)")
      ->required();
  add_input_options(app, &options->input, DimDefault::TunedSizes);
  app->add_option("-o,--output-dir", options->output_dir, "Write the outputs into this folder");
  app->add_option("--output-format", options->output_format,
                  "npy (one NAME.npy each) or safetensors (one outputs.safetensors)")
      ->check(CLI::IsMember({"npy", "safetensors"}));
  app->add_option("--save-inputs", options->save_inputs,
                  "Write the inputs used (given or random) to FILE.safetensors, which "
                  "--input FILE.safetensors reads back");
  app->add_option("-p,--precision", options->precisions,
                  "Enabled precisions, comma-separated: fp32,tf32,fp16,bf16")
      ->capture_default_str();
  app->add_flag("--strongly-typed", options->strongly_typed,
                "Obey the model's own dtypes; choose no precisions");
  app->add_option("--backend", options->backend,
                  "cuda or cpu (default: cuda where this build has CUDA and a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app->add_flag("--json", options->json, "Print a JSON report instead of text");
  return {app, [options] { return run_model(*options); }};
}

}  // namespace kiln::cli
