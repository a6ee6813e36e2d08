// The CUDA kernel table: op name → launcher, filled once from each family's hook.
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/ops/cuda_ops.h"

namespace kiln::cuda {

void register_elementwise_cuda_kernels(CudaKernelMap& map) {
  register_unary_cuda_kernels(map);
  register_binary_cuda_kernels(map);
  register_cast_cuda_kernels(map);
}

namespace {

CudaKernelMap build_table() {
  CudaKernelMap map;
  register_elementwise_cuda_kernels(map);
  register_normalization_cuda_kernels(map);
  register_reduction_cuda_kernels(map);
  register_data_movement_cuda_kernels(map);
  register_indexing_cuda_kernels(map);
  register_shape_cuda_kernels(map);
  register_resize_pad_cuda_kernels(map);
  register_matmul_cuda_kernels(map);
  register_conv_pool_cuda_kernels(map);
  register_attention_cuda_kernels(map);
  return map;
}

}  // namespace

CudaKernel find_cuda_kernel(std::string_view op) {
  static const CudaKernelMap table = build_table();  // immutable after first use
  auto it = table.find(op);
  return it == table.end() ? nullptr : it->second;
}

std::vector<std::string> cuda_tactics(LaunchContext& context, const ir::Node& node,
                                      std::span<const DeviceTensor> inputs) {
  static const std::map<std::string, CudaTactics, std::less<>> table = {
      {"Attention", attention_node_tactics},
      {"Conv", conv_node_tactics},
      {"MatMul", matmul_node_tactics}};
  auto it = table.find(node.op);
  return it == table.end() ? std::vector<std::string>{} : it->second(context, node, inputs);
}

std::vector<std::string> cuda_kernel_ops() {
  std::vector<std::string> ops;
  for (const auto& [op, kernel] : build_table()) ops.push_back(op);
  return ops;  // the map keeps them sorted
}

}  // namespace kiln::cuda
