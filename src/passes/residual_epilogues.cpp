// Residual fusion for GPU engines. A 2-D Conv whose result is added to a same-shaped tensor
// (a ResNet block's shortcut) takes that tensor as its input 3, Z, and a Relu after the sum as
// its fused_activation, so cuDNN's graph computes act(conv + B + Z) in one pass over memory.
// A linear layer's MatMul whose result is added to a same-shaped tensor (a transformer's
// attention output or MLP projection plus the residual stream) takes it as its input 3, which
// cuBLASLt adds as beta·C while the product's tiles are still in registers: the sum costs the
// GEMM one read of C under its math, instead of a separate read of two tensors afterwards.
// Not part of optimize(): the engine builder runs both.
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

// A linear layer (constant 2-D B, an optional bias) with no residual or activation yet, whose
// result has a known shape.
bool product_takes_residual(const ir::Node& product) {
  const ir::Value* weight = product.input(1);
  return product.op == "MatMul" && product.inputs.size() >= 2 && product.inputs.size() <= 3 &&
         product.outputs.size() == 1 && !product.has_attr("fused_activation") &&
         weight != nullptr && weight->is_constant() && weight->constant->rank() == 2 &&
         product.outputs[0]->shape.is_known();
}

// A Gemm that is a linear layer in MatMul's terms (torch's addmm, GPT-2's Conv1D: A·B + a
// bias row, no transposes or scales) becomes that MatMul, whose input 3 can then take the
// residual. Returns whether it did.
bool gemm_as_matmul(ir::Graph& graph, ir::Node* gemm) {
  const ir::Value* weight = gemm->input(1);
  const ir::Value* c = gemm->input(2);
  if (gemm->op != "Gemm" || gemm->attr_int("transA", 0) != 0 || gemm->attr_int("transB", 0) != 0 ||
      gemm->attr_float("alpha", 1.0) != 1.0 ||
      (c != nullptr && gemm->attr_float("beta", 1.0) != 1.0) ||
      gemm->has_attr("fused_activation") || weight == nullptr || !weight->is_constant() ||
      weight->constant->rank() != 2) {
    return false;
  }
  const int64_t n = weight->constant->dim(1);
  if (c != nullptr &&
      !(c->is_constant() && c->constant->numel() == n &&
        (c->constant->rank() == 1 || (c->constant->rank() == 2 && c->constant->dim(0) == 1)))) {
    return false;
  }
  gemm->op = "MatMul";
  gemm->attrs.clear();
  if (c != nullptr && c->constant->rank() == 2) {
    gemm->inputs[2] =
        graph.add_constant(graph.unique_name(c->name + "_vector"), c->constant->reshaped({n}));
  }
  ir::infer_node(*gemm);
  return true;
}

// Makes `residual` the product's input 3, read as the product's own shape: through a Reshape
// to [-1, N] where the sum is a view of the product's rows. Returns false (changing nothing)
// where the shapes are not known to match.
bool take_residual(ir::Graph& graph, ir::Node* product, ir::Value* residual, bool via_view) {
  ir::Value* result = product->outputs[0];
  if (via_view) {
    const ir::Shape& rows = result->shape;
    if (!rows.rank_known() || rows.rank() != 2 || !rows[1].is_static()) return false;
    ir::Node* view = graph.insert_node_before(
        product, "Reshape", graph.unique_name(residual->name + "_rows"),
        {residual, int64s_constant(graph, residual->name + "_rows_shape", {-1, rows[1].value})},
        {graph.unique_name(residual->name + "_rows")});
    ir::infer_node(*view);
    if (view->outputs[0]->shape != rows) {
      graph.remove_node(view);
      return false;
    }
    residual = view->outputs[0];
  }
  product->inputs.resize(4, nullptr);
  product->inputs[3] = residual;
  return true;
}

// Where a product's result meets its residual: the Add that alone reads it, directly or
// through a Reshape that alone reads it (`view`: the product's rows viewed as the sum's
// shape). `add` is null where there is no such node, or it is no Add.
struct ResidualSite {
  ir::Node* view = nullptr;
  ir::Node* add = nullptr;
};

ResidualSite residual_site(const ir::Graph& graph, const ir::Node& product) {
  ir::Node* reader = sole_user(graph, product);
  ir::Node* view = reader != nullptr && reader->op == "Reshape" ? reader : nullptr;
  ir::Node* add = view != nullptr ? sole_user(graph, *view) : reader;
  return {view, add != nullptr && add->op == "Add" ? add : nullptr};
}

// product → Add(·, Z), or product → Reshape → Add(·, Z) where the product's rows are viewed
// as the sum's shape, becomes product(A, B, bias, Z) (then the Reshape to the sum). Returns
// whether it fused.
bool fuse_product_residual(ir::Graph& graph, ir::Node* product) {
  if (!product_takes_residual(*product)) return false;
  auto [view, add] = residual_site(graph, *product);
  if (add == nullptr || !fusable_follower(*product, *add)) return false;
  ir::Value* residual = residual_operand(*add, (view != nullptr ? view : product)->outputs[0]);
  if (residual == nullptr || !take_residual(graph, product, residual, view != nullptr)) {
    return false;
  }
  absorb(graph, view != nullptr ? view : product, add);
  ir::infer_node(*product);
  if (view != nullptr) ir::infer_node(*view);
  return true;
}

}  // namespace

int fuse_product_residual(ir::Graph& graph) {
  std::vector<ir::Node*> products;
  for (ir::Node* node : graph.nodes()) {
    if (node->op == "MatMul" || node->op == "Gemm") products.push_back(node);
  }
  int fused = 0;
  for (ir::Node* product : products) {
    // A Gemm becomes a MatMul only where an Add follows; it stays a Gemm otherwise.
    if (product->op == "Gemm" &&
        (residual_site(graph, *product).add == nullptr || !gemm_as_matmul(graph, product))) {
      continue;
    }
    fused += fuse_product_residual(graph, product) ? 1 : 0;
  }
  if (fused > 0) {
    graph.sort_topologically();  // the residual may be computed after the product
    graph.remove_unused_values();
  }
  return fused;
}

int separate_timed_residuals(ir::Graph& graph) {
  int separated = 0;
  for (ir::Node* product : graph.nodes()) {
    if (product->op != "MatMul" || product->input(3) == nullptr ||
        product->attr_string("tactic", "") != kResidualAfterTactic) {
      continue;
    }
    ir::Value* sum = product->outputs[0];
    ir::Value* residual = product->inputs[3];
    product->inputs.resize(product->input(2) != nullptr ? 3 : 2);
    product->attrs.erase("tactic");
    // The Add takes over the product's output value; the product writes a new one.
    ir::Node* add =
        insert_follower(graph, product, "Add", graph.unique_name(product->name + "_residual"),
                        {residual}, graph.unique_name(sum->name + "_product"));
    add->precision = product->precision;
    add->source = product->source;
    ir::infer_node(*product);
    ir::infer_node(*add);
    ++separated;
  }
  if (separated > 0) graph.sort_topologically();
  return separated;
}

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
