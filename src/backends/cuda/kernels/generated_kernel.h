// Generated kernels on the device: a cubin (from NVRTC or an engine file) loaded as a CUDA
// library, and the launch of a generated pointwise kernel over FusedArgs.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "backends/cuda/fusion/fused_args.h"

namespace kiln::cuda {

// A loaded cubin; unloaded when destroyed. Not copyable.
class LoadedCubin {
 public:
  explicit LoadedCubin(const std::string& cubin);
  ~LoadedCubin();
  LoadedCubin(const LoadedCubin&) = delete;
  LoadedCubin& operator=(const LoadedCubin&) = delete;
  // The kernel `name` of the cubin; throws Cuda naming it if absent.
  cudaKernel_t kernel(const std::string& name) const;

 private:
  cudaLibrary_t library_ = nullptr;
};

// A pointwise kernel pair of one generated source: `scalar` handles one element per thread,
// `vector` handles `vector_width` consecutive ones (16-byte loads and stores).
struct PointwiseEntry {
  cudaKernel_t scalar = nullptr;
  cudaKernel_t vector = nullptr;
  int vector_width = 1;
};

// Launches `entry` over args.count elements on `stream`. `aligned` says every packed operand
// (a full-size input or output) starts at a multiple of vector_width elements' bytes; the
// vector kernel runs when it is and vector_width divides the count.
void launch_pointwise_entry(const PointwiseEntry& entry, const FusedArgs& args, bool aligned,
                            cudaStream_t stream);

}  // namespace kiln::cuda
