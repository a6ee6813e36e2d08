// recognize_attention: attention spelled out in products and a softmax (as ONNX exports below
// opset 23 and eager traces write it) becomes one Attention node with the CPU reference's
// outputs unchanged; lookalikes that compute something else stay.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "ir/verifier.h"
#include "kiln/kiln.h"
#include "pass_test_helpers.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using pass_testing::count_op;

constexpr int64_t kB = 2, kH = 3, kSq = 5, kSkv = 7, kD = 8;

ir::Value* scalar(ir::Graph& graph, const std::string& name, float value) {
  return graph.add_constant(name, Tensor::scalar<float>(value));
}

ir::Value* node(ir::Graph& graph, const std::string& op, const std::string& name,
                std::vector<ir::Value*> inputs) {
  return graph.add_node(op, name, std::move(inputs), {name + ".out"})->outputs[0];
}

struct Spelling {
  bool exporter_transpose = false;  // K through Reshape → Transpose → Reshape, scale split in two
  bool dynamo_chain = false;  // with exporter_transpose: Kᵀ from [B, Skv, H·D], as the dynamo
                              // ONNX exporter makes it from a fused QKV projection
  bool mask = false;          // + a float mask [B, 1, Sq, Skv]
  bool nan_guard = false;     // Where(IsNaN(P), 0, P) after the softmax
  int64_t softmax_axis = -1;
};

// Q [B, H, Sq, D], K and V [B, H, Skv, D] inputs (and the mask) → Y [B, H, Sq, D].
ir::Graph spelled_out(const Spelling& s) {
  ir::Graph graph;
  ir::Value* q = graph.add_input("q", DType::Float32, ir::Shape::from_dims({kB, kH, kSq, kD}));
  ir::Value* k = graph.add_input("k", DType::Float32, ir::Shape::from_dims({kB, kH, kSkv, kD}));
  ir::Value* v = graph.add_input("v", DType::Float32, ir::Shape::from_dims({kB, kH, kSkv, kD}));
  ir::Value* scores = nullptr;
  if (s.exporter_transpose) {
    auto shape = [&](const std::string& name, std::vector<int64_t> dims) {
      return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
    };
    ir::Value* flat = nullptr;
    if (s.dynamo_chain) {
      ir::Node* heads_last = graph.add_node("Transpose", "k_seq", {k}, {"k_seq.out"});
      heads_last->attrs["perm"] = std::vector<int64_t>{0, 2, 1, 3};
      flat = node(graph, "Reshape", "k_flat",
                  {heads_last->outputs[0], shape("s1", {kB, kSkv, kH * kD})});
    } else {
      flat = node(graph, "Reshape", "k_flat", {k, shape("s1", {-1, kSkv, kD})});
    }
    ir::Node* swap = graph.add_node("Transpose", "k_swap", {flat}, {"k_swap.out"});
    swap->attrs["perm"] = std::vector<int64_t>{0, 2, 1};
    ir::Value* kt =
        node(graph, "Reshape", "k_t", {swap->outputs[0], shape("s2", {kB, kH, kD, kSkv})});
    float half = std::pow(float(kD), -0.25f);  // the exporter scales Q and Kᵀ by √scale each
    scores = node(graph, "MatMul", "qk",
                  {node(graph, "Mul", "q_scaled", {q, scalar(graph, "c1", half)}),
                   node(graph, "Mul", "kt_scaled", {kt, scalar(graph, "c2", half)})});
  } else {
    ir::Node* swap = graph.add_node("Transpose", "k_t", {k}, {"k_t.out"});
    swap->attrs["perm"] = std::vector<int64_t>{0, 1, 3, 2};
    ir::Value* raw = node(graph, "MatMul", "qk", {q, swap->outputs[0]});
    scores = node(graph, "Div", "scaled", {raw, scalar(graph, "d", std::sqrt(float(kD)))});
  }
  if (s.mask) {
    ir::Value* mask =
        graph.add_input("mask", DType::Float32, ir::Shape::from_dims({kB, 1, kSq, kSkv}));
    scores = node(graph, "Add", "masked", {mask, scores});
  }
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {scores}, {"p"});
  softmax->attrs["axis"] = s.softmax_axis;
  ir::Value* p = softmax->outputs[0];
  if (s.nan_guard) {
    ir::Value* nan = node(graph, "IsNaN", "is_nan", {p});
    p = node(graph, "Where", "guard", {nan, scalar(graph, "zero", 0.f), p});
  }
  graph.add_output(node(graph, "MatMul", "pv", {p, v}));
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> random_inputs(bool mask) {
  std::map<std::string, Tensor> inputs = {
      {"q", cpu::testing::random_tensor({kB, kH, kSq, kD}, 1)},
      {"k", cpu::testing::random_tensor({kB, kH, kSkv, kD}, 2)},
      {"v", cpu::testing::random_tensor({kB, kH, kSkv, kD}, 3)}};
  if (mask) {
    Tensor bias = cpu::testing::random_tensor({kB, 1, kSq, kSkv}, 4);
    float* values = bias.data_mutable<float>();
    for (int64_t i = 0; i < bias.numel(); i += 3) values[i] = -1e9f;  // a third of keys hidden
    inputs["mask"] = bias;
  }
  return inputs;
}

TEST(RecognizeAttention, EverySpellingBecomesOneAttentionWithTheSameOutputs) {
  for (int keys : {0, 1, 2}) {  // Transpose, exporter's chain, dynamo exporter's chain
    for (bool mask : {false, true}) {
      for (bool guard : {false, true}) {
        Spelling spelling{keys > 0, keys == 2, mask, guard};
        SCOPED_TRACE(testing::Message()
                     << "keys " << keys << ", mask " << mask << ", guard " << guard);
        ir::Graph graph = spelled_out(spelling);
        std::map<std::string, Tensor> inputs = random_inputs(mask);
        Tensor expected = cpu::Executor(graph).run(inputs)[0];
        EXPECT_EQ(recognize_attention(graph), 1);
        ir::verify(graph);
        EXPECT_EQ(count_op(graph, "Attention"), 1);
        EXPECT_EQ(count_op(graph, "Softmax") + count_op(graph, "MatMul"), 0);
        ir::Node* attention = pass_testing::find_node(graph, "pv");
        ASSERT_NE(attention, nullptr);
        EXPECT_NEAR(attention->attr_float("scale", 0), 1 / std::sqrt(double(kD)), 1e-6);
        EXPECT_EQ(attention->inputs.size(), mask ? 4u : 3u);
        EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-5);
      }
    }
  }
}

TEST(RecognizeAttention, LookalikesStay) {
  ir::Graph wrong_axis = spelled_out({.softmax_axis = 2});
  EXPECT_EQ(recognize_attention(wrong_axis), 0);

  ir::Graph probabilities_read = spelled_out({});
  probabilities_read.add_output(probabilities_read.find_value("p"));  // P is delivered too
  EXPECT_EQ(recognize_attention(probabilities_read), 0);

  // Keys shared by the whole batch, broadcast by the product: Attention takes one batch.
  ir::Graph shared_keys = spelled_out({});
  pass_testing::find_node(shared_keys, "qk")->inputs[1] =
      shared_keys.add_input("kt", DType::Float32, ir::Shape::from_dims({1, kH, kD, kSkv}));
  ir::infer_graph(shared_keys);
  EXPECT_EQ(recognize_attention(shared_keys), 0);
}

// Q times any [B, H, D, Skv] tensor (here a graph input) is attention over its transpose: K
// becomes a Transpose of it, and the outputs stay the same.
TEST(RecognizeAttention, AnyTransposedKeysGetATransposeBack) {
  ir::Graph graph = spelled_out({});
  ir::Node* product = pass_testing::find_node(graph, "qk");
  product->inputs[1] =
      graph.add_input("kt", DType::Float32, ir::Shape::from_dims({kB, kH, kD, kSkv}));
  ir::infer_graph(graph);
  std::map<std::string, Tensor> inputs = random_inputs(false);
  inputs["kt"] = cpu::testing::random_tensor({kB, kH, kD, kSkv}, 5);
  Tensor expected = cpu::Executor(graph).run(inputs)[0];
  EXPECT_EQ(recognize_attention(graph), 1);
  ir::verify(graph);
  EXPECT_EQ(count_op(graph, "Attention"), 1);
  EXPECT_EQ(count_op(graph, "Transpose"), 1);
  EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-5);
}

// Attention of another rank than 4: torchvision MaxViT's windows [B, G, H, S, D], with a
// relative-position bias [H, S, Skv] and K scaled before the permutes that make Kᵀ, and a bmm
// over [B·H, S, D]. Each becomes one Attention on a [N, H, S, D] view, the scale of K folded
// into it, with the outputs unchanged; a bias that varies along G alone (not B) has no 4-D
// form and stays spelled out.
TEST(RecognizeAttention, WindowedAndBatchedProductsBecomeAttention) {
  struct Case {
    Dims lead;      // the dims before the heads
    Dims bias;      // empty: no bias
    bool expected;  // recognized
  };
  const Case cases[] = {{{2, 4}, {kH, kSq, kSkv}, true},
                        {{2, 4}, {2, 4, kH, kSq, kSkv}, true},
                        {{2, 4}, {4, 1, kSq, kSkv}, false},
                        {{}, {}, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE("rank " + std::to_string(c.lead.size() + 3));
    ir::Graph graph;
    auto dims = [&](int64_t s, int64_t d) {
      Dims out = c.lead;
      out.insert(out.end(), {kH, s, d});
      return out;
    };
    ir::Value* q = graph.add_input("q", DType::Float32, ir::Shape::from_dims(dims(kSq, kD)));
    ir::Value* k = graph.add_input("k", DType::Float32, ir::Shape::from_dims(dims(kSkv, kD)));
    ir::Value* v = graph.add_input("v", DType::Float32, ir::Shape::from_dims(dims(kSkv, kD)));
    ir::Value* scaled = node(graph, "Mul", "k_scaled", {k, scalar(graph, "c", 0.25f)});
    std::vector<int64_t> perm(c.lead.size() + 3);
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int64_t(i);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    ir::Node* swap = graph.add_node("Transpose", "k_t", {scaled}, {"k_t.out"});
    swap->attrs["perm"] = perm;
    ir::Value* scores = node(graph, "MatMul", "qk", {q, swap->outputs[0]});
    std::map<std::string, Tensor> inputs = {{"q", cpu::testing::random_tensor(dims(kSq, kD), 1)},
                                            {"k", cpu::testing::random_tensor(dims(kSkv, kD), 2)},
                                            {"v", cpu::testing::random_tensor(dims(kSkv, kD), 3)}};
    if (!c.bias.empty()) {
      ir::Value* bias = graph.add_input("bias", DType::Float32, ir::Shape::from_dims(c.bias));
      inputs["bias"] = cpu::testing::random_tensor(c.bias, 4);
      scores = node(graph, "Add", "biased", {scores, bias});
    }
    ir::Node* softmax = graph.add_node("Softmax", "softmax", {scores}, {"p"});
    softmax->attrs["axis"] = int64_t(-1);
    graph.add_output(node(graph, "MatMul", "pv", {softmax->outputs[0], v}));
    ir::infer_graph(graph);
    Tensor expected = cpu::Executor(graph).run(inputs)[0];
    optimize(graph);
    ir::verify(graph);
    EXPECT_EQ(count_op(graph, "Attention"), c.expected ? 1 : 0);
    EXPECT_EQ(count_op(graph, "Softmax"), c.expected ? 0 : 1);
    if (c.expected) EXPECT_EQ(count_op(graph, "Mul"), 0);  // K's scale went into the attention
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected), 1e-5);
  }
}

// A query or key scaled by a constant before the attention (Whisper, BART) has the factor
// taken into the attention's scale, its default 1/sqrt(D) included; a scaled query that
// something else reads too keeps its Mul.
TEST(RecognizeAttention, ScaledQueriesAndKeysFoldIntoTheScale) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    ir::Graph graph;
    Dims dims = {kB, kH, kSq, kD};
    ir::Value* q = graph.add_input("q", DType::Float32, ir::Shape::from_dims(dims));
    ir::Value* k = graph.add_input("k", DType::Float32, ir::Shape::from_dims(dims));
    ir::Value* v = graph.add_input("v", DType::Float32, ir::Shape::from_dims(dims));
    ir::Value* q_scaled = node(graph, "Mul", "q_scaled", {q, scalar(graph, "c", 0.5f)});
    ir::Value* k_scaled = node(graph, "Div", "k_scaled", {k, scalar(graph, "d", 4.f)});
    ir::Node* attention = graph.add_node("Attention", "attention", {q_scaled, k_scaled, v}, {"y"});
    if (variant == 1) attention->attrs["scale"] = 0.3;
    graph.add_output(attention->outputs[0]);
    if (variant == 2) graph.add_output(q_scaled);
    ir::infer_graph(graph);
    std::map<std::string, Tensor> inputs = {{"q", cpu::testing::random_tensor(dims, 1)},
                                            {"k", cpu::testing::random_tensor(dims, 2)},
                                            {"v", cpu::testing::random_tensor(dims, 3)}};
    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    optimize(graph);
    ir::verify(graph);
    EXPECT_EQ(count_op(graph, "Mul"), variant == 2 ? 1 : 0);
    EXPECT_EQ(count_op(graph, "Div"), 0);
    EXPECT_LE(normalized_error(cpu::Executor(graph).run(inputs)[0], expected[0]), 1e-6);
  }
}

// The ONNX fixtures exported below opset 23 spell attention out; once shapes are known every
// softmax of theirs is an Attention node.
TEST(RecognizeAttention, OnnxExportsOfSdpaBecomeAttention) {
  for (const char* model : {"bert", "gpt2", "encoder"}) {
    ir::Graph graph =
        pass_testing::specialized_fixture(model, std::string(model) + "_fp32.onnx", 5);
    EXPECT_EQ(count_op(graph, "Softmax"), 0) << model;
    EXPECT_GT(count_op(graph, "Attention"), 0) << model;
  }
}

}  // namespace
}  // namespace kiln::passes
