// A 1x1 convolution of 1x1 images (the squeeze-excite layers of EfficientNet, MobileNetV3 and
// RegNetY, after their global pooling): y[n, o] = act(sum over i of x[n, i] * w[o, i] + b[o]),
// a product of [N, C_in] vectors with the [C_out, C_in] weights, the same in NCHW and NHWC.
// Kiln's own kernel: cuDNN spends several microseconds a layer on these few kilobytes, and
// its fused graphs have no sigmoid for the layer that ends an SE block. One warp per output
// value, 16-byte loads along C_in, FP32 accumulation, bias and activation fused.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

enum class ProjectionActivation { None, Relu, Silu, Sigmoid };

// x [n, in], w [out, in], bias [out] (or null), y [n, out]: float32, float16 or bfloat16, all
// of `dtype`.
void launch_vector_projection(DType dtype, int64_t n, int64_t in, int64_t out, const void* x,
                              const void* w, const void* bias, void* y,
                              ProjectionActivation activation, cudaStream_t stream);

}  // namespace kiln::cuda
