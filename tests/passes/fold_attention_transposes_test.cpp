// fold_attention_transposes: Hugging Face's head split/merge Transposes around attention fold
// into ONNX's 3-D attention over views, with the CPU reference's outputs unchanged; attention
// whose tensors arrive or leave otherwise stays 4-D.
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

constexpr int64_t kBatch = 2, kSeq = 6, kHeads = 4, kKvHeads = 2, kHead = 8;

ir::Value* reshape(ir::Graph& graph, const std::string& name, ir::Value* x, Dims target) {
  ir::Value* shape = graph.add_constant(
      name + ".shape", Tensor::from_vector<int64_t>({int64_t(target.size())}, target));
  return graph.add_node("Reshape", name, {x, shape}, {name + ".out"})->outputs[0];
}

ir::Value* transpose(ir::Graph& graph, const std::string& name, ir::Value* x,
                     std::vector<int64_t> perm = {0, 2, 1, 3}) {
  ir::Node* node = graph.add_node("Transpose", name, {x}, {name + ".out"});
  node->attrs["perm"] = perm;
  return node->outputs[0];
}

// x [B, S, E] → per head projections → Transpose → Attention (GQA, causal) → Transpose →
// Reshape [B, S, H·D]: the shape of a Hugging Face attention block. `merge_perm` is the
// output transpose's permutation.
ir::Graph attention_block(std::vector<int64_t> merge_perm = {0, 2, 1, 3}) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, 16}));
  auto heads = [&](const std::string& name, int64_t count, uint32_t seed) {
    ir::Value* w = weight(graph, name + ".w", {16, count * kHead}, seed);
    ir::Value* projected = graph.add_node("MatMul", name, {x, w}, {name + ".out"})->outputs[0];
    ir::Value* split = reshape(graph, name + ".heads", projected, {kBatch, kSeq, count, kHead});
    return transpose(graph, name + ".t", split);
  };
  ir::Node* attention = graph.add_node(
      "Attention", "attention",
      {heads("q", kHeads, 1), heads("k", kKvHeads, 2), heads("v", kKvHeads, 3)}, {"y"});
  attention->attrs["is_causal"] = int64_t(1);
  ir::Value* merged = transpose(graph, "merge", attention->outputs[0], merge_perm);
  graph.add_output(reshape(graph, "out", merged, {kBatch, kSeq, kHeads * kHead}));
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> input_x() {
  return {{"x", cpu::testing::random_tensor({kBatch, kSeq, 16}, 7)}};
}

TEST(FoldAttentionTransposes, HeadTransposesBecomeThreeDAttentionWithTheSameOutputs) {
  ir::Graph graph = attention_block();
  Tensor expected = cpu::Executor(graph).run(input_x())[0];
  EXPECT_EQ(fold_attention_transposes(graph), 1);
  ir::verify(graph);
  EXPECT_EQ(count_op(graph, "Transpose"), 0);
  ir::Node* attention = pass_testing::find_node(graph, "attention");
  ASSERT_NE(attention, nullptr);
  EXPECT_EQ(attention->inputs[0]->shape.rank(), 3);
  EXPECT_EQ(attention->attr_int("q_num_heads", 0), kHeads);
  EXPECT_EQ(attention->attr_int("kv_num_heads", 0), kKvHeads);
  EXPECT_EQ(attention->outputs[0]->shape.to_string(), "[2, 6, 32]");
  EXPECT_LE(normalized_error(cpu::Executor(graph).run(input_x())[0], expected), 1e-6);
}

TEST(FoldAttentionTransposes, OtherLayoutsStay) {
  ir::Graph other_merge = attention_block({0, 2, 3, 1});
  EXPECT_EQ(fold_attention_transposes(other_merge), 0);
  EXPECT_EQ(count_op(other_merge, "Transpose"), 4);

  ir::Graph read_twice = attention_block();
  ir::Value* y = pass_testing::find_node(read_twice, "attention")->outputs[0];
  read_twice.add_output(y);  // Y itself is delivered: it must stay [B, H, S, D]
  EXPECT_EQ(fold_attention_transposes(read_twice), 0);
}

// The Hugging Face fixtures lose every Transpose around their attention once shapes are known
// (their head reshapes compute their targets from the input's shape).
TEST(FoldAttentionTransposes, HuggingFaceFixturesKeepNoHeadTransposes) {
  for (const char* model : {"bert", "gpt2"}) {
    ir::Graph graph = pass_testing::specialized_fixture(model, std::string(model) + "_fp32.pt2", 5);
    int attentions = 0;
    for (const ir::Node* node : graph.nodes()) {
      if (node->op != "Attention") continue;
      ++attentions;
      EXPECT_EQ(node->inputs[0]->shape.rank(), 3) << model << " " << node->name;
    }
    EXPECT_GT(attentions, 0) << model;
    EXPECT_EQ(count_op(graph, "Transpose"), 0) << model;
  }
}

}  // namespace
}  // namespace kiln::passes
