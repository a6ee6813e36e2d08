// pack_projections: Q, K and V products of one input (MatMul with a bias Add, as BERT and ViT
// write them; 2-D Gemms with their bias in C, as GPT-2's split c_attn) become one product read
// through three Slices, with the CPU reference's outputs unchanged; a K without bias gets zeros;
// products that do not reach the attention through views alone, or read other inputs, stay.
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "ir/verifier.h"
#include "kiln/kiln.h"
#include "pass_test_helpers.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using pass_testing::count_op;
using pass_testing::weight;

constexpr int64_t kBatch = 2, kSeq = 5, kModel = 16, kHeads = 4, kKvHeads = 2, kHead = 4;

enum class Form { MatMulAdd, Gemm, NoKeyBias, Rotary, OtherInput };

ir::Graph attention_layer(Form form) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kModel}));
  ir::Value* other =
      graph.add_input("other", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kModel}));
  auto shape = [&](const std::string& name, Dims dims) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
  };
  ir::Value* rows =
      form == Form::Gemm
          ? graph.add_node("Reshape", "rows", {x, shape("rows.s", {-1, kModel})}, {"rows.out"})
                ->outputs[0]
          : x;
  const int64_t widths[3] = {kHeads * kHead, kKvHeads * kHead, kKvHeads * kHead};
  std::vector<ir::Value*> heads;
  for (int i = 0; i < 3; ++i) {
    std::string name = std::string("proj_") + "qkv"[i];
    ir::Value* w = weight(graph, name + ".w", {kModel, widths[i]}, 10 + uint32_t(i));
    ir::Value* b = weight(graph, name + ".b", {widths[i]}, 20 + uint32_t(i));
    ir::Value* input = form == Form::OtherInput && i == 2 ? other : rows;
    ir::Value* out = nullptr;
    if (form == Form::Gemm) {
      out = graph.add_node("Gemm", name, {input, w, b}, {name + ".out"})->outputs[0];
      out = graph
                .add_node("Reshape", name + ".view",
                          {out, shape(name + ".s", {kBatch, kSeq, widths[i]})}, {name + ".v"})
                ->outputs[0];
    } else {
      out = graph.add_node("MatMul", name, {input, w}, {name + ".p"})->outputs[0];
      if (!(form == Form::NoKeyBias && i == 1)) {
        out = graph.add_node("Add", name + ".bias", {out, b}, {name + ".out"})->outputs[0];
      }
    }
    if (form == Form::Rotary && i < 2) {
      out = graph
                .add_node("Mul", name + ".rotary",
                          {out, weight(graph, name + ".cos", {kSeq, widths[i]}, 30)},
                          {name + ".rotated"})
                ->outputs[0];
    }
    heads.push_back(out);
  }
  ir::Node* attention = graph.add_node("Attention", "attention", heads, {"y"});
  attention->attrs = {{"q_num_heads", kHeads}, {"kv_num_heads", kKvHeads}};
  graph.add_output(attention->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

TEST(PackProjections, QkvProductsOfOneInputBecomeOne) {
  for (Form form : {Form::MatMulAdd, Form::Gemm, Form::NoKeyBias}) {
    SCOPED_TRACE("form " + std::to_string(int(form)));
    ir::Graph graph = attention_layer(form);
    std::map<std::string, Tensor> inputs = {
        {"x", cpu::testing::random_tensor({kBatch, kSeq, kModel}, 1)},
        {"other", cpu::testing::random_tensor({kBatch, kSeq, kModel}, 2)}};
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    fuse_epilogues(graph, false);  // the biases join their products, as the builder does
    EXPECT_EQ(pack_projections(graph), 1);
    ir::verify(graph);
    const char* product = form == Form::Gemm ? "Gemm" : "MatMul";
    EXPECT_EQ(count_op(graph, product), 1);
    EXPECT_EQ(count_op(graph, "Slice"), 3);
    EXPECT_EQ(count_op(graph, "Concat"), 0);  // the weights and biases folded
    for (ir::Node* node : graph.nodes()) {
      if (node->op != "Attention") continue;
      for (int i = 0; i < 3; ++i) EXPECT_EQ(node->inputs[size_t(i)]->producer->op, "Slice");
    }
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
  }
}

TEST(PackProjections, ProjectionsThatAreNotPlainViewsStay) {
  for (Form form : {Form::Rotary, Form::OtherInput}) {
    SCOPED_TRACE("form " + std::to_string(int(form)));
    ir::Graph graph = attention_layer(form);
    fuse_epilogues(graph, false);
    EXPECT_EQ(pack_projections(graph), 0);
    EXPECT_EQ(count_op(graph, "MatMul"), 3);
  }
}

}  // namespace
}  // namespace kiln::passes
