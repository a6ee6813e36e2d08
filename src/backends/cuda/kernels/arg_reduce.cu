// ArgMax and ArgMin on the GPU, with the CPU reference's rules: the first extreme index (the
// last with select_last), NaN beating every number. Short or strided lines take one thread
// each, scanning as the reference does; long lines one block each, whose threads keep the best
// of their own elements and then merge, ties going to the lower (or higher) index.
#include "backends/cuda/kernels/arg_reduce.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/ordered_keys.cuh"

namespace kiln::cuda {
namespace {

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
  __shared__ int64_t warp_best[33];  // one per warp, then the block's result
  __shared__ Key warp_held[32];
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
    auto merge_into = [&](int64_t& into, Key& into_held, int64_t other, Key other_held) {
      merge<kMax>(into, into_held, other, other_held, shape.select_last);
    };
    best = block_merge(best, held, merge_into, warp_best, warp_held);
    if (threadIdx.x == 0) out[line] = best;
  }
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
