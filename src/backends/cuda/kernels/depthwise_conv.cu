// The kernels behind depthwise_conv.h. A block covers a tile of channels (blockIdx.y): its
// weights for those channels, transposed to [R*S][tile] in shared memory (in the storage type:
// widening to FP32 is exact), then threads laid out as channel vectors (fastest) by strips of
// output pixels (blockIdx.x). The direct kernel gives each thread one output pixel; the tiled
// one kTile neighbours along W, so each input vector it loads serves up to kTile outputs and
// each weight row it widens to registers serves all of them.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/depthwise_conv.h"
#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {
namespace {

constexpr int kMaxTaps = 192;        // kernel_h * kernel_w
constexpr int kMaxVectorLanes = 8;   // channel vectors per block: 128 bytes of channels
constexpr int kMaxScalarLanes = 32;  // single channels per block, where vectors do not fit
constexpr int kBlockThreads = 256;
constexpr int kTile = 4;  // outputs along W per thread in the tiled kernel

struct Geometry {
  int n, h, w, c, out_h, out_w, kernel_h, kernel_w;
  int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int lanes;   // channel vectors per block (threadIdx.x % lanes)
  int strips;  // pixel strips per block (threadIdx.x / lanes)
};

struct Operands {
  const void* x;
  const void* w;
  const void* bias;
  const void* residual;
  void* y;
  DepthwiseActivation activation;
};

// The block's weights, [tap][lanes * V] in shared memory, zero past the last channel.
template <typename T, int V>
__device__ void stage_weights(const Geometry& g, const T* __restrict__ w, T* weights) {
  const int taps = g.kernel_h * g.kernel_w;
  const int tile = g.lanes * V;
  const int channel_base = blockIdx.y * tile;
  for (int i = threadIdx.x; i < taps * tile; i += blockDim.x) {
    int channel = channel_base + i % tile, tap = i / tile;
    weights[i] = channel < g.c ? w[int64_t(channel) * taps + tap] : from_float<T>(0.f);
  }
  __syncthreads();
}

// Bias, residual and activation, then one V-channel store at output pixel `pixel`.
template <typename T, int V>
__device__ __forceinline__ void store_output(const Geometry& g, const Operands& o, int c0,
                                             int64_t pixel, const float (&acc)[V]) {
  const int64_t offset = pixel * g.c + c0;
  float skip[V] = {};
  if (o.residual != nullptr) load_floats<T, V>(static_cast<const T*>(o.residual) + offset, skip);
  const T* bias = static_cast<const T*>(o.bias);
  Pack<T, V> out;
#pragma unroll
  for (int v = 0; v < V; ++v) {
    float value = acc[v] + skip[v];
    if (bias != nullptr) value += to_float(bias[c0 + v]);
    if (o.activation == DepthwiseActivation::Relu) value = value < 0.f ? 0.f : value;
    if (o.activation == DepthwiseActivation::Silu) value = value / (1.f + __expf(-value));
    out.v[v] = from_float<T>(value);
  }
  *reinterpret_cast<Pack<T, V>*>(static_cast<T*>(o.y) + offset) = out;
}

// Any stride, dilation and kernel size: one output pixel per thread.
template <typename T, int V>
__global__ void depthwise_direct_kernel(Geometry g, Operands o) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* weights = reinterpret_cast<T*>(shared_bytes);
  stage_weights<T, V>(g, static_cast<const T*>(o.w), weights);
  const int lane = threadIdx.x % g.lanes;
  const int c0 = (blockIdx.y * g.lanes + lane) * V;
  const int64_t pixel = int64_t(blockIdx.x) * g.strips + threadIdx.x / g.lanes;
  if (c0 >= g.c || pixel >= int64_t(g.n) * g.out_h * g.out_w) return;
  const int ow = int(pixel % g.out_w);
  const int oh = int((pixel / g.out_w) % g.out_h);
  const int64_t n = pixel / (int64_t(g.out_w) * g.out_h);
  const T* image = static_cast<const T*>(o.x) + n * g.h * g.w * g.c + c0;
  float acc[V] = {};
  for (int r = 0; r < g.kernel_h; ++r) {
    const int ih = oh * g.stride_h - g.pad_h + r * g.dilation_h;
    if (ih < 0 || ih >= g.h) continue;
    for (int s = 0; s < g.kernel_w; ++s) {
      const int iw = ow * g.stride_w - g.pad_w + s * g.dilation_w;
      if (iw < 0 || iw >= g.w) continue;
      float in[V], tap[V];
      load_floats<T, V>(image + (ih * g.w + iw) * g.c, in);
      load_floats<T, V>(weights + (r * g.kernel_w + s) * g.lanes * V + lane * V, tap);
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = fmaf(in[v], tap[v], acc[v]);
    }
  }
  store_output<T, V>(g, o, c0, pixel, acc);
}

// Kernel width kS, stride kStride along W and no dilation along W (any along H): kTile
// outputs along W per thread. Each weight row is widened to registers once and each input
// vector of the row's span, (kTile - 1) * kStride + kS of them, is loaded once.
template <typename T, int V, int kS, int kStride>
__global__ void __launch_bounds__(kBlockThreads, kStride == 1 ? 2 : 1)
    depthwise_tiled_kernel(Geometry g, Operands o) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* weights = reinterpret_cast<T*>(shared_bytes);
  stage_weights<T, V>(g, static_cast<const T*>(o.w), weights);
  const int lane = threadIdx.x % g.lanes;
  const int c0 = (blockIdx.y * g.lanes + lane) * V;
  const int tiles_w = (g.out_w + kTile - 1) / kTile;
  const int64_t strip = int64_t(blockIdx.x) * g.strips + threadIdx.x / g.lanes;
  if (c0 >= g.c || strip >= int64_t(g.n) * g.out_h * tiles_w) return;
  const int ow0 = int(strip % tiles_w) * kTile;
  const int oh = int((strip / tiles_w) % g.out_h);
  const int64_t n = strip / (int64_t(tiles_w) * g.out_h);
  const T* image = static_cast<const T*>(o.x) + n * g.h * g.w * g.c + c0;
  const int iw0 = ow0 * kStride - g.pad_w;
  constexpr int kSpan = (kTile - 1) * kStride + kS;
  float acc[kTile][V] = {};
  for (int r = 0; r < g.kernel_h; ++r) {
    const int ih = oh * g.stride_h - g.pad_h + r * g.dilation_h;
    if (ih < 0 || ih >= g.h) continue;
    float tap[kS][V];
#pragma unroll
    for (int s = 0; s < kS; ++s) {
      load_floats<T, V>(weights + (r * kS + s) * g.lanes * V + lane * V, tap[s]);
    }
    const T* row = image + ih * g.w * g.c;
#pragma unroll
    for (int j = 0; j < kSpan; ++j) {
      const int iw = iw0 + j;
      float in[V] = {};
      if (iw >= 0 && iw < g.w) load_floats<T, V>(row + iw * g.c, in);
#pragma unroll
      for (int t = 0; t < kTile; ++t) {
        const int s = j - t * kStride;  // a constant once unrolled
        if (s < 0 || s >= kS) continue;
#pragma unroll
        for (int v = 0; v < V; ++v) acc[t][v] = fmaf(in[v], tap[s][v], acc[t][v]);
      }
    }
  }
  const int64_t pixel0 = (n * g.out_h + oh) * g.out_w + ow0;
#pragma unroll
  for (int t = 0; t < kTile; ++t) {
    if (ow0 + t < g.out_w) store_output<T, V>(g, o, c0, pixel0 + t, acc[t]);
  }
}

// Strips per block: kBlockThreads / lanes, halved (down to 64 threads) while the grid would
// leave most of the GPU's multiprocessors idle, as small feature maps at batch 1 do.
int strips_for(int64_t work_strips, int lanes, int channel_blocks) {
  int strips = kBlockThreads / lanes;
  auto blocks = [&](int per_block) {
    return (work_strips + per_block - 1) / per_block * channel_blocks;
  };
  while (strips * lanes > 64 && blocks(strips) < 264) strips /= 2;
  return strips;
}

// Channels per thread: 16 bytes of them, halved (down to a quarter, and never below 2) while the
// launch would have fewer than kBusyThreads threads. Small late-stage maps at batch 1 (ConvNeXt's
// 7x7 by 768 channels: 96 vectors by 14 strips) otherwise leave most multiprocessors idle, and the
// builder then prefers an FP32 kernel (twice the threads) plus casts around it.
constexpr int64_t kBusyThreads = 32768;
int vector_width(const Geometry& g, bool tiled, int widest) {
  const int64_t work = tiled ? int64_t(g.n) * g.out_h * ((g.out_w + kTile - 1) / kTile)
                             : int64_t(g.n) * g.out_h * g.out_w;
  int width = widest;
  while (width > std::max(2, widest / 4) && (g.c / width) * work < kBusyThreads) width /= 2;
  return width;
}

template <typename T, int V>
void launch_variant(Geometry g, const Operands& o, bool tiled, cudaStream_t stream) {
  const int vectors = g.c / V;
  g.lanes = widest_divisor(vectors, V > 1 ? kMaxVectorLanes : kMaxScalarLanes);
  const int channel_blocks = vectors / g.lanes;
  const int64_t work = tiled ? int64_t(g.n) * g.out_h * ((g.out_w + kTile - 1) / kTile)
                             : int64_t(g.n) * g.out_h * g.out_w;
  g.strips = strips_for(work, g.lanes, channel_blocks);
  const int64_t strip_blocks = (work + g.strips - 1) / g.strips;
  launch_check(strip_blocks < (int64_t(1) << 31), ErrorKind::Unsupported, "depthwise: ", work,
               " output strips are too many for one launch");
  dim3 grid{unsigned(strip_blocks), unsigned(channel_blocks)};
  dim3 block(unsigned(g.lanes * g.strips));
  size_t shared = size_t(g.kernel_h) * g.kernel_w * g.lanes * V * sizeof(T);
  if (V == 1 || !tiled) {  // the tiled kernel's registers hold channel vectors
    depthwise_direct_kernel<T, V><<<grid, block, shared, stream>>>(g, o);
    return;
  }
  if constexpr (V > 1) {
    auto tiled_launch = [&](auto kernel) { kernel<<<grid, block, shared, stream>>>(g, o); };
    switch (g.kernel_w * 10 + g.stride_w) {
      case 31:
        return tiled_launch(depthwise_tiled_kernel<T, V, 3, 1>);
      case 32:
        return tiled_launch(depthwise_tiled_kernel<T, V, 3, 2>);
      case 51:
        return tiled_launch(depthwise_tiled_kernel<T, V, 5, 1>);
      case 52:
        return tiled_launch(depthwise_tiled_kernel<T, V, 5, 2>);
      case 71:
        return tiled_launch(depthwise_tiled_kernel<T, V, 7, 1>);
      case 72:
        return tiled_launch(depthwise_tiled_kernel<T, V, 7, 2>);
      default:
        break;
    }
  }
  fail(ErrorKind::Runtime, "depthwise: no tiled kernel for width ", g.kernel_w, " stride ",
       g.stride_w);
}

}  // namespace

bool depthwise_conv_supported(const DepthwiseConvShape& s) {
  const int64_t per_image = s.h * s.w * s.c;
  const int64_t out_per_image = s.out_h * s.out_w * s.c;
  return s.kernel_h * s.kernel_w <= kMaxTaps && s.kernel_h > 0 && s.kernel_w > 0 &&
         per_image < (int64_t(1) << 31) && out_per_image < (int64_t(1) << 31) &&
         s.n * s.out_h * s.out_w < (int64_t(1) << 40);
}

bool depthwise_conv_tiled_supported(const DepthwiseConvShape& s) {
  const bool width = s.kernel_w == 3 || s.kernel_w == 5 || s.kernel_w == 7;
  return depthwise_conv_supported(s) && width && (s.stride_w == 1 || s.stride_w == 2) &&
         s.dilation_w == 1;
}

void launch_depthwise_conv_nhwc(DType dtype, const DepthwiseConvShape& s, const void* x,
                                const void* w, const void* bias, const void* residual, void* y,
                                DepthwiseActivation activation, DepthwiseVariant variant,
                                cudaStream_t stream) {
  launch_check(depthwise_conv_supported(s), ErrorKind::Unsupported,
               "the depthwise kernel takes at most ", kMaxTaps, " taps, got ", s.kernel_h, "x",
               s.kernel_w);
  Geometry g{int(s.n),
             int(s.h),
             int(s.w),
             int(s.c),
             int(s.out_h),
             int(s.out_w),
             int(s.kernel_h),
             int(s.kernel_w),
             int(s.stride_h),
             int(s.stride_w),
             int(s.pad_h),
             int(s.pad_w),
             int(s.dilation_h),
             int(s.dilation_w),
             1,
             1};
  if (g.n * int64_t(g.out_h) * g.out_w == 0 || g.c == 0) return;
  const Operands operands{x, w, bias, residual, y, activation};
  // 16-byte channel vectors where the channels and every pointer allow, else one channel (and
  // the direct kernel: the tiled one's register tiles assume vectors).
  const bool vectors = aligned_to(x, 16) && aligned_to(y, 16) && aligned_to(residual, 16);
  const bool tiled = variant == DepthwiseVariant::Tiled && depthwise_conv_tiled_supported(s);
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVector = 16 / int(sizeof(T));
    if (!vectors || g.c % kVector != 0) return launch_variant<T, 1>(g, operands, false, stream);
    switch (vector_width(g, tiled, kVector)) {
      case kVector:
        return launch_variant<T, kVector>(g, operands, tiled, stream);
      case kVector / 2:
        return launch_variant<T, kVector / 2>(g, operands, tiled, stream);
      default:
        return launch_variant<T, kVector / 4>(g, operands, tiled, stream);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
