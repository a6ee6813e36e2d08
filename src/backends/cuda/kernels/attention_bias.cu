// An ONNX attention mask of any kind and broadcast as the dense additive bias cuDNN's SDPA
// reads (one block per bias row), and the rows left with no key: Kiln's attention gives
// those zeros, so they are zeroed after cuDNN ran (cudnn_sdpa.h).
#include <cfloat>

#include "backends/cuda/kernels/attention_kernel.cuh"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cudnn_sdpa.h"
#include "backends/cuda/kernels/launch_error.h"

namespace kiln::cuda {
namespace {

// The most negative finite value of T: cuDNN sees no infinities, so no row becomes NaN.
template <typename T>
__device__ __forceinline__ float lowest_finite();
template <>
__device__ __forceinline__ float lowest_finite<__half>() {
  return -65504.f;
}
template <>
__device__ __forceinline__ float lowest_finite<__nv_bfloat16>() {
  return -3.38953139e38f;
}

template <typename T>
__global__ void attention_bias_kernel(AttentionParams p, int64_t bias_heads, T* bias,
                                      int* row_has_key) {
  int64_t row = blockIdx.x;  // over (bias_batch, bias_heads, q_seq)
  int64_t i = row % p.q_seq;
  int64_t h = row / p.q_seq % bias_heads;
  int64_t b = row / (p.q_seq * bias_heads);
  bool any = false;
  for (int64_t j = threadIdx.x; j < p.kv_seq; j += blockDim.x) {
    float value = mask_bias(p, b, h, i, j);
    any |= value != -INFINITY && !(p.causal && j > i);
    bias[row * p.kv_seq + j] = from_float<T>(fmaxf(value, lowest_finite<T>()));
  }
  any = __syncthreads_or(any);
  if (threadIdx.x == 0) row_has_key[row] = any;
}

template <typename T>
__global__ void zero_keyless_rows_kernel(AttentionParams p, int64_t bias_batch, int64_t bias_heads,
                                         const int* row_has_key, T* y) {
  int64_t rows = p.batch * p.q_heads * p.q_seq;
  for (int64_t row = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; row < rows;
       row += int64_t(gridDim.x) * blockDim.x) {
    int64_t i = row % p.q_seq;
    int64_t h = row / p.q_seq % p.q_heads;
    int64_t b = row / (p.q_seq * p.q_heads);
    int64_t flag = ((bias_batch > 1 ? b : 0) * bias_heads + (bias_heads > 1 ? h : 0)) * p.q_seq + i;
    if (row_has_key[flag]) continue;
    T* out = y + b * p.y.batch + h * p.y.head + i * p.y.seq;
    for (int64_t d = 0; d < p.v_head_size; ++d) out[d] = from_float<T>(0.f);
  }
}

template <typename F>
void for_half_dtype(DType dtype, F&& body) {
  if (dtype == DType::Float16) return body(__half{});
  launch_check(dtype == DType::BFloat16, ErrorKind::InvalidArgument,
               "attention bias: bfloat16 or float16 only, not ", dtype_name(dtype));
  body(__nv_bfloat16{});
}

}  // namespace

void write_attention_bias(const AttentionParams& params, int64_t bias_batch, int64_t bias_heads,
                          DType dtype, void* bias, int* row_has_key, cudaStream_t stream) {
  launch_check(params.mask != nullptr, ErrorKind::InvalidArgument, "write_attention_bias: no mask");
  int64_t rows = bias_batch * bias_heads * params.q_seq;
  if (rows == 0 || params.kv_seq == 0) return;
  for_half_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    attention_bias_kernel<<<unsigned(rows), kThreads, 0, stream>>>(
        params, bias_heads, static_cast<T*>(bias), row_has_key);
  });
  check_last_launch();
}

void zero_keyless_rows(const AttentionParams& params, int64_t bias_batch, int64_t bias_heads,
                       const int* row_has_key, DType dtype, void* y, cudaStream_t stream) {
  int64_t rows = params.batch * params.q_heads * params.q_seq;
  if (rows == 0) return;
  for_half_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    zero_keyless_rows_kernel<<<grid_for(rows), kThreads, 0, stream>>>(
        params, bias_batch, bias_heads, row_has_key, static_cast<T*>(y));
  });
  check_last_launch();
}

}  // namespace kiln::cuda
