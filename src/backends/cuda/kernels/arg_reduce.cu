// ArgMax and ArgMin on the GPU, with the CPU reference's rules: the first extreme index (the
// last with select_last), NaN beating every number. Short or strided lines take one thread
// each, scanning as the reference does; long lines one block each, whose threads keep the best
// of their own elements and then merge, ties going to the lower (or higher) index.
#include <cmath>
#include <type_traits>

#include "backends/cuda/kernels/arg_reduce.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/kernel_types.h"

namespace kiln::cuda {
namespace {

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

// Whether `value` replaces `held` as the extreme so far (NaN wins, and stays).
template <bool kMax, typename Key>
__device__ __forceinline__ bool beats(Key value, Key held) {
  return !is_nan(held) && (is_nan(value) || (kMax ? value > held : value < held));
}

// Equal for the extreme: both NaN, or equal numbers.
template <typename Key>
__device__ __forceinline__ bool ties(Key value, Key held) {
  return is_nan(held) ? is_nan(value) : (!is_nan(value) && value == held);
}

// One thread per line (outer, inner), scanning it in order as the reference does.
template <bool kMax, typename T>
__global__ void arg_reduce_lines_kernel(const T* in, int64_t* out, ArgReduceShape shape,
                                        int64_t lines) {
  for (int64_t line = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; line < lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    const T* row = in + (line / shape.inner) * shape.length * shape.inner + line % shape.inner;
    int64_t best = 0;
    OrderKey<T> held = order_key(row[0]);
    for (int64_t k = 1; k < shape.length; ++k) {
      OrderKey<T> value = order_key(row[k * shape.inner]);
      if (beats<kMax>(value, held) || (shape.select_last && ties(value, held))) {
        best = k;
        held = value;
      }
    }
    out[line] = best;
  }
}

// Merges the best of another set of elements (other_best < 0: none) into this one's.
template <bool kMax, typename Key>
__device__ __forceinline__ void merge(int64_t& best, Key& held, int64_t other_best, Key other_held,
                                      bool select_last) {
  if (other_best < 0) return;
  bool take =
      best < 0 || beats<kMax>(other_held, held) ||
      (!beats<kMax>(held, other_held) && (select_last ? other_best > best : other_best < best));
  if (take) {
    best = other_best;
    held = other_held;
  }
}

// One block per line: each thread scans every blockDim.x-th element, then the warps merge by
// shuffles and warp 0 merges the warps' results. blockDim.x is a multiple of 32, at most 1024.
template <bool kMax, typename T>
__global__ void arg_reduce_block_kernel(const T* in, int64_t* out, ArgReduceShape shape,
                                        int64_t lines) {
  using Key = OrderKey<T>;
  __shared__ int64_t warp_best[32];
  __shared__ Key warp_held[32];
  const unsigned all = 0xffffffffu;
  const int lane = int(threadIdx.x) % 32;
  const int warp = int(threadIdx.x) / 32;
  const int warps = int(blockDim.x) / 32;
  for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {
    const T* row = in + (line / shape.inner) * shape.length * shape.inner + line % shape.inner;
    int64_t best = -1;
    Key held = 0;
    for (int64_t k = threadIdx.x; k < shape.length; k += blockDim.x) {
      Key value = order_key(row[k * shape.inner]);
      if (best < 0 || beats<kMax>(value, held) || (shape.select_last && ties(value, held))) {
        best = k;
        held = value;
      }
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      int64_t other_best = __shfl_down_sync(all, best, offset);
      Key other_held = __shfl_down_sync(all, held, offset);
      merge<kMax>(best, held, other_best, other_held, shape.select_last);
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
        merge<kMax>(best, held, other_best, other_held, shape.select_last);
      }
      if (lane == 0) out[line] = best;
    }
    __syncthreads();  // the next line rewrites warp_best and warp_held
  }
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

// Lines at least this long, and not many strided ones, take a block each.
constexpr int64_t kBlockLineLength = 128;
constexpr int64_t kManyStridedLines = 2048;

}  // namespace

void launch_arg_reduce(bool take_max, DType dtype, const void* in, int64_t* out,
                       const ArgReduceShape& shape, cudaStream_t stream) {
  const int64_t lines = shape.outer * shape.inner;
  if (lines == 0) return;
  launch_check(shape.length > 0, ErrorKind::InvalidArgument, "an empty axis has no extreme index");
  const bool by_block =
      shape.length >= kBlockLineLength && (shape.inner == 1 || lines < kManyStridedLines);
  visit_ordered_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(in);
    auto launch = [&](auto max_tag) {
      constexpr bool kMax = decltype(max_tag)::value;
      if (by_block) {
        unsigned blocks = unsigned(lines < 65536 ? lines : 65536);
        unsigned threads = shape.length >= 1024 ? kThreads : 128;
        arg_reduce_block_kernel<kMax, T><<<blocks, threads, 0, stream>>>(source, out, shape, lines);
      } else {
        arg_reduce_lines_kernel<kMax, T>
            <<<grid_for(lines), kThreads, 0, stream>>>(source, out, shape, lines);
      }
    };
    if (take_max) {
      launch(std::true_type{});
    } else {
      launch(std::false_type{});
    }
  });
  check_last_launch();
}

}  // namespace kiln::cuda
