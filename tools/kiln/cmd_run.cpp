// kiln run: loads a model, runs it once on the CPU reference backend on given or random
// inputs, prints a summary of each output and the run time, and optionally saves outputs.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/tensor_io.h"
#include "engine/engine_file.h"
#include "kiln/inputs.h"
#include "kiln/kiln.h"

namespace kiln::cli {
namespace {

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> dims;
  std::string output_dir;
  std::string output_format = "npy";
  std::string save_inputs;
  std::string precisions = "fp32";
  std::string backend = "cpu";
  bool strongly_typed = false;
  uint64_t seed = 0;
  bool json = false;
};

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

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
  auto specs = parse_argument([&] {
    std::vector<InputSpec> parsed;
    for (const std::string& text : options.inputs) parsed.push_back(parse_input_spec(text));
    return parsed;
  });
  auto dim_sizes = parse_argument([&] {
    DimSizes sizes;
    for (const std::string& text : options.dims) sizes.insert(parse_dim_size(text));
    return sizes;
  });
  if (!options.save_inputs.empty() && !is_safetensors_path(options.save_inputs)) {
    throw UsageError("--save-inputs needs a path ending in .safetensors");
  }
  if (options.backend != "cpu") {
    fail(ErrorKind::Unsupported, "backend '", options.backend,
         "' is not available in this build (use --backend cpu)");
  }

  auto load_start = std::chrono::steady_clock::now();
  bool strongly_typed = options.strongly_typed;
  CpuSession session = [&] {
    if (!engine::is_engine_file(options.model)) {
      return CpuSession(load_model(options.model), precisions, strongly_typed);
    }
    // An engine runs in the precisions it was built with; --precision does not apply.
    engine::LoadedEngine loaded = engine::read_engine(options.model);
    precisions = loaded.config.enabled_precisions;
    strongly_typed = loaded.config.strongly_typed;
    return CpuSession(std::move(loaded.graph), precisions, strongly_typed, true);
  }();
  double load_ms = milliseconds_since(load_start);

  std::map<std::string, std::string> input_sources;
  std::map<std::string, Tensor> inputs = load_input_files(specs, session.graph(), &input_sources);
  // Symbols the given inputs fix, unless --dim says otherwise; the rest default to 1.
  for (const auto& [symbol, size] : dim_sizes_from_inputs(session.graph(), inputs)) {
    dim_sizes.emplace(symbol, size);
  }
  for (const ir::Value* input : session.graph().inputs()) {
    if (inputs.count(input->name)) continue;
    inputs.emplace(input->name,
                   make_random_input(session.graph(), *input, options.seed, dim_sizes));
    input_sources[input->name] = "random (seed " + std::to_string(options.seed) + ")";
  }
  if (!options.save_inputs.empty()) {
    std::filesystem::path path(options.save_inputs);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    write_safetensors(path, inputs);
  }

  auto run_start = std::chrono::steady_clock::now();
  std::map<std::string, Tensor> outputs = session.run(inputs);
  double run_ms = milliseconds_since(run_start);

  std::map<std::string, std::string> files;
  if (!options.output_dir.empty()) {
    files = save_outputs(outputs, options.output_dir, options.output_format);
  }

  if (options.json) {
    nlohmann::json report = {{"model", options.model},
                             {"backend", options.backend},
                             {"precisions", precisions_to_string(precisions)},
                             {"strongly_typed", strongly_typed},
                             {"load_ms", load_ms},
                             {"run_ms", run_ms}};
    for (const auto& [name, tensor] : inputs) {
      report["inputs"][name] = {{"dtype", std::string(dtype_name(tensor.dtype()))},
                                {"dims", tensor.dims()},
                                {"source", input_sources[name]}};
    }
    // Listed in the graph's output order, which a JSON object would lose.
    report["outputs"] = nlohmann::json::array();
    for (const ir::Value* output : session.graph().outputs()) {
      nlohmann::json entry = tensor_json(outputs.at(output->name));
      entry["name"] = output->name;
      if (files.count(output->name)) entry["file"] = files[output->name];
      report["outputs"].push_back(entry);
    }
    std::cout << report.dump(2) << '\n';
    return 0;
  }

  std::cout << "model " << options.model << "  (" << session.graph().node_count()
            << " nodes, precisions " << precisions_to_string(precisions)
            << (strongly_typed ? ", strongly typed" : "") << ", backend cpu)\n";
  for (const auto& [name, tensor] : inputs) {
    std::cout << "input  " << name << "  " << dtype_name(tensor.dtype()) << " "
              << dims_to_string(tensor.dims()) << "  " << input_sources[name] << '\n';
  }
  for (const ir::Value* output : session.graph().outputs()) {
    const Tensor& tensor = outputs.at(output->name);
    TensorStats stats = tensor_stats(tensor);
    std::cout << "output " << output->name << "  " << dtype_name(tensor.dtype()) << " "
              << dims_to_string(tensor.dims()) << "\n       " << format_stats_line(stats)
              << "\n       first " << format_values(stats.first_values) << '\n';
    if (files.count(output->name)) std::cout << "       saved to " << files[output->name] << '\n';
  }
  std::cout << "time   run " << format_number(run_ms) << " ms  (load + optimize "
            << format_number(load_ms) << " ms)\n";
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* app = parent.add_subcommand("run", "Run a model once on the CPU reference backend");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt) or engine (.kiln)")
      ->required();
  app->add_option("-i,--input", options->inputs,
                  "NAME=FILE (.npy, or .safetensors holding NAME), or FILE.safetensors for all "
                  "inputs by name; inputs not given are random");
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
  app->add_option("--backend", options->backend, "Backend to run on")->capture_default_str();
  app->add_option("--dim", options->dims, "Size of a symbolic dim: NAME=SIZE (default 1)");
  app->add_option("--seed", options->seed, "Seed for random inputs")->capture_default_str();
  app->add_flag("--json", options->json, "Print a JSON report instead of text");
  return {app, [options] { return run_model(*options); }};
}

}  // namespace kiln::cli
