// The storage types Kiln's own kernels are instantiated for, as host predicates: the op
// adapters check them before launching anything, and the dispatch in cuda_common.cuh and
// element_words.cuh covers exactly these.
#pragma once

#include "core/dtype.h"

namespace kiln::cuda {

// float, __half and __nv_bfloat16 storage, FP32 math.
inline bool has_float_kernel(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float16 || dtype == DType::BFloat16;
}

// The float storage types plus int32 and int64.
inline bool has_numeric_kernel(DType dtype) {
  return dtype == DType::Int32 || dtype == DType::Int64 || has_float_kernel(dtype);
}

// Those plus float64, int8, int16 and uint8: kernels that only compare elements (ArgMax;
// dispatched in arg_reduce.cu).
inline bool has_ordered_kernel(DType dtype) {
  return dtype == DType::Float64 || dtype == DType::Int8 || dtype == DType::Int16 ||
         dtype == DType::UInt8 || has_numeric_kernel(dtype);
}

// Kernels that move elements without computing on them: one per element size.
inline bool has_word_kernel(DType dtype) {
  size_t size = dtype_size(dtype);
  return size == 1 || size == 2 || size == 4 || size == 8;
}

// Index tensors of the gathers.
inline bool is_index_dtype(DType dtype) { return dtype == DType::Int32 || dtype == DType::Int64; }

}  // namespace kiln::cuda
