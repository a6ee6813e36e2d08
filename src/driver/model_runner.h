// Loads a model or engine for `kiln run` and `kiln bench` and runs it on the chosen backend:
// the CPU reference (CpuSession) or, in builds with CUDA, the GPU (cuda::CudaExecutor).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/precision.h"
#include "core/tensor.h"
#include "engine/engine_file.h"
#include "ir/graph.h"

namespace kiln::driver {

enum class Backend { Cpu, Cuda };

// One step of a GPU inference, timed by CUDA events (ModelRunner::profile_layers).
struct LayerProfile {
  std::string name;
  std::string op;
  std::string precision;  // "" for a layer without one
  std::string tactic;     // the implementation it ran through, "" where its op has one
  bool on_host = false;
  double median_ms = 0;
  size_t bytes = 0;  // its tensors' bytes (inputs and outputs): GB/s for memory-bound layers
  double flops = 0;  // its arithmetic: TFLOP/s for convolutions and matrix products
};
const char* backend_name(Backend backend);
// How ModelRunner::time_runs measures on `backend`, for reports.
std::string timing_method(Backend backend, bool cuda_graph);

// "cpu" or "cuda"; "" picks cuda when this build has CUDA and a device is present, else cpu.
// Throws Unsupported (exit status 1) for "cuda" without CUDA support or without a device.
Backend resolve_backend(const std::string& requested);

class ModelRunner {
 public:
  // A model runs in `precisions`; an engine (.kiln) in the precisions it was built with.
  ModelRunner(const std::string& path, std::set<Precision> precisions, bool strongly_typed,
              Backend backend);
  // A graph engine::build_engine built with `config` (precisions chosen, epilogues fused),
  // run as its engine file would be, without writing one.
  ModelRunner(ir::Graph built_graph, const engine::BuildConfig& config, Backend backend);
  // A model already loaded and optimized (load_model), run as the path constructor runs one.
  ModelRunner(ir::Graph model, std::set<Precision> precisions, bool strongly_typed,
              Backend backend);
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  // CUDA: run fusion groups as generated kernels (the default) or node by node; set before
  // prepare().
  void set_fusion(bool enabled) { fuse_groups_ = enabled; }

  // Builds what the backend needs for inputs of these dims (the CUDA executor: weights
  // uploaded, arena planned), so that timed runs do not include it. run() calls it itself.
  void prepare(const std::map<std::string, Tensor>& inputs);
  // Runs once; returns every graph output by name. On CUDA the first run fixes the input
  // dims (the executor is built for them); later runs must give the same dims.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  const ir::Graph& graph() const;
  Backend backend() const { return backend_; }
  const std::set<Precision>& precisions() const { return precisions_; }
  bool strongly_typed() const { return strongly_typed_; }
  // For an engine built on a GPU: the sizes its layers were timed at, by symbol ("batch" →
  // 32), which `kiln run` and `kiln bench` use for symbols --dim does not give.
  const std::map<std::string, int64_t>& tuned_dim_sizes() const { return tuned_dim_sizes_; }
  // Nodes the CUDA backend runs on the host (no CUDA kernel), after prepare (empty on the CPU).
  std::vector<std::string> host_nodes() const;

  // Milliseconds per inference after `warmup` untimed ones. On CUDA (after prepare) the inputs
  // are uploaded once and each inference is timed on the device by CUDA events around its
  // enqueue, replaying one captured CUDA graph with `cuda_graph`; on the CPU the wall clock
  // times each run() (callers refuse `cuda_graph` there).
  std::vector<double> time_runs(const std::map<std::string, Tensor>& inputs, int warmup,
                                int iterations, bool cuda_graph);
  // CUDA only, after prepare(): the median time of every step over `iterations` runs.
  std::vector<LayerProfile> profile_layers(int iterations);

 private:
  void check_enabled() const;       // at least one precision
  void run_model(ir::Graph graph);  // the CpuSession or CUDA engine for a model's graph
  std::vector<double> time_on_device(const std::map<std::string, Tensor>& inputs, int warmup,
                                     int iterations, bool cuda_graph);

  struct Engines;  // the CpuSession or the CUDA graph and executor
  Backend backend_;
  std::set<Precision> precisions_;
  bool strongly_typed_;
  bool fuse_groups_ = true;
  std::map<std::string, int64_t> tuned_dim_sizes_;
  std::unique_ptr<Engines> engines_;
};

}  // namespace kiln::driver
