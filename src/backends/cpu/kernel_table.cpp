// The op name → CPU kernel table. Each op family file registers its kernels here.
#include <map>
#include <string>

#include "backends/cpu/kernel.h"
#include "backends/cpu/kernel_registry.h"

namespace kiln::cpu {
namespace {

const std::map<std::string, Kernel, std::less<>>& kernel_table() {
  static const std::map<std::string, Kernel, std::less<>> table = [] {
    KernelMap map;
    register_elementwise_kernels(map);
    register_reduction_kernels(map);
    register_normalization_kernels(map);
    register_data_movement_kernels(map);
    register_shape_kernels(map);
    register_matmul_kernels(map);
    register_conv_pool_kernels(map);
    register_conv_transpose_kernels(map);
    register_attention_kernels(map);
    register_indexing_kernels(map);
    register_pad_kernels(map);
    register_resize_kernels(map);
    return map;
  }();
  return table;
}

}  // namespace

Kernel find_kernel(std::string_view op) {
  const auto& table = kernel_table();
  auto it = table.find(op);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace kiln::cpu
