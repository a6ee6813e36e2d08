// How the ordering kernels (ArgMax/ArgMin, TopK) compare elements: every storage type as an
// exact, order-keeping key, NaN told apart, the visitor over the ordered storage types, and
// the block-wide merge of each thread's best element.
#pragma once

#include <cmath>
#include <type_traits>

#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/kernel_types.h"

namespace kiln::cuda {

// What elements are compared as: every conversion here is exact and keeps the order.
template <typename T>
using OrderKey =
    std::conditional_t<std::is_same_v<T, double>, double,
                       std::conditional_t<std::is_integral_v<T>,
                                          std::conditional_t<(sizeof(T) < 4), int32_t, T>, float>>;

template <typename T>
__device__ __forceinline__ OrderKey<T> order_key(T x) {
  if constexpr (std::is_integral_v<T> || std::is_same_v<T, double>)
    return OrderKey<T>(x);
  else
    return to_float(x);
}

template <typename Key>
__device__ __forceinline__ bool is_nan(Key x) {
  if constexpr (std::is_floating_point_v<Key>)
    return isnan(x);
  else
    return false;
}

// Merges every thread's (best, held) over the block with `merge(best, held, other_best,
// other_held)` (an index below 0 is none): shuffles within each warp, then warp 0 over the
// warps' results. Every thread returns the block's index. blockDim.x is a multiple of 32;
// `warp_best` holds 33 entries (one per warp, then the result), `warp_held` 32.
template <typename Key, typename Merge>
__device__ __forceinline__ int64_t block_merge(int64_t best, Key held, Merge merge,
                                               int64_t* warp_best, Key* warp_held) {
  const unsigned all = 0xffffffffu;
  const int lane = int(threadIdx.x) % 32;
  const int warp = int(threadIdx.x) / 32;
  const int warps = int(blockDim.x) / 32;
  for (int offset = 16; offset > 0; offset /= 2) {
    int64_t other_best = __shfl_down_sync(all, best, offset);
    Key other_held = __shfl_down_sync(all, held, offset);
    merge(best, held, other_best, other_held);
  }
  if (lane == 0) {
    warp_best[warp] = best;
    warp_held[warp] = held;
  }
  __syncthreads();
  if (warp == 0) {
    best = lane < warps ? warp_best[lane] : -1;
    held = lane < warps ? warp_held[lane] : Key(0);
    for (int offset = 16; offset > 0; offset /= 2) {
      int64_t other_best = __shfl_down_sync(all, best, offset);
      Key other_held = __shfl_down_sync(all, held, offset);
      merge(best, held, other_best, other_held);
    }
    if (lane == 0) warp_best[32] = best;
  }
  __syncthreads();
  best = warp_best[32];
  __syncthreads();  // the caller's next merge rewrites warp_best and warp_held
  return best;
}

// Calls fn(T{}) for the storage types of has_ordered_kernel: every dtype but bool, with the
// 16-bit floats as CUDA's types.
template <typename Fn>
void visit_ordered_storage(DType dtype, Fn&& fn) {
  launch_check(has_ordered_kernel(dtype), ErrorKind::Unsupported, "no CUDA kernel for ",
               dtype_name(dtype));
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float16>) {
      fn(__half{});
    } else if constexpr (std::is_same_v<T, bfloat16>) {
      fn(__nv_bfloat16{});
    } else if constexpr (!std::is_same_v<T, bool>) {
      fn(tag);
    }
  });
}

}  // namespace kiln::cuda
