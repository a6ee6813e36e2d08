// fold_repeated_kv_heads: attention over K and V repeated per query head (Hugging Face's
// repeat_kv) reads the unrepeated KV heads instead, with the CPU reference's outputs
// unchanged; repeats that are not one per query head stay.
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

constexpr int64_t kBatch = 2, kKvHeads = 2, kGroup = 3, kSeq = 5, kHead = 4;

ir::Value* ints(ir::Graph& graph, const std::string& name, std::vector<int64_t> values) {
  return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

// k [B, KV, S, D] → Unsqueeze(2) → Expand [B, KV, G, S, D] → Reshape [B, KV·`merged`, S, D].
ir::Value* repeat_kv(ir::Graph& graph, const std::string& name, ir::Value* heads, int64_t merged) {
  ir::Node* lift = graph.add_node("Unsqueeze", name + ".lift", {heads}, {name + ".lifted"});
  lift->attrs["axes"] = std::vector<int64_t>{2};
  ir::Value* wide = graph
                        .add_node("Expand", name + ".expand",
                                  {lift->outputs[0], ints(graph, name + ".to",
                                                          {kBatch, kKvHeads, kGroup, kSeq, kHead})},
                                  {name + ".wide"})
                        ->outputs[0];
  if (merged != kGroup) {  // a lookalike: the copies folded into the sequence instead
    return graph
        .add_node("Reshape", name + ".merge",
                  {wide, ints(graph, name + ".shape", {kBatch, kKvHeads, kGroup * kSeq, kHead})},
                  {name + ".out"})
        ->outputs[0];
  }
  return graph
      .add_node("Reshape", name + ".merge",
                {wide, ints(graph, name + ".shape", {kBatch, kKvHeads * kGroup, kSeq, kHead})},
                {name + ".out"})
      ->outputs[0];
}

ir::Graph grouped_attention(bool repeat_per_head) {
  ir::Graph graph;
  int64_t q_heads = repeat_per_head ? kKvHeads * kGroup : kKvHeads;
  ir::Value* q =
      graph.add_input("q", DType::Float32, ir::Shape::from_dims({kBatch, q_heads, kSeq, kHead}));
  ir::Value* k =
      graph.add_input("k", DType::Float32, ir::Shape::from_dims({kBatch, kKvHeads, kSeq, kHead}));
  ir::Value* v =
      graph.add_input("v", DType::Float32, ir::Shape::from_dims({kBatch, kKvHeads, kSeq, kHead}));
  int64_t merged = repeat_per_head ? kGroup : 1;
  ir::Node* attention = graph.add_node(
      "Attention", "attention",
      {q, repeat_kv(graph, "k", k, merged), repeat_kv(graph, "v", v, merged)}, {"y"});
  attention->attrs["is_causal"] = int64_t(1);
  graph.add_output(attention->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

TEST(FoldRepeatedKvHeads, RepeatedKeysAndValuesBecomeGroupedHeads) {
  ir::Graph graph = grouped_attention(true);
  std::map<std::string, Tensor> inputs = make_random_inputs(graph, 21);
  Tensor expected = cpu::Executor(graph).run(inputs)[0];
  EXPECT_EQ(fold_repeated_kv_heads(graph), 1);
  ir::verify(graph);
  EXPECT_EQ(count_op(graph, "Expand"), 0);
  ir::Node* attention = pass_testing::find_node(graph, "attention");
  ASSERT_NE(attention, nullptr);
  EXPECT_EQ(attention->inputs[1]->shape.static_dims(), (Dims{kBatch, kKvHeads, kSeq, kHead}));
  EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
}

// The copies merged into the sequence (more keys, not more heads): not grouped heads.
TEST(FoldRepeatedKvHeads, RepeatsThatAreNotHeadsStay) {
  ir::Graph graph = grouped_attention(false);
  EXPECT_EQ(fold_repeated_kv_heads(graph), 0);
  EXPECT_EQ(count_op(graph, "Expand"), 2);
}

}  // namespace
}  // namespace kiln::passes
