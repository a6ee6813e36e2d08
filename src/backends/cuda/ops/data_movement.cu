// Data movement on the GPU: Reshape-like ops (a copy), and Transpose, Expand, Slice, Concat,
// Split as one strided copy (source and destination views), plus Gather. Bytes are moved by
// element size, so one kernel per size serves every dtype.
#include <algorithm>

#include "backends/cuda/kernels/index_math.cuh"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

// dst at the second operand's offsets = src at the first's, offsets in 32 bits.
template <typename Word>
__global__ void strided_copy32_kernel(const Word* src, Word* dst, uint32_t n, Index32<2> index) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[2];
    index.at(i, at);
    dst[at[1]] = src[at[0]];
  }
}

// Tensors of 2^31 elements or more: 64-bit offsets.
template <typename Word>
__global__ void strided_copy_kernel(const Word* src, StridedView src_view, Word* dst,
                                    StridedView dst_view, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dst[dst_view.at(i)] = src[src_view.at(i)];
  }
}

// Copies whose source-contiguous axis is not the destination's innermost (a Transpose that
// moves the last axis) go through 32x32 tiles in shared memory: reads along the source's
// contiguous axis ("rows"), writes along the destination's last axis ("cols"), both coalesced.
constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per block: kTile x kTileRows

struct TileCopy {
  uint32_t rows = 0;            // extent of the source-contiguous axis
  uint32_t cols = 0;            // extent of the last axis (destination-contiguous)
  uint32_t src_col_stride = 0;  // source stride of the last axis
  uint32_t dst_row_stride = 0;  // destination stride of the source-contiguous axis
  FastDivmod row_tiles, col_tiles;
  uint32_t tiles = 0;  // batches x row tiles x col tiles
  Index32<2> batch;    // source and destination offsets of the remaining axes
};

template <typename Word>
__global__ void tiled_copy_kernel(const Word* src, Word* dst, TileCopy copy) {
  __shared__ Word tile[kTile][kTile + 1];  // +1: columns fall in different banks
  for (uint32_t t = blockIdx.x; t < copy.tiles; t += gridDim.x) {
    uint32_t rest = copy.col_tiles.div(t);
    uint32_t col0 = (t - rest * copy.col_tiles.divisor) * kTile;
    uint32_t batch = copy.row_tiles.div(rest);
    uint32_t row0 = (rest - batch * copy.row_tiles.divisor) * kTile;
    uint32_t base[2];
    copy.batch.at(batch, base);
    uint32_t row = row0 + threadIdx.x;
    for (uint32_t k = threadIdx.y; k < kTile; k += kTileRows) {
      uint32_t col = col0 + k;
      if (row < copy.rows && col < copy.cols)
        tile[k][threadIdx.x] = src[base[0] + row + col * copy.src_col_stride];
    }
    __syncthreads();
    uint32_t col = col0 + threadIdx.x;
    for (uint32_t k = threadIdx.y; k < kTile; k += kTileRows) {
      uint32_t r = row0 + k;
      if (r < copy.rows && col < copy.cols)
        dst[base[1] + r * copy.dst_row_stride + col] = tile[threadIdx.x][k];
    }
    __syncthreads();  // the next tile overwrites `tile`
  }
}

// The tiled plan for a merged loop (32-bit offsets already checked), or false where it does
// not apply: the destination's last axis must be contiguous, the source's not, and another
// axis contiguous in the source; both long enough to fill most of a tile.
bool plan_tiles(const StridedLoop& loop, const std::string& what, TileCopy& copy) {
  size_t last = loop.dims.size() - 1;
  if (last == 0 || loop.strides[1][last] != 1 || loop.strides[0][last] == 1) return false;
  size_t row_axis = 0;
  while (row_axis < last && loop.strides[0][row_axis] != 1) ++row_axis;
  if (row_axis == last || loop.dims[row_axis] < kTile / 4 || loop.dims[last] < kTile / 4)
    return false;
  StridedLoop batch{{}, {{}, {}}, loop.offsets};
  for (size_t axis = 0; axis < last; ++axis) {
    if (axis == row_axis) continue;
    batch.dims.push_back(loop.dims[axis]);
    for (size_t k = 0; k < 2; ++k) batch.strides[k].push_back(loop.strides[k][axis]);
  }
  batch = collapse_axes(batch);
  copy.rows = uint32_t(loop.dims[row_axis]);
  copy.cols = uint32_t(loop.dims[last]);
  copy.src_col_stride = uint32_t(loop.strides[0][last]);
  copy.dst_row_stride = uint32_t(loop.strides[1][row_axis]);
  uint32_t row_tiles = (copy.rows + kTile - 1) / kTile;
  uint32_t col_tiles = (copy.cols + kTile - 1) / kTile;
  copy.row_tiles = FastDivmod(row_tiles);
  copy.col_tiles = FastDivmod(col_tiles);
  int64_t tiles = element_count(batch.dims) * row_tiles * col_tiles;
  if (tiles >= (int64_t(1) << 31)) return false;
  copy.tiles = uint32_t(tiles);
  copy.batch = make_index32<2>(batch, what);
  return true;
}

// The widest word (up to 16 bytes) that tiles every row when the innermost axis is contiguous
// in both operands: row length, outer strides, offsets and both base pointers divisible.
size_t widest_word(const StridedLoop& loop, size_t element_size, const void* src, const void* dst) {
  size_t last = loop.dims.size() - 1;
  if (loop.strides[0][last] != 1 || loop.strides[1][last] != 1) return element_size;
  size_t word = 16;
  for (; word > element_size; word /= 2) {
    auto divides = [&](int64_t elements) {
      return (elements * int64_t(element_size)) % int64_t(word) == 0;
    };
    bool fits = divides(loop.dims[last]) && aligned_to(src, word) && aligned_to(dst, word);
    for (size_t k = 0; k < 2 && fits; ++k) {
      fits = divides(loop.offsets[k]);
      for (size_t axis = 0; axis < last && fits; ++axis) fits = divides(loop.strides[k][axis]);
    }
    if (fits) break;
  }
  return word;
}

// The same copy in words of `word` bytes instead of elements of `element_size`.
StridedLoop in_words(StridedLoop loop, size_t element_size, size_t word) {
  int64_t scale = int64_t(word / element_size);
  loop.dims.back() /= scale;
  for (size_t k = 0; k < 2; ++k) {
    for (size_t axis = 0; axis + 1 < loop.dims.size(); ++axis) loop.strides[k][axis] /= scale;
    loop.offsets[k] /= scale;
  }
  return loop;
}

// Copies the elements of `src` that operand 0 of `loop` walks into the places of `dst` that
// operand 1 walks. Axes contiguous in both are merged first; rows contiguous in both move in
// words of up to 16 bytes (Transpose keeping the last axis, Slice/Split/Concat of outer axes);
// a transposed last axis goes through shared-memory tiles; the rest element by element.
void strided_copy(LaunchContext& context, const ir::Node& node, size_t element_size,
                  const DeviceTensor& src, DeviceTensor& dst, const StridedLoop& walk) {
  if (element_count(walk.dims) == 0) return;
  std::string what = node.describe();
  StridedLoop loop = collapse_axes(walk);
  size_t word = widest_word(loop, element_size, src.data, dst.data);
  if (word != element_size) loop = in_words(loop, element_size, word);
  int64_t scale = int64_t(word / element_size);
  int64_t n = element_count(loop.dims);
  bool index32 = fits_index32(loop, {src.numel() / scale, dst.numel() / scale});
  TileCopy tiles;
  bool tiled = index32 && plan_tiles(loop, what, tiles);
  auto launch = [&](auto word_type) {
    using W = decltype(word_type);
    const W* from = static_cast<const W*>(src.data);
    W* to = static_cast<W*>(dst.data);
    if constexpr (sizeof(W) <= 8) {
      if (tiled) {
        unsigned blocks = tiles.tiles < 65536u ? tiles.tiles : 65536u;
        tiled_copy_kernel<W>
            <<<blocks, dim3(kTile, kTileRows), 0, context.stream>>>(from, to, tiles);
        return;
      }
    }
    if (index32) {
      strided_copy32_kernel<W><<<grid_for(n), kThreads, 0, context.stream>>>(
          from, to, uint32_t(n), make_index32<2>(loop, what));
    } else {
      strided_copy_kernel<W><<<grid_for(n), kThreads, 0, context.stream>>>(
          from, operand_view(loop, 0, what), to, operand_view(loop, 1, what), n);
    }
  };
  switch (word) {
    case 1:
      launch(uint8_t{});
      break;
    case 2:
      launch(uint16_t{});
      break;
    case 4:
      launch(uint32_t{});
      break;
    case 8:
      launch(uint64_t{});
      break;
    case 16:
      launch(uint4{});
      break;
    default:
      fail(ErrorKind::Unsupported, what, ": element size ", element_size);
  }
  check_launch(node);
}

// A copy over `dims`: the source read through `src_strides` from `src_offset`, the
// destination through `dst_strides` from `dst_offset`.
StridedLoop copy_loop(const Dims& dims, Dims src_strides, int64_t src_offset, Dims dst_strides,
                      int64_t dst_offset) {
  return {dims, {std::move(src_strides), std::move(dst_strides)}, {src_offset, dst_offset}};
}

void copy_node(LaunchContext& context, const ir::Node&, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  copy_tensor(context, outputs[0], inputs[0]);
}

void transpose(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  size_t rank = in.dims.size();
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    for (size_t axis = 0; axis < rank; ++axis) perm.push_back(int64_t(rank - 1 - axis));
  }
  Dims in_strides = contiguous_strides(in.dims);
  Dims strides(rank);
  for (size_t axis = 0; axis < rank; ++axis) strides[axis] = in_strides[size_t(perm[axis])];
  strided_copy(context, node, dtype_size(in.dtype), in, out,
               copy_loop(out.dims, strides, 0, contiguous_strides(out.dims), 0));
}

void expand(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  std::string what = node.describe();
  DeviceTensor& out = outputs[0];
  strided_copy(context, node, dtype_size(out.dtype), inputs[0], out,
               copy_loop(out.dims, broadcast_strides(inputs[0].dims, out.dims, what), 0,
                         contiguous_strides(out.dims), 0));
}

// Values of a constant int input (starts, ends, axes, steps); Unsupported (host fallback)
// when computed at run time.
std::vector<int64_t> constant_ints(const ir::Node& node, size_t index,
                                   std::vector<int64_t> fallback) {
  const ir::Value* value = node.input(index);
  if (value == nullptr) return fallback;
  check(value->is_constant(), ErrorKind::Unsupported, node.describe(), ": input ", index,
        " is computed at run time; the CUDA kernel needs it constant");
  return value->constant->to_int64_vector();
}

void slice(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  int64_t rank = int64_t(in.dims.size());
  std::vector<int64_t> starts = constant_ints(node, 1, {});
  std::vector<int64_t> axes(starts.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = int64_t(i);
  axes = constant_ints(node, 3, axes);
  std::vector<int64_t> steps = constant_ints(node, 4, std::vector<int64_t>(starts.size(), 1));
  Dims in_strides = contiguous_strides(in.dims);
  Dims strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < starts.size(); ++i) {
    size_t axis = size_t(axes[i] < 0 ? axes[i] + rank : axes[i]);
    int64_t dim = in.dims[axis];
    int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
    start =
        steps[i] > 0 ? std::clamp<int64_t>(start, 0, dim) : std::clamp<int64_t>(start, 0, dim - 1);
    offset += start * in_strides[axis];
    strides[axis] = in_strides[axis] * steps[i];
  }
  strided_copy(context, node, dtype_size(in.dtype), in, out,
               copy_loop(out.dims, strides, offset, contiguous_strides(out.dims), 0));
}

void concat(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(out.dims.size()), what));
  Dims out_strides = contiguous_strides(out.dims);
  int64_t position = 0;
  for (const DeviceTensor& in : inputs) {
    check(in.dtype == out.dtype, ErrorKind::Unsupported, what, ": inputs of mixed storage");
    strided_copy(context, node, dtype_size(in.dtype), in, out,
                 copy_loop(in.dims, contiguous_strides(in.dims), 0, out_strides,
                           position * out_strides[axis]));
    position += in.dims[axis];
  }
}

void split(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  size_t axis = size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(in.dims.size()), what));
  Dims in_strides = contiguous_strides(in.dims);
  int64_t position = 0;
  for (DeviceTensor& out : outputs) {
    if (out.defined()) {
      strided_copy(context, node, dtype_size(in.dtype), in, out,
                   copy_loop(out.dims, in_strides, position * in_strides[axis],
                             contiguous_strides(out.dims), 0));
      position += out.dims[axis];
    }
  }
}

// out[o, i, n] = data[o, wrap(indices[i]), n] with `i` over every index element.
template <typename Word, typename Index>
__global__ void gather_kernel(const Word* data, const Index* indices, Word* out, int64_t n,
                              int64_t index_count, int64_t axis_size, int64_t inner) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t within = i % inner;
    int64_t rest = i / inner;
    int64_t position = rest % index_count;
    int64_t outer = rest / index_count;
    int64_t index = int64_t(indices[position]);
    if (index < 0) index += axis_size;
    bool valid = index >= 0 && index < axis_size;  // out of range: zeros, never a wild read
    out[i] = valid ? data[(outer * axis_size + index) * inner + within] : Word(0);
  }
}

void gather(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& data = inputs[0];
  const DeviceTensor& indices = inputs[1];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", 0), int64_t(data.dims.size()), what));
  int64_t inner = 1;
  for (size_t d = axis + 1; d < data.dims.size(); ++d) inner *= data.dims[d];
  int64_t n = out.numel();
  check(indices.dtype == DType::Int64 || indices.dtype == DType::Int32, ErrorKind::Unsupported,
        what, ": indices must be int32 or int64");
  if (n == 0) return;
  auto launch = [&](auto word, auto index) {
    using W = decltype(word);
    using I = decltype(index);
    gather_kernel<W, I><<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const W*>(data.data), static_cast<const I*>(indices.data),
        static_cast<W*>(out.data), n, indices.numel(), data.dims[axis], inner);
  };
  auto by_index = [&](auto word) {
    if (indices.dtype == DType::Int64)
      launch(word, int64_t{});
    else
      launch(word, int32_t{});
  };
  switch (dtype_size(data.dtype)) {
    case 1:
      by_index(uint8_t{});
      break;
    case 2:
      by_index(uint16_t{});
      break;
    case 4:
      by_index(uint32_t{});
      break;
    case 8:
      by_index(uint64_t{});
      break;
    default:
      fail(ErrorKind::Unsupported, what, ": element size ", dtype_size(data.dtype));
  }
  check_launch(node);
}

}  // namespace

void register_data_movement_cuda_kernels(CudaKernelMap& map) {
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
    map[op] = copy_node;
  map["Transpose"] = transpose;
  map["Expand"] = expand;
  map["Slice"] = slice;
  map["Concat"] = concat;
  map["Split"] = split;
  map["Gather"] = gather;
}

}  // namespace kiln::cuda
