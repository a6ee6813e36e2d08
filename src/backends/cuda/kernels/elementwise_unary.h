// Launchers of the elementwise unary kernels (elementwise_unary.cu): the float activations
// and math (the op chosen at run time, so nvcc instantiates one kernel per storage type),
// IsNaN, IsInf and Not. FP32 math, 16-byte accesses where the pointers allow; each launcher checks
// its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

enum class UnaryOp {
  Relu,
  Gelu,
  GeluTanh,
  Erf,
  Tanh,
  Sigmoid,
  HardSigmoid,
  HardSwish,
  Neg,
  Exp,
  Log,
  Sqrt,
  Reciprocal,
  Sin,
  Cos,
  Clip,
  Abs,
  Sign,
  Floor,
  Ceil,
  Round,
  Tan,
  Asin,
  Acos,
  Atan,
  Sinh,
  Cosh,
  Asinh,
  Acosh,
  Atanh
};

struct UnaryParams {
  UnaryOp op;
  float alpha = 0;  // HardSigmoid
  float beta = 0;
  const void* low = nullptr;  // Clip bounds: device scalars of the input's storage type
  const void* high = nullptr;
};

// out[i] = op(in[i]) for `count` elements of `dtype` (has_float_kernel) in and out.
void launch_unary(DType dtype, const void* in, void* out, int64_t count, const UnaryParams& params,
                  cudaStream_t stream);
// out[i] = in[i] is NaN, for `dtype` (has_float_kernel) in.
void launch_is_nan(DType dtype, const void* in, bool* out, int64_t count, cudaStream_t stream);
// out[i] = in[i] is -inf (with `negative`) or +inf (with `positive`), for `dtype`
// (has_float_kernel) in.
void launch_is_inf(DType dtype, const void* in, bool* out, int64_t count, bool negative,
                   bool positive, cudaStream_t stream);
// out[i] = !in[i].
void launch_not(const bool* in, bool* out, int64_t count, cudaStream_t stream);

}  // namespace kiln::cuda
