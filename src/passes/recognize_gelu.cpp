// Recognizes the tanh approximation of GELU spelled out in elementwise ops (Hugging Face's
// gelu_new / gelu_pytorch_tanh as torch.export and torch.onnx write it):
//   0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
// and replaces it by one Gelu(approximate="tanh") node, which fuse_epilogues can then fold
// into the matrix product before it. Eight memory-bound kernels become none.
#include <cmath>
#include <numbers>

#include "passes/passes.h"

namespace kiln::passes {
namespace {

bool is_scalar_near(const ir::Value* value, double target) {
  if (value == nullptr || !value->is_constant() || value->constant->numel() != 1) return false;
  DType dtype = value->constant->dtype();
  if (dtype != DType::Float32 && dtype != DType::Float16 && dtype != DType::BFloat16 &&
      dtype != DType::Float64) {
    return false;
  }
  double actual = value->constant->to_double_vector()[0];
  return std::abs(actual - target) <= 2e-3 * std::abs(target);  // bf16-stored constants round
}

// The operand of binary `node` that is not a scalar near `target`, if the other one is.
const ir::Value* with_scalar(const ir::Node* node, const std::string& op, double target) {
  if (node == nullptr || node->op != op || node->inputs.size() != 2) return nullptr;
  if (is_scalar_near(node->inputs[1], target)) return node->inputs[0];
  if (is_scalar_near(node->inputs[0], target)) return node->inputs[1];
  return nullptr;
}

// The single node reading `value`, if there is exactly one and the value is not an output.
ir::Node* only_user(const ir::Graph& graph, const ir::Value* value) {
  std::vector<ir::Node*> users = graph.users(value);
  if (users.size() != 1 || graph.is_graph_output(value)) return nullptr;
  return users[0];
}

bool is_product_of(const ir::Node* node, const ir::Value* a, const ir::Value* b) {
  return node != nullptr && node->op == "Mul" && node->inputs.size() == 2 &&
         ((node->inputs[0] == a && node->inputs[1] == b) ||
          (node->inputs[0] == b && node->inputs[1] == a));
}

// x for the inner polynomial r = x + 0.044715·x³ (Pow(x, 3) or x·x·x), else null.
const ir::Value* inner_input(const ir::Node* add) {
  if (add == nullptr || add->op != "Add" || add->inputs.size() != 2) return nullptr;
  for (int side = 0; side < 2; ++side) {
    const ir::Value* x = add->inputs[size_t(side)];
    const ir::Value* q = add->inputs[size_t(1 - side)];
    const ir::Value* cube = with_scalar(q->producer, "Mul", 0.044715);
    if (cube == nullptr || cube->producer == nullptr) continue;
    const ir::Node* power = cube->producer;
    if (with_scalar(power, "Pow", 3.0) == x) return x;
  }
  return nullptr;
}

// The node whose output is the whole GELU, given x and u = 1 + tanh(...): 0.5·x·u in any
// grouping ((0.5·x)·u, (x·u)·0.5, x·(0.5·u)).
ir::Node* outer_product(const ir::Graph& graph, const ir::Value* x, const ir::Value* u) {
  ir::Node* next = only_user(graph, u);
  if (next == nullptr || next->op != "Mul") return nullptr;
  const ir::Value* other = next->inputs[0] == u ? next->inputs[1] : next->inputs[0];
  if (other != nullptr && other->producer != nullptr &&
      with_scalar(other->producer, "Mul", 0.5) == x) {
    return next;  // (0.5·x)·u
  }
  if (other == x) {  // (x·u)·0.5
    ir::Node* half = only_user(graph, next->outputs[0]);
    return with_scalar(half, "Mul", 0.5) == next->outputs[0] ? half : nullptr;
  }
  if (with_scalar(next, "Mul", 0.5) == u) {  // x·(0.5·u)
    ir::Node* last = only_user(graph, next->outputs[0]);
    return is_product_of(last, x, next->outputs[0]) ? last : nullptr;
  }
  return nullptr;
}

}  // namespace

int recognize_gelu(ir::Graph& graph) {
  const double sqrt_2_over_pi = std::sqrt(2.0 / std::numbers::pi);
  int found = 0;
  for (ir::Node* tanh : graph.nodes()) {
    if (tanh->op != "Tanh" || tanh->inputs.size() != 1 || tanh->inputs[0] == nullptr) continue;
    const ir::Value* r = with_scalar(tanh->inputs[0]->producer, "Mul", sqrt_2_over_pi);
    if (r == nullptr) continue;
    const ir::Value* x = inner_input(r->producer);
    if (x == nullptr) continue;
    ir::Node* plus_one = only_user(graph, tanh->outputs[0]);
    if (with_scalar(plus_one, "Add", 1.0) != tanh->outputs[0]) continue;
    ir::Node* last = outer_product(graph, x, plus_one->outputs[0]);
    if (last == nullptr) continue;
    // The last node becomes the Gelu: its output keeps its name, dtype and readers.
    last->op = "Gelu";
    last->inputs = {const_cast<ir::Value*>(x)};
    last->attrs = {{"approximate", std::string("tanh")}};
    ++found;
  }
  if (found > 0) eliminate_dead_code(graph);
  return found;
}

}  // namespace kiln::passes
