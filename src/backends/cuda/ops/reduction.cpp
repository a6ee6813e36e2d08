// ReduceMean, ReduceSum, ReduceMax and ReduceMin nodes: axes from the attribute or a constant
// input, split into kept and reduced strides, then the reduction kernel (kernels/reduction.h).
#include "backends/cuda/kernels/reduction.h"

#include <algorithm>

#include "backends/cuda/kernels/strided_loop.h"
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

}  // namespace

void register_reduction_cuda_kernels(CudaKernelMap& map) {
  map["ReduceMean"] = reduce<ReduceOp::Mean>;
  map["ReduceSum"] = reduce<ReduceOp::Sum>;
  map["ReduceMax"] = reduce<ReduceOp::Max>;
  map["ReduceMin"] = reduce<ReduceOp::Min>;
}

}  // namespace kiln::cuda
