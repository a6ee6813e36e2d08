// Building an engine from a model, as `kiln build` and the Python module's kiln.build do it:
// the builder (engine::build_engine) timed by the GPU layer timer where there is one, then
// each fusion group timed fused against node by node, then the generated kernels compiled for
// the GPU, ready for engine::write_engine.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "driver/model_runner.h"
#include "engine/build_engine.h"
#include "kiln/kiln.h"

namespace kiln::driver {

// A cuda::GpuLayerTimer on the cuda backend; null on the cpu (the heuristic decides).
std::unique_ptr<engine::LayerTimer> make_timer(Backend backend, size_t workspace_bytes);

// With a GPU (a timer): times each fusion group of `built` fused against node by node at the
// build's dims and marks the slower-fused ones to run node by node. Returns "N kept, M run
// node by node" for the build summary, or "" without a GPU. `cubins` (by kernel name) are
// generated kernels compiled before for this GPU and compiler; the ones the timing compiles
// are added.
std::string choose_fusion(engine::BuildResult& built, const engine::LayerTimer* timer,
                          std::map<std::string, std::string>& cubins);

// The generated kernels of `built`'s fusion groups compiled for the GPU it was timed on (or
// taken from `known`, cubins compiled before for this GPU and compiler), by kernel name, for
// the engine file; empty for a build without a GPU (its engine compiles them when a GPU
// runtime loads it).
std::map<std::string, std::string> compile_engine_kernels(
    const engine::BuildResult& built, const engine::LayerTimer* timer,
    const std::map<std::string, std::string>& known = {});

// What compiled generated kernels depend on besides their source: the GPU architecture and
// the NVRTC version ("sm_90 nvrtc 13000"), the timing cache's key for them; "" without a GPU.
std::string kernel_toolchain(const engine::LayerTimer* timer);

struct BuildRequest {
  // Precisions, constraints and workspace; tuned_input_dims is filled from `dim_sizes`.
  engine::BuildConfig config;
  DimSizes dim_sizes;  // sizes of symbolic dims to time layers at (default 1, or the range's min)
  // Ranges the engine must accept, by symbol (`--dim batch=1:8:32`); a symbol without one keeps
  // the model's declared range (a .pt2's range constraints), or takes any size.
  std::map<std::string, ir::DimRange> dim_ranges;
  Backend backend = Backend::Cpu;  // cuda: time on the GPU; cpu: the documented heuristic
  std::string timing_cache;        // JSON file read and extended ("" for none)
  engine::BuildProgress progress;  // may be empty
};

// What a build produced: the engine's graph, config and header, and its compiled kernels.
struct BuiltEngine {
  engine::BuildResult built;
  std::map<std::string, std::string> kernels;  // cubins by kernel name (empty without a GPU)
  size_t kernels_compiled = 0;   // NVRTC compiles in this build, fusion timing's included
  size_t kernels_cached = 0;     // of `kernels`, those the timing cache already had
  std::string tuned_algorithms;  // GEMM/conv algorithms chosen on the GPU ("" without one)
  std::string fusion_summary;    // choose_fusion's line ("" without a GPU)
  bool timed = false;            // layers were timed on a GPU
};

// With a GPU (a timer): the cuBLASLt and cuDNN algorithms the built engine runs at the
// build's dims, chosen by timing (cuda::tune_algorithms), for the engine file; "" without.
std::string tune_engine_algorithms(const engine::BuildResult& built,
                                   const std::map<std::string, std::string>& kernels,
                                   const engine::LayerTimer* timer);

// Builds an engine from a loaded (optimized) model graph.
BuiltEngine build_model_engine(ir::Graph graph, BuildRequest request);

// Writes what build_model_engine produced as an engine file.
void write_built_engine(const std::filesystem::path& path, const BuiltEngine& engine);

}  // namespace kiln::driver
