// Softmax, LayerNormalization (Y only) and BatchNormalization (inference form). One block per
// row for the row-wise ops; FP32 statistics whatever the storage type.
#include "backends/cuda/kernels/cuda_common.cuh"
#include "ir/shape.h"

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

void softmax(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
             std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", -1), int64_t(in.dims.size()), what));
  int64_t inner = 1;
  for (size_t d = axis + 1; d < in.dims.size(); ++d) inner *= in.dims[d];
  int64_t length = in.dims.empty() ? 1 : in.dims[axis];
  int64_t rows = length == 0 ? 0 : in.numel() / length;
  visit_float_storage(in.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    if (rows == 0) return;
    softmax_kernel<T><<<unsigned(rows), kRowThreads, 0, context.stream>>>(
        static_cast<const T*>(in.data), static_cast<T*>(outputs[0].data), length, inner);
  });
  check_launch(node);
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

void layer_norm(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  std::string what = node.describe();
  for (size_t i = 1; i < outputs.size(); ++i) {
    check(!outputs[i].defined(), ErrorKind::Unsupported, what,
          ": Mean/InvStdDev outputs have no CUDA kernel");
  }
  const DeviceTensor& in = inputs[0];
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", -1), int64_t(in.dims.size()), what));
  int64_t length = 1;
  for (size_t d = axis; d < in.dims.size(); ++d) length *= in.dims[d];
  check(inputs[1].numel() == length &&
            (inputs.size() < 3 || !inputs[2].defined() || inputs[2].numel() == length),
        ErrorKind::Unsupported, what, ": Scale/B must cover the normalized dims exactly");
  const DeviceTensor* bias = inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr;
  int64_t rows = length == 0 ? 0 : in.numel() / length;
  visit_float_storage(in.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    if (rows == 0) return;
    layer_norm_kernel<T><<<unsigned(rows), kRowThreads, 0, context.stream>>>(
        static_cast<const T*>(in.data), static_cast<const T*>(inputs[1].data),
        bias ? static_cast<const T*>(bias->data) : nullptr, static_cast<T*>(outputs[0].data),
        length, float(node.attr_float("epsilon", 1e-5)));
  });
  check_launch(node);
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

void batch_norm(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  check(in.dims.size() >= 2, ErrorKind::Unsupported, what, ": needs (N, C, ...)");
  for (size_t i = 1; i < 5; ++i) {
    check(inputs[i].dtype == in.dtype, ErrorKind::Unsupported, what,
          ": parameters of another storage");
  }
  int64_t inner = 1;
  for (size_t d = 2; d < in.dims.size(); ++d) inner *= in.dims[d];
  int64_t n = in.numel();
  visit_float_storage(in.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    if (n == 0) return;
    auto param = [&](size_t i) { return static_cast<const T*>(inputs[i].data); };
    batch_norm_kernel<T><<<grid_for(n), kThreads, 0, context.stream>>>(
        param(0), param(1), param(2), param(3), param(4), static_cast<T*>(outputs[0].data), n,
        in.dims[1], inner, float(node.attr_float("epsilon", 1e-5)));
  });
  check_launch(node);
}

}  // namespace

void register_normalization_cuda_kernels(CudaKernelMap& map) {
  map["Softmax"] = softmax;
  map["LayerNormalization"] = layer_norm;
  map["BatchNormalization"] = batch_norm;
}

}  // namespace kiln::cuda
