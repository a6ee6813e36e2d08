// Runs one node on the CPU reference kernels without precision emulation: the entry point
// for constant folding. 16-bit floats are widened for the kernel and narrowed back after.
#include "backends/cpu/kernel.h"

namespace kiln::cpu {

std::vector<Tensor> run_node(const ir::Node& node, const std::vector<Tensor>& inputs) {
  Kernel kernel = find_kernel(node.op);
  check(kernel != nullptr, ErrorKind::Unsupported, node.describe(),
        ": the CPU backend has no kernel for op '", node.op, "'");
  std::vector<Tensor> widened;
  widened.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    bool narrow = input.dtype() == DType::Float16 || input.dtype() == DType::BFloat16;
    widened.push_back(narrow ? input.to(DType::Float32) : input);
  }
  std::vector<Tensor> outputs = kernel(node, widened);
  check(outputs.size() == node.outputs.size(), ErrorKind::Runtime, node.describe(),
        ": kernel returned ", outputs.size(), " outputs, the node has ", node.outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Value* value = node.outputs[i];
    if (value == nullptr || !outputs[i].defined()) continue;
    DType declared = value->dtype;
    if (declared != DType::Undefined && declared != outputs[i].dtype() && is_floating(declared) &&
        is_floating(outputs[i].dtype())) {
      outputs[i] = outputs[i].to(declared);
    }
  }
  return outputs;
}

}  // namespace kiln::cpu
