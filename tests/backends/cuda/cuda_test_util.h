// Shared pieces of the CUDA backend tests: the GPU skip, per-precision tolerances (stated
// once), and random tensors.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/cuda/runtime/cuda_resources.h"
#include "core/precision.h"
#include "core/tensor.h"

// Every GPU test starts with this: on a machine without a CUDA device it reports a skip.
#define KILN_REQUIRE_GPU()                        \
  do {                                            \
    if (!::kiln::cuda::cuda_device_available()) { \
      GTEST_SKIP() << "no CUDA GPU: skipped";     \
    }                                             \
  } while (0)

namespace kiln::cuda_test {

// Normalized error allowed between the GPU and the CPU reference run at the same precisions.
// tf32 applies to the matrix products (MatMul, Gemm, Conv, Attention): they round their
// inputs to tf32's 10-bit mantissa, so it sits between fp32 and fp16.
inline double tolerance_for(Precision precision) {
  switch (precision) {
    case Precision::TF32:
      return 2e-3;
    case Precision::FP16:
      return 5e-3;
    case Precision::BF16:
      return 2e-2;
    default:
      return 1e-5;
  }
}

// The precision whose tolerance applies to values stored as `storage`.
inline Precision precision_of(DType storage) {
  if (storage == DType::Float16) return Precision::FP16;
  if (storage == DType::BFloat16) return Precision::BF16;
  return Precision::FP32;
}

// Uniform values in [low, high) (integers: rounded), deterministic per seed.
inline Tensor random_tensor(DType dtype, const Dims& dims, double low, double high, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Tensor values(DType::Float64, dims);
  double* out = values.data_mutable<double>();
  for (int64_t i = 0; i < values.numel(); ++i) {
    double x = uniform(generator);
    out[i] = is_floating(dtype) ? x : std::floor(x);
  }
  return values.to(dtype);
}

}  // namespace kiln::cuda_test
