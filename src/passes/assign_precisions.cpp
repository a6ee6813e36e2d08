// Chooses each float_compute node's precision. Strongly typed models obey their dtypes;
// otherwise, with no GPU to time candidates on, a fixed heuristic picks (see below and
// docs/precision.md). The builder's tactic timing may later override these choices.
#include <set>

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

// Views: the same values in another shape, so they pass a pinned chain through.
const std::set<std::string> kShapeOps = {"Reshape", "Unsqueeze", "Squeeze",
                                         "Flatten", "Transpose", "Expand"};

// Sin or Cos and what computes its argument: back through elementwise nodes with one
// computed input (scaling by constants, casts, views) to the first node with two, such as
// the MatMul of positions by inverse frequencies in rotary embeddings.
void pin_periodic_argument(const ir::Node& periodic, std::set<const ir::Node*>& pinned) {
  pinned.insert(&periodic);
  const ir::Value* argument = periodic.input(0);
  while (argument != nullptr && argument->producer != nullptr &&
         !pinned.count(argument->producer)) {
    const ir::Node& producer = *argument->producer;
    std::vector<const ir::Value*> computed;
    for (const ir::Value* input : producer.inputs) {
      if (input != nullptr && !input->is_constant()) computed.push_back(input);
    }
    bool view = kShapeOps.count(producer.op) > 0;
    if (!view && !ir::is_float_compute(producer.op) && producer.op != "Cast") return;
    if (!view) pinned.insert(&producer);
    if (computed.size() != 1) return;
    argument = computed[0];
  }
}

// Nodes whose result a narrow precision ruins, which keep fp32 when fp32 is enabled beside it:
// - Sin and Cos and the nodes computing their argument: an argument of size a loses about
//   a·2^-9 to bf16 rounding, absolute, so a timestep or position embedding (arguments up to
//   1e3) comes out as noise;
// - the statistics of a normalization spelled out in core ops (group_norm, hand-written
//   LayerNorm, ONNX InstanceNormalization): x − mean(x) cancels, so a rounded mean, or a
//   rounded difference, leaves an error of the size of the mean relative to the spread.
//   Pinned: the centering Sub and its mean, the chain from the centered value through its
//   squares, their reduction and the elementwise ops on that statistic, and the node that
//   combines the centered value with the statistic (the normalized output). What reads the
//   normalized output (scale, shift, activations) is not pinned.
// PyTorch's kernels keep these in fp32 inside (autocast's fp32 list, fused norms).
std::set<const ir::Node*> rounding_sensitive_nodes(const ir::Graph& graph) {
  std::vector<ir::Node*> order = graph.nodes();
  std::set<const ir::Node*> pinned;
  for (size_t index = 0; index < order.size(); ++index) {
    const ir::Node& sub = *order[index];
    if (sub.op == "Sin" || sub.op == "Cos") pin_periodic_argument(sub, pinned);
    const ir::Value* mean = sub.input(1);
    if (sub.op != "Sub" || mean == nullptr || mean->producer == nullptr ||
        (mean->producer->op != "ReduceMean" && mean->producer->op != "ReduceSum") ||
        mean->producer->input(0) != sub.input(0)) {
      continue;
    }
    pinned.insert(mean->producer);
    pinned.insert(&sub);
    // Values of the centered family (the centered value, its views and squares) and of the
    // statistic family (reductions of them and elementwise ops on those).
    std::set<const ir::Value*> centered{sub.outputs[0]}, statistic;
    for (size_t later = index + 1; later < order.size(); ++later) {
      const ir::Node& node = *order[later];
      bool reads_centered = false, reads_statistic = false, reads_other = false;
      for (const ir::Value* input : node.inputs) {
        if (input == nullptr || input->is_constant()) continue;
        reads_centered |= centered.count(input) > 0;
        reads_statistic |= statistic.count(input) > 0;
        reads_other |= !centered.count(input) && !statistic.count(input);
      }
      if (reads_other || (!reads_centered && !reads_statistic) || node.outputs.empty()) continue;
      bool reduction = node.op == "ReduceMean" || node.op == "ReduceSum";
      if (reads_centered && reads_statistic) {
        pinned.insert(&node);  // the normalized output: the chain ends here
      } else if (reduction || reads_statistic) {
        pinned.insert(&node);
        statistic.insert(node.outputs[0]);
      } else if (kShapeOps.count(node.op) || node.op == "Mul" || node.op == "Pow") {
        if (!kShapeOps.count(node.op)) pinned.insert(&node);
        centered.insert(node.outputs[0]);
      }
    }
  }
  return pinned;
}

bool pins_sensitive_layers(const std::set<Precision>& enabled, bool strongly_typed) {
  return !strongly_typed && enabled.count(Precision::FP32) && enabled.size() > 1;
}

}  // namespace

std::set<std::string> rounding_sensitive_layers(const ir::Graph& graph,
                                                const std::set<Precision>& enabled,
                                                bool strongly_typed) {
  std::set<std::string> names;
  if (!pins_sensitive_layers(enabled, strongly_typed)) return names;
  for (const ir::Node* node : rounding_sensitive_nodes(graph)) names.insert(node->name);
  return names;
}

void assign_precisions(ir::Graph& graph, const std::set<Precision>& enabled, bool strongly_typed) {
  std::set<const ir::Node*> sensitive;
  if (pins_sensitive_layers(enabled, strongly_typed)) sensitive = rounding_sensitive_nodes(graph);
  for (ir::Node* node : graph.nodes()) {
    const ir::OpSchema* schema = ir::find_schema(node->op);
    if (schema == nullptr || !schema->float_compute) continue;
    std::optional<Precision> own = precision_of_dtype(float_output_dtype(*node));
    if (!own) continue;  // float64 and integer nodes are left alone
    if (strongly_typed) {
      node->precision = *own;
    } else if (sensitive.count(node)) {
      node->precision = Precision::FP32;
    } else {
      node->precision = heuristic_precision(*node, enabled);
    }
  }
}

}  // namespace kiln::passes
