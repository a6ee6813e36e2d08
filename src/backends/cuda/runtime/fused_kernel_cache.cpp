// Compile-or-load of generated kernels, once per engine.
#include "backends/cuda/runtime/fused_kernel_cache.h"

#include "backends/cuda/fusion/nvrtc_compiler.h"
#include "backends/cuda/runtime/cuda_resources.h"

namespace kiln::cuda {

FusedKernelCache::FusedKernelCache(std::map<std::string, std::string> cubins)
    : cubins_(std::move(cubins)) {}

FusedKernelCache::~FusedKernelCache() = default;

GeneratedEntry FusedKernelCache::entry(const GeneratedKernel& kernel) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = loaded_.find(kernel.name); found != loaded_.end()) return found->second.entry;
  auto stored = cubins_.find(kernel.name);
  if (stored == cubins_.end()) {
    std::string cubin = compile_cubin(kernel.source, kernel.what(), compute_capability());
    stored = cubins_.emplace(kernel.name, std::move(cubin)).first;
    ++compiled_;
  }
  Loaded loaded;
  loaded.module = std::make_unique<LoadedCubin>(stored->second);
  loaded.entry.scalar = loaded.module->kernel(kernel.name);
  loaded.entry.vector = loaded.module->kernel(kernel.name + "_v");
  loaded.entry.vector_width = kernel.vector_width;
  loaded.entry.row_length = kernel.row_length;
  return loaded_.emplace(kernel.name, std::move(loaded)).first->second.entry;
}

std::map<std::string, std::string> FusedKernelCache::cubins() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cubins_;
}

size_t FusedKernelCache::compiled_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return compiled_;
}

}  // namespace kiln::cuda
