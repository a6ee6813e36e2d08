// Chooses each float_compute node's precision. Strongly typed models obey their dtypes;
// otherwise, with no GPU to time candidates on, a fixed heuristic picks (see below and
// docs/precision.md). The builder's tactic timing may later override these choices.
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// The dtype the node computes in: that of its first floating output (Undefined if none).
DType float_output_dtype(const ir::Node& node) {
  for (const ir::Value* output : node.outputs) {
    if (is_floating(output->dtype)) return output->dtype;
  }
  return DType::Undefined;
}

// TF32 is a tensor-core mode of matrix products; elsewhere it means plain fp32.
bool uses_tensor_cores(const ir::Node& node) {
  return node.op == "MatMul" || node.op == "Gemm" || node.op == "Conv";
}

// The no-GPU heuristic: the lowest enabled precision, in the order bf16, fp16, tf32, fp32.
// bf16 comes first because it has fp32's range (no overflow in activations) at fp16's speed;
// tf32 is only a candidate for MatMul/Gemm/Conv; fp32 is the fallback when nothing else
// applies, even if it is not in `enabled`.
Precision heuristic_precision(const ir::Node& node, const std::set<Precision>& enabled) {
  if (enabled.count(Precision::BF16)) return Precision::BF16;
  if (enabled.count(Precision::FP16)) return Precision::FP16;
  if (enabled.count(Precision::TF32) && uses_tensor_cores(node)) return Precision::TF32;
  return Precision::FP32;
}

std::optional<Precision> precision_of_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return Precision::FP32;
    case DType::Float16:
      return Precision::FP16;
    case DType::BFloat16:
      return Precision::BF16;
    default:
      return std::nullopt;  // float64 and non-float nodes carry no precision
  }
}

}  // namespace

void assign_precisions(ir::Graph& graph, const std::set<Precision>& enabled, bool strongly_typed) {
  for (ir::Node* node : graph.nodes()) {
    const ir::OpSchema* schema = ir::find_schema(node->op);
    if (schema == nullptr || !schema->float_compute) continue;
    std::optional<Precision> own = precision_of_dtype(float_output_dtype(*node));
    if (!own) continue;  // float64 and integer nodes are left alone
    node->precision = strongly_typed ? *own : heuristic_precision(*node, enabled);
  }
}

}  // namespace kiln::passes
