// A ReLU or SiLU over a buffer, in place: the fallback epilogue of convolutions that carry
// fused_activation "Relu" or "Silu" where cuDNN's fused convolution does not run
// (conv_plan.cpp, ops/conv_cudnn.cpp).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// data[i] = data[i] < 0 ? 0 : data[i] (NaN stays NaN) for `count` elements of `dtype`
// (float32, float16 or bfloat16; LaunchError otherwise), on `stream`.
void relu_in_place(DType dtype, void* data, int64_t count, cudaStream_t stream);
// data[i] = x / (1 + exp(-x)) in fp32, rounded to `dtype` (as relu_in_place's dtypes).
void silu_in_place(DType dtype, void* data, int64_t count, cudaStream_t stream);

}  // namespace kiln::cuda
