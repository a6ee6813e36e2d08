// Attention on the GPU: not yet a CUDA kernel. The table has no entry, so the executor runs
// Attention on the host through the CPU reference kernel (a fused kernel is the next slice).
#include "backends/cuda/cuda_kernel.h"

namespace kiln::cuda {

void register_attention_cuda_kernels(CudaKernelMap&) {}

}  // namespace kiln::cuda
