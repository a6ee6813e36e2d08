// Elementwise unary kernels: the float activations and math (one kernel per storage type, the
// op chosen at run time so nvcc instantiates little), IsNaN, IsInf and Not. FP32 math, 16-byte
// accesses.
#include <cmath>

#include "backends/cuda/kernels/elementwise_unary.h"
#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {
namespace {

__device__ __forceinline__ float apply_unary(UnaryOp op, float x, float alpha, float beta,
                                             float low, float high) {
  switch (op) {
    case UnaryOp::Relu:
      return x > 0.f ? x : (x == x ? 0.f : x);  // NaN stays NaN
    case UnaryOp::Gelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case UnaryOp::GeluTanh: {
      float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.f + tanhf(inner));
    }
    case UnaryOp::Erf:
      return erff(x);
    case UnaryOp::Tanh:
      return tanhf(x);
    case UnaryOp::Sigmoid:
      return 1.f / (1.f + expf(-x));
    case UnaryOp::HardSigmoid:
      return fmaxf(0.f, fminf(1.f, alpha * x + beta));
    case UnaryOp::HardSwish:
      return x * fmaxf(0.f, fminf(1.f, x / 6.f + 0.5f));
    case UnaryOp::Neg:
      return -x;
    case UnaryOp::Exp:
      return expf(x);
    case UnaryOp::Log:
      return logf(x);
    case UnaryOp::Sqrt:
      return sqrtf(x);
    case UnaryOp::Reciprocal:
      return 1.f / x;
    case UnaryOp::Sin:
      return sinf(x);  // full-range, not __sinf: rotary angles grow with the position
    case UnaryOp::Cos:
      return cosf(x);
    case UnaryOp::Clip:
      return x != x ? x : fminf(fmaxf(x, low), high);
    case UnaryOp::Abs:
      return fabsf(x);
    case UnaryOp::Sign:  // NaN stays NaN, -0 gives +0 (numpy.sign)
      return x > 0.f ? 1.f : (x < 0.f ? -1.f : (x == x ? 0.f : x));
    case UnaryOp::Floor:
      return floorf(x);
    case UnaryOp::Ceil:
      return ceilf(x);
    case UnaryOp::Round:
      return rintf(x);  // halves to even
    case UnaryOp::Tan:
      return tanf(x);
    case UnaryOp::Asin:
      return asinf(x);
    case UnaryOp::Acos:
      return acosf(x);
    case UnaryOp::Atan:
      return atanf(x);
    case UnaryOp::Sinh:
      return sinhf(x);
    case UnaryOp::Cosh:
      return coshf(x);
    case UnaryOp::Asinh:
      return asinhf(x);
    case UnaryOp::Acosh:
      return acoshf(x);
    case UnaryOp::Atanh:
      return atanhf(x);
  }
  return x;
}

// N elements per access: 16-byte packs, or 1 where a pointer is not aligned to a pack.
template <typename T, int N>
__global__ void unary_kernel(const T* in, T* out, int64_t n, UnaryParams params) {
  float low = params.low ? to_float(*static_cast<const T*>(params.low)) : -INFINITY;
  float high = params.high ? to_float(*static_cast<const T*>(params.high)) : INFINITY;
  int64_t packs = n / N;
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const Pack<T, N>* in_packs = reinterpret_cast<const Pack<T, N>*>(in);
  Pack<T, N>* out_packs = reinterpret_cast<Pack<T, N>*>(out);
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T, N> pack = in_packs[p];
#pragma unroll
    for (int k = 0; k < N; ++k) {
      pack.v[k] = from_float<T>(
          apply_unary(params.op, to_float(pack.v[k]), params.alpha, params.beta, low, high));
    }
    out_packs[p] = pack;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = from_float<T>(
        apply_unary(params.op, to_float(in[i]), params.alpha, params.beta, low, high));
  }
}

// IsNaN and IsInf: a bool per element.
struct NanTest {
  __device__ bool operator()(float x) const { return x != x; }
};
struct InfTest {
  bool negative, positive;
  __device__ bool operator()(float x) const {
    return (negative && x == -INFINITY) || (positive && x == INFINITY);
  }
};

template <typename T, typename Test>
__global__ void float_test_kernel(const T* in, bool* out, int64_t n, Test test) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = test(to_float(in[i]));
  }
}

template <typename Test>
void launch_float_test(DType dtype, const void* in, bool* out, int64_t count, Test test,
                       cudaStream_t stream) {
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (count == 0) return;
    float_test_kernel<T>
        <<<grid_for(count), kThreads, 0, stream>>>(static_cast<const T*>(in), out, count, test);
  });
  check_last_launch();
}

__global__ void not_kernel(const bool* in, bool* out, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = !in[i];
  }
}

}  // namespace

void launch_unary(DType dtype, const void* in, void* out, int64_t count, const UnaryParams& params,
                  cudaStream_t stream) {
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    int64_t n = count;
    if (n == 0) return;
    constexpr int N = kPackSize<T>;
    const T* from = static_cast<const T*>(in);
    T* to = static_cast<T*>(out);
    if (aligned_to(from, sizeof(T) * N) && aligned_to(to, sizeof(T) * N)) {
      unary_kernel<T, N><<<grid_for(n, N), kThreads, 0, stream>>>(from, to, n, params);
    } else {
      unary_kernel<T, 1><<<grid_for(n), kThreads, 0, stream>>>(from, to, n, params);
    }
  });
  check_last_launch();
}

void launch_is_nan(DType dtype, const void* in, bool* out, int64_t count, cudaStream_t stream) {
  launch_float_test(dtype, in, out, count, NanTest{}, stream);
}

void launch_is_inf(DType dtype, const void* in, bool* out, int64_t count, bool negative,
                   bool positive, cudaStream_t stream) {
  launch_float_test(dtype, in, out, count, InfTest{negative, positive}, stream);
}

void launch_not(const bool* in, bool* out, int64_t count, cudaStream_t stream) {
  if (count > 0) not_kernel<<<grid_for(count), kThreads, 0, stream>>>(in, out, count);
  check_last_launch();
}

}  // namespace kiln::cuda
