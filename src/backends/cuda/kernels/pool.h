// Launchers of the pooling kernels (pool.cu): windows over up to three spatial dims with any
// pads, strides, dilations and ceil_mode, and the global average. FP32 math in every dtype.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

constexpr int kPoolDims = 3;  // 1-D and 2-D windows use leading dims of size 1

// Plain numbers only, so that it crosses into device code by value.
struct PoolGeometry {
  int64_t planes = 0;  // batch × channels
  int64_t channels = 1;
  bool channels_last = false;  // x and y are [N, spatial..., C] instead of [N, C, spatial...]
  int64_t in[kPoolDims] = {1, 1, 1}, out[kPoolDims] = {1, 1, 1}, kernel[kPoolDims] = {1, 1, 1};
  int64_t stride[kPoolDims] = {1, 1, 1}, dilation[kPoolDims] = {1, 1, 1};
  int64_t pad_begin[kPoolDims] = {0, 0, 0}, pad_end[kPoolDims] = {0, 0, 0};
};

enum class PoolMode { Max, AverageExcludePad, AverageIncludePad };

// x and y are dense planes of `dtype` (float32, float16 or bfloat16).
void launch_pool(DType dtype, PoolMode mode, const PoolGeometry& geometry, const void* x, void* y,
                 cudaStream_t stream);
// y[plane] = mean of x[plane, 0 .. volume).
void launch_global_average_pool(DType dtype, int64_t planes, int64_t volume, const void* x, void* y,
                                cudaStream_t stream);
// The same for x = [batch, volume, channels] (NHWC): y[n, c] = mean over x[n, ·, c]. Blocks
// of 16-byte channel vectors split `volume` among themselves where the batch alone would
// leave the GPU idle (SE blocks at batch 1), their FP32 partial sums in `workspace`
// (global_average_pool_workspace bytes at most; less workspace means fewer splits).
void launch_global_average_pool_channels_last(DType dtype, int64_t batch, int64_t volume,
                                              int64_t channels, const void* x, void* y,
                                              void* workspace, size_t workspace_size,
                                              cudaStream_t stream);

}  // namespace kiln::cuda
