// Storage-type checks and node naming for the op adapters (node_launch.h).
#include "backends/cuda/ops/node_launch.h"

#include "backends/cuda/kernels/kernel_types.h"

namespace kiln::cuda {
namespace {

void require_kernel(bool has_kernel, const ir::Node& node, DType dtype) {
  check(has_kernel, ErrorKind::Unsupported, node.describe(), ": no CUDA kernel for ",
        dtype_name(dtype));
}

}  // namespace

void fail_for_node(const ir::Node& node, const LaunchError& error) {
  throw Error(error.kind(), node.describe() + ": " + error.what());
}

void require_float_storage(const ir::Node& node, DType dtype) {
  require_kernel(has_float_kernel(dtype), node, dtype);
}

void require_numeric_storage(const ir::Node& node, DType dtype) {
  require_kernel(has_numeric_kernel(dtype), node, dtype);
}

void require_element_word(const ir::Node& node, DType dtype) {
  require_kernel(has_word_kernel(dtype), node, dtype);
}

void require_ordered_storage(const ir::Node& node, DType dtype) {
  require_kernel(has_ordered_kernel(dtype), node, dtype);
}

void require_index_dtype(const ir::Node& node, DType dtype) {
  check(is_index_dtype(dtype), ErrorKind::Unsupported, node.describe(),
        ": indices must be int32 or int64, got ", dtype_name(dtype));
}

GemmResources gemm_resources(const LaunchContext& context) {
  return {context.cublaslt, context.stream, context.workspace, context.workspace_size,
          context.gemm_plans};
}

ConvResources conv_resources(const LaunchContext& context) {
  return {context.cudnn, context.stream, context.conv_plans, context.conv_graphs};
}

}  // namespace kiln::cuda
