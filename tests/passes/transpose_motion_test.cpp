// move_transposes and collapse_layout_chains: sequence-first attention (torchvision's
// nn.MultiheadAttention) loses every Transpose with the CPU reference's outputs unchanged;
// layout chains collapse to at most one Transpose where that is a permutation, and stay where
// it is not; a Transpose with nothing to meet stays where it is.
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

constexpr int64_t kBatch = 2, kSeq = 5, kHeads = 3, kHead = 4, kEmbed = kHeads * kHead;

ir::Value* reshape(ir::Graph& graph, const std::string& name, ir::Value* x, Dims target) {
  ir::Value* shape = graph.add_constant(
      name + ".shape", Tensor::from_vector<int64_t>({int64_t(target.size())}, target));
  return graph.add_node("Reshape", name, {x, shape}, {name + ".out"})->outputs[0];
}

ir::Value* transpose(ir::Graph& graph, const std::string& name, ir::Value* x,
                     std::vector<int64_t> perm) {
  ir::Node* node = graph.add_node("Transpose", name, {x}, {name + ".out"});
  node->attrs["perm"] = perm;
  return node->outputs[0];
}

ir::Value* one_axis(ir::Graph& graph, const std::string& op, const std::string& name, ir::Value* x,
                    int64_t axis) {
  ir::Node* node = graph.add_node(op, name, {x}, {name + ".out"});
  node->attrs["axes"] = std::vector<int64_t>{axis};
  return node->outputs[0];
}

// The layer torchvision's ViT exports: x [B, S, E] → LayerNorm → [S, B, E] → QKV projection →
// unflatten, unsqueeze, transpose, squeeze, select → per head [S, B·H, D] → [B·H, S, D] →
// [B, H, S, D] → attention → [S, B, H, D] → [S·B, E] → output projection (Gemm) → [S, B, E]
// → [B, S, E] → residual add. At batch 1 the batch dims are all 1s, which the layout passes
// must see through (a Transpose of them is a view; the chain's one real Transpose must still
// meet the Gathers and the head permutes).
ir::Graph sequence_first_attention(int64_t batch = kBatch) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({batch, kSeq, kEmbed}));
  ir::Node* norm = graph.add_node(
      "LayerNormalization", "ln",
      {x, weight(graph, "ln.w", {kEmbed}, 1), weight(graph, "ln.b", {kEmbed}, 2)}, {"ln.out"});
  ir::Value* seq_first = transpose(graph, "to_seq_first", norm->outputs[0], {1, 0, 2});
  ir::Value* qkv =
      graph
          .add_node("MatMul", "qkv", {seq_first, weight(graph, "qkv.w", {kEmbed, 3 * kEmbed}, 3)},
                    {"qkv.out"})
          ->outputs[0];
  qkv = graph
            .add_node("Add", "qkv_bias", {qkv, weight(graph, "qkv.b", {3 * kEmbed}, 4)},
                      {"qkv.b.out"})
            ->outputs[0];
  ir::Value* unflat = reshape(graph, "unflatten", qkv, {kSeq, batch, 3, kEmbed});
  ir::Value* lifted = one_axis(graph, "Unsqueeze", "unsqueeze", unflat, 0);
  ir::Value* moved = transpose(graph, "move", lifted, {3, 1, 2, 0, 4});
  ir::Value* stacked = one_axis(graph, "Squeeze", "squeeze", moved, 3);
  std::vector<ir::Value*> heads;
  for (int64_t i = 0; i < 3; ++i) {
    std::string name = "select" + std::to_string(i);
    ir::Value* index = graph.add_constant(name + ".i", Tensor::scalar<int64_t>(i));
    ir::Value* picked =
        graph.add_node("Gather", name, {stacked, index}, {name + ".out"})->outputs[0];
    ir::Value* split = reshape(graph, name + ".view", picked, {kSeq, batch * kHeads, kHead});
    ir::Value* swapped = transpose(graph, name + ".t", split, {1, 0, 2});
    heads.push_back(reshape(graph, name + ".bhsd", swapped, {batch, kHeads, kSeq, kHead}));
  }
  ir::Value* y = graph.add_node("Attention", "attention", heads, {"y"})->outputs[0];
  ir::Value* back = transpose(graph, "from_heads", y, {2, 0, 1, 3});
  ir::Value* rows = reshape(graph, "rows", back, {kSeq * batch, kEmbed});
  ir::Node* out_proj = graph.add_node(
      "Gemm", "out_proj",
      {rows, weight(graph, "out.w", {kEmbed, kEmbed}, 5), weight(graph, "out.b", {kEmbed}, 6)},
      {"out_proj.out"});
  out_proj->attrs["transB"] = int64_t(1);
  ir::Value* split_rows = reshape(graph, "split_rows", out_proj->outputs[0], {kSeq, batch, kEmbed});
  ir::Value* batch_first = transpose(graph, "to_batch_first", split_rows, {1, 0, 2});
  graph.add_output(graph.add_node("Add", "residual", {batch_first, x}, {"out"})->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> random_input(const std::string& name, const Dims& dims) {
  return {{name, cpu::testing::random_tensor(dims, 11)}};
}

TEST(TransposeMotion, SequenceFirstAttentionLosesEveryTranspose) {
  for (int64_t batch : {kBatch, int64_t(1)}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    ir::Graph graph = sequence_first_attention(batch);
    auto inputs = random_input("x", {batch, kSeq, kEmbed});
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    ASSERT_EQ(count_op(graph, "Transpose"), 7);
    optimize(graph);
    EXPECT_EQ(count_op(graph, "Transpose"), 0);
    EXPECT_EQ(count_op(graph, "Gather"), 0);
    EXPECT_EQ(count_op(graph, "Slice"), 3);  // q, k and v: strided copies of the projection ...
    EXPECT_EQ(split_sliced_products(graph), 1);
    fold_constants(graph);
    EXPECT_EQ(count_op(graph, "Slice"), 0);   // ... or, as the engine builder does it,
    EXPECT_EQ(count_op(graph, "MatMul"), 3);  // products of their own
    ir::Node* attention = pass_testing::find_node(graph, "attention");
    ASSERT_NE(attention, nullptr);
    EXPECT_EQ(attention->inputs[0]->shape.rank(), 3);  // folded: reads views of [B, S, E]
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
  }
}

// A chain with two Transposes collapses to one between views; one whose Transposes cancel
// collapses to a Reshape; each computes what it did.
TEST(TransposeMotion, LayoutChainsCollapse) {
  struct Case {
    Dims x;
    std::vector<std::pair<std::vector<int64_t>, Dims>> steps;  // a perm, or (empty) a reshape
    int transposes;                                            // after collapsing
  };
  const Case cases[] = {
      {{2, 3, 4}, {{{0, 2, 1}, {}}, {{}, {8, 3}}, {{1, 0}, {}}}, 1},
      {{2, 3, 4}, {{{0, 2, 1}, {}}, {{}, {2, 12}}, {{}, {2, 4, 3}}, {{0, 2, 1}, {}}}, 0},
      {{2, 1, 6}, {{{1, 0, 2}, {}}, {{}, {2, 2, 3}}, {{0, 2, 1}, {}}, {{}, {2, 6}}}, 1},
  };
  for (const Case& c : cases) {
    ir::Graph graph;
    ir::Value* value = graph.add_input("x", DType::Float32, ir::Shape::from_dims(c.x));
    value = graph.add_node("Relu", "relu", {value}, {"r"})->outputs[0];
    int step = 0;
    for (const auto& [perm, dims] : c.steps) {
      std::string name = "step" + std::to_string(step++);
      value =
          perm.empty() ? reshape(graph, name, value, dims) : transpose(graph, name, value, perm);
    }
    graph.add_output(graph.add_node("Sigmoid", "tail", {value}, {"y"})->outputs[0]);
    ir::infer_graph(graph);
    auto inputs = random_input("x", c.x);
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    EXPECT_EQ(collapse_layout_chains(graph), 1);
    ir::verify(graph);
    EXPECT_EQ(count_op(graph, "Transpose"), c.transposes);
    EXPECT_EQ(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 0.0);
  }
}

// A reshape that cuts a permuted dim unevenly (6 into 4s) is no permutation of x's atoms; a
// single Transpose between reshapes has nothing to gain; both stay.
TEST(TransposeMotion, ChainsThatAreNoSinglePermutationStay) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 6}));
  ir::Value* t = transpose(graph, "t", x, {1, 0});
  ir::Value* r = reshape(graph, "r", t, {4, 6});
  graph.add_output(transpose(graph, "t2", r, {1, 0}));
  ir::Value* y = graph.add_input("y", DType::Float32, ir::Shape::from_dims({2, 3, 4}));
  graph.add_output(reshape(graph, "after", transpose(graph, "lone", y, {0, 2, 1}), {2, 12}));
  ir::infer_graph(graph);
  EXPECT_EQ(collapse_layout_chains(graph), 0);
  EXPECT_EQ(count_op(graph, "Transpose"), 3);
}

// A Transpose before a MatMul whose result meets no other layout op stays put.
TEST(TransposeMotion, TransposesWithNothingToMeetStay) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 5, 8}));
  ir::Value* t = transpose(graph, "t", x, {1, 0, 2});
  ir::Value* p =
      graph.add_node("MatMul", "p", {t, weight(graph, "w", {8, 4}, 1)}, {"p"})->outputs[0];
  graph.add_output(graph.add_node("Relu", "relu", {p}, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(move_transposes(graph), 0);
  EXPECT_EQ(pass_testing::find_node(graph, "p")->inputs[0], t);
}

// torchvision's ViT fixture keeps one Transpose: the patch embedding's [B, E, N] to [B, N, E].
TEST(TransposeMotion, VitFixtureKeepsOnlyThePatchTranspose) {
  ir::Graph graph = pass_testing::specialized_fixture("vit", "vit_fp32.pt2", 2);
  optimize(graph);
  EXPECT_EQ(count_op(graph, "Transpose"), 1);
  EXPECT_GT(count_op(graph, "Attention"), 0);
}

}  // namespace
}  // namespace kiln::passes
