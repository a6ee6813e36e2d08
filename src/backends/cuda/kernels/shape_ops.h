// Launchers of the shape-op kernels (shape_ops.cu): small int64 values known at launch
// (Shape, Size), a fill with one value (ConstantOfShape) and Range with its start and delta
// read on the device.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace kiln::cuda {

// out[i] = values[i]; the values travel to the device by value, a few per launch, never
// from host memory that a later capture or copy could outlive. Checks each launch.
void launch_write_ints(std::span<const int64_t> values, int64_t* out, cudaStream_t stream);

// out[i] = the element at `value` (host memory, one element of `dtype`) for i < count
// (count > 0; has_word_kernel). Checks the launch.
void launch_fill(DType dtype, const void* value, void* out, int64_t count, cudaStream_t stream);

// out[i] = *start + i · *delta for i < count (count > 0), start and delta one element each in
// device memory, all of `dtype` (has_numeric_kernel). Checks the launch.
void launch_range(DType dtype, const void* start, const void* delta, void* out, int64_t count,
                  cudaStream_t stream);

}  // namespace kiln::cuda
