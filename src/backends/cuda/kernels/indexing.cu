// Index-driven kernels on the GPU: GatherElements, GatherND, Trilu, CumSum and CumProd, with the
// CPU reference's semantics. Scalars that are tensors (Trilu's k) are read on the device, so no
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

// Adds the data offset of lookup `lookup`'s index tuple to `offset`; false when an index is out
// of range after wrapping (the offset is then meaningless).
template <typename Index>
__device__ __forceinline__ bool add_tuple_offset(const Index* indices, int64_t lookup,
                                                 const GatherNdGeometry& geometry,
                                                 int64_t& offset) {
  bool valid = true;
  for (int k = 0; k < geometry.depth; ++k) {
    int64_t index =
        wrap_index(int64_t(indices[lookup * geometry.depth + k]), geometry.axis_sizes[k]);
    valid = valid && index >= 0;
    offset += index * geometry.axis_strides[k];
  }
  return valid;
}

template <typename Word, typename Index>
__global__ void gather_nd_kernel(const Word* data, const Index* indices, Word* out,
                                 GatherNdGeometry geometry, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t lookup = i / geometry.slice_elements;
    int64_t batch = geometry.lookups_per_batch > 0 ? lookup / geometry.lookups_per_batch : 0;
    int64_t offset = batch * geometry.batch_stride + i % geometry.slice_elements;
    bool valid = add_tuple_offset(indices, lookup, geometry, offset);
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

// ---- CumSum and CumProd along one axis: float storage accumulates in FP32 and rounds once per
// output; integers accumulate in their own type, wrapping, as the CPU reference does.

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

// a + b or a * b (integers in unsigned arithmetic, so that overflow wraps).
template <typename Acc>
__device__ __forceinline__ Acc combine(Acc a, Acc b, bool product) {
  if constexpr (std::is_integral_v<Acc>) {
    using U = std::make_unsigned_t<Acc>;
    return Acc(product ? U(a) * U(b) : U(a) + U(b));
  } else {
    return product ? a * b : a + b;
  }
}

template <typename Acc>
__device__ __forceinline__ Acc identity(bool product) {
  return product ? Acc(1) : Acc(0);
}

// Where step `step` of line `line` lives: lines are (outer, inner) pairs, steps walk the axis.
__device__ __forceinline__ int64_t scan_at(int64_t line, int64_t step, int64_t length,
                                           int64_t inner, bool reverse) {
  int64_t position = reverse ? length - 1 - step : step;
  return (line / inner * length + position) * inner + line % inner;
}

// One thread per line, in order: best when lines are many or short (neighbouring threads
// read neighbouring elements when inner > 1).
template <typename T>
__global__ void scan_lines_kernel(const T* in, T* out, ScanShape shape) {
  for (int64_t line = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; line < shape.lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    Accumulator<T> running = identity<Accumulator<T>>(shape.product);
    for (int64_t step = 0; step < shape.length; ++step) {
      int64_t at = scan_at(line, step, shape.length, shape.inner, shape.reverse);
      Accumulator<T> x = widen(in[at]);
      if (shape.exclusive) out[at] = narrow<T>(running);
      running = combine(running, x, shape.product);
      if (!shape.exclusive) out[at] = narrow<T>(running);
    }
  }
}

// One block per line, blockDim.x (a multiple of 32) steps at a time: a warp scan, a scan of
// the warp totals, and a carry from the chunks before. For long lines.
template <typename T>
__global__ void scan_block_kernel(const T* in, T* out, ScanShape shape) {
  using Acc = Accumulator<T>;
  __shared__ Acc warp_totals[32];
  const unsigned all = 0xffffffffu;
  const bool product = shape.product;
  const Acc none = identity<Acc>(product);
  int lane = int(threadIdx.x) % 32;
  int warp = int(threadIdx.x) / 32;
  int warps = int(blockDim.x) / 32;
  for (int64_t line = blockIdx.x; line < shape.lines; line += gridDim.x) {
    Acc carry = none;
    for (int64_t chunk = 0; chunk < shape.length; chunk += blockDim.x) {
      int64_t step = chunk + threadIdx.x;
      bool active = step < shape.length;
      int64_t at = active ? scan_at(line, step, shape.length, shape.inner, shape.reverse) : 0;
      Acc x = active ? widen(in[at]) : none;
      Acc inclusive = x;
      for (int offset = 1; offset < 32; offset *= 2) {
        Acc other = __shfl_up_sync(all, inclusive, offset);
        if (lane >= offset) inclusive = combine(other, inclusive, product);
      }
      Acc before_in_warp = __shfl_up_sync(all, inclusive, 1);
      if (lane == 0) before_in_warp = none;
      if (lane == 31) warp_totals[warp] = inclusive;
      __syncthreads();
      if (warp == 0) {
        Acc total = lane < warps ? warp_totals[lane] : none;
        for (int offset = 1; offset < 32; offset *= 2) {
          Acc other = __shfl_up_sync(all, total, offset);
          if (lane >= offset) total = combine(other, total, product);
        }
        warp_totals[lane] = total;  // now the running total through warp `lane`
      }
      __syncthreads();
      Acc before = combine(carry, warp > 0 ? warp_totals[warp - 1] : none, product);
      Acc within = shape.exclusive ? before_in_warp : inclusive;
      if (active) out[at] = narrow<T>(combine(before, within, product));
      carry = combine(carry, warp_totals[warps - 1], product);
      __syncthreads();  // warp_totals is rewritten by the next chunk
    }
  }
}

// ---- ScatterElements: one thread per line of updates, in order along `axis`.

template <typename T>
__device__ __forceinline__ T scatter_combine(T held, T update, ScatterReduction reduction) {
  if (reduction == ScatterReduction::None) return update;
  Accumulator<T> a = widen(held), b = widen(update);
  if (reduction == ScatterReduction::Add || reduction == ScatterReduction::Mul)
    return narrow<T>(combine(a, b, reduction == ScatterReduction::Mul));
  if constexpr (!std::is_integral_v<Accumulator<T>>) {
    if (isnan(a)) return held;
    if (isnan(b)) return update;
  }
  bool take = reduction == ScatterReduction::Max ? b > a : b < a;
  return take ? update : held;
}

template <typename T, typename Index>
__global__ void scatter_elements_kernel(const Index* indices, const T* updates, T* out,
                                        GatherElementsGeometry geometry, ScatterReduction reduction,
                                        int64_t lines) {
  const int64_t length = geometry.index_dims[geometry.axis];
  const int64_t target_stride = geometry.data_strides[geometry.axis];
  for (int64_t line = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; line < lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    int64_t remainder = line, update_offset = 0, data_offset = 0, stride = 1, axis_stride = 1;
    for (int d = geometry.rank - 1; d >= 0; --d) {
      if (d == geometry.axis) {
        axis_stride = stride;
      } else {
        int64_t coordinate = remainder % geometry.index_dims[d];
        remainder /= geometry.index_dims[d];
        update_offset += coordinate * stride;
        data_offset += coordinate * geometry.data_strides[d];
      }
      stride *= geometry.index_dims[d];
    }
    for (int64_t j = 0; j < length; ++j) {
      const int64_t at = update_offset + j * axis_stride;
      const int64_t target = wrap_index(int64_t(indices[at]), geometry.axis_size);
      if (target < 0) continue;
      T& held = out[data_offset + target * target_stride];
      held = scatter_combine(held, updates[at], reduction);
    }
  }
}

// ---- ScatterND: one thread per element of a slice, over the lookups in order.

template <typename T, typename Index>
__global__ void scatter_nd_kernel(const Index* indices, const T* updates, T* out,
                                  GatherNdGeometry geometry, int64_t lookups,
                                  ScatterReduction reduction) {
  const int64_t slice = geometry.slice_elements;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < slice;
       e += int64_t(gridDim.x) * blockDim.x) {
    for (int64_t lookup = 0; lookup < lookups; ++lookup) {
      int64_t offset = e;
      if (!add_tuple_offset(indices, lookup, geometry, offset)) continue;
      out[offset] = scatter_combine(out[offset], updates[lookup * slice + e], reduction);
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

// Calls launch(T{}, Index{}): element words for None, numeric storage for the reductions.
template <typename Launch>
void visit_scatter_types(DType dtype, DType index_dtype, ScatterReduction reduction,
                         Launch&& launch) {
  auto with_index = [&](auto tag) {
    visit_index_type(index_dtype, [&](auto index) { launch(tag, index); });
  };
  if (reduction == ScatterReduction::None) {
    visit_element_word(dtype, with_index);
  } else {
    visit_numeric_storage(dtype, with_index);
  }
}

void launch_scatter_elements(DType dtype, DType index_dtype, const void* indices,
                             const void* updates, void* out, const GatherElementsGeometry& geometry,
                             ScatterReduction reduction, cudaStream_t stream) {
  const int64_t length = geometry.index_dims[geometry.axis];
  int64_t lines = 1;
  for (int d = 0; d < geometry.rank; ++d) lines *= d == geometry.axis ? 1 : geometry.index_dims[d];
  if (length == 0 || lines == 0) return;
  visit_scatter_types(dtype, index_dtype, reduction, [&](auto tag, auto index) {
    using T = decltype(tag);
    using I = decltype(index);
    scatter_elements_kernel<T, I><<<grid_for(lines), kThreads, 0, stream>>>(
        static_cast<const I*>(indices), static_cast<const T*>(updates), static_cast<T*>(out),
        geometry, reduction, lines);
  });
  check_last_launch();
}

void launch_scatter_nd(DType dtype, DType index_dtype, const void* indices, const void* updates,
                       void* out, const GatherNdGeometry& geometry, int64_t lookups,
                       ScatterReduction reduction, cudaStream_t stream) {
  if (lookups == 0 || geometry.slice_elements == 0) return;
  visit_scatter_types(dtype, index_dtype, reduction, [&](auto tag, auto index) {
    using T = decltype(tag);
    using I = decltype(index);
    scatter_nd_kernel<T, I><<<grid_for(geometry.slice_elements), kThreads, 0, stream>>>(
        static_cast<const I*>(indices), static_cast<const T*>(updates), static_cast<T*>(out),
        geometry, lookups, reduction);
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

void launch_scan(DType dtype, const void* in, void* out, const ScanShape& shape,
                 cudaStream_t stream) {
  bool block_scan =
      shape.length >= kBlockScanLength && (shape.inner == 1 || shape.lines < kManyStridedLines);
  visit_numeric_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(in);
    T* target = static_cast<T*>(out);
    if (block_scan) {
      unsigned blocks = static_cast<unsigned>(shape.lines < 65536 ? shape.lines : 65536);
      scan_block_kernel<T><<<blocks, kThreads, 0, stream>>>(source, target, shape);
    } else {
      scan_lines_kernel<T><<<grid_for(shape.lines), kThreads, 0, stream>>>(source, target, shape);
    }
  });
  check_last_launch();
}

}  // namespace kiln::cuda
