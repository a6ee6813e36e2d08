// Folds an inference BatchNormalization into the convolution before it: with
// s = scale / sqrt(var + epsilon), Conv(x, W, b) then BN gives Conv(x, W·s, (b − mean)·s + B)
// per output channel. One pass over memory less per convolution, and the Conv can then carry
// a fused activation too. Computed in float64, stored in the weights' dtype.
#include <algorithm>

#include "core/error.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// The Conv whose only reader is `batch_norm`, with no fused activation or residual, and whose
// weights (and bias) are constants of one float dtype; null if the pattern does not hold.
ir::Node* foldable_conv(const ir::Graph& graph, const ir::Node& batch_norm) {
  const ir::Value* x = batch_norm.input(0);
  if (x == nullptr || x->producer == nullptr || x->producer->op != "Conv") return nullptr;
  ir::Node* conv = x->producer;
  if (graph.users(x).size() != 1 || graph.is_graph_output(x) || conv->has_attr("fused_activation"))
    return nullptr;
  // BN would scale a residual Z too, which the folded weights cannot express.
  if (conv->input(3) != nullptr) return nullptr;
  const ir::Value* weight = conv->input(1);
  const ir::Value* bias = conv->input(2);
  if (weight == nullptr || !weight->is_constant() || !is_float_storage(weight->dtype))
    return nullptr;
  if (bias != nullptr && (!bias->is_constant() || bias->dtype != weight->dtype)) return nullptr;
  if (conv->precision != batch_norm.precision) return nullptr;
  if (graph.is_graph_output(batch_norm.outputs[0])) return nullptr;  // keep the output's name
  return conv;
}

}  // namespace

int fold_batch_norm(ir::Graph& graph) {
  int folded = 0;
  for (ir::Node* batch_norm : graph.nodes()) {
    if (batch_norm->op != "BatchNormalization") continue;
    ir::Node* conv = foldable_conv(graph, *batch_norm);
    if (conv == nullptr) continue;
    const Tensor& weight = *conv->input(1)->constant;
    if (weight.dims().empty()) continue;
    std::optional<BatchNormAffine> affine = batch_norm_affine(*batch_norm, weight.dims()[0]);
    if (!affine) continue;
    DType dtype = weight.dtype();
    std::vector<double> w = weight.to_double_vector();
    size_t channels = affine->s.size();
    size_t per_channel = w.size() / channels;
    std::vector<double> b(channels, 0.0);
    if (conv->input(2) != nullptr) b = conv->input(2)->constant->to_double_vector();
    std::vector<double> new_bias(channels);
    for (size_t c = 0; c < channels; ++c) {
      double s = affine->s[c];
      for (size_t i = 0; i < per_channel; ++i) w[c * per_channel + i] *= s;
      new_bias[c] = (b[c] - affine->mean[c]) * s + affine->bias[c];
    }
    Tensor new_weight = Tensor::from_vector<double>(weight.dims(), w).to(dtype);
    Tensor bias_tensor = Tensor::from_vector<double>({int64_t(channels)}, new_bias).to(dtype);
    ir::Value* weight_value =
        graph.add_constant(graph.unique_name(conv->name + ".folded_weight"), new_weight);
    ir::Value* bias_value =
        graph.add_constant(graph.unique_name(conv->name + ".folded_bias"), bias_tensor);
    conv->inputs.resize(std::max<size_t>(conv->inputs.size(), 3));
    conv->inputs[1] = weight_value;
    conv->inputs[2] = bias_value;
    ir::Value* conv_output = conv->outputs[0];
    ir::Value* bn_output = batch_norm->outputs[0];
    graph.replace_all_uses(bn_output, conv_output);
    graph.remove_node(batch_norm);
    ++folded;
  }
  if (folded > 0) graph.remove_unused_values();
  return folded;
}

}  // namespace kiln::passes
