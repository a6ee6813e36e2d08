// The builder: from an optimized graph and a BuildConfig to the graph an engine stores, with
// every layer's precision chosen. With a GPU (a LayerTimer), matrix products, convolutions
// and attention are timed in each enabled precision at the config's tuned input dims and
// take the fastest, counting the casts a choice adds at its boundaries; memory-bound layers
// take the heuristic's precision (the narrowest enabled storage is never slower for them).
// Without a GPU the documented heuristic decides (docs/precision.md).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_file.h"
#include "engine/timing_cache.h"

namespace kiln::engine {

// Measures layers on a GPU; the CUDA backend implements it (cuda::GpuLayerTimer).
class LayerTimer {
 public:
  virtual ~LayerTimer() = default;
  // The median time in ms of `node` (static shapes) run in `precision`, its float inputs
  // and outputs stored in that precision's storage dtype; nullopt if the GPU cannot run it so.
  // Where `node` has a kTacticAttribute, through that implementation.
  virtual std::optional<double> time_layer(const ir::Node& node, Precision precision) = 0;
  // The implementations the GPU can run `node` with in `precision`, by name (e.g. cuDNN's
  // fused attention and Kiln's own), each timed separately; empty where there is one.
  virtual std::vector<std::string> tactics(const ir::Node& node, Precision precision) {
    (void)node, (void)precision;
    return {};
  }
  // Estimated time in ms to convert `elements` floats from one storage dtype to another.
  virtual double cast_ms(int64_t elements, DType from, DType to) = 0;
  // Where the timings were taken: "sm_90", "NVIDIA H100 80GB HBM3", 90, CUDA runtime version.
  virtual EngineHeader gpu() const = 0;
  virtual int compute_capability() const = 0;
};

// The node attribute naming the implementation the builder chose by timing among a layer's
// tactics (LayerTimer::tactics); absent where the layer has one. The engine keeps it.
inline constexpr const char* kTacticAttribute = "tactic";

// Progress of a long build: what is being done, how many of how many.
using BuildProgress = std::function<void(const std::string& stage, size_t done, size_t total)>;

struct BuildResult {
  ir::Graph graph;      // precisions assigned; epilogues fused
  BuildConfig config;   // as used (bf16 dropped on a GPU without it)
  EngineHeader header;  // the GPU's fields when timed, else "none"
  LayerTimings layer_timings;
  std::vector<std::string> warnings;
  size_t layers_timed = 0;    // distinct layer shapes measured on the GPU this build
  size_t timings_cached = 0;  // ... taken from the timing cache instead
};

// `timer` null: heuristic precisions. `cache` (may be null) is read and extended.
BuildResult build_engine(ir::Graph graph, BuildConfig config, LayerTimer* timer, TimingCache* cache,
                         const BuildProgress& progress = {});

// Runs passes::assign_precisions with the config's precisions, then applies its
// layer_precisions. Throws InvalidArgument for a constraint that matches no layer that has
// a precision (a float-computing node).
void assign_engine_precisions(ir::Graph& graph, const BuildConfig& config);

// The enabled set a GPU of `compute_capability` can run: unchanged at 8.0 and newer; below,
// bf16 is dropped with a warning where merely enabled, and a build that requires it
// (bf16 the only enabled precision, a bf16 layer constraint, or a strongly typed model with
// bf16 tensors) fails naming the GPU and what to use instead.
BuildConfig fit_config_to_gpu(const ir::Graph& graph, BuildConfig config, int compute_capability,
                              const std::string& gpu_name, std::vector<std::string>& warnings);

}  // namespace kiln::engine
