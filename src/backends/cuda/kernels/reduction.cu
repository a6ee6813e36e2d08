// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd over any set of axes: one block per
// output element walks the reduced elements through a strided view; FP32 accumulation. ReduceMin is
// the maximum of the negated values, negated back (exact in floats).
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/reduction.h"

namespace kiln::cuda {
namespace {

// A product's rounding depends on its order: one thread multiplies in input order (FP32),
// the order of the CPU reference. Products are rare and short in models.
template <typename T>
__device__ void reduce_product(const T* in, T* out, int64_t base, StridedView reduced,
                               int64_t reduced_count) {
  if (threadIdx.x != 0) return;
  float product = 1.f;
  for (int64_t r = 0; r < reduced_count; ++r) product *= to_float(in[base + reduced.at(r)]);
  out[blockIdx.x] = from_float<T>(product);
}

template <typename T>
__global__ void reduce_kernel(const T* in, T* out, StridedView kept, StridedView reduced,
                              int64_t reduced_count, ReduceOp op) {
  int64_t base = kept.at(blockIdx.x);
  if (op == ReduceOp::Prod) return reduce_product(in, out, base, reduced, reduced_count);
  bool take_max = op == ReduceOp::Max || op == ReduceOp::Min;
  float sign = op == ReduceOp::Min ? -1.f : 1.f;
  float value = take_max ? -INFINITY : 0.f;
  bool saw_nan = false;
  for (int64_t r = threadIdx.x; r < reduced_count; r += blockDim.x) {
    float x = sign * to_float(in[base + reduced.at(r)]);
    saw_nan |= x != x;
    value = take_max ? fmaxf(value, x) : value + x;
  }
  value = take_max ? block_reduce<true>(value) : block_reduce<false>(value);
  saw_nan = __syncthreads_or(saw_nan);
  if (threadIdx.x == 0) {
    if (op == ReduceOp::Mean) value /= float(reduced_count);
    value *= sign;
    if (take_max && saw_nan) value = NAN;  // fmaxf drops NaN; ReduceMax/Min propagate it
    out[blockIdx.x] = from_float<T>(value);
  }
}

}  // namespace

void launch_reduce(ReduceOp op, DType dtype, const void* in, void* out, const ReduceAxes& axes,
                   cudaStream_t stream) {
  int64_t reduced_count = element_count(axes.reduced_dims);
  int64_t outputs_count = element_count(axes.kept_dims);
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (outputs_count == 0) return;
    launch_check(outputs_count < (int64_t(1) << 31), ErrorKind::Unsupported, "too many outputs");
    reduce_kernel<T><<<unsigned(outputs_count), kThreads, 0, stream>>>(
        static_cast<const T*>(in), static_cast<T*>(out),
        strided_view(axes.kept_dims, axes.kept_strides, 0),
        strided_view(axes.reduced_dims, axes.reduced_strides, 0), reduced_count, op);
  });
  check_last_launch();
}

}  // namespace kiln::cuda
