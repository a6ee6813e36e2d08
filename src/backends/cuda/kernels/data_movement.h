// Launchers of the data-movement kernels (data_movement.cu): one strided copy behind
// Transpose, Expand, Slice, Concat and Split, and Gather. Bytes move by element size, so one
// kernel per size serves every dtype; each launcher checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backends/cuda/kernels/strided_loop.h"
#include "core/dtype.h"

namespace kiln::cuda {

// Copies the elements of `src` that operand 0 of `walk` visits into the places of `dst` that
// operand 1 visits; src and dst hold src_count and dst_count elements of element_size bytes.
// Axes contiguous in both are merged first; rows contiguous in both move in words of up to
// 16 bytes; a transposed last axis goes through shared-memory tiles; the rest element by
// element. An empty walk launches nothing (and checks nothing).
void launch_strided_copy(size_t element_size, const void* src, int64_t src_count, void* dst,
                         int64_t dst_count, const StridedLoop& walk, cudaStream_t stream);

// The same copy converting each element from `from` to `to` (float32, float16, bfloat16; round
// to nearest even): a copy whose output is stored in another dtype than its input.
void launch_strided_convert(DType from, const void* src, int64_t src_count, DType to, void* dst,
                            int64_t dst_count, const StridedLoop& walk, cudaStream_t stream);

// out[o, i, n] = data[o, wrap(indices[i]), n] with `i` over every index element: `count`
// outputs (> 0) of `dtype` (has_word_kernel), `index_count` indices of index_dtype (int32 or
// int64), an axis of `axis_size` and `inner` elements after it. Out-of-range indices give 0.
struct GatherShape {
  int64_t count = 0, index_count = 0, axis_size = 0, inner = 1;
};
void launch_gather(DType dtype, DType index_dtype, const void* data, const void* indices, void* out,
                   const GatherShape& shape, cudaStream_t stream);

}  // namespace kiln::cuda
