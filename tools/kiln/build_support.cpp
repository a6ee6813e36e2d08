// Pieces of `kiln build` that `kiln sweep` reuses (build_support.h).
#include "build_support.h"

#include <unistd.h>

#include <cstdio>

#ifdef KILN_HAS_CUDA
#include "backends/cuda/runtime/fused_groups.h"
#include "backends/cuda/runtime/fusion_timing.h"
#include "backends/cuda/runtime/layer_timer.h"
#endif

namespace kiln::cli {

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

engine::BuildProgress progress_printer(bool quiet) {
  if (quiet) return {};
  bool terminal = isatty(fileno(stderr)) != 0;
  return
      [terminal, last = size_t(-1)](const std::string& stage, size_t done, size_t total) mutable {
        if (total == 0) return;
        size_t tenth = done * 10 / total;
        if (terminal) {
          std::fprintf(stderr, "\r%s %zu/%zu", stage.c_str(), done, total);
          if (done == total) std::fprintf(stderr, "\n");
        } else if (tenth != last || done == total) {
          std::fprintf(stderr, "%s %zu/%zu\n", stage.c_str(), done, total);
        }
        last = tenth;
      };
}

}  // namespace kiln::cli
