// Building an engine from a model (engine_builder.h).
#include "driver/engine_builder.h"

#ifdef KILN_HAS_CUDA
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

std::string choose_fusion(engine::BuildResult& built, const engine::LayerTimer* timer) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    std::vector<cuda::FusionTiming> timings = cuda::choose_fusion_by_timing(
        built.graph, built.config.tuned_input_dims, built.config.workspace_bytes);
    size_t kept = 0;
    for (const cuda::FusionTiming& timing : timings) kept += timing.kept;
    return std::to_string(timings.size()) + " fusion groups timed: " + std::to_string(kept) +
           " fused, " + std::to_string(timings.size() - kept) + " faster node by node";
  }
#endif
  (void)built;
  (void)timer;
  return "";
}

std::map<std::string, std::string> compile_engine_kernels(const engine::BuildResult& built,
                                                          const engine::LayerTimer* timer) {
#ifdef KILN_HAS_CUDA
  if (timer != nullptr) {
    return cuda::compile_fusion_kernels(built.graph, built.config.tuned_input_dims,
                                        timer->compute_capability());
  }
#endif
  (void)built;
  (void)timer;
  return {};
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

BuiltEngine build_model_engine(ir::Graph graph, BuildRequest request) {
  engine::BuildConfig& config = request.config;
  check(!config.enabled_precisions.empty(), ErrorKind::InvalidArgument,
        "no precision enabled (valid: fp32, tf32, fp16, bf16)");
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
  result.fusion_summary = choose_fusion(result.built, timer.get());
  result.kernels = compile_engine_kernels(result.built, timer.get());
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
