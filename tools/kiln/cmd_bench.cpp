// kiln bench: runs a model or engine on random inputs many times after a warm-up and prints
// its latency (min, median, p90, p99), throughput and, on the GPU, the time and precision of
// every layer, as a short table or JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "driver/model_runner.h"
#include "input_options.h"
#include "kiln/kiln.h"
#include "kiln/latency_stats.h"

namespace kiln::cli {
namespace {

struct BenchOptions {
  std::string model;
  std::string precisions = "fp32";
  std::string backend;  // empty: cuda where a GPU is present, else cpu
  bool strongly_typed = false;
  int warmup = 20;
  int iterations = 200;
  InputOptions input;  // --dim and --seed: bench reads no input files
  bool json = false;
  bool cuda_graph = false;
  bool no_fusion = false;
  int layer_rows = 15;
};

// The bytes a layer's tensors hold over its time: for a memory-bound layer (elementwise,
// fusion groups, copies) how close it comes to the GPU's bandwidth.
double gigabytes_per_second(const LayerProfile& layer) {
  return layer.median_ms > 0 ? double(layer.bytes) / (layer.median_ms * 1e6) : 0.0;
}

// A convolution's or matrix product's arithmetic over its time, against the tensor-core peak.
double teraflops_per_second(const LayerProfile& layer) {
  return layer.median_ms > 0 ? layer.flops / (layer.median_ms * 1e9) : 0.0;
}

// The layer table: the slowest layers first, then the share of each op.
void print_layers(const std::vector<LayerProfile>& layers, int rows) {
  double total = 0;
  std::map<std::string, double> per_op;
  for (const LayerProfile& layer : layers) {
    total += layer.median_ms;
    per_op[layer.op] += layer.median_ms;
  }
  std::vector<const LayerProfile*> order;
  for (const LayerProfile& layer : layers) order.push_back(&layer);
  std::stable_sort(order.begin(), order.end(), [](const LayerProfile* a, const LayerProfile* b) {
    return a->median_ms > b->median_ms;
  });
  std::cout << "layers (" << layers.size() << " steps, sum of medians " << format_number(total)
            << " ms; slowest " << std::min<size_t>(order.size(), size_t(rows)) << ")\n";
  for (size_t i = 0; i < order.size() && i < size_t(rows); ++i) {
    const LayerProfile& layer = *order[i];
    std::string op = layer.tactic.empty() ? layer.op : layer.op + "/" + layer.tactic;
    // Compute-bound layers show TFLOP/s, the others GB/s.
    char rate[32];
    if (layer.flops > 0) {
      std::snprintf(rate, sizeof rate, "%6.1f TFLOP/s", teraflops_per_second(layer));
    } else {
      std::snprintf(rate, sizeof rate, "%6.0f GB/s   ", gigabytes_per_second(layer));
    }
    std::printf("  %9.4f ms %5.1f%% %s  %-5s %-12s %s%s\n", layer.median_ms,
                total > 0 ? 100.0 * layer.median_ms / total : 0.0, rate,
                layer.precision.empty() ? "-" : layer.precision.c_str(), op.c_str(),
                layer.name.c_str(), layer.on_host ? "  (host)" : "");
  }
  std::vector<std::pair<double, std::string>> ops;
  for (const auto& [op, ms] : per_op) ops.emplace_back(ms, op);
  std::sort(ops.rbegin(), ops.rend());
  std::cout << "by op ";
  for (size_t i = 0; i < ops.size() && i < 8; ++i) {
    std::cout << " " << ops[i].second << " "
              << format_number(total > 0 ? 100.0 * ops[i].first / total : 0.0) << "%";
  }
  std::cout << '\n';
}

// Samples per inference: the first dim of the first graph input (1 for a scalar input).
int64_t batch_size(const ir::Graph& graph, const std::map<std::string, Tensor>& inputs) {
  if (graph.inputs().empty()) return 1;
  const Dims& dims = inputs.at(graph.inputs().front()->name).dims();
  return dims.empty() ? 1 : dims.front();
}

double milliseconds_between(std::chrono::steady_clock::time_point start,
                            std::chrono::steady_clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

int bench_model(const BenchOptions& options) {
  auto precisions = parse_argument([&] { return parse_precisions(options.precisions); });
  InputArguments input_arguments = parse_input_arguments(options.input);
  Backend backend = resolve_backend(options.backend);

  auto load_start = std::chrono::steady_clock::now();
  ModelRunner runner(options.model, precisions, options.strongly_typed, backend);
  std::map<std::string, Tensor> inputs =
      model_inputs(runner.graph(), input_arguments, nullptr, runner.tuned_dim_sizes());
  auto prepare_start = std::chrono::steady_clock::now();
  runner.set_fusion(!options.no_fusion);
  runner.prepare(inputs);
  auto prepare_end = std::chrono::steady_clock::now();

  check(!options.cuda_graph || backend == Backend::Cuda, ErrorKind::InvalidArgument,
        "--cuda-graph needs the cuda backend");
  std::vector<double> latencies_ms =
      runner.time_runs(inputs, options.warmup, options.iterations, options.cuda_graph);
  std::vector<LayerProfile> layers;
  if (backend == Backend::Cuda)
    layers = runner.profile_layers(std::max(5, std::min(options.iterations, 50)));
  LatencyStats stats = latency_stats(latencies_ms);
  int64_t batch = batch_size(runner.graph(), inputs);
  double samples_per_second = stats.inferences_per_second * double(batch);

  if (options.json) {
    nlohmann::json report = {{"model", options.model},
                             {"backend", backend_name(backend)},
                             {"precisions", precisions_to_string(runner.precisions())},
                             {"strongly_typed", runner.strongly_typed()},
                             {"timing", timing_method(backend, options.cuda_graph)},
                             {"cuda_graph", options.cuda_graph},
                             {"fusion", !options.no_fusion},
                             {"load_ms", milliseconds_between(load_start, prepare_start)},
                             {"prepare_ms", milliseconds_between(prepare_start, prepare_end)},
                             // The process's peak so far: loading, preparing and the runs.
                             {"peak_host_memory_bytes", peak_host_memory_bytes()},
                             {"warmup", options.warmup},
                             {"iterations", options.iterations},
                             {"batch", batch},
                             {"latency_ms",
                              {{"min", stats.min_ms},
                               {"median", stats.median_ms},
                               {"p90", stats.p90_ms},
                               {"p99", stats.p99_ms},
                               {"mean", stats.mean_ms},
                               {"max", stats.max_ms}}},
                             {"throughput",
                              {{"inferences_per_second", stats.inferences_per_second},
                               {"samples_per_second", samples_per_second}}}};
    for (const auto& [name, tensor] : inputs) {
      report["inputs"][name] = {{"dtype", std::string(dtype_name(tensor.dtype()))},
                                {"dims", tensor.dims()}};
    }
    if (backend == Backend::Cuda) {
      report["host_nodes"] = runner.host_nodes();
      report["layers"] = nlohmann::json::array();
      for (const LayerProfile& layer : layers) {
        report["layers"].push_back({{"name", layer.name},
                                    {"op", layer.op},
                                    {"precision", layer.precision},
                                    {"tactic", layer.tactic},
                                    {"on_host", layer.on_host},
                                    {"median_ms", layer.median_ms},
                                    {"bytes", layer.bytes},
                                    {"gb_per_s", gigabytes_per_second(layer)},
                                    {"flops", layer.flops},
                                    {"tflop_per_s", teraflops_per_second(layer)}});
      }
    }
    std::cout << report.dump(2) << '\n';
    return 0;
  }

  std::cout << "model " << options.model << "  (" << runner.graph().node_count()
            << " nodes, precisions " << precisions_to_string(runner.precisions())
            << (runner.strongly_typed() ? ", strongly typed" : "") << ", backend "
            << backend_name(backend) << ")\n";
  for (const auto& [name, tensor] : inputs) {
    std::cout << "input  " << name << "  " << dtype_name(tensor.dtype()) << " "
              << dims_to_string(tensor.dims()) << "  random (seed " << options.input.seed << ")\n";
  }
  std::cout << "runs   " << options.warmup << " warm-up, " << options.iterations
            << " timed; timing: " << timing_method(backend, options.cuda_graph) << '\n'
            << "latency (ms)  min " << format_number(stats.min_ms) << "  median "
            << format_number(stats.median_ms) << "  p90 " << format_number(stats.p90_ms) << "  p99 "
            << format_number(stats.p99_ms) << "  mean " << format_number(stats.mean_ms) << '\n'
            << "throughput    " << format_number(stats.inferences_per_second) << " inferences/s  "
            << format_number(samples_per_second) << " samples/s (batch " << batch << ")\n";
  if (!layers.empty()) print_layers(layers, options.layer_rows);
  if (!runner.host_nodes().empty()) {
    std::cout << "host   " << runner.host_nodes().size()
              << " node(s) ran on the CPU (no CUDA kernel)\n";
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Time a model on random inputs: latency percentiles and throughput");
  app->add_option("model", options->model, "Model file (.onnx, .pt2, .pt) or engine (.kiln)")
      ->required();
  app->add_option("-p,--precision", options->precisions,
                  "Enabled precisions, comma-separated: fp32,tf32,fp16,bf16")
      ->capture_default_str();
  app->add_flag("--strongly-typed", options->strongly_typed,
                "Obey the model's own dtypes; choose no precisions");
  app->add_option("--backend", options->backend,
                  "cuda or cpu (default: cuda where this build has CUDA and a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app->add_option("--warmup", options->warmup, "Untimed runs first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--iterations", options->iterations, "Timed runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_random_input_options(app, &options->input, DimDefault::TunedSizes);
  app->add_flag("--no-fusion", options->no_fusion,
                "Run every node through its own kernel (fusion groups off), to see what fusion "
                "gains (cuda backend)");
  app->add_flag("--json", options->json, "Print a JSON report instead of a table");
  app->add_flag("--cuda-graph", options->cuda_graph,
                "Capture one inference as a CUDA graph and time its replays (cuda backend)");
  app->add_option("--layers", options->layer_rows, "Rows of the per-layer table (cuda backend)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  return {app, [options] { return bench_model(*options); }};
}

}  // namespace kiln::cli
