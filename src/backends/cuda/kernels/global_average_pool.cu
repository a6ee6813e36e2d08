// GlobalAveragePool over channels-last images (pool.h): threads laid out as channel vectors
// (fastest, 16 bytes each where the channels allow) by rows of positions, so a warp reads
// whole runs of an image's row. An image's positions are split among several blocks when the
// batch alone would leave most multiprocessors idle (an SE block at batch 1 is one image of
// 112 x 112 positions); each block then writes FP32 partial sums to the workspace, and a
// second kernel adds them up.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/index_math.cuh"
#include "backends/cuda/kernels/pool.h"

namespace kiln::cuda {
namespace {

constexpr int kBlockThreads = 256;
constexpr int kMaxLanes = 32;         // channel vectors per block
constexpr int kTargetBlocks = 264;    // two per multiprocessor of an H100
constexpr int kMinRowsPerThread = 4;  // positions a thread sums at least, once split

struct Layout {
  int64_t volume;  // positions per image
  int channels;
  int lanes;          // channel vectors per block (threadIdx.x % lanes)
  int rows;           // rows of threads per block, a power of two (threadIdx.x / lanes)
  int64_t per_split;  // positions per block along blockIdx.y
  int splits;
};

// Block (blockIdx.x channel block, blockIdx.y split, blockIdx.z image): the sums of its
// positions, reduced across its rows in shared memory; the mean into y, or with several
// splits the sum into partial[image][split][channel].
template <typename T, int V>
__global__ void global_average_nhwc_kernel(Layout l, const T* __restrict__ x, T* __restrict__ y,
                                           float* __restrict__ partial) {
  extern __shared__ float sums[];  // [rows][lanes * V]
  const int lane = threadIdx.x % l.lanes, row = threadIdx.x / l.lanes;
  const int c0 = (blockIdx.x * l.lanes + lane) * V;
  const int64_t begin = int64_t(blockIdx.y) * l.per_split;
  const int64_t end = begin + l.per_split < l.volume ? begin + l.per_split : l.volume;
  const T* image = x + int64_t(blockIdx.z) * l.volume * l.channels + c0;
  float acc[V] = {};
  for (int64_t i = begin + row; i < end; i += l.rows) {
    float in[V];
    load_floats<T, V>(image + i * l.channels, in);
#pragma unroll
    for (int v = 0; v < V; ++v) acc[v] += in[v];
  }
  const int width = l.lanes * V;
#pragma unroll
  for (int v = 0; v < V; ++v) sums[row * width + lane * V + v] = acc[v];
  __syncthreads();
  for (int half = l.rows / 2; half > 0; half /= 2) {
    if (row < half) {
#pragma unroll
      for (int v = 0; v < V; ++v)
        sums[row * width + lane * V + v] += sums[(row + half) * width + lane * V + v];
    }
    __syncthreads();
  }
  if (row != 0) return;
  const float inverse = 1.f / float(l.volume);
  for (int v = 0; v < V; ++v) {
    const float total = sums[lane * V + v];
    if (partial == nullptr) {
      y[int64_t(blockIdx.z) * l.channels + c0 + v] = from_float<T>(total * inverse);
    } else {
      partial[(int64_t(blockIdx.z) * l.splits + blockIdx.y) * l.channels + c0 + v] = total;
    }
  }
}

// y[image][channel] = mean from the splits' partial sums.
template <typename T>
__global__ void global_average_finish_kernel(Layout l, int64_t outputs, const float* partial,
                                             T* y) {
  const float inverse = 1.f / float(l.volume);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < outputs;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t image = i / l.channels, channel = i % l.channels;
    const float* sums = partial + image * l.splits * l.channels + channel;
    float total = 0.f;
    for (int s = 0; s < l.splits; ++s) total += sums[int64_t(s) * l.channels];
    y[i] = from_float<T>(total * inverse);
  }
}

template <typename T, int V>
void launch(int64_t batch, int64_t volume, int64_t channels, const void* x, void* y,
            void* workspace, size_t workspace_size, cudaStream_t stream) {
  Layout l{volume, int(channels), 1, 1, volume, 1};
  const int vectors = int(channels / V);
  l.lanes = widest_divisor(vectors, kMaxLanes);
  while (l.rows * 2 * l.lanes <= kBlockThreads) l.rows *= 2;
  const int64_t channel_blocks = vectors / l.lanes;
  const int64_t blocks = channel_blocks * batch;
  if (blocks < kTargetBlocks) {
    int64_t by_occupancy = (kTargetBlocks + blocks - 1) / blocks;
    int64_t by_volume = volume / (int64_t(l.rows) * kMinRowsPerThread);
    int64_t by_workspace = int64_t(workspace_size / sizeof(float)) / (batch * channels);
    int64_t splits = std::min({by_occupancy, by_volume, by_workspace, int64_t(65535)});
    if (splits > 1) {
      l.per_split = (volume + splits - 1) / splits;
      l.splits = int((volume + l.per_split - 1) / l.per_split);
    }
  }
  float* partial = l.splits > 1 ? static_cast<float*>(workspace) : nullptr;
  dim3 grid(unsigned(channel_blocks), unsigned(l.splits), unsigned(batch));
  size_t shared = size_t(l.rows) * l.lanes * V * sizeof(float);
  global_average_nhwc_kernel<T, V><<<grid, l.lanes * l.rows, shared, stream>>>(
      l, static_cast<const T*>(x), static_cast<T*>(y), partial);
  if (partial != nullptr) {
    const int64_t outputs = batch * channels;
    global_average_finish_kernel<T>
        <<<grid_for(outputs), kThreads, 0, stream>>>(l, outputs, partial, static_cast<T*>(y));
  }
}

}  // namespace

void launch_global_average_pool_channels_last(DType dtype, int64_t batch, int64_t volume,
                                              int64_t channels, const void* x, void* y,
                                              void* workspace, size_t workspace_size,
                                              cudaStream_t stream) {
  if (batch == 0 || channels == 0) return;
  check(batch <= 65535 && channels < (int64_t(1) << 31) && volume > 0, ErrorKind::Unsupported,
        "GlobalAveragePool: ", batch, " images of ", volume, " x ", channels,
        " elements are out of range");
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVector = 16 / int(sizeof(T));
    if (channels % kVector == 0 && aligned_to(x, 16)) {
      launch<T, kVector>(batch, volume, channels, x, y, workspace, workspace_size, stream);
    } else {
      launch<T, 1>(batch, volume, channels, x, y, workspace, workspace_size, stream);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
