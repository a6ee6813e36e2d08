#include "ir/layer_flops.h"

namespace kiln::ir {

double layer_flops(const Node& node, const std::vector<Dims>& inputs,
                   const std::vector<Dims>& outputs) {
  if (outputs.empty() || inputs.size() < 2) return 0;
  double out = double(element_count(outputs[0]));
  const Dims& a = inputs[0];
  const Dims& b = inputs[1];
  if (node.op == "Conv") {
    // Each output element sums over one filter: (C / groups)·R·S products, in either layout.
    if (b.empty() || b[0] <= 0) return 0;
    return 2 * out * double(element_count(b) / b[0]);
  }
  if (node.op == "MatMul") {
    if (a.empty()) return 0;
    return 2 * out * double(a.size() == 1 ? a[0] : a.back());  // a 1-D A is one row
  }
  if (node.op == "Gemm") {
    if (a.size() != 2) return 0;
    return 2 * out * double(node.attr_int("transA", 0) != 0 ? a[0] : a[1]);
  }
  return 0;
}

}  // namespace kiln::ir
