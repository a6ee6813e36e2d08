// Data movement on the GPU: one strided copy (source and destination views) behind Transpose,
// Expand, Slice, Concat and Split, plus Gather. Bytes are moved by element size, so one kernel
// per size serves every dtype.
#include <type_traits>

#include "backends/cuda/kernels/data_movement.h"
#include "backends/cuda/kernels/element_words.cuh"
#include "backends/cuda/kernels/index_math.cuh"

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
// A transpose's axes as a tile plan sees them: the destination's contiguous last axis, the
// source's contiguous axis (`row_axis`), and the others merged into `batch`. False where the
// last axis is contiguous in the source too, or no other axis is.
bool split_transpose_axes(const StridedLoop& loop, size_t& row_axis, StridedLoop& batch) {
  size_t last = loop.dims.size() - 1;
  if (last == 0 || loop.strides[1][last] != 1 || loop.strides[0][last] == 1) return false;
  row_axis = 0;
  while (row_axis < last && loop.strides[0][row_axis] != 1) ++row_axis;
  if (row_axis == last) return false;
  batch = StridedLoop{{}, {{}, {}}, loop.offsets};
  for (size_t axis = 0; axis < last; ++axis) {
    if (axis == row_axis) continue;
    batch.dims.push_back(loop.dims[axis]);
    for (size_t k = 0; k < 2; ++k) batch.strides[k].push_back(loop.strides[k][axis]);
  }
  batch = collapse_axes(batch);
  return true;
}

bool plan_tiles(const StridedLoop& loop, TileCopy& copy) {
  size_t row_axis = 0, last = loop.dims.size() - 1;
  StridedLoop batch;
  if (!split_transpose_axes(loop, row_axis, batch) || loop.dims[row_axis] < kTile / 4 ||
      loop.dims[last] < kTile / 4) {
    return false;
  }
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
  copy.batch = make_index32<2>(batch);
  return true;
}

// Transposes whose destination rows are too short for a tile (NCHW images to NHWC with 3
// channels: a network's input entering its channels-last region) go through shared memory a
// block of kNarrowRows destination rows at a time: every column of the block is read as one
// coalesced run of the source (all of a thread's loads in flight together), and the block's
// destination rows, one contiguous span when they are packed, are written element after
// element across the threads. A thread per destination row, writing its few elements itself,
// ran ResNet-50's [32, 3, 224, 224] float32 input into bf16 NHWC at about 500 GB/s on an H100.
constexpr int kNarrowCols = kTile / 4 - 1;  // the widest destination row taken (7)
constexpr int kNarrowRows = 512;            // destination rows a block stages
constexpr int kNarrowLoads = kNarrowRows / kThreads;

struct NarrowCopy {
  uint32_t rows = 0, cols = 0;  // as in TileCopy; cols <= kNarrowCols
  uint32_t src_col_stride = 0, dst_row_stride = 0;
  FastDivmod chunks;     // blocks of kNarrowRows rows per batch
  FastDivmod col_count;  // divides a block's element index by cols
  uint32_t blocks = 0;   // batches x chunks
  Index32<2> batch;
};

// Converts between float storage types, or copies words unchanged (From == To, not a float).
template <typename From, typename To>
__device__ __forceinline__ To convert_element(From value) {
  if constexpr (std::is_same_v<From, To>) {
    return value;
  } else {
    return from_float<To>(to_float(value));
  }
}

template <typename From, typename To>
__global__ void __launch_bounds__(kThreads)
    narrow_transpose_kernel(const From* src, To* dst, NarrowCopy copy) {
  __shared__ To tile[kNarrowCols][kNarrowRows + 1];  // +1: a warp's columns in other banks
  for (uint32_t t = blockIdx.x; t < copy.blocks; t += gridDim.x) {
    const uint32_t batch = copy.chunks.div(t);
    const uint32_t row0 = (t - batch * copy.chunks.divisor) * kNarrowRows;
    const uint32_t count = min(uint32_t(kNarrowRows), copy.rows - row0);
    uint32_t base[2];
    copy.batch.at(batch, base);
    const From* in = src + base[0] + row0;
    From values[kNarrowCols][kNarrowLoads];
#pragma unroll
    for (int c = 0; c < kNarrowCols; ++c) {
#pragma unroll
      for (int k = 0; k < kNarrowLoads; ++k) {
        const uint32_t r = threadIdx.x + k * kThreads;
        if (c < copy.cols && r < count) values[c][k] = in[c * copy.src_col_stride + r];
      }
    }
#pragma unroll
    for (int c = 0; c < kNarrowCols; ++c) {
#pragma unroll
      for (int k = 0; k < kNarrowLoads; ++k) {
        const uint32_t r = threadIdx.x + k * kThreads;
        if (c < copy.cols && r < count) tile[c][r] = convert_element<From, To>(values[c][k]);
      }
    }
    __syncthreads();
    To* out = dst + base[1] + row0 * copy.dst_row_stride;
    for (uint32_t e = threadIdx.x; e < count * copy.cols; e += kThreads) {
      const uint32_t r = copy.col_count.div(e);
      const uint32_t c = e - r * copy.cols;
      out[r * copy.dst_row_stride + c] = tile[c][r];
    }
    __syncthreads();  // the next block of rows overwrites `tile`
  }
}

// The narrow plan for a merged loop (32-bit offsets checked), or false where it does not
// apply: as plan_tiles, but for destination rows shorter than a quarter tile.
bool plan_narrow(const StridedLoop& loop, NarrowCopy& copy) {
  size_t row_axis = 0, last = loop.dims.size() - 1;
  StridedLoop batch;
  if (!split_transpose_axes(loop, row_axis, batch) || loop.dims[row_axis] < kTile ||
      loop.dims[last] > kNarrowCols) {
    return false;
  }
  copy.rows = uint32_t(loop.dims[row_axis]);
  copy.cols = uint32_t(loop.dims[last]);
  copy.src_col_stride = uint32_t(loop.strides[0][last]);
  copy.dst_row_stride = uint32_t(loop.strides[1][row_axis]);
  const uint32_t chunks = (copy.rows + kNarrowRows - 1) / kNarrowRows;
  copy.chunks = FastDivmod(chunks);
  copy.col_count = FastDivmod(copy.cols);
  int64_t blocks = element_count(batch.dims) * chunks;
  if (blocks >= (int64_t(1) << 31)) return false;
  copy.blocks = uint32_t(blocks);
  copy.batch = make_index32<2>(batch);
  return true;
}

// Blocks of the narrow kernel: one per staged block of rows, up to the grid's limit.
unsigned narrow_grid(const NarrowCopy& copy) { return copy.blocks < 65536u ? copy.blocks : 65536u; }

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

// The strided copy converting each element between float storage types on the way (a copy
// whose output the runtime stores in another dtype: no separate cast pass over the tensor).
template <typename From, typename To>
__global__ void strided_convert32_kernel(const From* src, To* dst, uint32_t n, Index32<2> index) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[2];
    index.at(i, at);
    dst[at[1]] = from_float<To>(to_float(src[at[0]]));
  }
}

template <typename From, typename To>
__global__ void strided_convert_kernel(const From* src, StridedView src_view, To* dst,
                                       StridedView dst_view, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    dst[dst_view.at(i)] = from_float<To>(to_float(src[src_view.at(i)]));
  }
}

// The same copy where it is whole rows (a crop of the last dim: GPT-2's padded logits), one
// block per row. Stores go in 16-byte words: an output row of odd length starts anywhere, so
// the elements before its first 16-byte boundary and after its last are stored singly. Loads
// are single elements (a padded source row is aligned where the output's is not), coalesced
// across the warp; kRowUnroll words of each thread are in flight.
constexpr int kRowUnroll = 4;

template <typename From, typename To>
__global__ void row_convert_kernel(const From* src, int64_t src_pitch, To* dst, int64_t dst_pitch,
                                   int64_t cols) {
  constexpr int V = 16 / int(sizeof(To));
  const From* in = src + int64_t(blockIdx.x) * src_pitch;
  To* out = dst + int64_t(blockIdx.x) * dst_pitch;
  const auto misalignment = int64_t(reinterpret_cast<uintptr_t>(out) % 16);
  const int64_t head = min(cols, misalignment == 0 ? 0 : (16 - misalignment) / int64_t(sizeof(To)));
  const int64_t words = (cols - head) / V;
  for (int64_t j = threadIdx.x; j < head; j += blockDim.x) out[j] = from_float<To>(to_float(in[j]));
  const From* body = in + head;
  auto* body_out = reinterpret_cast<Pack<To, V>*>(out + head);
  for (int64_t base = threadIdx.x; base < words; base += int64_t(blockDim.x) * kRowUnroll) {
    Pack<To, V> packs[kRowUnroll];
#pragma unroll
    for (int u = 0; u < kRowUnroll; ++u) {
      const int64_t word = base + int64_t(u) * blockDim.x;
#pragma unroll
      for (int v = 0; v < V; ++v) {
        packs[u].v[v] = from_float<To>(word < words ? to_float(body[word * V + v]) : 0.f);
      }
    }
#pragma unroll
    for (int u = 0; u < kRowUnroll; ++u) {
      const int64_t word = base + int64_t(u) * blockDim.x;
      if (word < words) body_out[word] = packs[u];
    }
  }
  for (int64_t j = head + words * V + threadIdx.x; j < cols; j += blockDim.x) {
    out[j] = from_float<To>(to_float(in[j]));
  }
}

// Rows long enough for a block each, contiguous in both operands.
bool is_row_copy(const StridedLoop& loop) {
  constexpr int64_t kMinRow = 1024;
  return loop.dims.size() == 2 && loop.strides[0][1] == 1 && loop.strides[1][1] == 1 &&
         loop.dims[1] >= kMinRow && loop.dims[0] <= int64_t(1) << 31;
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

}  // namespace

void launch_strided_copy(size_t element_size, const void* src, int64_t src_count, void* dst,
                         int64_t dst_count, const StridedLoop& walk, cudaStream_t stream) {
  if (element_count(walk.dims) == 0) return;
  StridedLoop loop = collapse_axes(walk);
  size_t word = widest_word(loop, element_size, src, dst);
  if (word != element_size) loop = in_words(loop, element_size, word);
  int64_t scale = int64_t(word / element_size);
  int64_t n = element_count(loop.dims);
  bool index32 = fits_index32(loop, {src_count / scale, dst_count / scale});
  TileCopy tiles;
  bool tiled = index32 && plan_tiles(loop, tiles);
  NarrowCopy narrow;
  bool narrowed = index32 && !tiled && plan_narrow(loop, narrow);
  auto launch = [&](auto word_type) {
    using W = decltype(word_type);
    const W* from = static_cast<const W*>(src);
    W* to = static_cast<W*>(dst);
    if constexpr (sizeof(W) <= 8) {
      if (tiled) {
        unsigned blocks = tiles.tiles < 65536u ? tiles.tiles : 65536u;
        tiled_copy_kernel<W><<<blocks, dim3(kTile, kTileRows), 0, stream>>>(from, to, tiles);
        return;
      }
      if (narrowed) {
        narrow_transpose_kernel<W, W>
            <<<narrow_grid(narrow), kThreads, 0, stream>>>(from, to, narrow);
        return;
      }
    }
    if (index32) {
      strided_copy32_kernel<W>
          <<<grid_for(n), kThreads, 0, stream>>>(from, to, uint32_t(n), make_index32<2>(loop));
    } else {
      strided_copy_kernel<W><<<grid_for(n), kThreads, 0, stream>>>(from, operand_view(loop, 0), to,
                                                                   operand_view(loop, 1), n);
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
      launch_fail(ErrorKind::Unsupported, "element size ", element_size);
  }
  check_last_launch();
}

void launch_strided_convert(DType from, const void* src, int64_t src_count, DType to, void* dst,
                            int64_t dst_count, const StridedLoop& walk, cudaStream_t stream) {
  if (element_count(walk.dims) == 0) return;
  StridedLoop loop = collapse_axes(walk);
  int64_t n = element_count(loop.dims);
  bool index32 = fits_index32(loop, {src_count, dst_count});
  NarrowCopy narrow;
  bool narrowed = index32 && plan_narrow(loop, narrow);
  visit_float_storage(from, [&](auto from_tag) {
    visit_float_storage(to, [&](auto to_tag) {
      using From = decltype(from_tag);
      using To = decltype(to_tag);
      const From* in = static_cast<const From*>(src);
      To* out = static_cast<To*>(dst);
      if (is_row_copy(loop)) {
        row_convert_kernel<From, To><<<unsigned(loop.dims[0]), kThreads, 0, stream>>>(
            in + loop.offsets[0], loop.strides[0][0], out + loop.offsets[1], loop.strides[1][0],
            loop.dims[1]);
      } else if (narrowed) {
        narrow_transpose_kernel<From, To>
            <<<narrow_grid(narrow), kThreads, 0, stream>>>(in, out, narrow);
      } else if (index32) {
        strided_convert32_kernel<From, To>
            <<<grid_for(n), kThreads, 0, stream>>>(in, out, uint32_t(n), make_index32<2>(loop));
      } else {
        strided_convert_kernel<From, To><<<grid_for(n), kThreads, 0, stream>>>(
            in, operand_view(loop, 0), out, operand_view(loop, 1), n);
      }
    });
  });
  check_last_launch();
}

void launch_gather(DType dtype, DType index_dtype, const void* data, const void* indices, void* out,
                   const GatherShape& shape, cudaStream_t stream) {
  auto launch = [&](auto word, auto index) {
    using W = decltype(word);
    using I = decltype(index);
    gather_kernel<W, I><<<grid_for(shape.count), kThreads, 0, stream>>>(
        static_cast<const W*>(data), static_cast<const I*>(indices), static_cast<W*>(out),
        shape.count, shape.index_count, shape.axis_size, shape.inner);
  };
  visit_element_word(dtype, [&](auto word) {
    visit_index_type(index_dtype, [&](auto index) { launch(word, index); });
  });
  check_last_launch();
}

}  // namespace kiln::cuda
