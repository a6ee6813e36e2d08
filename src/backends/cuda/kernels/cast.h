// Launcher of the dtype conversion kernels (cast.cu): between the float storage types,
// int8/uint8/int32/int64 and bool.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// The dtypes launch_cast converts from and to.
inline bool has_cast_kernel(DType dtype) {
  switch (dtype) {
    case DType::Float32:
    case DType::Float16:
    case DType::BFloat16:
    case DType::Int8:
    case DType::UInt8:
    case DType::Int32:
    case DType::Int64:
    case DType::Bool:
      return true;
    default:
      return false;
  }
}

// dst[i] = src[i] converted from `from` to `to` (both has_cast_kernel, count > 0): floats
// round to nearest even, float→int truncates toward zero, anything→bool is != 0. Does not
// check the launch: the caller does (check_last_launch) where it reports errors.
void launch_cast(DType from, const void* src, DType to, void* dst, int64_t count,
                 cudaStream_t stream);

}  // namespace kiln::cuda
