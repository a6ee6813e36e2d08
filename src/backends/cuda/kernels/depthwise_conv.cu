// The kernel behind depthwise_conv.h. A block covers 64 channels (blockIdx.y) of a run of
// output pixels (blockIdx.x): its weights for those channels, transposed to [R*S][64] FP32 in
// shared memory, then one 16-byte channel vector of one pixel per thread.
#include <cstdint>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/depthwise_conv.h"

namespace kiln::cuda {
namespace {

constexpr int kTileChannels = 64;
constexpr int kMaxTaps = 192;  // kernel_h * kernel_w: 48 KiB of FP32 weights for 64 channels

template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

struct Geometry {
  int n, h, w, c, out_h, out_w, kernel_h, kernel_w;
  int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

template <typename T, int V>
__global__ void depthwise_nhwc_kernel(Geometry g, const T* __restrict__ x, const T* __restrict__ w,
                                      const T* __restrict__ bias, const T* __restrict__ residual,
                                      T* __restrict__ y, DepthwiseActivation activation) {
  constexpr int kLanes = kTileChannels / V;
  extern __shared__ float weights[];  // [taps][kTileChannels]
  const int taps = g.kernel_h * g.kernel_w;
  const int channel_base = blockIdx.y * kTileChannels;
  for (int i = threadIdx.x; i < taps * kTileChannels; i += blockDim.x) {
    int lane_channel = i % kTileChannels, tap = i / kTileChannels;
    int channel = channel_base + lane_channel;
    weights[i] = channel < g.c ? to_float(w[int64_t(channel) * taps + tap]) : 0.f;
  }
  __syncthreads();
  const int lane = threadIdx.x % kLanes;
  const int c0 = channel_base + lane * V;
  const int64_t pixel = int64_t(blockIdx.x) * (blockDim.x / kLanes) + threadIdx.x / kLanes;
  if (c0 >= g.c || pixel >= int64_t(g.n) * g.out_h * g.out_w) return;
  const int ow = int(pixel % g.out_w);
  const int oh = int((pixel / g.out_w) % g.out_h);
  const int64_t n = pixel / (int64_t(g.out_w) * g.out_h);
  float acc[V] = {};
  const T* image = x + n * g.h * g.w * g.c + c0;
  for (int r = 0; r < g.kernel_h; ++r) {
    const int ih = oh * g.stride_h - g.pad_h + r * g.dilation_h;
    if (ih < 0 || ih >= g.h) continue;
    for (int s = 0; s < g.kernel_w; ++s) {
      const int iw = ow * g.stride_w - g.pad_w + s * g.dilation_w;
      if (iw < 0 || iw >= g.w) continue;
      Pack<T, V> in = *reinterpret_cast<const Pack<T, V>*>(image + (int64_t(ih) * g.w + iw) * g.c);
      const float* tap = weights + (r * g.kernel_w + s) * kTileChannels + lane * V;
#pragma unroll
      for (int v = 0; v < V; ++v) acc[v] = fmaf(to_float(in.v[v]), tap[v], acc[v]);
    }
  }
  const int64_t out_offset = pixel * g.c + c0;
  Pack<T, V> skip{};
  if (residual != nullptr) skip = *reinterpret_cast<const Pack<T, V>*>(residual + out_offset);
  Pack<T, V> out;
#pragma unroll
  for (int v = 0; v < V; ++v) {
    float value = acc[v];
    if (bias != nullptr) value += to_float(bias[c0 + v]);
    if (residual != nullptr) value += to_float(skip.v[v]);
    if (activation == DepthwiseActivation::Relu) value = value < 0.f ? 0.f : value;
    if (activation == DepthwiseActivation::Silu) value = value / (1.f + __expf(-value));
    out.v[v] = from_float<T>(value);
  }
  *reinterpret_cast<Pack<T, V>*>(y + out_offset) = out;
}

bool aligned16(const void* pointer) {
  return pointer == nullptr || reinterpret_cast<uintptr_t>(pointer) % 16 == 0;
}

template <typename T, int V>
void launch(const Geometry& g, const void* x, const void* w, const void* bias, const void* residual,
            void* y, DepthwiseActivation activation, cudaStream_t stream) {
  constexpr int kThreadsPerBlock = 256;
  constexpr int kPixelsPerBlock = kThreadsPerBlock / (kTileChannels / V);
  int64_t pixels = int64_t(g.n) * g.out_h * g.out_w;
  dim3 grid(unsigned((pixels + kPixelsPerBlock - 1) / kPixelsPerBlock),
            unsigned((g.c + kTileChannels - 1) / kTileChannels));
  size_t shared = size_t(g.kernel_h) * g.kernel_w * kTileChannels * sizeof(float);
  depthwise_nhwc_kernel<T, V><<<grid, kThreadsPerBlock, shared, stream>>>(
      g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
      static_cast<const T*>(residual), static_cast<T*>(y), activation);
}

}  // namespace

bool depthwise_conv_supported(const DepthwiseConvShape& s) {
  const int64_t per_image = s.h * s.w * s.c;
  const int64_t out_per_image = s.out_h * s.out_w * s.c;
  return s.kernel_h * s.kernel_w <= kMaxTaps && s.kernel_h > 0 && s.kernel_w > 0 &&
         per_image < (int64_t(1) << 31) && out_per_image < (int64_t(1) << 31) &&
         s.n * s.out_h * s.out_w < (int64_t(1) << 40);
}

void launch_depthwise_conv_nhwc(DType dtype, const DepthwiseConvShape& s, const void* x,
                                const void* w, const void* bias, const void* residual, void* y,
                                DepthwiseActivation activation, cudaStream_t stream) {
  launch_check(depthwise_conv_supported(s), ErrorKind::Unsupported,
               "the depthwise kernel takes at most ", kMaxTaps, " taps, got ", s.kernel_h, "x",
               s.kernel_w);
  Geometry g{int(s.n),     int(s.h),        int(s.w),          int(s.c),         int(s.out_h),
             int(s.out_w), int(s.kernel_h), int(s.kernel_w),   int(s.stride_h),  int(s.stride_w),
             int(s.pad_h), int(s.pad_w),    int(s.dilation_h), int(s.dilation_w)};
  if (g.n * int64_t(g.out_h) * g.out_w == 0 || g.c == 0) return;
  // 16-byte channel vectors where the channels and every pointer allow, else one channel.
  bool vectors = aligned16(x) && aligned16(y) && aligned16(residual);
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVector = 16 / int(sizeof(T));
    if (vectors && g.c % kVector == 0) {
      launch<T, kVector>(g, x, w, bias, residual, y, activation, stream);
    } else {
      launch<T, 1>(g, x, w, bias, residual, y, activation, stream);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
