// kiln sweep: builds a model in each precision configuration with the builder `kiln build`
// uses, runs every build on the same inputs, and reports its latency and its outputs' error
// against the fp32 build's, recommending the fastest configuration within an error bound.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "commands.h"
#include "driver/engine_builder.h"
#include "engine/engine_file.h"
#include "input_options.h"
#include "kiln/latency_stats.h"
#include "progress.h"

namespace kiln::cli {
namespace {

struct SweepOptions {
  std::string model;
  InputOptions input;
  double max_error = 1e-2;
  std::string backend;  // empty: cuda where a GPU is present, else cpu
  int iterations = 100;
  int warmup = 10;
  bool json = false;
  bool cuda_graph = false;
  std::string timing_cache;
  std::vector<std::string> only_configs;  // --config: these (and fp32, the reference) only
};

// One configuration: named as `kiln build` takes it (-p NAME, or --strongly-typed).
struct SweepConfig {
  std::string name;
  engine::BuildConfig config;
};

// What one configuration measured; `failure` set where it could not build or run (e.g.
// bf16 on a GPU without it), and then nothing else is.
struct SweepResult {
  std::string name;
  std::map<std::string, int> layers;  // precision → float-computing layers in it
  double median_ms = std::nan("");
  double error = std::nan("");  // max normalized error over the outputs vs fp32's
  std::string failure;
  std::vector<std::string> warnings;
};

bool has_dtype(const ir::Graph& graph, DType dtype) {
  for (const ir::Value* value : graph.values()) {
    if (value->dtype == dtype) return true;
  }
  return false;
}

// fp32 first: the reference every other configuration's error is measured against.
std::vector<SweepConfig> sweep_configs(const ir::Graph& graph) {
  auto enabled = [](std::set<Precision> precisions, bool strongly_typed = false) {
    engine::BuildConfig config;
    config.enabled_precisions = std::move(precisions);
    config.strongly_typed = strongly_typed;
    return config;
  };
  std::vector<SweepConfig> configs{{"fp32", enabled({Precision::FP32})},
                                   {"fp32,tf32", enabled({Precision::FP32, Precision::TF32})},
                                   {"fp32,fp16", enabled({Precision::FP32, Precision::FP16})},
                                   {"fp32,bf16", enabled({Precision::FP32, Precision::BF16})}};
  // Only a model with narrow tensors of its own differs from fp32 when strongly typed.
  if (has_dtype(graph, DType::BFloat16) || has_dtype(graph, DType::Float16)) {
    configs.push_back({"strongly-typed", enabled({Precision::FP32}, true)});
  }
  return configs;
}

// The configurations --config names, in the sweep's order, with fp32 (the reference) first
// whether named or not.
std::vector<SweepConfig> chosen_configs(std::vector<SweepConfig> all,
                                        const std::vector<std::string>& names) {
  if (names.empty()) return all;
  std::string valid;
  for (const SweepConfig& config : all) valid += (valid.empty() ? "" : ", ") + config.name;
  for (const std::string& name : names) {
    bool known = std::any_of(all.begin(), all.end(),
                             [&](const SweepConfig& config) { return config.name == name; });
    if (!known)
      throw UsageError("--config " + name + ": not a configuration (valid: " + valid + ")");
  }
  std::vector<SweepConfig> chosen;
  for (SweepConfig& config : all) {
    if (config.name == "fp32" || std::count(names.begin(), names.end(), config.name) > 0)
      chosen.push_back(std::move(config));
  }
  return chosen;
}

// The largest normalized error over the outputs, in graph output order; NaN if any is NaN.
double max_output_error(const ModelRunner& runner, const std::map<std::string, Tensor>& outputs,
                        const std::vector<Tensor>& reference) {
  const std::vector<ir::Value*>& names = runner.graph().outputs();
  check(names.size() == reference.size(), ErrorKind::Runtime, "the build has ", names.size(),
        " outputs but the fp32 build has ", reference.size());
  double worst = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    double error = normalized_error(outputs.at(names[i]->name), reference[i]);
    if (std::isnan(error)) return error;
    worst = std::max(worst, error);
  }
  return worst;
}

// Builds `config` from a copy of `graph`, runs it and times it. Fills `reference` (the
// outputs in graph order) when it is empty: the fp32 build comes first.
SweepResult measure(const ir::Graph& graph, const SweepConfig& config, const SweepOptions& options,
                    Backend backend, engine::LayerTimer* timer, engine::TimingCache* cache,
                    const std::map<std::string, Tensor>& inputs, std::vector<Tensor>& reference) {
  SweepResult result{config.name};
  // Progress of layer timing (on the GPU) under this configuration's own line.
  engine::BuildResult built = engine::build_engine(ir::copy_graph(graph), config.config, timer,
                                                   cache, progress_printer(false));
  result.warnings = built.warnings;
  for (const ir::Node* node : built.graph.nodes()) {
    if (node->precision) result.layers[std::string(precision_name(*node->precision))]++;
  }
  ModelRunner runner(std::move(built.graph), built.config, backend);
  runner.prepare(inputs);
  std::map<std::string, Tensor> outputs = runner.run(inputs);
  if (reference.empty()) {
    for (const ir::Value* output : runner.graph().outputs())
      reference.push_back(outputs.at(output->name));
  }
  result.error = max_output_error(runner, outputs, reference);
  result.median_ms = latency_stats(runner.time_runs(inputs, options.warmup, options.iterations,
                                                    options.cuda_graph))
                         .median_ms;
  return result;
}

// A NaN error is never within the bound.
bool within(const SweepResult& result, double max_error) {
  return result.failure.empty() && result.error <= max_error;
}

// The fastest result within the bound; null if none is.
const SweepResult* recommend(const std::vector<SweepResult>& results, double max_error) {
  const SweepResult* best = nullptr;
  for (const SweepResult& result : results) {
    if (within(result, max_error) && (best == nullptr || result.median_ms < best->median_ms))
      best = &result;
  }
  return best;
}

std::string layers_text(const std::map<std::string, int>& layers) {
  std::string text;
  for (const auto& [precision, count] : layers) {
    text += (text.empty() ? "" : " ") + precision + ":" + std::to_string(count);
  }
  return text.empty() ? "-" : text;
}

std::string recommendation_line(const SweepResult* best, double max_error) {
  if (best == nullptr) {
    return "recommended: none: no configuration is within --max-error " + format_number(max_error);
  }
  return "recommended: " + best->name + " (" + format_number(best->median_ms) + " ms, error " +
         format_number(best->error) + "): fastest within --max-error " + format_number(max_error);
}

// NaN becomes null in JSON (nlohmann's rule), as in `kiln bench` and `kiln compare`.
void print_json(const SweepOptions& options, Backend backend,
                const std::vector<SweepResult>& results, const SweepResult* best) {
  double fp32_ms = results.front().median_ms;
  nlohmann::json report = {{"model", options.model},
                           {"backend", backend_name(backend)},
                           {"timing", timing_method(backend, options.cuda_graph)},
                           {"warmup", options.warmup},
                           {"iterations", options.iterations},
                           {"max_error", options.max_error},
                           {"configs", nlohmann::json::array()}};
  for (const SweepResult& result : results) {
    nlohmann::json entry = {
        {"name", result.name},           {"layers", result.layers},
        {"median_ms", result.median_ms}, {"speedup", fp32_ms / result.median_ms},
        {"error", result.error},         {"within_max_error", within(result, options.max_error)},
        {"warnings", result.warnings}};
    if (!result.failure.empty()) entry["failure"] = result.failure;
    report["configs"].push_back(entry);
  }
  report["recommended"] = best ? nlohmann::json(best->name) : nlohmann::json(nullptr);
  report["recommendation"] = recommendation_line(best, options.max_error);
  std::cout << report.dump(2) << '\n';
}

void print_table(const SweepOptions& options, Backend backend,
                 const std::vector<SweepResult>& results, const SweepResult* best) {
  double fp32_ms = results.front().median_ms;
  std::cout << "model " << options.model << "  (backend " << backend_name(backend) << ", "
            << options.warmup << " warm-up and " << options.iterations
            << " timed runs per config; timing: " << timing_method(backend, options.cuda_graph)
            << ")\n";
  std::printf("%-15s %-24s %11s %9s  %s\n", "config", "layers", "median ms", "speed-up", "error");
  for (const SweepResult& result : results) {
    if (!result.failure.empty()) {
      std::printf("%-15s failed: %s\n", result.name.c_str(), result.failure.c_str());
      continue;
    }
    std::printf("%-15s %-24s %11s %8.2fx  %s\n", result.name.c_str(),
                layers_text(result.layers).c_str(), format_number(result.median_ms).c_str(),
                fp32_ms / result.median_ms, format_number(result.error).c_str());
  }
  std::cout << recommendation_line(best, options.max_error) << '\n';
}

int sweep_model(const SweepOptions& options) {
  if (!(options.max_error >= 0)) {
    throw UsageError("--max-error " + format_number(options.max_error) +
                     ": give a normalized error of 0 or more, e.g. 1e-2");
  }
  InputArguments input_arguments = parse_input_arguments(options.input);
  if (engine::is_engine_file(options.model)) {
    throw UsageError("sweep needs a model (.onnx, .pt2, .pt), not an engine: '" + options.model +
                     "' was built in one configuration already");
  }
  Backend backend = resolve_backend(options.backend);
  if (options.cuda_graph && backend != Backend::Cuda)
    throw UsageError("--cuda-graph needs the cuda backend");
  ir::Graph graph = load_model(options.model);
  std::map<std::string, Tensor> inputs = model_inputs(graph, input_arguments);

  std::unique_ptr<engine::LayerTimer> timer =
      driver::make_timer(backend, engine::BuildConfig{}.workspace_bytes);
  engine::TimingCache cache;
  if (!options.timing_cache.empty()) cache = engine::TimingCache::load(options.timing_cache);
  std::vector<SweepConfig> configs = chosen_configs(sweep_configs(graph), options.only_configs);
  std::vector<Tensor> reference;
  std::vector<SweepResult> results;
  for (size_t i = 0; i < configs.size(); ++i) {
    SweepConfig& config = configs[i];
    for (const ir::Value* input : graph.inputs()) {
      if (!input->is_constant())
        config.config.tuned_input_dims[input->name] = inputs.at(input->name).dims();
    }
    std::fprintf(stderr, "sweep %zu/%zu %s: building and timing\n", i + 1, configs.size(),
                 config.name.c_str());
    auto start = std::chrono::steady_clock::now();
    try {
      results.push_back(measure(graph, config, options, backend, timer.get(),
                                timer ? &cache : nullptr, inputs, reference));
    } catch (const Error& error) {
      if (i == 0) throw;  // without the fp32 build there is nothing to compare against
      results.push_back({config.name});
      results.back().failure = error.what();
    }
    const SweepResult& result = results.back();
    for (const std::string& warning : result.warnings) {
      std::cerr << "kiln: warning: " << config.name << ": " << warning << '\n';
    }
    std::string outcome = result.failure.empty() ? "median " + format_number(result.median_ms) +
                                                       " ms, error " + format_number(result.error)
                                                 : "failed: " + result.failure;
    std::fprintf(stderr, "sweep %zu/%zu %s: %s (%s s)\n", i + 1, configs.size(),
                 config.name.c_str(), outcome.c_str(),
                 format_number(milliseconds_since(start) / 1000).c_str());
  }
  if (timer && !options.timing_cache.empty()) cache.save(options.timing_cache);

  const SweepResult* best = recommend(results, options.max_error);
  if (options.json) {
    print_json(options, backend, results, best);
  } else {
    print_table(options, backend, results, best);
  }
  return 0;
}

}  // namespace

Command add_sweep_command(CLI::App& parent) {
  auto options = std::make_shared<SweepOptions>();
  CLI::App* app = parent.add_subcommand(
      "sweep",
      "Build and time a model in each precision; recommend the fastest within --max-error");
  app->footer(
      "Configurations: fp32, fp32,tf32, fp32,fp16, fp32,bf16 and, for a model with bfloat16 or "
      "float16 tensors, --strongly-typed; each is built as `kiln build -p CONFIG` builds it and "
      "its outputs are compared with the fp32 build's (normalized error, largest over outputs).");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt)")->required();
  add_input_options(app, &options->input, DimDefault::One);
  app->add_option("--max-error", options->max_error,
                  "Largest normalized error vs the fp32 build a recommendation may have")
      ->capture_default_str();
  app->add_option("--backend", options->backend,
                  "cuda: build with GPU timings and time on the device (default where there is a "
                  "GPU); cpu: heuristic builds, timed by the wall clock")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app->add_option("--iterations", options->iterations, "Timed runs per configuration")
      ->check(CLI::Range(1, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app->add_option("--warmup", options->warmup, "Untimed runs first, per configuration")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  app->add_option("--config", options->only_configs,
                  "Sweep only this configuration (repeat for several; fp32, the reference, always "
                  "runs), e.g. --config fp32,bf16")
      ->delimiter('\0');
  app->add_flag("--json", options->json, "Print a JSON report instead of a table");
  app->add_flag(
      "--cuda-graph", options->cuda_graph,
      "Time replays of a captured CUDA graph, as `kiln bench --cuda-graph` (cuda backend)");
  app->add_option("--timing-cache", options->timing_cache,
                  "JSON file of layer timings, read and extended (cuda backend)");
  return {app, [options] { return sweep_model(*options); }};
}

}  // namespace kiln::cli
