// Loading cubins through the runtime's library API (no driver API), and launching them.
#include "backends/cuda/kernels/generated_kernel.h"

#include "backends/cuda/kernels/cuda_check.h"

namespace kiln::cuda {

LoadedCubin::LoadedCubin(const std::string& cubin) {
  KILN_CUDA_CHECK(
      cudaLibraryLoadData(&library_, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
}

LoadedCubin::~LoadedCubin() {
  if (library_ != nullptr) cudaLibraryUnload(library_);
}

cudaKernel_t LoadedCubin::kernel(const std::string& name) const {
  cudaKernel_t kernel = nullptr;
  KILN_CUDA_CHECK(cudaLibraryGetKernel(&kernel, library_, name.c_str()));
  return kernel;
}

void launch_pointwise_entry(const PointwiseEntry& entry, const FusedArgs& args, bool aligned,
                            cudaStream_t stream) {
  if (args.count <= 0) return;
  constexpr int64_t kThreads = 256;
  bool vector = aligned && entry.vector_width > 1 && args.count % entry.vector_width == 0;
  int64_t per_thread = vector ? entry.vector_width : 1;
  int64_t threads = args.count / per_thread;
  dim3 grid(unsigned((threads + kThreads - 1) / kThreads));
  FusedArgs copy = args;
  void* params[] = {&copy};
  KILN_CUDA_CHECK(
      cudaLaunchKernel(reinterpret_cast<const void*>(vector ? entry.vector : entry.scalar), grid,
                       dim3(unsigned(kThreads)), params, 0, stream));
}

}  // namespace kiln::cuda
