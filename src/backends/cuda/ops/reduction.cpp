// ReduceMean, ReduceSum, ReduceMax, ReduceMin and ReduceProd nodes: axes from the attribute or a
// constant input, split into kept and reduced strides, then the reduction kernel
// (kernels/reduction.h). ArgMax and ArgMin: one axis as outer x length x inner
// (kernels/arg_reduce.h); TopK likewise (kernels/top_k.h), k above kMaxCudaTopK on the host.
#include "backends/cuda/kernels/reduction.h"

#include <algorithm>

#include "backends/cuda/kernels/arg_reduce.h"
#include "backends/cuda/kernels/strided_loop.h"
#include "backends/cuda/kernels/top_k.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

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
  ReduceAxes split;
  for (size_t d = 0; d < size_t(rank); ++d) {
    (is_reduced[d] ? split.reduced_dims : split.kept_dims).push_back(in.dims[d]);
    (is_reduced[d] ? split.reduced_strides : split.kept_strides).push_back(strides[d]);
  }
  bool extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  check(element_count(split.reduced_dims) > 0 || !extreme, ErrorKind::Unsupported, what, ": empty ",
        node.op);
  require_float_storage(node, in.dtype);
  launch_for(node,
             [&] { launch_reduce(op, in.dtype, in.data, outputs[0].data, split, context.stream); });
}

template <bool kMax>
void arg_reduce(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  int64_t rank = int64_t(in.dims.size());
  size_t axis = size_t(ir::normalize_axis(node.attr_int("axis", 0), rank, what));
  ArgReduceShape shape;
  shape.length = in.dims[axis];
  for (size_t d = 0; d < axis; ++d) shape.outer *= in.dims[d];
  for (size_t d = axis + 1; d < in.dims.size(); ++d) shape.inner *= in.dims[d];
  shape.select_last = node.attr_int("select_last_index", 0) != 0;
  check(shape.length > 0, ErrorKind::InvalidArgument, what, ": axis ", axis, " of input dims ",
        dims_to_string(in.dims), " is empty, so it has no extreme index");
  check(out.dtype == DType::Int64 && out.numel() == shape.outer * shape.inner, ErrorKind::Runtime,
        what, ": output ", dtype_name(out.dtype), " ", dims_to_string(out.dims),
        " is not the int64 indices of input dims ", dims_to_string(in.dims), " along axis ", axis);
  require_ordered_storage(node, in.dtype);
  launch_for(node, [&] {
    launch_arg_reduce(kMax, in.dtype, in.data, static_cast<int64_t*>(out.data), shape,
                      context.stream);
  });
}

void top_k(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  int64_t rank = int64_t(in.dims.size());
  check(rank > 0, ErrorKind::InvalidArgument, what, ": TopK of a scalar");
  size_t axis = size_t(ir::normalize_axis(node.attr_int("axis", -1), rank, what));
  TopKShape shape;
  shape.length = in.dims[axis];
  for (size_t d = 0; d < axis; ++d) shape.outer *= in.dims[d];
  for (size_t d = axis + 1; d < in.dims.size(); ++d) shape.inner *= in.dims[d];
  shape.k = node.attr_int("k", 0);
  shape.largest = node.attr_int("largest", 1) != 0;
  check(shape.k >= 0 && shape.k <= shape.length, ErrorKind::InvalidArgument, what, ": k ", shape.k,
        " is out of range for axis ", axis, " of input dims ", dims_to_string(in.dims));
  check(shape.k <= kMaxCudaTopK, ErrorKind::Unsupported, what, ": k ", shape.k,
        " exceeds the CUDA kernel's ", kMaxCudaTopK);
  // An output nothing reads has no storage (sort's indices, argsort's values): not written.
  const DeviceTensor& values = outputs[0];
  const DeviceTensor& indices = outputs[1];
  const int64_t count = shape.outer * shape.k * shape.inner;
  const bool values_ok =
      values.data == nullptr || (values.dtype == in.dtype && values.numel() == count);
  const bool indices_ok =
      indices.data == nullptr || (indices.dtype == DType::Int64 && indices.numel() == count);
  check(values_ok && indices_ok, ErrorKind::Runtime, what, ": outputs ", dtype_name(values.dtype),
        " ", dims_to_string(values.dims), " and ", dtype_name(indices.dtype), " ",
        dims_to_string(indices.dims), " are not TopK's of input dims ", dims_to_string(in.dims));
  require_ordered_storage(node, in.dtype);
  launch_for(node, [&] {
    launch_top_k(in.dtype, in.data, values.data, static_cast<int64_t*>(indices.data), shape,
                 context.stream);
  });
}

}  // namespace

void register_reduction_cuda_kernels(CudaKernelMap& map) {
  map["ReduceMean"] = reduce<ReduceOp::Mean>;
  map["ReduceSum"] = reduce<ReduceOp::Sum>;
  map["ReduceMax"] = reduce<ReduceOp::Max>;
  map["ReduceMin"] = reduce<ReduceOp::Min>;
  map["ReduceProd"] = reduce<ReduceOp::Prod>;
  map["ArgMax"] = arg_reduce<true>;
  map["ArgMin"] = arg_reduce<false>;
  map["TopK"] = top_k;
}

}  // namespace kiln::cuda
