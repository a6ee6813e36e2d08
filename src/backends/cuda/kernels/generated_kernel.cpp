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

void launch_generated(const GeneratedEntry& entry, const FusedArgs& args, bool vector,
                      cudaStream_t stream) {
  if (args.count <= 0) return;
  vector &= entry.vector_width > 1 && args.count % entry.vector_width == 0;
  unsigned blocks = 0, threads = 0;
  if (entry.row_length > 0) {
    constexpr int64_t kWarpsPerBlock = 4;  // the row kernels' warps per block
    const int64_t rows = args.count / entry.row_length;
    const int lanes = row_lanes(entry.row_length, vector ? entry.vector_width : 1);
    const int64_t per_block = lanes > 32 ? 1 : kWarpsPerBlock * (32 / lanes);
    blocks = unsigned((rows + per_block - 1) / per_block);
    threads = unsigned(32 * kWarpsPerBlock);
  } else {
    constexpr int64_t kThreads = 256;
    int64_t lanes = args.count / (vector ? entry.vector_width : 1);
    blocks = unsigned((lanes + kThreads - 1) / kThreads);
    threads = unsigned(kThreads);
  }
  FusedArgs copy = args;
  void* params[] = {&copy};
  cudaKernel_t kernel = vector ? entry.vector : entry.scalar;
  KILN_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(kernel), dim3(blocks),
                                   dim3(threads), params, 0, stream));
}

}  // namespace kiln::cuda
