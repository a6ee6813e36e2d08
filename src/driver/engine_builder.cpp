// Building an engine from a model (engine_builder.h).
#include "driver/engine_builder.h"

#include <algorithm>
#include <set>

#ifdef KILN_HAS_CUDA
#include "backends/cuda/fusion/nvrtc_compiler.h"
#include "backends/cuda/runtime/fused_groups.h"
#include "backends/cuda/runtime/fusion_timing.h"
#include "backends/cuda/runtime/layer_timer.h"
#include "backends/cuda/runtime/tuned_algorithms.h"
#endif

namespace kiln::driver {

std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes) {
#ifdef KILN_HAS_CUDA
  if (backend == Backend::Cuda) return std::make_unique<cuda::GpuLayerTimer>(workspace_bytes);
#endif
  (void)backend;
  (void)workspace_bytes;
  return nullptr;
}

std::string choose_fusion(engine::BuildResult& built, const engine::LayerTimer* timer,
                          std::map<std::string, std::string>& cubins) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    std::vector<cuda::FusionTiming> timings = cuda::choose_fusion_by_timing(
        built.graph, built.config.tuned_input_dims, built.config.workspace_bytes, &cubins);
    size_t kept = 0;
    for (const cuda::FusionTiming& timing : timings) kept += timing.kept;
    return std::to_string(timings.size()) + " fusion groups timed: " + std::to_string(kept) +
           " fused, " + std::to_string(timings.size() - kept) + " faster node by node";
  }
#endif
  (void)built;
  (void)timer;
  (void)cubins;
  return "";
}

std::map<std::string, std::string> compile_engine_kernels(
    const engine::BuildResult& built, const engine::LayerTimer* timer,
    const std::map<std::string, std::string>& known) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    return cuda::compile_fusion_kernels(built.graph, built.config.tuned_input_dims,
                                        timer->compute_capability(), known);
  }
#endif
  (void)built;
  (void)timer;
  (void)known;
  return {};
}

std::string kernel_toolchain(const engine::LayerTimer* timer) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    return "sm_" + std::to_string(timer->compute_capability()) + " nvrtc " +
           std::to_string(cuda::nvrtc_version());
  }
#endif
  (void)timer;
  return "";
}

std::string tune_engine_algorithms(const engine::BuildResult& built,
                                   const std::map<std::string, std::string>& kernels,
                                   const engine::LayerTimer* timer) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    return cuda::tune_algorithms(built.graph, built.config.tuned_input_dims,
                                 built.config.workspace_bytes, kernels);
  }
#endif
  (void)built;
  (void)kernels;
  (void)timer;
  return "";
}

namespace {

// The symbolic dims of the graph's inputs.
std::set<std::string> input_symbols(const ir::Graph& graph) {
  std::set<std::string> symbols;
  for (const ir::Value* input : graph.inputs()) {
    if (input->is_constant() || !input->shape.rank_known()) continue;
    for (const ir::Dim& dim : input->shape.dims())
      if (dim.is_symbolic()) symbols.insert(dim.symbol);
  }
  return symbols;
}

std::string joined(const std::set<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none" : text;
}

// Each symbolic dim's range (the request's, within what the model declares) goes into the
// graph, and its timing size into request.dim_sizes: the size given, else 1 or the range's
// minimum. Throws InvalidArgument for a --dim that names no symbol of the model, a range
// beyond the model's declared one, or a timing size outside its range.
void resolve_dims(ir::Graph& graph, BuildRequest& request) {
  std::set<std::string> symbols = input_symbols(graph);
  auto known = [&](const std::string& name) {
    check(symbols.contains(name), ErrorKind::InvalidArgument, "--dim ", name,
          ": the model's inputs have no symbolic dim of that name (theirs: ", joined(symbols), ")");
  };
  for (const auto& [name, size] : request.dim_sizes) known(name);
  for (const auto& [name, range] : request.dim_ranges) {
    known(name);
    auto declared = graph.dim_ranges.find(name);
    if (declared != graph.dim_ranges.end()) {
      const ir::DimRange& model = declared->second;
      check(
          model.contains(range.min) && (range.max >= 0 ? model.contains(range.max) : model.max < 0),
          ErrorKind::InvalidArgument, "--dim ", name, ": the range ", range.to_string(),
          " goes beyond the model's declared ", model.to_string(),
          " (export the model with a wider range for this dim)");
    }
    graph.dim_ranges[name] = range;
  }
  for (const std::string& symbol : symbols) {
    auto range = graph.dim_ranges.find(symbol);
    int64_t fallback =
        range == graph.dim_ranges.end() ? 1 : std::max<int64_t>(1, range->second.min);
    if (range != graph.dim_ranges.end() && !range->second.contains(fallback))
      fallback = range->second.min;
    int64_t size = request.dim_sizes.emplace(symbol, fallback).first->second;
    check(range == graph.dim_ranges.end() || range->second.contains(size),
          ErrorKind::InvalidArgument, "--dim ", symbol, ": timing size ", size,
          " is outside its range ",
          range == graph.dim_ranges.end() ? "" : range->second.to_string());
  }
}

}  // namespace

BuiltEngine build_model_engine(ir::Graph graph, BuildRequest request) {
  engine::BuildConfig& config = request.config;
  check(!config.enabled_precisions.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
  resolve_dims(graph, request);
  config.tuned_input_dims.clear();
  for (const ir::Value* input : graph.inputs()) {
    if (!input->is_constant())
      config.tuned_input_dims[input->name] = concrete_input_dims(*input, request.dim_sizes);
  }
  std::unique_ptr<engine::LayerTimer> timer = make_timer(request.backend, config.workspace_bytes);
  engine::TimingCache cache;
  if (timer && !request.timing_cache.empty())
    cache = engine::TimingCache::load(request.timing_cache);
  BuiltEngine result;
  result.built = engine::build_engine(std::move(graph), config, timer.get(),
                                      timer ? &cache : nullptr, request.progress);
  // Generated kernels: from the timing cache where an earlier build compiled them, else
  // compiled once (the fusion timing's compiles serve the engine's kernels too).
  std::string toolchain = kernel_toolchain(timer.get());
  std::map<std::string, std::string> cached = cache.kernels(toolchain);
  std::map<std::string, std::string> cubins = cached;
  result.fusion_summary = choose_fusion(result.built, timer.get(), cubins);
  result.kernels = compile_engine_kernels(result.built, timer.get(), cubins);
  cubins.insert(result.kernels.begin(), result.kernels.end());
  for (const auto& [name, cubin] : cubins) result.kernels_compiled += !cached.contains(name);
  for (const auto& [name, cubin] : result.kernels) result.kernels_cached += cached.contains(name);
  cache.insert_kernels(toolchain, cubins);
  if (timer && request.progress) request.progress("timing GEMM and conv algorithms", 0, 1);
  result.tuned_algorithms = tune_engine_algorithms(result.built, result.kernels, timer.get());
  if (timer && request.progress) request.progress("timing GEMM and conv algorithms", 1, 1);
  result.timed = timer != nullptr;
  if (timer && !request.timing_cache.empty()) cache.save(request.timing_cache);
  return result;
}

void write_built_engine(const std::filesystem::path& path, const BuiltEngine& engine) {
  engine::write_engine(path, engine.built.graph, engine.built.config, engine.built.header,
                       engine.built.layer_timings, engine.kernels, engine.tuned_algorithms);
}

}  // namespace kiln::driver
