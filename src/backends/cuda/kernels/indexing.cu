// Index-driven kernels on the GPU: GatherElements, GatherND, Trilu and CumSum, with the CPU
// reference's semantics. Scalars that are tensors (Trilu's k) are read on the device, so no
// launch waits for the host. An index still out of range after wrapping negatives yields a
// zero element: the CPU reference raises an error, a kernel cannot, and it must never read
// outside the tensor.
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"
#include "backends/cuda/kernels/indexing.h"

namespace kiln::cuda {
namespace {

// ---- GatherElements: out[.., j, ..] = data[.., wrap(indices[.., j, ..]), ..] on `axis`.

template <typename Word, typename Index>
__global__ void gather_elements_kernel(const Word* data, const Index* indices, Word* out,
                                       GatherElementsGeometry geometry, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t index = wrap_index(int64_t(indices[i]), geometry.axis_size);
    int64_t remainder = i;
    int64_t offset = 0;
    for (int axis = geometry.rank - 1; axis >= 0; --axis) {
      int64_t size = geometry.index_dims[axis];
      int64_t coordinate = remainder % size;
      remainder /= size;
      offset += (axis == geometry.axis ? index : coordinate) * geometry.data_strides[axis];
    }
    out[i] = index >= 0 ? data[offset] : Word(0);
  }
}

// ---- GatherND: each lookup (the last indices dim) addresses `depth` data dims after the
// batch dims and copies the slice of the remaining dims.

template <typename Word, typename Index>
__global__ void gather_nd_kernel(const Word* data, const Index* indices, Word* out,
                                 GatherNdGeometry geometry, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t lookup = i / geometry.slice_elements;
    int64_t batch = geometry.lookups_per_batch > 0 ? lookup / geometry.lookups_per_batch : 0;
    int64_t offset = batch * geometry.batch_stride + i % geometry.slice_elements;
    bool valid = true;
    for (int k = 0; k < geometry.depth; ++k) {
      int64_t index =
          wrap_index(int64_t(indices[lookup * geometry.depth + k]), geometry.axis_sizes[k]);
      valid = valid && index >= 0;
      offset += index * geometry.axis_strides[k];
    }
    out[i] = valid ? data[offset] : Word(0);
  }
}

// ---- Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes.

template <typename Word>
__global__ void trilu_kernel(const Word* in, const int64_t* k_input, Word* out, int64_t n,
                             int64_t rows, int64_t cols, bool upper) {
  int64_t k = k_input != nullptr ? *k_input : 0;  // read here: the host never waits for it
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t col = i % cols;
    int64_t row = (i / cols) % rows;
    bool keep = upper ? col - row >= k : col - row <= k;
    out[i] = keep ? in[i] : Word(0);
  }
}

// ---- CumSum along one axis: float storage sums in FP32 and rounds once per output; integers
// sum in their own type, as the CPU reference does.

template <typename T>
using Accumulator = std::conditional_t<std::is_integral_v<T>, T, float>;

template <typename T>
__device__ __forceinline__ Accumulator<T> widen(T x) {
  if constexpr (std::is_integral_v<T>)
    return x;
  else
    return to_float(x);
}

template <typename T>
__device__ __forceinline__ T narrow(Accumulator<T> x) {
  if constexpr (std::is_integral_v<T>)
    return x;
  else
    return from_float<T>(x);
}

// Where step `step` of line `line` lives: lines are (outer, inner) pairs, steps walk the axis.
__device__ __forceinline__ int64_t cumsum_at(int64_t line, int64_t step, int64_t length,
                                             int64_t inner, bool reverse) {
  int64_t position = reverse ? length - 1 - step : step;
  return (line / inner * length + position) * inner + line % inner;
}

// One thread per line, in order: best when lines are many or short (neighbouring threads
// read neighbouring elements when inner > 1).
template <typename T>
__global__ void cumsum_lines_kernel(const T* in, T* out, int64_t lines, int64_t length,
                                    int64_t inner, bool exclusive, bool reverse) {
  for (int64_t line = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; line < lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    Accumulator<T> running = 0;
    for (int64_t step = 0; step < length; ++step) {
      int64_t at = cumsum_at(line, step, length, inner, reverse);
      Accumulator<T> x = widen(in[at]);
      if (exclusive) out[at] = narrow<T>(running);
      running += x;
      if (!exclusive) out[at] = narrow<T>(running);
    }
  }
}

// One block per line, blockDim.x (a multiple of 32) steps at a time: a warp scan, a scan of
// the warp totals, and a carry from the chunks before. For long lines.
template <typename T>
__global__ void cumsum_block_kernel(const T* in, T* out, int64_t lines, int64_t length,
                                    int64_t inner, bool exclusive, bool reverse) {
  using Acc = Accumulator<T>;
  __shared__ Acc warp_totals[32];
  const unsigned all = 0xffffffffu;
  int lane = int(threadIdx.x) % 32;
  int warp = int(threadIdx.x) / 32;
  int warps = int(blockDim.x) / 32;
  for (int64_t line = blockIdx.x; line < lines; line += gridDim.x) {
    Acc carry = 0;
    for (int64_t chunk = 0; chunk < length; chunk += blockDim.x) {
      int64_t step = chunk + threadIdx.x;
      bool active = step < length;
      int64_t at = active ? cumsum_at(line, step, length, inner, reverse) : 0;
      Acc x = active ? widen(in[at]) : Acc(0);
      Acc inclusive = x;
      for (int offset = 1; offset < 32; offset *= 2) {
        Acc other = __shfl_up_sync(all, inclusive, offset);
        if (lane >= offset) inclusive += other;
      }
      Acc before_in_warp = __shfl_up_sync(all, inclusive, 1);
      if (lane == 0) before_in_warp = 0;
      if (lane == 31) warp_totals[warp] = inclusive;
      __syncthreads();
      if (warp == 0) {
        Acc total = lane < warps ? warp_totals[lane] : Acc(0);
        for (int offset = 1; offset < 32; offset *= 2) {
          Acc other = __shfl_up_sync(all, total, offset);
          if (lane >= offset) total += other;
        }
        warp_totals[lane] = total;  // now the running total through warp `lane`
      }
      __syncthreads();
      Acc before = carry + (warp > 0 ? warp_totals[warp - 1] : Acc(0));
      if (active) out[at] = narrow<T>(before + (exclusive ? before_in_warp : inclusive));
      carry += warp_totals[warps - 1];
      __syncthreads();  // warp_totals is rewritten by the next chunk
    }
  }
}

// Lines at least this long use the block scan, unless they are strided and many.
constexpr int64_t kBlockScanLength = 64;
constexpr int64_t kManyStridedLines = 1024;

}  // namespace

void launch_gather_elements(DType dtype, DType index_dtype, const void* data, const void* indices,
                            void* out, const GatherElementsGeometry& geometry, int64_t count,
                            cudaStream_t stream) {
  visit_element_word(dtype, [&](auto word) {
    visit_index_type(index_dtype, [&](auto index) {
      using W = decltype(word);
      using I = decltype(index);
      gather_elements_kernel<W, I><<<grid_for(count), kThreads, 0, stream>>>(
          static_cast<const W*>(data), static_cast<const I*>(indices), static_cast<W*>(out),
          geometry, count);
    });
  });
  check_last_launch();
}

void launch_gather_nd(DType dtype, DType index_dtype, const void* data, const void* indices,
                      void* out, const GatherNdGeometry& geometry, int64_t count,
                      cudaStream_t stream) {
  visit_element_word(dtype, [&](auto word) {
    visit_index_type(index_dtype, [&](auto index) {
      using W = decltype(word);
      using I = decltype(index);
      gather_nd_kernel<W, I><<<grid_for(count), kThreads, 0, stream>>>(
          static_cast<const W*>(data), static_cast<const I*>(indices), static_cast<W*>(out),
          geometry, count);
    });
  });
  check_last_launch();
}

void launch_trilu(DType dtype, const void* in, const int64_t* k, void* out, int64_t count,
                  int64_t rows, int64_t cols, bool upper, cudaStream_t stream) {
  visit_element_word(dtype, [&](auto word) {
    using W = decltype(word);
    trilu_kernel<W><<<grid_for(count), kThreads, 0, stream>>>(
        static_cast<const W*>(in), k, static_cast<W*>(out), count, rows, cols, upper);
  });
  check_last_launch();
}

void launch_cumsum(DType dtype, const void* in, void* out, const CumSumShape& shape,
                   cudaStream_t stream) {
  const auto [lines, length, inner, exclusive, reverse] = shape;
  bool block_scan = length >= kBlockScanLength && (inner == 1 || lines < kManyStridedLines);
  visit_numeric_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(in);
    T* target = static_cast<T*>(out);
    if (block_scan) {
      unsigned blocks = static_cast<unsigned>(lines < 65536 ? lines : 65536);
      cumsum_block_kernel<T><<<blocks, kThreads, 0, stream>>>(source, target, lines, length, inner,
                                                              exclusive, reverse);
    } else {
      cumsum_lines_kernel<T><<<grid_for(lines), kThreads, 0, stream>>>(
          source, target, lines, length, inner, exclusive, reverse);
    }
  });
  check_last_launch();
}

}  // namespace kiln::cuda
