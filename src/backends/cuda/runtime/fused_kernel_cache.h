// The generated kernels of one engine: cubins the build stored (engine file) or NVRTC
// compiled here, each loaded once and shared by every execution context. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/cuda/fusion/pointwise_codegen.h"
#include "backends/cuda/kernels/generated_kernel.h"

namespace kiln::cuda {

class FusedKernelCache {
 public:
  // `cubins`: compiled kernels by GeneratedKernel::name, for this GPU's architecture.
  explicit FusedKernelCache(std::map<std::string, std::string> cubins = {});
  ~FusedKernelCache();
  FusedKernelCache(const FusedKernelCache&) = delete;
  FusedKernelCache& operator=(const FusedKernelCache&) = delete;

  // The device entry points of `kernel`: from the cubin stored under its name, else compiled
  // by NVRTC for the current GPU now and kept.
  GeneratedEntry entry(const GeneratedKernel& kernel);
  // Every cubin held (stored or compiled), by kernel name: what an engine file keeps.
  std::map<std::string, std::string> cubins() const;
  // How many kernels were compiled here rather than taken from the stored cubins.
  size_t compiled_count() const;

 private:
  struct Loaded {
    std::unique_ptr<LoadedCubin> module;
    GeneratedEntry entry;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::string> cubins_;
  std::map<std::string, Loaded> loaded_;
  size_t compiled_ = 0;
};

}  // namespace kiln::cuda
