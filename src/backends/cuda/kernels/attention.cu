// The launcher of the fused SIMT attention kernel (attention_kernel.cuh): the kernel
// instantiation by head size (32 output columns per chunk a lane carries) and its shared
// memory.
#include <algorithm>

#include "backends/cuda/kernels/attention.h"
#include "backends/cuda/kernels/attention_kernel.cuh"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {
namespace {

template <typename T, int kChunks>
void launch_typed(const AttentionParams& p, const void* q, const void* k, const void* v, void* y,
                  cudaStream_t stream) {
  size_t shared = attention_shared_bytes(p.head_size, p.v_head_size);
  auto kernel = fused_attention_kernel<T, kChunks>;
  KILN_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
  dim3 grid(unsigned(p.batch * p.q_heads), unsigned((p.q_seq + kBlockRows - 1) / kBlockRows));
  kernel<<<grid, kAttentionThreads, shared, stream>>>(p, static_cast<const T*>(q),
                                                      static_cast<const T*>(k),
                                                      static_cast<const T*>(v), static_cast<T*>(y));
  check_last_launch();
}

}  // namespace

void launch_fused_attention(const AttentionParams& p, DType storage, const void* q, const void* k,
                            const void* v, void* y, cudaStream_t stream) {
  int64_t widest = std::max(p.head_size, p.v_head_size);
  visit_float_storage(storage, [&](auto tag) {
    using T = decltype(tag);
    if (widest <= 32) return launch_typed<T, 1>(p, q, k, v, y, stream);
    if (widest <= 64) return launch_typed<T, 2>(p, q, k, v, y, stream);
    if (widest <= 128) return launch_typed<T, 4>(p, q, k, v, y, stream);
    return launch_typed<T, 8>(p, q, k, v, y, stream);
  });
}

}  // namespace kiln::cuda
