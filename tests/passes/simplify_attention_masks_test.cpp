// simplify_attention_masks: a constant causal mask (bool, or float 0 / large negative, any
// broadcast, or computed from constants alike in every batch) becomes is_causal=1 and an
// all-visible one disappears, with the CPU reference's outputs unchanged; masks that say
// anything else, or attention with a KV cache, stay.
#include <gtest/gtest.h>

#include <limits>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "pass_test_helpers.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using pass_testing::weight;

constexpr int64_t kBatch = 2, kHeads = 2, kSeq = 5, kHead = 8;

// The mask over (rows, kSeq) with `keep(i, j)`, repeated `copies` times in front.
Tensor mask_of(DType dtype, int64_t copies, int64_t rows, bool (*keep)(int64_t, int64_t),
               double masked) {
  std::vector<double> values;
  for (int64_t c = 0; c < copies; ++c) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < kSeq; ++j)
        values.push_back(keep(i, j) ? (dtype == DType::Bool ? 1.0 : 0.0) : masked);
    }
  }
  return Tensor::from_vector<double>({copies, 1, rows, kSeq}, values).to(dtype);
}

bool causal(int64_t i, int64_t j) { return j <= i; }
bool everything(int64_t, int64_t) { return true; }
bool padded(int64_t, int64_t j) { return j < kSeq - 1; }
bool bottom_right(int64_t i, int64_t j) { return j <= i + 1; }

struct Built {
  ir::Graph graph;
  ir::Node* attention = nullptr;
};

// Attention over constant Q, K, V (B, H, S, D) with `mask`; y is the only output.
Built attention_with(const Tensor& mask, bool with_cache = false) {
  Built built;
  ir::Graph& graph = built.graph;
  std::vector<ir::Value*> inputs = {weight(graph, "q", {kBatch, kHeads, kSeq, kHead}, 1),
                                    weight(graph, "k", {kBatch, kHeads, kSeq, kHead}, 2),
                                    weight(graph, "v", {kBatch, kHeads, kSeq, kHead}, 3),
                                    graph.add_constant("mask", mask)};
  if (with_cache) {
    inputs.push_back(weight(graph, "past_k", {kBatch, kHeads, 2, kHead}, 4));
    inputs.push_back(weight(graph, "past_v", {kBatch, kHeads, 2, kHead}, 5));
  }
  built.attention = graph.add_node("Attention", "attention", inputs, {"y"});
  graph.add_output(built.attention->outputs[0]);
  ir::infer_graph(graph);
  return built;
}

Tensor run(const ir::Graph& graph) { return cpu::Executor(graph).run({})[0]; }

TEST(SimplifyAttentionMasks, CausalMasksBecomeIsCausalWithTheSameOutputs) {
  double lowest = std::numeric_limits<float>::lowest();
  for (const Tensor& mask :
       {mask_of(DType::Bool, 1, kSeq, causal, 0),
        mask_of(DType::Float32, kBatch, kSeq, causal, lowest),
        mask_of(DType::BFloat16, 1, kSeq, causal, -std::numeric_limits<double>::infinity()),
        mask_of(DType::Float16, kBatch, kSeq, causal, -65504)}) {
    SCOPED_TRACE(std::string(dtype_name(mask.dtype())) + " " + dims_to_string(mask.dims()));
    Built built = attention_with(mask);
    Tensor expected = run(built.graph);
    EXPECT_EQ(simplify_attention_masks(built.graph), 1);
    EXPECT_EQ(built.attention->input(3), nullptr);
    EXPECT_EQ(built.attention->inputs.size(), 3u);
    EXPECT_EQ(built.attention->attr_int("is_causal", 0), 1);
    EXPECT_EQ(built.graph.find_value("mask"), nullptr);  // the constant is gone
    EXPECT_LE(normalized_error(run(built.graph), expected), 1e-6);
  }
}

TEST(SimplifyAttentionMasks, AllVisibleMasksDisappear) {
  for (int64_t rows : {int64_t(1), kSeq}) {
    Built built = attention_with(mask_of(DType::Bool, kBatch, rows, everything, 0));
    Tensor expected = run(built.graph);
    EXPECT_EQ(simplify_attention_masks(built.graph), 1);
    EXPECT_EQ(built.attention->input(3), nullptr);
    EXPECT_EQ(built.attention->attr_int("is_causal", 0), 0);
    EXPECT_LE(normalized_error(run(built.graph), expected), 1e-6);
  }
}

TEST(SimplifyAttentionMasks, OtherMasksStay) {
  Tensor differs_by_batch = mask_of(DType::Bool, kBatch, kSeq, causal, 0);
  differs_by_batch.data_mutable<bool>()[kSeq * kSeq + 1] = true;  // batch 1 sees ahead once
  Tensor soft = mask_of(DType::Float32, 1, kSeq, causal, -1e4);
  soft.data_mutable<float>()[3] = -0.5f;  // a bias, not a mask
  for (const Tensor& mask :
       {mask_of(DType::Bool, 1, kSeq, padded, 0), mask_of(DType::Bool, 1, kSeq, bottom_right, 0),
        mask_of(DType::Bool, 1, 1, padded, 0), differs_by_batch, soft}) {
    Built built = attention_with(mask);
    EXPECT_EQ(simplify_attention_masks(built.graph), 0) << dims_to_string(mask.dims());
    EXPECT_NE(built.attention->input(3), nullptr);
  }
}

// A mask computed from constants by broadcasting comparisons, as Hugging Face's masking code
// leaves it when it is too large to fold (Llama at batch 8, 2048 tokens): index grids per
// batch, kv <= q spelled Not(kv > q), And'ed with batch_index == batch_index. Decided on its
// first batch slice when every batch's constants are alike; a grid that differs by batch
// keeps the mask.
Built attention_with_computed_mask(bool batches_alike) {
  Built built;
  ir::Graph& graph = built.graph;
  std::vector<int64_t> rows, columns, batch_rows, batch_columns;
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t i = 0; i < kSeq; ++i) {
      rows.push_back(i + (!batches_alike && b == 1 && i == 0 ? 1 : 0));
      columns.push_back(i);
      batch_rows.push_back(b);
      batch_columns.push_back(b);
    }
  }
  auto grid = [&](const char* name, Dims dims, const std::vector<int64_t>& values) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>(std::move(dims), values));
  };
  ir::Value* q_index = grid("q_index", {kBatch, 1, kSeq, 1}, rows);
  ir::Value* kv_index = grid("kv_index", {kBatch, 1, 1, kSeq}, columns);
  ir::Node* ahead = graph.add_node("Greater", "ahead", {kv_index, q_index}, {"ahead"});
  ir::Node* seen = graph.add_node("Not", "seen", {ahead->outputs[0]}, {"seen"});
  ir::Node* same = graph.add_node("Equal", "same",
                                  {grid("b_rows", {kBatch, 1, kSeq, 1}, batch_rows),
                                   grid("b_columns", {kBatch, 1, 1, kSeq}, batch_columns)},
                                  {"same"});
  ir::Node* mask = graph.add_node("And", "mask", {seen->outputs[0], same->outputs[0]}, {"mask"});
  built.attention =
      graph.add_node("Attention", "attention",
                     {weight(graph, "q", {kBatch, kHeads, kSeq, kHead}, 1),
                      weight(graph, "k", {kBatch, kHeads, kSeq, kHead}, 2),
                      weight(graph, "v", {kBatch, kHeads, kSeq, kHead}, 3), mask->outputs[0]},
                     {"y"});
  graph.add_output(built.attention->outputs[0]);
  ir::infer_graph(graph);
  return built;
}

TEST(SimplifyAttentionMasks, MasksComputedFromConstantsAreDecidedOnOneBatch) {
  Built built = attention_with_computed_mask(/*batches_alike=*/true);
  Tensor expected = run(built.graph);
  EXPECT_EQ(simplify_attention_masks(built.graph), 1);
  EXPECT_EQ(built.attention->input(3), nullptr);
  EXPECT_EQ(built.attention->attr_int("is_causal", 0), 1);
  EXPECT_EQ(built.graph.find_value("mask"), nullptr);  // the comparisons are gone
  EXPECT_LE(normalized_error(run(built.graph), expected), 1e-6);

  Built differs = attention_with_computed_mask(/*batches_alike=*/false);
  EXPECT_EQ(simplify_attention_masks(differs.graph), 0);
  EXPECT_NE(differs.attention->input(3), nullptr);
}

// A decoder's prompt batch with padding: And(causal constant, padding mask [B, 1, 1, S]) becomes
// is_causal=1 with the padding mask alone; And with a mask that is not causal stays.
TEST(SimplifyAttentionMasks, ACausalMaskAndedWithPaddingSplitsIntoIsCausalAndThePadding) {
  for (bool (*keep)(int64_t, int64_t) : {causal, bottom_right}) {
    ir::Graph graph;
    ir::Value* padding =
        graph.add_input("padding", DType::Bool, ir::Shape::from_dims({kBatch, 1, 1, kSeq}));
    ir::Node* both = graph.add_node(
        "And", "both",
        {graph.add_constant("causal", mask_of(DType::Bool, 1, kSeq, keep, 0)), padding}, {"both"});
    ir::Node* attention =
        graph.add_node("Attention", "attention",
                       {weight(graph, "q", {kBatch, kHeads, kSeq, kHead}, 1),
                        weight(graph, "k", {kBatch, kHeads, kSeq, kHead}, 2),
                        weight(graph, "v", {kBatch, kHeads, kSeq, kHead}, 3), both->outputs[0]},
                       {"y"});
    graph.add_output(attention->outputs[0]);
    ir::infer_graph(graph);
    Tensor pads = Tensor::from_vector<double>({kBatch, 1, 1, kSeq}, {1, 1, 1, 1, 0, 0, 1, 1, 1, 1})
                      .to(DType::Bool);
    std::map<std::string, Tensor> inputs{{"padding", pads}};
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    if (keep == causal) {
      EXPECT_EQ(simplify_attention_masks(graph), 1);
      EXPECT_EQ(attention->input(3), padding);
      EXPECT_EQ(attention->attr_int("is_causal", 0), 1);
      EXPECT_EQ(graph.find_value("both"), nullptr);
    } else {
      EXPECT_EQ(simplify_attention_masks(graph), 0);
      EXPECT_EQ(attention->input(3), both->outputs[0]);
    }
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-6);
  }
}

TEST(SimplifyAttentionMasks, AttentionWithAKvCacheKeepsItsMask) {
  Built built = attention_with(mask_of(DType::Bool, 1, kSeq, causal, 0), /*with_cache=*/true);
  EXPECT_EQ(simplify_attention_masks(built.graph), 0);
}

// Hugging Face GPT-2 as torch.export writes it: its materialized causal mask folds to a
// constant once the sequence length is known, and then becomes is_causal.
TEST(SimplifyAttentionMasks, Gpt2sCausalMaskBecomesIsCausalOnceShapesAreKnown) {
  ir::Graph graph = pass_testing::specialized_fixture("gpt2", "gpt2_fp32.pt2", 7);
  int attentions = 0;
  for (const ir::Node* node : graph.nodes()) {
    if (node->op != "Attention") continue;
    ++attentions;
    EXPECT_EQ(node->input(3), nullptr) << node->name;
    EXPECT_EQ(node->attr_int("is_causal", 0), 1) << node->name;
  }
  EXPECT_GT(attentions, 0);
}

}  // namespace
}  // namespace kiln::passes
