// kiln build: loads and optimizes a model, chooses each layer's precision (timed on the GPU
// where there is one, else by the documented heuristic; the user's per-layer constraints on
// top), and writes an engine file that `kiln run`, `kiln bench` and `kiln inspect` read.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "driver/engine_builder.h"
#include "kiln/inputs.h"
#include "kiln/kiln.h"
#include "progress.h"

namespace kiln::cli {
namespace {

struct BuildOptions {
  std::string model;
  std::string output;
  std::string precisions = "fp32";
  std::string conv_layout = "nhwc";
  bool strongly_typed = false;
  std::vector<std::string> layer_precisions;
  std::vector<std::string> dims;
  std::string timing_cache;
  std::string backend;  // "cpu": no timing even where a GPU exists
  int64_t workspace_mib = 64;
  bool quiet = false;
};

// "NAME_OR_OP=fp32" → {"NAME_OR_OP", FP32}.
std::pair<std::string, Precision> parse_layer_precision(const std::string& text) {
  size_t equals = text.rfind('=');
  check(equals != std::string::npos && equals > 0, ErrorKind::InvalidArgument,
        "--layer-precision '", text, "' should be NAME_OR_OP=PRECISION, e.g. MatMul=fp32");
  std::string name = text.substr(equals + 1);
  std::optional<Precision> precision = precision_from_name(name);
  check(precision.has_value(), ErrorKind::InvalidArgument, "--layer-precision '", text,
        "': unknown precision '", name, "' (valid: fp32, tf32, fp16, bf16)");
  return {text.substr(0, equals), *precision};
}

int build_engine(const BuildOptions& options) {
  driver::BuildRequest request;
  engine::BuildConfig& config = request.config;
  config.enabled_precisions = parse_argument([&] { return parse_precisions(options.precisions); });
  config.strongly_typed = options.strongly_typed;
  config.workspace_bytes = size_t(options.workspace_mib) << 20;
  config.channels_last = options.conv_layout == "nhwc";
  parse_argument([&] {
    for (const std::string& text : options.layer_precisions) {
      config.layer_precisions.insert(parse_layer_precision(text));
    }
    for (const std::string& text : options.dims) {
      DimSpec spec = parse_dim_spec(text);
      request.dim_sizes[spec.name] = spec.size;
      if (spec.range) request.dim_ranges[spec.name] = *spec.range;
    }
    return 0;
  });
  request.backend = resolve_backend(options.backend);
  request.timing_cache = options.timing_cache;
  request.progress = progress_printer(options.quiet);

  auto start = std::chrono::steady_clock::now();
  driver::BuiltEngine engine = driver::build_model_engine(load_model(options.model), request);
  const engine::BuildResult& built = engine.built;
  for (const std::string& warning : built.warnings)
    std::cerr << "kiln: warning: " << warning << '\n';
  driver::write_built_engine(options.output, engine);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<std::string, int> layers_per_precision;
  for (const ir::Node* node : built.graph.nodes()) {
    layers_per_precision[node->precision ? std::string(precision_name(*node->precision))
                                         : "none"]++;
  }
  std::cout << "built " << options.output << " from " << options.model << "  ("
            << built.graph.node_count() << " layers, precisions "
            << precisions_to_string(built.config.enabled_precisions)
            << (built.config.strongly_typed ? ", strongly typed" : "") << ")\n";
  if (engine.timed) {
    std::cout << "gpu    " << built.header.gpu_name << " (" << built.header.gpu_architecture
              << "): " << built.layers_timed << " layer timings measured, " << built.timings_cached
              << " from the timing cache\n"
              << "fusion " << engine.fusion_summary << "; " << engine.kernels.size()
              << " generated kernels (" << engine.kernels_cached << " from the timing cache), "
              << engine.kernels_compiled << " NVRTC compiles\n";
  } else {
    std::cout << "gpu    none: precisions chosen by the heuristic in docs/precision.md\n";
  }
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
  app->add_option("--dim", options->dims,
                  "NAME=SIZE: time layers with this symbolic dim at SIZE (default 1); "
                  "NAME=MIN:OPT:MAX: the engine also accepts any size from MIN to MAX, timed at "
                  "OPT (repeatable)");
  app->add_option("--timing-cache", options->timing_cache,
                  "JSON file of layer timings, read and extended, so rebuilds time nothing twice");
  app->add_option("--workspace", options->workspace_mib,
                  "MiB of scratch memory each execution context gives cuBLASLt/cuDNN")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--conv-layout", options->conv_layout,
                  "nhwc: channels-last convolutions with bias, residual and activation fused "
                  "(cuDNN graphs; depthwise ones through Kiln's own kernel); nchw: as the model "
                  "has them (cuDNN's legacy API), the fallback")
      ->check(CLI::IsMember({"nhwc", "nchw"}))
      ->capture_default_str();
  app->add_option("--backend", options->backend,
                  "cuda: time layers on the GPU (default where there is one); cpu: heuristic only")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app->add_flag("-q,--quiet", options->quiet, "No progress on stderr");
  return {app, [options] { return build_engine(*options); }};
}

}  // namespace kiln::cli
