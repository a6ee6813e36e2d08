// TopK on the GPU: one block per line, k passes. Each pass finds, among the elements ranked
// after the one the previous pass chose, the first in the order: every thread over a strided
// share of the line, then a merge by shuffles and across warps. The order is strict (ties go
// by index), so each pass picks exactly the next element the CPU reference's sort gives.
#include "backends/cuda/kernels/ordered_keys.cuh"
#include "backends/cuda/kernels/top_k.h"

namespace kiln::cuda {
namespace {

// Whether (a, a_index) comes before (b, b_index): larger first (smaller without `largest`),
// NaN above every number, equal keys by lower index.
template <typename Key>
__device__ __forceinline__ bool ranks_before(Key a, int64_t a_index, Key b, int64_t b_index,
                                             bool largest) {
  const bool a_nan = is_nan(a), b_nan = is_nan(b);
  if (a_nan != b_nan) return largest ? a_nan : b_nan;
  if (!a_nan && a != b) return largest ? a > b : a < b;
  return a_index < b_index;
}

// Keeps the earlier of (best, held) and (other_best, other_held); an index below 0 is none.
template <typename Key>
__device__ __forceinline__ void keep_first(int64_t& best, Key& held, int64_t other_best,
                                           Key other_held, bool largest) {
  if (other_best < 0) return;
  if (best < 0 || ranks_before(other_held, other_best, held, best, largest)) {
    best = other_best;
    held = other_held;
  }
}

// The first element in the order among those after (after, after_key) (after < 0: all),
// merged over the block; every thread returns it.
template <typename T>
__device__ int64_t block_next(const T* row, const TopKShape& shape, int64_t after,
                              OrderKey<T> after_key, int64_t* warp_best, OrderKey<T>* warp_held) {
  using Key = OrderKey<T>;
  int64_t best = -1;
  Key held = 0;
  for (int64_t e = threadIdx.x; e < shape.length; e += blockDim.x) {
    Key value = order_key(row[e * shape.inner]);
    if (after >= 0 && !ranks_before(after_key, after, value, e, shape.largest)) continue;
    keep_first(best, held, e, value, shape.largest);
  }
  auto merge = [&](int64_t& into, Key& into_held, int64_t other, Key other_held) {
    keep_first(into, into_held, other, other_held, shape.largest);
  };
  return block_merge(best, held, merge, warp_best, warp_held);
}

// One block per line; blockDim.x is a multiple of 32, at most 1024.
template <typename T>
__global__ void top_k_kernel(const T* in, T* values, int64_t* indices, TopKShape shape,
                             int64_t lines) {
  __shared__ int64_t warp_best[33];  // one per warp, then the block's choice
  __shared__ OrderKey<T> warp_held[32];
  for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {
    const int64_t outer = line / shape.inner, inner = line % shape.inner;
    const T* row = in + outer * shape.length * shape.inner + inner;
    int64_t chosen = -1;
    OrderKey<T> chosen_key = 0;
    for (int64_t j = 0; j < shape.k; ++j) {
      chosen = block_next(row, shape, chosen, chosen_key, warp_best, warp_held);
      chosen_key = order_key(row[chosen * shape.inner]);
      if (threadIdx.x == 0) {
        const int64_t at = (outer * shape.k + j) * shape.inner + inner;
        if (values != nullptr) values[at] = row[chosen * shape.inner];
        if (indices != nullptr) indices[at] = chosen;
      }
    }
  }
}

}  // namespace

void launch_top_k(DType dtype, const void* in, void* values, int64_t* indices,
                  const TopKShape& shape, cudaStream_t stream) {
  const int64_t lines = shape.outer * shape.inner;
  if (lines == 0 || shape.k == 0) return;
  launch_check(shape.k <= shape.length && shape.k <= kMaxCudaTopK, ErrorKind::Unsupported,
               "TopK k ", shape.k, " over lines of ", shape.length, " is beyond the CUDA kernel");
  visit_ordered_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    unsigned blocks = unsigned(lines < 65536 ? lines : 65536);
    unsigned threads = shape.length >= 1024 ? kThreads : 128;
    top_k_kernel<T><<<blocks, threads, 0, stream>>>(static_cast<const T*>(in),
                                                    static_cast<T*>(values), indices, shape, lines);
  });
  check_last_launch();
}

}  // namespace kiln::cuda
