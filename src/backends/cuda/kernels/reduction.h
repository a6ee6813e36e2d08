// Launcher of the reduction kernel (reduction.cu): ReduceMean, ReduceSum, ReduceMax,
// ReduceMin and ReduceProd over any set of axes, one block per output element, FP32 accumulation.
#pragma once

#include <cuda_runtime.h>

#include "core/dtype.h"
#include "core/tensor.h"

namespace kiln::cuda {

enum class ReduceOp { Mean, Sum, Max, Min, Prod };

// The axes of a dense input split into those kept (one output element per position, in
// order) and those reduced, each with the input's element strides along them.
struct ReduceAxes {
  Dims kept_dims, kept_strides;
  Dims reduced_dims, reduced_strides;
};

// out[i] = op over the reduced axes at kept position i, for `dtype` storage (has_float_kernel;
// a Max or Min needs at least one reduced element). Checks the launch.
void launch_reduce(ReduceOp op, DType dtype, const void* in, void* out, const ReduceAxes& axes,
                   cudaStream_t stream);

}  // namespace kiln::cuda
