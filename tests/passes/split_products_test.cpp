// split_sliced_products: a fused QKV product read in column blocks (GPT-2's Split after a
// Gemm and a row reshape; torchvision's grouped reshape picked one group at a time) becomes one
// product per block with the CPU reference's outputs unchanged; a product read whole stays.
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

constexpr int64_t kBatch = 2, kSeq = 3, kEmbed = 8;

ir::Value* ints(ir::Graph& graph, const std::string& name, std::vector<int64_t> values) {
  return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

// x [B·S, E] → Gemm(W [E, 3E], bias) → [B, S, 3E] → Split into three [B, S, E] → q·k + v.
// With `dynamic_rows`, B·S is a named dim and the row reshape's target [-1, S, 3E], as in a
// GPT-2 exported with a dynamic batch.
ir::Graph gpt2_style(bool dynamic_rows = false) {
  ir::Graph graph;
  ir::Value* x =
      graph.add_input("x", DType::Float32,
                      dynamic_rows ? ir::Shape({ir::Dim::named("rows"), ir::Dim::fixed(kEmbed)})
                                   : ir::Shape::from_dims({kBatch * kSeq, kEmbed}));
  ir::Node* gemm = graph.add_node(
      "Gemm", "c_attn",
      {x, weight(graph, "w", {kEmbed, 3 * kEmbed}, 1), weight(graph, "b", {3 * kEmbed}, 2)},
      {"qkv"});
  ir::Value* rows =
      graph
          .add_node("Reshape", "rows",
                    {gemm->outputs[0],
                     ints(graph, "rows.shape", {dynamic_rows ? -1 : kBatch, kSeq, 3 * kEmbed})},
                    {"rows.out"})
          ->outputs[0];
  ir::Node* split = graph.add_node("Split", "split", {rows}, {"q", "k", "v"});
  split->attrs["axis"] = int64_t(2);
  split->attrs["split"] = std::vector<int64_t>{kEmbed, kEmbed, kEmbed};
  ir::Value* qk =
      graph.add_node("Mul", "qk", {split->outputs[0], split->outputs[1]}, {"qk"})->outputs[0];
  graph.add_output(graph.add_node("Add", "out", {qk, split->outputs[2]}, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

// x [B, S, E] → MatMul(W [E, 3E]) + bias → [B, S, 3, E] → Slice of each group (axis 2) and a
// Gather of one → combined.
ir::Graph grouped_style() {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kEmbed}));
  ir::Value* p =
      graph.add_node("MatMul", "proj", {x, weight(graph, "w", {kEmbed, 3 * kEmbed}, 3)}, {"p"})
          ->outputs[0];
  p = graph.add_node("Add", "bias", {p, weight(graph, "b", {3 * kEmbed}, 4)}, {"pb"})->outputs[0];
  ir::Value* grouped =
      graph
          .add_node("Reshape", "groups",
                    {p, ints(graph, "groups.shape", {kBatch, kSeq, 3, kEmbed})}, {"grouped"})
          ->outputs[0];
  std::vector<ir::Value*> picked;
  for (int64_t i = 0; i < 2; ++i) {
    std::string name = "slice" + std::to_string(i);
    picked.push_back(
        graph
            .add_node("Slice", name,
                      {grouped, ints(graph, name + ".s", {i}), ints(graph, name + ".e", {i + 1}),
                       ints(graph, name + ".a", {2})},
                      {name + ".out"})
            ->outputs[0]);
  }
  ir::Node* gather = graph.add_node(
      "Gather", "pick2", {grouped, graph.add_constant("two", Tensor::scalar<int64_t>(2))}, {"g"});
  gather->attrs["axis"] = int64_t(2);
  ir::Value* sum = graph.add_node("Add", "sum", {picked[0], picked[1]}, {"s"})->outputs[0];
  ir::Value* flat = graph
                        .add_node("Reshape", "flat",
                                  {sum, ints(graph, "flat.shape", {kBatch, kSeq, kEmbed})}, {"f"})
                        ->outputs[0];
  graph.add_output(graph.add_node("Mul", "out", {flat, gather->outputs[0]}, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

void expect_split(ir::Graph graph, const std::string& op, const Dims& x_dims) {
  std::map<std::string, Tensor> inputs = {{"x", cpu::testing::random_tensor(x_dims, 9)}};
  Tensor expected = cpu::Executor(graph).run(inputs)[0];
  EXPECT_EQ(split_sliced_products(graph), 1);
  fold_constants(graph);  // the block weights
  ir::verify(graph);
  EXPECT_EQ(count_op(graph, op), 3);
  EXPECT_EQ(count_op(graph, "Split") + count_op(graph, "Slice") + count_op(graph, "Gather"), 0);
  EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
}

TEST(SplitSlicedProducts, SplitAfterGemmBecomesThreeGemms) {
  expect_split(gpt2_style(), "Gemm", {kBatch * kSeq, kEmbed});
}

// A dynamic batch: the blocks' views reshape to [-1, S, E].
TEST(SplitSlicedProducts, SplitWithADynamicBatchBecomesThreeGemms) {
  expect_split(gpt2_style(/*dynamic_rows=*/true), "Gemm", {kBatch * kSeq, kEmbed});
}

TEST(SplitSlicedProducts, GroupsPickedOneAtATimeBecomeThreeProducts) {
  expect_split(grouped_style(), "MatMul", {kBatch, kSeq, kEmbed});
}

// Read whole by one more reader (directly, or its groups all at once): it stays.
TEST(SplitSlicedProducts, ProductsReadOtherwiseStay) {
  ir::Graph read_whole = gpt2_style();
  read_whole.add_output(pass_testing::find_node(read_whole, "c_attn")->outputs[0]);
  EXPECT_EQ(split_sliced_products(read_whole), 0);

  ir::Graph one_block = grouped_style();
  ir::Value* grouped = pass_testing::find_node(one_block, "groups")->outputs[0];
  one_block.add_output(one_block.add_node("Relu", "whole", {grouped}, {"whole"})->outputs[0]);
  ir::infer_graph(one_block);
  EXPECT_EQ(split_sliced_products(one_block), 0);
}

}  // namespace
}  // namespace kiln::passes
