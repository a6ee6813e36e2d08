// Launchers of the normalization kernels (normalization.cu): Softmax, LayerNormalization (Y
// only) and BatchNormalization (inference form). FP32 statistics whatever the storage type
// (`dtype`: has_float_kernel); each launcher checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// Softmax over `rows` rows of `length` elements spaced `inner` apart: row r starts at
// (r / inner) · length · inner + r % inner.
void launch_softmax(DType dtype, const void* in, void* out, int64_t rows, int64_t length,
                    int64_t inner, cudaStream_t stream);

// y = (x - mean) / sqrt(var + epsilon) · scale [+ bias] over `rows` dense rows of `length`
// elements; scale and bias (null: none) have `length` elements.
void launch_layer_norm(DType dtype, const void* in, const void* scale, const void* bias, void* out,
                       int64_t rows, int64_t length, float epsilon, cudaStream_t stream);

// BatchNormalization's per-channel parameters, `channels` elements each.
struct BatchNormParams {
  const void* scale = nullptr;
  const void* bias = nullptr;
  const void* mean = nullptr;
  const void* var = nullptr;
};

// The same per channel with the given statistics, x being (N, channels, inner) with `count`
// elements.
void launch_batch_norm(DType dtype, const void* in, const BatchNormParams& params, void* out,
                       int64_t count, int64_t channels, int64_t inner, float epsilon,
                       cudaStream_t stream);

}  // namespace kiln::cuda
