// sink_transposes_below_regions: the rotary embeddings of Llama-family attention (between the
// head split's Transpose and the attention) and GPT-NeoX's fused QKV split lose every
// Transpose once the attention folds them, with the CPU reference's outputs unchanged; cos and
// sin given as inputs become views; a region whose outside operand would need a real copy, or
// whose result meets nothing that folds a Transpose, keeps it.
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

class Builder {
 public:
  explicit Builder(ir::Graph& graph) : graph_(graph) {}

  ir::Value* node(const std::string& op, std::vector<ir::Value*> inputs) {
    std::string name = op + std::to_string(count_++);
    return graph_.add_node(op, name, std::move(inputs), {name + ".out"})->outputs[0];
  }
  ir::Value* ints(const std::vector<int64_t>& values) {
    return graph_.add_constant("c" + std::to_string(count_++),
                               Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
  }
  ir::Value* reshape(ir::Value* x, const Dims& dims) { return node("Reshape", {x, ints(dims)}); }
  ir::Value* transpose(ir::Value* x, std::vector<int64_t> perm) {
    ir::Value* out = node("Transpose", {x});
    out->producer->attrs["perm"] = perm;
    return out;
  }
  ir::Value* slice_last(ir::Value* x, int64_t start, int64_t end) {
    return node("Slice", {x, ints({start}), ints({end}), ints({-1})});
  }
  // q·cos + rotate_half(q)·sin over the last axis (Hugging Face's apply_rotary_pos_emb).
  ir::Value* rotary(ir::Value* q, ir::Value* cos, ir::Value* sin) {
    int64_t half = kHead / 2;
    ir::Value* first = slice_last(q, 0, half);
    ir::Value* second = slice_last(q, half, kHead);
    ir::Value* rotated = node("Concat", {node("Neg", {second}), first});
    rotated->producer->attrs["axis"] = int64_t(-1);
    return node("Add", {node("Mul", {q, cos}), node("Mul", {rotated, sin})});
  }
  // A head split of x [B, S, E] into [B, heads, S, D].
  ir::Value* heads(ir::Value* x, const std::string& name, int64_t count, uint32_t seed) {
    ir::Value* projected =
        node("MatMul", {x, weight(graph_, name, {kHeads * kHead, count * kHead}, seed)});
    return transpose(reshape(projected, {kBatch, kSeq, count, kHead}), {0, 2, 1, 3});
  }

 private:
  ir::Graph& graph_;
  int count_ = 0;
};

// One Llama attention layer: rotary q and k, grouped KV heads, causal, heads merged back.
// `cos_input`: cos and sin arrive as inputs [B, 1, S, D] (a dynamic-position export) instead
// of constants [1, 1, S, D].
ir::Graph llama_layer(bool cos_input) {
  ir::Graph graph;
  Builder b(graph);
  ir::Value* x =
      graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kHeads * kHead}));
  ir::Value *cos = nullptr, *sin = nullptr;
  if (cos_input) {
    cos = graph.add_input("cos", DType::Float32, ir::Shape::from_dims({kBatch, 1, kSeq, kHead}));
    sin = graph.add_input("sin", DType::Float32, ir::Shape::from_dims({kBatch, 1, kSeq, kHead}));
  } else {
    cos = weight(graph, "cos", {1, 1, kSeq, kHead}, 7);
    sin = weight(graph, "sin", {1, 1, kSeq, kHead}, 8);
  }
  ir::Value* q = b.rotary(b.heads(x, "wq", kHeads, 1), cos, sin);
  ir::Value* k = b.rotary(b.heads(x, "wk", kKvHeads, 2), cos, sin);
  ir::Value* v = b.heads(x, "wv", kKvHeads, 3);
  ir::Value* y = b.node("Attention", {q, k, v});
  y->producer->attrs["is_causal"] = int64_t(1);
  ir::Value* merged = b.reshape(b.transpose(y, {0, 2, 1, 3}), {kBatch, kSeq, kHeads * kHead});
  graph.add_output(merged);
  ir::infer_graph(graph);
  return graph;
}

TEST(TransposeRegions, RotaryAttentionLosesEveryTranspose) {
  for (bool cos_input : {false, true}) {
    SCOPED_TRACE(cos_input ? "cos and sin inputs" : "cos and sin constants");
    ir::Graph graph = llama_layer(cos_input);
    auto inputs = make_random_inputs(graph, 20);
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    ASSERT_EQ(count_op(graph, "Transpose"), 4);
    optimize(graph);
    ir::verify(graph);
    EXPECT_EQ(count_op(graph, "Transpose"), 0);
    EXPECT_EQ(count_op(graph, "Concat"), 2);  // the rotary math stays, on [B, S, H, D]
    ir::Node* attention = nullptr;
    for (ir::Node* node : graph.nodes()) {
      if (node->op == "Attention") attention = node;
    }
    ASSERT_NE(attention, nullptr);
    EXPECT_EQ(attention->inputs[0]->shape.rank(), 3);  // folded: [B, S, H·D] views
    EXPECT_EQ(attention->attr_int("kv_num_heads", 0), kKvHeads);
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
  }
}

// GPT-NeoX: one projection for q, k and v, split after the head Transpose; partial rotary on
// the first half of each head of q and k, the rest passed through by a Concat.
TEST(TransposeRegions, FusedQkvSplitAndPartialRotaryFold) {
  ir::Graph graph;
  Builder b(graph);
  ir::Value* x =
      graph.add_input("x", DType::Float32, ir::Shape::from_dims({kBatch, kSeq, kHeads * kHead}));
  ir::Value* qkv =
      b.node("MatMul", {x, weight(graph, "w", {kHeads * kHead, 3 * kHeads * kHead}, 1)});
  ir::Value* split_heads =
      b.transpose(b.reshape(qkv, {kBatch, kSeq, kHeads, 3 * kHead}), {0, 2, 1, 3});
  ir::Node* split = graph.add_node("Split", "split", {split_heads}, {"q", "k", "v"});
  split->attrs["axis"] = int64_t(3);
  split->attrs["split"] = std::vector<int64_t>{kHead, kHead, kHead};
  ir::Value* cos = weight(graph, "cos", {1, 1, kSeq, kHead / 2}, 7);
  ir::Value* sin = weight(graph, "sin", {1, 1, kSeq, kHead / 2}, 8);
  auto partial_rotary = [&](ir::Value* h) {
    ir::Value* rotated = b.slice_last(h, 0, kHead / 2);
    int64_t quarter = kHead / 4;
    ir::Value* turned =
        b.node("Concat", {b.node("Neg", {b.slice_last(rotated, quarter, kHead / 2)}),
                          b.slice_last(rotated, 0, quarter)});
    turned->producer->attrs["axis"] = int64_t(3);
    ir::Value* embedded =
        b.node("Add", {b.node("Mul", {rotated, cos}), b.node("Mul", {turned, sin})});
    ir::Value* whole = b.node("Concat", {embedded, b.slice_last(h, kHead / 2, kHead)});
    whole->producer->attrs["axis"] = int64_t(3);
    return whole;
  };
  ir::Value* y = b.node("Attention", {partial_rotary(split->outputs[0]),
                                      partial_rotary(split->outputs[1]), split->outputs[2]});
  graph.add_output(b.reshape(b.transpose(y, {0, 2, 1, 3}), {kBatch, kSeq, kHeads * kHead}));
  ir::infer_graph(graph);
  auto inputs = make_random_inputs(graph, 20);
  Tensor expected = cpu::Executor(graph).run(inputs)[0];
  optimize(graph);
  ir::verify(graph);
  EXPECT_EQ(count_op(graph, "Transpose"), 0);
  EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
}

// An outside operand that varies along the permuted axes in another order than the
// untransposed layout (an input [B, H, S, D] itself) would need a copy: the Transpose stays.
// So does one whose region's result meets a MatMul.
TEST(TransposeRegions, RegionsThatWouldCostACopyStay) {
  {
    ir::Graph graph;
    Builder b(graph);
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 4, 5}));
    ir::Value* bias = graph.add_input("bias", DType::Float32, ir::Shape::from_dims({2, 4, 3, 5}));
    ir::Value* t = b.transpose(x, {0, 2, 1, 3});
    ir::Value* q = b.node("Add", {t, bias});
    ir::Value* y = b.node("Attention", {q, t, t});
    graph.add_output(y);
    ir::infer_graph(graph);
    EXPECT_EQ(sink_transposes_below_regions(graph), 0);
  }
  {
    ir::Graph graph;
    Builder b(graph);
    ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 4, 5}));
    ir::Value* t = b.transpose(x, {0, 2, 1, 3});
    ir::Value* r = b.node("Neg", {t});
    graph.add_output(b.node("MatMul", {r, weight(graph, "w", {5, 6}, 1)}));
    ir::infer_graph(graph);
    EXPECT_EQ(sink_transposes_below_regions(graph), 0);
  }
}

// Views alone (Unsqueeze, then a Reshape back to the same dims: what repeat_kv leaves of K
// once its Expand is gone) collapse into one Reshape, which the next simplification removes.
TEST(TransposeRegions, AChainOfViewsIsOneView) {
  ir::Graph graph;
  Builder b(graph);
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 4}));
  ir::Value* r = b.node("Relu", {x});
  ir::Value* lifted = b.node("Unsqueeze", {r});
  lifted->producer->attrs["axes"] = std::vector<int64_t>{1};
  graph.add_output(b.node("Sigmoid", {b.reshape(lifted, {2, 3, 4})}));
  ir::infer_graph(graph);
  EXPECT_EQ(collapse_layout_chains(graph), 1);
  simplify_shape_ops(graph);
  eliminate_dead_code(graph);
  EXPECT_EQ(count_op(graph, "Unsqueeze") + count_op(graph, "Reshape"), 0);
}

}  // namespace
}  // namespace kiln::passes
