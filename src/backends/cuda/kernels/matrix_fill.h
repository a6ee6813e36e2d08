// Small device helpers of the library-backed ops: broadcasting Gemm's C into D before a
// product accumulates onto it and zero-padding images for convolutions with uneven
// pads.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// d (rows × cols, row-major) = c broadcast, where c is c_rows × c_cols with c_rows ∈ {1, rows}
// and c_cols ∈ {1, cols}. Both of `dtype` (float32, float16 or bfloat16).
void broadcast_matrix(DType dtype, const void* c, int64_t c_rows, int64_t c_cols, void* d,
                      int64_t rows, int64_t cols, cudaStream_t stream);

// Copies `planes` planes of in_h × in_w into planes of out_h × out_w, the source placed at
// (top, left), zeros elsewhere. Element size 2 or 4 bytes.
void pad_planes(size_t element_size, const void* in, int64_t planes, int64_t in_h, int64_t in_w,
                void* out, int64_t out_h, int64_t out_w, int64_t top, int64_t left,
                cudaStream_t stream);

}  // namespace kiln::cuda
