// A generated elementwise kernel compiled for the CPU: its source with the device-specific
// part of the prelude (the PTX conversions, the CUDA built-ins) replaced by host code, built
// by the host C++ compiler into a shared library and called once per emulated thread. It lets
// machines without a GPU check what the generator's index arithmetic, broadcasts and math
// compute against the CPU reference. Row kernels (warp shuffles) are out of its reach.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backends/cuda/fusion/fused_args.h"
#include "backends/cuda/fusion/pointwise_codegen.h"

namespace kiln::cuda::testing {

class HostKernel {
 public:
  // Compiles `kernel` (an elementwise or index kernel) under `directory`; throws with the
  // compiler's output on failure.
  HostKernel(const GeneratedKernel& kernel, const std::filesystem::path& directory);
  ~HostKernel();
  HostKernel(const HostKernel&) = delete;
  HostKernel& operator=(const HostKernel&) = delete;

  // Runs the scalar entry (one element a thread) or the vector one (vector_width elements a
  // thread; `args.count` must be a multiple of it) over `args.count` elements, in blocks of 256
  // threads as the runtime launches them.
  void run(const FusedArgs& args, bool vector) const;

 private:
  void* library_ = nullptr;
  void (*scalar_)(FusedArgs) = nullptr;
  void (*vector_)(FusedArgs) = nullptr;
  void (*set_thread_)(unsigned, unsigned, unsigned) = nullptr;
  int vector_width_ = 1;
  std::vector<std::filesystem::path> files_;  // its source and library, removed with it
};

}  // namespace kiln::cuda::testing
