// Device-side helpers shared by Kiln's own CUDA kernels: storage-type traits (float, __half,
// __nv_bfloat16 stored, FP32 computed), 16-byte packs, launch geometry, and broadcast indexing.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/kernels/strided_loop.h"
#include "core/dtype.h"

namespace kiln::cuda {

// Conversions between a storage type and the FP32 the math runs in (ints pass through).
template <typename T>
__device__ __forceinline__ float to_float(T x) {
  return static_cast<float>(x);
}
template <>
__device__ __forceinline__ float to_float(__half x) {
  return __half2float(x);
}
template <>
__device__ __forceinline__ float to_float(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
template <typename T>
__device__ __forceinline__ T from_float(float x) {
  return static_cast<T>(x);
}
template <>
__device__ __forceinline__ __half from_float(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float(float x) {
  return __float2bfloat16_rn(x);
}

// N elements moved as one 16-byte (or smaller) access.
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};
template <typename T>
constexpr int kPackSize = 16 / sizeof(T) > 0 ? int(16 / sizeof(T)) : 1;

// V elements at `from` (aligned to the pack) widened to FP32 in one access.
template <typename T, int V>
__device__ __forceinline__ void load_floats(const T* from, float (&to)[V]) {
  Pack<T, V> pack = *reinterpret_cast<const Pack<T, V>*>(from);
#pragma unroll
  for (int v = 0; v < V; ++v) to[v] = to_float(pack.v[v]);
}

constexpr int kThreads = 256;
// Blocks for a grid-stride loop over `n` items: enough to fill the GPU, not one per item.
inline unsigned grid_for(int64_t n, int per_thread = 1) {
  int64_t blocks = (n / per_thread + kThreads - 1) / kThreads;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks > 65536 ? 65536 : blocks);
}

// The largest divisor of `count` that is at most `limit` (1 at least): how many of `count`
// channel vectors a block takes so that no block is left with idle lanes (96 bf16 channels
// are 12 vectors: 6 lanes of 2 blocks under a limit of 8).
inline int widest_divisor(int count, int limit) {
  for (int divisor = limit; divisor > 1; --divisor) {
    if (count % divisor == 0) return divisor;
  }
  return 1;
}

// Maps a row-major linear index over `dims` to an element offset through `strides`
// (0 on broadcast axes). Up to kMaxRank axes; passed to kernels by value.
struct StridedView {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  int64_t offset = 0;

  __device__ __forceinline__ int64_t at(int64_t linear) const {
    int64_t result = offset;
    for (int axis = rank - 1; axis >= 0; --axis) {
      int64_t size = dims[axis];
      result += (linear % size) * strides[axis];
      linear /= size;
    }
    return result;
  }
};

// Sum / max over a block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
template <bool kMax>
__device__ __forceinline__ float block_reduce(float value) {
  __shared__ float partial[32];
  for (int offset = 16; offset > 0; offset /= 2) {
    float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = kMax ? fmaxf(value, other) : value + other;
  }
  int lane = threadIdx.x % 32;
  int warp = threadIdx.x / 32;
  __syncthreads();  // `partial` may still be read by a previous call
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  int warps = blockDim.x / 32;
  value = lane < warps ? partial[lane] : (kMax ? -INFINITY : 0.f);
  for (int offset = 16; offset > 0; offset /= 2) {
    float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = kMax ? fmaxf(value, other) : value + other;
  }
  return value;
}

// A view that walks `dims` with the given element strides and offset; LaunchError
// (Unsupported) past kMaxRank axes.
StridedView strided_view(const Dims& dims, const Dims& strides, int64_t offset);

// Calls fn(T{}) for the float storage types (float, __half, __nv_bfloat16); the types of
// has_float_kernel (kernel_types.h), which the op adapters check first.
template <typename Fn>
void visit_float_storage(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      return fn(float{});
    case DType::Float16:
      return fn(__half{});
    case DType::BFloat16:
      return fn(__nv_bfloat16{});
    default:
      launch_fail(ErrorKind::Unsupported, "no CUDA kernel for ", dtype_name(dtype));
  }
}

// Float storage types plus int32 and int64 (has_numeric_kernel).
template <typename Fn>
void visit_numeric_storage(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Int32:
      return fn(int32_t{});
    case DType::Int64:
      return fn(int64_t{});
    default:
      return visit_float_storage(dtype, fn);
  }
}

}  // namespace kiln::cuda
