// Softmax, LayerNormalization (Y only) and BatchNormalization (inference form). One block per
// row for the row-wise ops; FP32 statistics whatever the storage type.
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/normalization.h"

namespace kiln::cuda {
namespace {

constexpr int kRowThreads = 256;

// Softmax over rows of `length` elements spaced `inner` apart: row r = (outer, within).
template <typename T>
__global__ void softmax_kernel(const T* in, T* out, int64_t length, int64_t inner) {
  int64_t row = blockIdx.x;
  int64_t base = (row / inner) * length * inner + row % inner;
  float peak = -INFINITY;
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x)
    peak = fmaxf(peak, to_float(in[base + j * inner]));
  peak = block_reduce<true>(peak);
  float total = 0.f;
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x)
    total += expf(to_float(in[base + j * inner]) - peak);
  total = block_reduce<false>(total);
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x) {
    out[base + j * inner] = from_float<T>(expf(to_float(in[base + j * inner]) - peak) / total);
  }
}

template <typename T>
__global__ void layer_norm_kernel(const T* in, const T* scale, const T* bias, T* out,
                                  int64_t length, float epsilon) {
  const T* x = in + int64_t(blockIdx.x) * length;
  T* y = out + int64_t(blockIdx.x) * length;
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x) sum += to_float(x[j]);
  float mean = block_reduce<false>(sum) / float(length);
  float squares = 0.f;
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x) {
    float centered = to_float(x[j]) - mean;
    squares += centered * centered;
  }
  float inv_std = rsqrtf(block_reduce<false>(squares) / float(length) + epsilon);
  for (int64_t j = threadIdx.x; j < length; j += blockDim.x) {
    float value = (to_float(x[j]) - mean) * inv_std * to_float(scale[j]);
    if (bias != nullptr) value += to_float(bias[j]);
    y[j] = from_float<T>(value);
  }
}

template <typename T>
__global__ void batch_norm_kernel(const T* in, const T* scale, const T* bias, const T* mean,
                                  const T* var, T* out, int64_t n, int64_t channels, int64_t inner,
                                  float epsilon) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t c = (i / inner) % channels;
    float normalized = (to_float(in[i]) - to_float(mean[c])) * rsqrtf(to_float(var[c]) + epsilon);
    out[i] = from_float<T>(normalized * to_float(scale[c]) + to_float(bias[c]));
  }
}

}  // namespace

void launch_softmax(DType dtype, const void* in, void* out, int64_t rows, int64_t length,
                    int64_t inner, cudaStream_t stream) {
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (rows == 0) return;
    softmax_kernel<T><<<unsigned(rows), kRowThreads, 0, stream>>>(
        static_cast<const T*>(in), static_cast<T*>(out), length, inner);
  });
  check_last_launch();
}

void launch_layer_norm(DType dtype, const void* in, const void* scale, const void* bias, void* out,
                       int64_t rows, int64_t length, float epsilon, cudaStream_t stream) {
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (rows == 0) return;
    layer_norm_kernel<T><<<unsigned(rows), kRowThreads, 0, stream>>>(
        static_cast<const T*>(in), static_cast<const T*>(scale), static_cast<const T*>(bias),
        static_cast<T*>(out), length, epsilon);
  });
  check_last_launch();
}

void launch_batch_norm(DType dtype, const void* in, const BatchNormParams& params, void* out,
                       int64_t count, int64_t channels, int64_t inner, float epsilon,
                       cudaStream_t stream) {
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (count == 0) return;
    auto param = [](const void* data) { return static_cast<const T*>(data); };
    batch_norm_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(
        param(in), param(params.scale), param(params.bias), param(params.mean), param(params.var),
        static_cast<T*>(out), count, channels, inner, epsilon);
  });
  check_last_launch();
}

}  // namespace kiln::cuda
