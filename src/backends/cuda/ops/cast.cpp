// Cast nodes and the executor's dtype conversions: checks, then the cast kernels (kernels/cast.h).
#include "backends/cuda/kernels/cast.h"

#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"

namespace kiln::cuda {
namespace {

void cast_node(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
               std::span<DeviceTensor> outputs) {
  cast_tensor(context, inputs[0], outputs[0]);
  launch_for(node, check_last_launch);
}

}  // namespace

void cast_tensor(LaunchContext& context, const DeviceTensor& src, DeviceTensor& dst) {
  check(has_cast_kernel(src.dtype) && has_cast_kernel(dst.dtype), ErrorKind::Unsupported,
        "no CUDA cast from ", dtype_name(src.dtype), " to ", dtype_name(dst.dtype));
  check(src.numel() == dst.numel(), ErrorKind::Runtime, "cast of ", src.numel(), " elements into ",
        dst.numel());
  if (src.dtype == dst.dtype) return copy_tensor(context, dst, src);
  int64_t n = src.numel();
  if (n == 0) return;
  launch_cast(src.dtype, src.data, dst.dtype, dst.data, n, context.stream);
}

void register_cast_cuda_kernels(CudaKernelMap& map) { map["Cast"] = cast_node; }

}  // namespace kiln::cuda
