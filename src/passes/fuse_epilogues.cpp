// Epilogue fusion for GPU engines: MatMul and Gemm absorb a following bias Add and a Relu or
// GELU, Conv a following Relu or SiLU (x·sigmoid(x), spelled as Sigmoid and Mul) or, for a
// 1x1 convolution of 1x1 images, a Sigmoid, which
// cuBLASLt's and cuDNN's epilogues then apply without another pass over memory. Not part of
// optimize(): the engine builder runs it.
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

bool is_matrix_product(const ir::Node& node) { return node.op == "MatMul" || node.op == "Gemm"; }

// The constant `bias` as the [n] vector it stands for when added to a result whose last dim
// is n: every other dim 1, and no more dims than the result (else Add would add some).
// A single value is repeated n times. Nothing when the constant does not fit that pattern.
std::optional<Tensor> bias_vector(const ir::Value& bias, const ir::Shape& result) {
  if (!bias.is_constant() || !result.rank_known() || result.rank() == 0) return std::nullopt;
  const ir::Dim& last = result[result.rank() - 1];
  const Tensor& tensor = *bias.constant;
  if (!last.is_static() || tensor.rank() > result.rank() || tensor.dtype() != bias.dtype) {
    return std::nullopt;
  }
  for (int64_t axis = 0; axis + 1 < tensor.rank(); ++axis) {
    if (tensor.dim(axis) != 1) return std::nullopt;
  }
  int64_t n = last.value;
  if (tensor.numel() == n) return tensor.reshaped({n});
  if (tensor.numel() != 1) return std::nullopt;
  Tensor repeated(tensor.dtype(), {n});
  size_t size = dtype_size(tensor.dtype());
  auto* out = static_cast<char*>(repeated.raw_mutable());
  for (int64_t i = 0; i < n; ++i) std::memcpy(out + size_t(i) * size, tensor.raw(), size);
  return repeated;
}

// Whether `product` can take a bias at all: a MatMul of 2 inputs with a constant 2-D B (a
// linear layer), or a Gemm without C; neither with an activation already fused (the bias
// must come before it).
bool takes_bias(const ir::Node& product) {
  if (product.has_attr("fused_activation")) return false;
  if (product.op == "Gemm") return product.input(2) == nullptr;
  const ir::Value* weight = product.input(1);
  return product.op == "MatMul" && product.inputs.size() == 2 && weight != nullptr &&
         weight->is_constant() && weight->constant->rank() == 2;
}

// product → Add(·, constant bias) becomes product(…, bias). Returns whether it fused.
bool fuse_bias(ir::Graph& graph, ir::Node* product) {
  ir::Node* add = sole_user(graph, *product);
  if (add == nullptr || add->op != "Add" || add->inputs.size() != 2 || !takes_bias(*product) ||
      !fusable_follower(*product, *add)) {
    return false;
  }
  ir::Value* result = product->outputs[0];
  ir::Value* other = add->inputs[0] == result ? add->inputs[1] : add->inputs[0];
  if (other == nullptr || other == result || other->dtype != result->dtype) return false;
  std::optional<Tensor> vector = bias_vector(*other, result->shape);
  if (!vector) return false;
  // The bias's own value where it already is that vector; else a new constant beside it.
  ir::Value* bias = other->constant->dims() == vector->dims()
                        ? other
                        : graph.add_constant(other->name + "_vector", std::move(*vector));
  product->inputs.resize(3, nullptr);
  product->inputs[2] = bias;
  if (product->op == "Gemm") product->attrs["beta"] = 1.0;  // C was absent: beta meant nothing
  absorb(graph, product, add);
  return true;
}

// The fused_activation name for `activation` following `producer`, or "" when none fits:
// Relu after any of them; GELU, either form, after a matrix product only (cuBLASLt has it,
// cuDNN's fused convolution does not); Sigmoid after a vector projection Conv (the end of a
// squeeze-excite block, which Kiln's own kernel runs). cuBLASLt's GELU is the tanh form: the CUDA
// MatMul uses it for an exact GELU only where the output is bfloat16 (ops/matmul_cublaslt.cpp says
// why).
std::string activation_name(const ir::Node& producer, const ir::Node& activation) {
  if (activation.op == "Relu") return "Relu";
  if (activation.op == "Sigmoid" && ir::is_vector_projection(producer)) return "Sigmoid";
  if (activation.op == "Gelu" && is_matrix_product(producer)) {
    return activation.attr_string("approximate", "none") == "tanh" ? "Gelu_tanh" : "Gelu";
  }
  return "";
}

// The activation that alone reads `producer`'s output through one Reshape (a linear layer on
// a 2-D view, then the view back: HF GPT-2's Conv1D), with that Reshape; else nulls.
std::pair<ir::Node*, ir::Node*> activation_after_reshape(const ir::Graph& graph,
                                                         const ir::Node& producer) {
  ir::Node* reshape = sole_user(graph, producer);
  if (reshape == nullptr || reshape->op != "Reshape" || reshape->inputs[0] != producer.outputs[0])
    return {nullptr, nullptr};
  ir::Node* activation = sole_user(graph, *reshape);
  if (activation == nullptr || activation->inputs.size() != 1) return {nullptr, nullptr};
  return {reshape, activation};
}

// producer → Relu / Gelu(tanh) becomes producer with fused_activation; so does producer →
// Reshape → activation (the activation is pointwise: it commutes with the Reshape, which
// then writes the activation's output value). Returns whether it fused.
bool fuse_activation(ir::Graph& graph, ir::Node* producer) {
  if (producer->has_attr("fused_activation")) return false;
  ir::Node* activation = sole_user(graph, *producer);
  ir::Node* reshape = nullptr;
  if (activation != nullptr && activation->op == "Reshape")
    std::tie(reshape, activation) = activation_after_reshape(graph, *producer);
  if (activation == nullptr || activation->inputs.size() != 1 ||
      !fusable_follower(*producer, *activation) ||
      activation->outputs[0]->dtype != producer->outputs[0]->dtype) {
    return false;
  }
  std::string name = activation_name(*producer, *activation);
  if (name.empty()) return false;
  producer->attrs["fused_activation"] = name;
  if (reshape == nullptr) {
    absorb(graph, producer, activation);
    return true;
  }
  absorb(graph, reshape, activation);  // the Reshape now writes the activation's value
  return true;
}

// conv → {Sigmoid(y), Mul(y, Sigmoid(y))} (SiLU as PyTorch's exporters spell it, the Mul's
// operands in either order) becomes conv with fused_activation "Silu", writing the Mul's output.
// Returns whether it fused.
bool fuse_silu(ir::Graph& graph, ir::Node* conv) {
  if (conv->op != "Conv" || conv->has_attr("fused_activation") || conv->outputs.size() != 1)
    return false;
  ir::Value* y = conv->outputs[0];
  std::vector<ir::Node*> readers = graph.users(y);
  if (readers.size() != 2 || graph.is_graph_output(y)) return false;
  ir::Node* sigmoid = readers[0]->op == "Sigmoid" ? readers[0] : readers[1];
  ir::Node* mul = sigmoid == readers[0] ? readers[1] : readers[0];
  if (sigmoid->op != "Sigmoid" || mul->op != "Mul" || mul->inputs.size() != 2 ||
      sigmoid->outputs.size() != 1 || graph.is_graph_output(sigmoid->outputs[0]) ||
      graph.users(sigmoid->outputs[0]).size() != 1) {
    return false;
  }
  ir::Value* s = sigmoid->outputs[0];
  bool operands =
      (mul->inputs[0] == y && mul->inputs[1] == s) || (mul->inputs[0] == s && mul->inputs[1] == y);
  if (!operands || !fusable_follower(*conv, *sigmoid) || !fusable_follower(*conv, *mul) ||
      mul->outputs[0]->dtype != y->dtype || s->dtype != y->dtype) {
    return false;
  }
  conv->attrs["fused_activation"] = std::string("Silu");
  absorb(graph, conv, mul);  // the conv writes the product; the Sigmoid now reads nothing live
  sigmoid->inputs.clear();
  sigmoid->outputs.clear();
  graph.remove_node(sigmoid);
  return true;
}

}  // namespace

int fuse_epilogues(ir::Graph& graph, bool conv_silu) {
  // Only followers are removed, so the producers collected here stay valid throughout.
  std::vector<ir::Node*> producers;
  for (ir::Node* node : graph.nodes()) {
    if (is_matrix_product(*node) || node->op == "Conv") producers.push_back(node);
  }
  int fused = 0;
  for (ir::Node* producer : producers) {
    bool changed = false;
    if (is_matrix_product(*producer) && fuse_bias(graph, producer)) {
      ++fused;
      changed = true;
    }
    if (fuse_activation(graph, producer) || (conv_silu && fuse_silu(graph, producer))) {
      ++fused;
      changed = true;
    }
    if (changed) ir::infer_node(*producer);  // checks the fused node against its schema
  }
  graph.remove_unused_values();
  return fused;
}

}  // namespace kiln::passes
