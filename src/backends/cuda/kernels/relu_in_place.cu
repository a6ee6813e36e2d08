// The device kernel behind relu_in_place.h: one elementwise pass in the storage type (a ReLU
// of a rounded value is exact, so no FP32 detour is needed).
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/relu_in_place.h"

namespace kiln::cuda {
namespace {

template <typename T>
__global__ void relu_kernel(T* data, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float x = to_float(data[i]);
    if (x < 0.f) data[i] = from_float<T>(0.f);  // NaN compares false and stays
  }
}

template <typename T>
__global__ void silu_kernel(T* data, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float x = to_float(data[i]);
    data[i] = from_float<T>(x / (1.f + __expf(-x)));
  }
}

}  // namespace

void silu_in_place(DType dtype, void* data, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    silu_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(static_cast<T*>(data), count);
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

void relu_in_place(DType dtype, void* data, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    relu_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(static_cast<T*>(data), count);
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
