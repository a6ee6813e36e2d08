// write_attention_bias (cudnn_sdpa.h): an ONNX attention mask of any kind and broadcast,
// written out as the dense additive bias cuDNN's SDPA reads, one element per thread.
#include "backends/cuda/kernels/attention_kernel.cuh"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cudnn_sdpa.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void attention_bias_kernel(AttentionParams p, int64_t bias_batch, int64_t bias_heads,
                                      T* bias) {
  int64_t count = bias_batch * bias_heads * p.q_seq * p.kv_seq;
  for (int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; index < count;
       index += int64_t(gridDim.x) * blockDim.x) {
    int64_t j = index % p.kv_seq;
    int64_t i = index / p.kv_seq % p.q_seq;
    int64_t h = index / (p.kv_seq * p.q_seq) % bias_heads;
    int64_t b = index / (p.kv_seq * p.q_seq * bias_heads);
    bias[index] = from_float<T>(mask_bias(p, b, h, i, j));
  }
}

}  // namespace

void write_attention_bias(const AttentionParams& params, int64_t bias_batch, int64_t bias_heads,
                          DType dtype, void* bias, cudaStream_t stream) {
  check(params.mask != nullptr, ErrorKind::InvalidArgument, "write_attention_bias: no mask");
  check((bias_batch == 1 || params.mask_strides[0] != 0 || params.batch == 1) &&
            (bias_heads == 1 || params.mask_strides[1] != 0 || params.q_heads == 1),
        ErrorKind::InvalidArgument, "write_attention_bias: a broadcast axis needs size 1");
  int64_t count = bias_batch * bias_heads * params.q_seq * params.kv_seq;
  if (count == 0) return;
  unsigned blocks = grid_for(count);
  if (dtype == DType::Float16) {
    attention_bias_kernel<<<blocks, kThreads, 0, stream>>>(params, bias_batch, bias_heads,
                                                           static_cast<__half*>(bias));
  } else {
    check(dtype == DType::BFloat16, ErrorKind::InvalidArgument,
          "write_attention_bias: the bias is bfloat16 or float16, not ", dtype_name(dtype));
    attention_bias_kernel<<<blocks, kThreads, 0, stream>>>(params, bias_batch, bias_heads,
                                                           static_cast<__nv_bfloat16*>(bias));
  }
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
