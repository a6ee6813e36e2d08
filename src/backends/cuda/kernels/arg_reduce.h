// Launcher of the ArgMax / ArgMin kernels (arg_reduce.cu): the index of the extreme element
// along one axis, with the CPU reference's rules (backends/cpu/reduction.cpp): ties give the
// first index, or the last with select_last; NaN beats every number, as in numpy.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// A dense input seen as outer x length x inner, reduced over `length` (> 0); the output holds
// outer x inner int64 indices in that order (keepdims changes only the output's dims).
struct ArgReduceShape {
  int64_t outer = 1, length = 1, inner = 1;
  bool select_last = false;
};

// ArgMax (take_max) or ArgMin of `in` into `out`, for float32, float16, bfloat16, float64,
// int8, int16, int32, int64 and uint8 (has_ordered_kernel in kernel_types.h). Launches
// nothing when the output is empty; checks the launch.
void launch_arg_reduce(bool take_max, DType dtype, const void* in, int64_t* out,
                       const ArgReduceShape& shape, cudaStream_t stream);

}  // namespace kiln::cuda
