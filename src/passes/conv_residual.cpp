// Residual fusion for GPU engines: a 2-D Conv whose result is added to a same-shaped tensor
// (a ResNet block's shortcut) takes that tensor as its input 3, Z, and a Relu after the sum as
// its fused_activation, so cuDNN's graph computes act(conv + B + Z) in one pass over memory.
// Not part of optimize(): the engine builder runs it.
#include <string>
#include <vector>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// A 2-D Conv (4-D data, either layout) with neither a residual nor an activation yet.
bool takes_residual(const ir::Node& conv) {
  return conv.op == "Conv" && conv.inputs.size() < 4 && conv.outputs.size() == 1 &&
         !conv.has_attr("fused_activation") && conv.outputs[0]->shape.rank_known() &&
         conv.outputs[0]->shape.rank() == 4;
}

// The operand of `add` (which reads `result`) that can become the Conv's Z: the other one,
// of the sum's dtype and exactly its known shape (a dynamic batch still fuses), as `result`
// also is, so neither side broadcasts. Null where there is none.
ir::Value* residual_operand(const ir::Node& add, const ir::Value* result) {
  if (add.op != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) return nullptr;
  ir::Value* other = add.inputs[0] == result ? add.inputs[1] : add.inputs[0];
  const ir::Value* sum = add.outputs[0];
  if (other == nullptr || other == result || other->dtype != sum->dtype || !sum->shape.is_known() ||
      other->shape != sum->shape || result->shape != sum->shape) {
    return nullptr;
  }
  return other;
}

// conv → Add(·, Z) [→ Relu] becomes conv(X, W, B, Z) [with fused_activation Relu]. Returns
// whether it fused.
bool fuse_residual(ir::Graph& graph, ir::Node* conv) {
  if (!takes_residual(*conv)) return false;
  ir::Node* add = sole_user(graph, *conv);
  if (add == nullptr || !fusable_follower(*conv, *add)) return false;
  ir::Value* residual = residual_operand(*add, conv->outputs[0]);
  if (residual == nullptr) return false;
  conv->inputs.resize(4, nullptr);
  conv->inputs[3] = residual;
  absorb(graph, conv, add);
  ir::Node* relu = sole_user(graph, *conv);
  if (relu != nullptr && relu->op == "Relu" && relu->inputs.size() == 1 &&
      fusable_follower(*conv, *relu)) {
    conv->attrs["fused_activation"] = std::string("Relu");
    absorb(graph, conv, relu);
  }
  ir::infer_node(*conv);  // checks the fused node against its schema
  return true;
}

}  // namespace

int fuse_conv_residual(ir::Graph& graph) {
  // Only Adds and Relus are removed, so the Convs collected here stay valid throughout.
  std::vector<ir::Node*> convs;
  for (ir::Node* node : graph.nodes()) {
    if (node->op == "Conv") convs.push_back(node);
  }
  int fused = 0;
  for (ir::Node* conv : convs) fused += fuse_residual(graph, conv) ? 1 : 0;
  if (fused > 0) {
    // Z may be computed after the Conv in node order (the shortcut branch); it never depends
    // on the Conv, whose only reader was the Add, so an order exists.
    graph.sort_topologically();
    graph.remove_unused_values();
  }
  return fused;
}

}  // namespace kiln::passes
