// Index-driven kernels on the GPU: GatherElements, GatherND, Trilu and CumSum, with the CPU
// reference's semantics. Scalars that are tensors (Trilu's k) are read on the device, so no
// launch waits for the host. An index still out of range after wrapping negatives yields a
// zero element: the CPU reference raises an error, a kernel cannot, and it must never read
// outside the tensor.
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

void check_rank(const Dims& dims, const std::string& what) {
  check(dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, what, ": rank ", dims.size(),
        " exceeds the CUDA kernels' limit of ", kMaxRank);
}

// ---- GatherElements: out[.., j, ..] = data[.., wrap(indices[.., j, ..]), ..] on `axis`.

struct GatherElementsGeometry {
  int rank = 0;
  int axis = 0;
  int64_t axis_size = 0;              // the data's size on `axis`
  int64_t index_dims[kMaxRank] = {};  // also the output's dims
  int64_t data_strides[kMaxRank] = {};
};

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

void gather_elements(LaunchContext& context, const ir::Node& node,
                     std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check_rank(data.dims, what);
  check(indices.dims.size() == data.dims.size(), ErrorKind::Runtime, what, ": indices rank ",
        indices.dims.size(), " differs from data rank ", data.dims.size());
  int64_t rank = int64_t(data.dims.size());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), rank, what);
  GatherElementsGeometry geometry;
  geometry.rank = int(rank);
  geometry.axis = int(axis);
  geometry.axis_size = data.dims[size_t(axis)];
  Dims data_strides = contiguous_strides(data.dims);
  for (size_t d = 0; d < size_t(rank); ++d) {
    check(int64_t(d) == axis || indices.dims[d] <= data.dims[d], ErrorKind::Runtime, what,
          ": indices dims ", dims_to_string(indices.dims), " exceed data dims ",
          dims_to_string(data.dims), " on axis ", d);
    geometry.index_dims[d] = indices.dims[d];
    geometry.data_strides[d] = data_strides[d];
  }
  int64_t n = out.numel();
  check(n == indices.numel(), ErrorKind::Runtime, what, ": output has ", n, " elements, indices ",
        indices.numel());
  if (n == 0) return;
  visit_element_word(data.dtype, what, [&](auto word) {
    visit_index_type(indices.dtype, what, [&](auto index) {
      using W = decltype(word);
      using I = decltype(index);
      gather_elements_kernel<W, I><<<grid_for(n), kThreads, 0, context.stream>>>(
          static_cast<const W*>(data.data), static_cast<const I*>(indices.data),
          static_cast<W*>(out.data), geometry, n);
    });
  });
  check_launch(node);
}

// ---- GatherND: each lookup (the last indices dim) addresses `depth` data dims after the
// batch dims and copies the slice of the remaining dims.

struct GatherNdGeometry {
  int depth = 0;
  int64_t axis_sizes[kMaxRank] = {};  // data dims batch_dims .. batch_dims + depth
  int64_t axis_strides[kMaxRank] = {};
  int64_t slice_elements = 1;
  int64_t lookups_per_batch = 0;
  int64_t batch_stride = 0;
};

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

void gather_nd(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check_rank(data.dims, what);
  int64_t data_rank = int64_t(data.dims.size());
  int64_t index_rank = int64_t(indices.dims.size());
  int64_t batch_dims = node.attr_int("batch_dims", 0);
  check(index_rank >= 1 && batch_dims >= 0 && batch_dims < index_rank && batch_dims < data_rank,
        ErrorKind::Runtime, what, ": invalid indices rank ", index_rank, " for batch_dims ",
        batch_dims);
  int64_t depth = indices.dims.back();
  check(depth >= 1 && batch_dims + depth <= data_rank, ErrorKind::Runtime, what,
        ": indices address ", depth, " dims but data has rank ", data_rank);
  Dims data_strides = contiguous_strides(data.dims);
  GatherNdGeometry geometry;
  geometry.depth = int(depth);
  for (int64_t k = 0; k < depth; ++k) {
    geometry.axis_sizes[k] = data.dims[size_t(batch_dims + k)];
    geometry.axis_strides[k] = data_strides[size_t(batch_dims + k)];
  }
  for (int64_t d = batch_dims + depth; d < data_rank; ++d)
    geometry.slice_elements *= data.dims[size_t(d)];
  int64_t batch_count = 1;
  for (int64_t d = 0; d < batch_dims; ++d) batch_count *= data.dims[size_t(d)];
  int64_t lookups = indices.numel() / depth;
  geometry.lookups_per_batch = lookups / (batch_count > 0 ? batch_count : 1);
  geometry.batch_stride = batch_dims > 0 ? data_strides[size_t(batch_dims - 1)] : data.numel();
  int64_t n = out.numel();
  check(n == lookups * geometry.slice_elements, ErrorKind::Runtime, what, ": output dims ",
        dims_to_string(out.dims), " do not match ", lookups, " lookups of ",
        geometry.slice_elements, " elements");
  if (n == 0) return;
  visit_element_word(data.dtype, what, [&](auto word) {
    visit_index_type(indices.dtype, what, [&](auto index) {
      using W = decltype(word);
      using I = decltype(index);
      gather_nd_kernel<W, I><<<grid_for(n), kThreads, 0, context.stream>>>(
          static_cast<const W*>(data.data), static_cast<const I*>(indices.data),
          static_cast<W*>(out.data), geometry, n);
    });
  });
  check_launch(node);
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

void trilu(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check(in.dims.size() >= 2, ErrorKind::InvalidArgument, what,
        ": input must have at least 2 dims, got ", dims_to_string(in.dims));
  const int64_t* k = nullptr;
  if (inputs.size() > 1 && inputs[1].defined()) {
    check(inputs[1].dtype == DType::Int64, ErrorKind::Unsupported, what, ": k must be int64, got ",
          dtype_name(inputs[1].dtype));
    check(inputs[1].numel() == 1, ErrorKind::InvalidArgument, what,
          ": k must hold one value, got dims ", dims_to_string(inputs[1].dims));
    k = static_cast<const int64_t*>(inputs[1].data);
  }
  int64_t n = out.numel();
  if (n == 0) return;
  int64_t rows = in.dims[in.dims.size() - 2];
  int64_t cols = in.dims.back();
  bool upper = node.attr_int("upper", 1) != 0;
  visit_element_word(in.dtype, what, [&](auto word) {
    using W = decltype(word);
    trilu_kernel<W><<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const W*>(in.data), k, static_cast<W*>(out.data), n, rows, cols, upper);
  });
  check_launch(node);
}

// ---- CumSum along `axis` (an attribute in Kiln's IR): float storage sums in FP32 and rounds
// once per output; integers sum in their own type, as the CPU reference does.

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

void cumsum(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  check(in.dtype == out.dtype, ErrorKind::Unsupported, what, ": input ", dtype_name(in.dtype),
        " and output ", dtype_name(out.dtype), " differ");
  int64_t rank = int64_t(in.dims.size());
  int64_t axis = ir::normalize_axis(node.attr_int("axis", 0), rank > 0 ? rank : 1, what);
  int64_t length = rank > 0 ? in.dims[size_t(axis)] : 1;
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= in.dims[size_t(d)];
  int64_t n = in.numel();
  if (n == 0) return;
  int64_t lines = n / length;
  bool exclusive = node.attr_int("exclusive", 0) != 0;
  bool reverse = node.attr_int("reverse", 0) != 0;
  bool block_scan = length >= kBlockScanLength && (inner == 1 || lines < kManyStridedLines);
  visit_numeric_storage(in.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    const T* source = static_cast<const T*>(in.data);
    T* target = static_cast<T*>(out.data);
    if (block_scan) {
      unsigned blocks = static_cast<unsigned>(lines < 65536 ? lines : 65536);
      cumsum_block_kernel<T><<<blocks, kThreads, 0, context.stream>>>(source, target, lines, length,
                                                                      inner, exclusive, reverse);
    } else {
      cumsum_lines_kernel<T><<<grid_for(lines), kThreads, 0, context.stream>>>(
          source, target, lines, length, inner, exclusive, reverse);
    }
  });
  check_launch(node);
}

}  // namespace

void register_indexing_cuda_kernels(CudaKernelMap& map) {
  map["GatherElements"] = gather_elements;
  map["GatherND"] = gather_nd;
  map["Trilu"] = trilu;
  map["CumSum"] = cumsum;
}

}  // namespace kiln::cuda
