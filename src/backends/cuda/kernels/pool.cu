// Pooling kernels: one thread per output of MaxPool/AveragePool (windows are small; in NHWC
// neighbouring threads take neighbouring channels, 16 bytes of them each in 2-D), one block per
// plane for GlobalAveragePool (NHWC's is in global_average_pool.cu). Templated on the storage
// type; math in float.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/pool.h"
#include "core/error.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;

__device__ float to_float(float v) { return v; }
__device__ float to_float(__half v) { return __half2float(v); }
__device__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ T from_float(float v);
template <>
__device__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Taps of output position o along one dim that land in [low, high).
__device__ int64_t taps_inside(const PoolGeometry& g, int axis, int64_t o, int64_t low,
                               int64_t high) {
  int64_t count = 0;
  for (int64_t k = 0; k < g.kernel[axis]; ++k) {
    int64_t pos = o * g.stride[axis] - g.pad_begin[axis] + k * g.dilation[axis];
    count += (pos >= low && pos < high) ? 1 : 0;
  }
  return count;
}

template <typename T>
__global__ void pool_kernel(PoolGeometry g, PoolMode mode, const T* x, T* y) {
  int64_t out_volume = g.out[0] * g.out[1] * g.out[2];
  int64_t in_volume = g.in[0] * g.in[1] * g.in[2];
  int64_t total = g.planes * out_volume;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    // `plane` points at channel c of image n; taps lie `step` elements apart per position.
    int64_t position, step;
    const T* plane;
    if (g.channels_last) {
      int64_t pixel = i / g.channels;
      position = pixel % out_volume;
      plane = x + (pixel / out_volume) * in_volume * g.channels + i % g.channels;
      step = g.channels;
    } else {
      position = i % out_volume;
      plane = x + (i / out_volume) * in_volume;
      step = 1;
    }
    int64_t o[kPoolDims] = {(position / (g.out[1] * g.out[2])) % g.out[0],
                            (position / g.out[2]) % g.out[1], position % g.out[2]};
    float max = -INFINITY, sum = 0.f;
    bool nan = false;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
      int64_t id = o[0] * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
      if (id < 0 || id >= g.in[0]) continue;
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
        int64_t ih = o[1] * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
        if (ih < 0 || ih >= g.in[1]) continue;
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          int64_t iw = o[2] * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
          if (iw < 0 || iw >= g.in[2]) continue;
          float value = to_float(plane[((id * g.in[1] + ih) * g.in[2] + iw) * step]);
          sum += value;
          nan = nan || isnan(value);  // MaxPool propagates NaN, as the CPU reference does
          max = fmaxf(max, value);
        }
      }
    }
    float result;
    if (mode == PoolMode::Max) {
      result = nan ? NAN : max;
    } else {
      // The divisor counts padding (never the extra taps ceil_mode adds) only when asked.
      int64_t divisor = 1;
      for (int axis = 0; axis < kPoolDims; ++axis) {
        divisor *=
            mode == PoolMode::AverageIncludePad
                ? taps_inside(g, axis, o[axis], -g.pad_begin[axis], g.in[axis] + g.pad_end[axis])
                : taps_inside(g, axis, o[axis], 0, g.in[axis]);
      }
      result = sum / static_cast<float>(divisor);
    }
    y[i] = from_float<T>(result);
  }
}

// 2-D windows over NHWC data, the common case of channels-last networks (ResNet's stem
// max pool): one 16-byte vector of channels (V of them) of one output pixel per thread, with
// 32-bit index math (pool_kernel's 64-bit divisions per element held ResNet-50's stem pool at
// 255 GB/s). Callers check that every index fits in 32 bits and C % V == 0.
struct Window2d {
  int n, h, w, c, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w;
  int pad_h, pad_w, pad_end_h, pad_end_w, dilation_h, dilation_w;
};

template <typename T, int V>
struct alignas(sizeof(T) * V) PoolPack {
  T v[V];
};

__device__ int taps_between(int o, int stride, int pad, int kernel, int dilation, int low,
                            int high) {
  int count = 0;
  for (int k = 0; k < kernel; ++k) {
    int pos = o * stride - pad + k * dilation;
    count += (pos >= low && pos < high) ? 1 : 0;
  }
  return count;
}

// kKernel > 0: a square window of that size known at compile time (3x3: ResNet's stem pool),
// its loops unrolled so that all of a thread's loads are in flight at once; 0: g's window.
template <typename T, int V, int kKernel>
__global__ void pool2d_nhwc_kernel(Window2d g, PoolMode mode, const T* __restrict__ x,
                                   T* __restrict__ y) {
  const int vectors = g.c / V;
  const int total = g.n * g.out_h * g.out_w * vectors;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int c0 = (i % vectors) * V;
  const int pixel = i / vectors;
  const int ow = pixel % g.out_w, oh = (pixel / g.out_w) % g.out_h;
  const int n = pixel / (g.out_w * g.out_h);
  float max[V], sum[V];
  bool nan[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
    max[v] = -INFINITY;
    sum[v] = 0.f;
    nan[v] = false;
  }
  const T* image = x + int64_t(n) * g.h * g.w * g.c + c0;
  const int kernel_h = kKernel > 0 ? kKernel : g.kernel_h;
  const int kernel_w = kKernel > 0 ? kKernel : g.kernel_w;
#pragma unroll
  for (int r = 0; r < kernel_h; ++r) {
    const int ih = oh * g.stride_h - g.pad_h + r * g.dilation_h;
    if (ih < 0 || ih >= g.h) continue;
#pragma unroll
    for (int s = 0; s < kernel_w; ++s) {
      const int iw = ow * g.stride_w - g.pad_w + s * g.dilation_w;
      if (iw < 0 || iw >= g.w) continue;
      PoolPack<T, V> in = *reinterpret_cast<const PoolPack<T, V>*>(image + (ih * g.w + iw) * g.c);
#pragma unroll
      for (int v = 0; v < V; ++v) {
        float value = to_float(in.v[v]);
        sum[v] += value;
        nan[v] = nan[v] || isnan(value);
        max[v] = fmaxf(max[v], value);
      }
    }
  }
  float divisor = 1.f;
  if (mode != PoolMode::Max) {
    bool include = mode == PoolMode::AverageIncludePad;
    divisor = float(taps_between(oh, g.stride_h, g.pad_h, g.kernel_h, g.dilation_h,
                                 include ? -g.pad_h : 0, include ? g.h + g.pad_end_h : g.h) *
                    taps_between(ow, g.stride_w, g.pad_w, g.kernel_w, g.dilation_w,
                                 include ? -g.pad_w : 0, include ? g.w + g.pad_end_w : g.w));
  }
  PoolPack<T, V> out;
#pragma unroll
  for (int v = 0; v < V; ++v) {
    float result = mode == PoolMode::Max ? (nan[v] ? NAN : max[v]) : sum[v] / divisor;
    out.v[v] = from_float<T>(result);
  }
  *reinterpret_cast<PoolPack<T, V>*>(y + int64_t(pixel) * g.c + c0) = out;
}

// The NHWC 2-D fast path, where it applies; false leaves the launch to pool_kernel.
template <typename T>
bool launch_pool2d_nhwc(PoolMode mode, const PoolGeometry& g, const void* x, void* y,
                        cudaStream_t stream) {
  constexpr int kVector = 16 / int(sizeof(T));
  bool two_d = g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1;
  int64_t batch = g.planes / g.channels;
  int64_t in_elements = batch * g.in[1] * g.in[2] * g.channels;
  int64_t out_elements = batch * g.out[1] * g.out[2] * g.channels;
  bool aligned =
      reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (!g.channels_last || !two_d || g.channels % kVector != 0 || !aligned ||
      in_elements >= (int64_t(1) << 31) || out_elements >= (int64_t(1) << 31)) {
    return false;
  }
  Window2d w{int(batch),        int(g.in[1]),      int(g.in[2]),        int(g.channels),
             int(g.out[1]),     int(g.out[2]),     int(g.kernel[1]),    int(g.kernel[2]),
             int(g.stride[1]),  int(g.stride[2]),  int(g.pad_begin[1]), int(g.pad_begin[2]),
             int(g.pad_end[1]), int(g.pad_end[2]), int(g.dilation[1]),  int(g.dilation[2])};
  int64_t threads = out_elements / kVector;
  auto run = [&](auto kernel) {
    kernel<<<unsigned((threads + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
        w, mode, static_cast<const T*>(x), static_cast<T*>(y));
  };
  if (w.kernel_h == 3 && w.kernel_w == 3) {
    run(pool2d_nhwc_kernel<T, kVector, 3>);
  } else {
    run(pool2d_nhwc_kernel<T, kVector, 0>);
  }
  return true;
}

template <typename T>
__global__ void global_average_kernel(int64_t volume, const T* x, T* y) {
  __shared__ float partial[kThreads];
  const T* plane = x + blockIdx.x * volume;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < volume; i += blockDim.x) sum += to_float(plane[i]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = kThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) y[blockIdx.x] = from_float<T>(partial[0] / static_cast<float>(volume));
}

// Calls fn(T{}) with the device type of a float storage dtype.
template <typename Fn>
void visit_device_float(DType dtype, const char* who, Fn&& fn) {
  switch (dtype) {
    case DType::Float32:
      fn(float{});
      return;
    case DType::Float16:
      fn(__half{});
      return;
    case DType::BFloat16:
      fn(__nv_bfloat16{});
      return;
    default:
      break;
  }
  fail(ErrorKind::Unsupported, who, ": the CUDA pools take float32, float16 or bfloat16, got ",
       dtype_name(dtype));
}

}  // namespace

void launch_pool(DType dtype, PoolMode mode, const PoolGeometry& geometry, const void* x, void* y,
                 cudaStream_t stream) {
  int64_t total = geometry.planes * geometry.out[0] * geometry.out[1] * geometry.out[2];
  if (total == 0) return;
  int64_t blocks = (total + kThreads - 1) / kThreads;
  auto grid = static_cast<unsigned>(blocks < (1 << 20) ? blocks : (1 << 20));
  visit_device_float(dtype, "pool", [&](auto tag) {
    using T = decltype(tag);
    if (launch_pool2d_nhwc<T>(mode, geometry, x, y, stream)) return;
    pool_kernel<T><<<grid, kThreads, 0, stream>>>(geometry, mode, static_cast<const T*>(x),
                                                  static_cast<T*>(y));
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

void launch_global_average_pool(DType dtype, int64_t planes, int64_t volume, const void* x, void* y,
                                cudaStream_t stream) {
  if (planes == 0) return;
  check(planes < (int64_t(1) << 31) && volume > 0, ErrorKind::Unsupported,
        "GlobalAveragePool: ", planes, " planes of ", volume, " elements are out of range");
  visit_device_float(dtype, "GlobalAveragePool", [&](auto tag) {
    using T = decltype(tag);
    global_average_kernel<T><<<static_cast<unsigned>(planes), kThreads, 0, stream>>>(
        volume, static_cast<const T*>(x), static_cast<T*>(y));
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
