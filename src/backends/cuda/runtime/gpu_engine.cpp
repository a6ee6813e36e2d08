// The GPU engine: shared, lazily uploaded device weights for every execution context.
#include "backends/cuda/runtime/gpu_engine.h"

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/runtime/tuned_algorithms.h"

namespace kiln::cuda {

Engine::Engine(ir::Graph graph, std::map<std::string, Tensor> prepared_weights,
               size_t workspace_bytes, std::map<std::string, std::string> cubins,
               const std::string& tuned_algorithms)
    : graph_(std::move(graph)),
      prepared_weights_(std::move(prepared_weights)),
      workspace_bytes_(workspace_bytes),
      fused_kernels_(std::make_unique<FusedKernelCache>(std::move(cubins))) {
  check(cuda_device_available(), ErrorKind::Cuda, "no CUDA device is available");
  import_tuned_algorithms(*this, tuned_algorithms, "the engine");
}

std::shared_ptr<Engine> Engine::load(const std::filesystem::path& file) {
  check(cuda_device_available(), ErrorKind::Cuda, "no CUDA device is available to run engine '",
        file.string(), "' (run it with --backend cpu)");
  return from_loaded(engine::read_engine(file), file.string());
}

std::shared_ptr<Engine> Engine::from_loaded(engine::LoadedEngine loaded, const std::string& file) {
  engine::check_engine_architecture(loaded.header, file, architecture_name(compute_capability()),
                                    device_name());
  return std::make_shared<Engine>(std::move(loaded.graph), std::move(loaded.prepared_weights),
                                  loaded.config.workspace_bytes, std::move(loaded.kernels),
                                  loaded.tuned_algorithms);
}

const DeviceTensor* Engine::shared_weight(const std::string& name, const Tensor& bytes,
                                          DType dtype) const {
  const ir::Value* value = graph_.find_value(name);
  // An identity check, not raw() pointers: raw() would widen a prepared weight's constant
  // in host memory, which the upload below never needs.
  if (value == nullptr || !value->is_constant() || !value->constant->shares_bytes_with(bytes))
    return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<Weight>& weight = weights_[{name, dtype}];
  if (weight) return &weight->tensor;
  auto prepared = prepared_weights_.find(name);
  // The build's converted copy, when it is the dtype wanted: uploaded as it is.
  Tensor host = prepared != prepared_weights_.end() && prepared->second.dtype() == dtype
                    ? prepared->second
                : value->constant->dtype() == dtype ? *value->constant
                                                    : value->constant->to(dtype);
  auto fresh = std::make_unique<Weight>();
  fresh->buffer = DeviceBuffer(host.nbytes());
  fresh->tensor = {dtype, host.dims(), fresh->buffer.data()};
  upload_blocking(fresh->buffer.data(), host.raw(), host.nbytes());
  weight = std::move(fresh);
  return &weight->tensor;
}

size_t Engine::weight_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t total = 0;
  for (const auto& [key, weight] : weights_) total += weight->buffer.size();
  return total;
}

std::string architecture_name(int compute_capability) {
  return "sm_" + std::to_string(compute_capability);
}

std::string device_name() {
  int device = 0;
  cudaDeviceProp properties{};
  KILN_CUDA_CHECK(cudaGetDevice(&device));
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  return properties.name;
}

}  // namespace kiln::cuda
