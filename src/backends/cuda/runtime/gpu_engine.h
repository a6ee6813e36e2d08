// The GPU engine: an optimized graph with its chosen precisions and its weights on the
// device, uploaded (and, where the build did not already, converted) once. It is immutable
// to its users and shared by any number of execution contexts on any number of threads.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/cuda/kernels/conv_plan.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/fused_kernel_cache.h"
#include "engine/engine_file.h"
#include "ir/graph.h"

namespace kiln::cuda {

class Engine {
 public:
  // `graph` is optimized with precisions assigned; `prepared_weights` (by value name) are
  // weights the build already stored in a narrower dtype, `cubins` the generated kernels it
  // compiled for this GPU, `tuned_algorithms` the GEMM and convolution algorithms it chose
  // (engine::LoadedEngine; tuned_algorithms.h). Throws InvalidModel for malformed choices.
  explicit Engine(ir::Graph graph, std::map<std::string, Tensor> prepared_weights = {},
                  size_t workspace_bytes = size_t(64) << 20,
                  std::map<std::string, std::string> cubins = {},
                  const std::string& tuned_algorithms = "");
  // Reads an engine file and checks it was built for this GPU's architecture (or for none).
  static std::shared_ptr<Engine> load(const std::filesystem::path& file);
  // The same for an engine already read from `file`.
  static std::shared_ptr<Engine> from_loaded(engine::LoadedEngine loaded, const std::string& file);

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ir::Graph& graph() const { return graph_; }
  size_t workspace_bytes() const { return workspace_bytes_; }

  // The device copy of the engine's constant `name` in `dtype`, uploaded on first request
  // (thread-safe) and shared by every context. Null if `name` is not one of the engine's
  // constants or `bytes` is not the tensor the engine holds, a copy of it (shares_bytes_with;
  // a prepared weight's constant is never widened for this check), but a context's own
  // constant produced by shape specialization, which may differ between contexts.
  const DeviceTensor* shared_weight(const std::string& name, const Tensor& bytes,
                                    DType dtype) const;
  // Bytes of weights on the device so far.
  size_t weight_bytes() const;
  // The generated kernels of the engine's fusion groups, shared by its contexts: loaded from
  // the engine file's cubins, or compiled on first use. Thread-safe.
  FusedKernelCache& fused_kernels() const { return *fused_kernels_; }
  // The GEMM and convolution algorithms its contexts timed (or the engine file carried),
  // shared by all of them, so that every context runs the same algorithms and gives the same
  // bits. Thread-safe.
  GemmPlanCache& gemm_plans() const { return gemm_plans_; }
  ConvPlanCache& conv_plans() const { return conv_plans_; }

 private:
  struct Weight {
    DeviceBuffer buffer;
    DeviceTensor tensor;
  };
  ir::Graph graph_;
  std::map<std::string, Tensor> prepared_weights_;
  size_t workspace_bytes_;
  mutable std::mutex mutex_;
  mutable std::map<std::pair<std::string, DType>, std::unique_ptr<Weight>> weights_;
  std::unique_ptr<FusedKernelCache> fused_kernels_;
  mutable GemmPlanCache gemm_plans_;
  mutable ConvPlanCache conv_plans_;
};

// "sm_90" for compute capability 90.
std::string architecture_name(int compute_capability);
// The current device's marketing name ("NVIDIA H100 80GB HBM3").
std::string device_name();

}  // namespace kiln::cuda
