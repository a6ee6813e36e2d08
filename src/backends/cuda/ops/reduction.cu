// ReduceMean, ReduceSum, ReduceMax over any set of axes: one block per output element walks
// the reduced elements through a strided view; FP32 accumulation.
#include <algorithm>

#include "backends/cuda/kernels/cuda_common.cuh"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

enum class ReduceOp { Mean, Sum, Max };

template <typename T>
__global__ void reduce_kernel(const T* in, T* out, StridedView kept, StridedView reduced,
                              int64_t reduced_count, ReduceOp op) {
  int64_t base = kept.at(blockIdx.x);
  bool take_max = op == ReduceOp::Max;
  float value = take_max ? -INFINITY : 0.f;
  bool saw_nan = false;
  for (int64_t r = threadIdx.x; r < reduced_count; r += blockDim.x) {
    float x = to_float(in[base + reduced.at(r)]);
    saw_nan |= x != x;
    value = take_max ? fmaxf(value, x) : value + x;
  }
  value = take_max ? block_reduce<true>(value) : block_reduce<false>(value);
  saw_nan = __syncthreads_or(saw_nan);
  if (threadIdx.x == 0) {
    if (op == ReduceOp::Mean) value /= float(reduced_count);
    if (take_max && saw_nan) value = NAN;  // fmaxf drops NaN; ReduceMax propagates it
    out[blockIdx.x] = from_float<T>(value);
  }
}

template <ReduceOp op>
void reduce(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  int64_t rank = int64_t(in.dims.size());
  std::vector<int64_t> axes = node.attr_ints("axes");
  if (inputs.size() > 1 && inputs[1].defined()) {
    const ir::Value* axes_value = node.input(1);
    check(axes_value->is_constant(), ErrorKind::Unsupported, what, ": run-time axes");
    axes = axes_value->constant->to_int64_vector();
  }
  std::vector<bool> is_reduced(size_t(rank), false);
  if (axes.empty()) {
    if (node.attr_int("noop_with_empty_axes", 0) != 0) return copy_tensor(context, outputs[0], in);
    std::fill(is_reduced.begin(), is_reduced.end(), true);
  }
  for (int64_t axis : axes) is_reduced[size_t(ir::normalize_axis(axis, rank, what))] = true;
  Dims strides = contiguous_strides(in.dims);
  Dims kept_dims, kept_strides, reduced_dims, reduced_strides;
  for (size_t d = 0; d < size_t(rank); ++d) {
    (is_reduced[d] ? reduced_dims : kept_dims).push_back(in.dims[d]);
    (is_reduced[d] ? reduced_strides : kept_strides).push_back(strides[d]);
  }
  int64_t reduced_count = element_count(reduced_dims);
  int64_t outputs_count = element_count(kept_dims);
  check(reduced_count > 0 || op != ReduceOp::Max, ErrorKind::Unsupported, what,
        ": empty ReduceMax");
  visit_float_storage(in.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    if (outputs_count == 0) return;
    check(outputs_count < (int64_t(1) << 31), ErrorKind::Unsupported, what, ": too many outputs");
    reduce_kernel<T><<<unsigned(outputs_count), kThreads, 0, context.stream>>>(
        static_cast<const T*>(in.data), static_cast<T*>(outputs[0].data),
        strided_view(kept_dims, kept_strides, 0, what),
        strided_view(reduced_dims, reduced_strides, 0, what), reduced_count, op);
  });
  check_launch(node);
}

}  // namespace

void register_reduction_cuda_kernels(CudaKernelMap& map) {
  map["ReduceMean"] = reduce<ReduceOp::Mean>;
  map["ReduceSum"] = reduce<ReduceOp::Sum>;
  map["ReduceMax"] = reduce<ReduceOp::Max>;
}

}  // namespace kiln::cuda
