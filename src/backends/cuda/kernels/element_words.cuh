// Dispatch helpers for kernels that move elements without computing on them (gathers, fills,
// masks): one instantiation per element size serves every dtype of that size.
#pragma once

#include <cstdint>

#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {

// Calls fn(Word{}) with an unsigned integer type as wide as one element of `dtype`
// (has_word_kernel in kernel_types.h).
template <typename Fn>
void visit_element_word(DType dtype, Fn&& fn) {
  switch (dtype_size(dtype)) {
    case 1:
      return fn(uint8_t{});
    case 2:
      return fn(uint16_t{});
    case 4:
      return fn(uint32_t{});
    case 8:
      return fn(uint64_t{});
    default:
      launch_fail(ErrorKind::Unsupported, "no CUDA kernel for ", dtype_name(dtype));
  }
}

// Calls fn(Index{}) for int32 or int64 index tensors (is_index_dtype).
template <typename Fn>
void visit_index_type(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Int32:
      return fn(int32_t{});
    case DType::Int64:
      return fn(int64_t{});
    default:
      launch_fail(ErrorKind::Unsupported, "indices must be int32 or int64, got ",
                  dtype_name(dtype));
  }
}

// `index` counted from the end when negative (ONNX's rule); -1 when still out of [0, size),
// which the gathers turn into a zero write instead of a read outside the tensor.
__device__ __forceinline__ int64_t wrap_index(int64_t index, int64_t size) {
  if (index < 0) index += size;
  return index >= 0 && index < size ? index : -1;
}

}  // namespace kiln::cuda
