// pad_matmul_columns, giving the same outputs: a wide [K, N] weight with N not a multiple of 8
// gets zero columns and its product is cropped by a Slice that keeps the output's name.
// Aligned or non-constant weights stay as they are.
#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

std::vector<float> values(int64_t count, int seed) {
  std::vector<float> result;
  for (int64_t i = 0; i < count; ++i)
    result.push_back(float((i * 37 + seed * 11) % 17) / 8.f - 1.f);
  return result;
}

// x[2, 3, K] · w[K, N] (+ bias[N]) → y, the weight and bias constants of random values.
ir::Graph matmul_graph(int64_t k, int64_t n, bool with_bias, bool constant_weight = true) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, k}));
  ir::Value* w = constant_weight
                     ? graph.add_constant("w", Tensor::from_vector<float>({k, n}, values(k * n, 1)))
                     : graph.add_input("w", DType::Float32, ir::Shape::from_dims({k, n}));
  std::vector<ir::Value*> inputs = {x, w};
  if (with_bias)
    inputs.push_back(graph.add_constant("b", Tensor::from_vector<float>({n}, values(n, 2))));
  graph.add_output(graph.add_node("MatMul", "head", inputs, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

// x[2, 3, K] · Transpose(E) with E a [N, K] constant (a tied embedding).
ir::Graph tied_head_graph(int64_t k, int64_t n) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, k}));
  ir::Value* e =
      graph.add_constant("embedding", Tensor::from_vector<float>({n, k}, values(n * k, 3)));
  ir::Node* transpose = graph.add_node("Transpose", "t", {e}, {"e_t"});
  transpose->attrs["perm"] = std::vector<int64_t>{1, 0};
  graph.add_output(graph.add_node("MatMul", "head", {x, transpose->outputs[0]}, {"y"})->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

Tensor run_fp32(ir::Graph graph, const std::map<std::string, Tensor>& inputs) {
  return CpuSession(std::move(graph), {Precision::FP32}, false).run(inputs).at("y");
}

TEST(PadMatMulColumnsTest, WideMisalignedProductIsPaddedAndCroppedWithTheSameOutputs) {
  for (bool with_bias : {false, true}) {
    ir::Graph reference = matmul_graph(16, 300, with_bias);
    std::map<std::string, Tensor> x = make_random_inputs(reference, 5);
    Tensor expected = run_fp32(std::move(reference), x);
    ir::Graph graph = matmul_graph(16, 300, with_bias);
    EXPECT_EQ(pad_matmul_columns(graph), 1);
    ASSERT_EQ(graph.node_count(), 2u);
    const ir::Node& head = *graph.nodes()[0];
    const ir::Node& crop = *graph.nodes()[1];
    EXPECT_EQ(head.inputs[1]->constant->dims(), (Dims{16, 304}));
    if (with_bias) {
      EXPECT_EQ(head.inputs[2]->constant->dims(), (Dims{304}));
    }
    EXPECT_EQ(head.outputs[0]->shape.static_dims(), (Dims{2, 3, 304}));
    EXPECT_EQ(crop.op, "Slice");
    ASSERT_EQ(graph.outputs().size(), 1u);
    EXPECT_EQ(graph.outputs()[0]->name, "y");  // callers find outputs by name
    EXPECT_EQ(graph.outputs()[0]->producer, &crop);
    EXPECT_EQ(graph.outputs()[0]->shape.static_dims(), (Dims{2, 3, 300}));
    Tensor actual = run_fp32(std::move(graph), x);
    EXPECT_LE(normalized_error(actual, expected), 1e-7) << "bias " << with_bias;
  }
}

TEST(PadMatMulColumnsTest, TiedEmbeddingIsTransposedAndPaddedAtBuildTime) {
  ir::Graph graph = tied_head_graph(16, 261);
  std::map<std::string, Tensor> x = make_random_inputs(graph, 9);
  Tensor expected = run_fp32(tied_head_graph(16, 261), x);
  EXPECT_EQ(pad_matmul_columns(graph), 1);
  std::vector<ir::Node*> nodes = graph.nodes();
  ASSERT_EQ(nodes.size(), 2u);  // the run-time Transpose is gone
  EXPECT_EQ(nodes[0]->op, "MatMul");
  EXPECT_EQ(nodes[0]->inputs[1]->constant->dims(), (Dims{16, 264}));
  EXPECT_EQ(nodes[1]->op, "Slice");
  EXPECT_LE(normalized_error(run_fp32(std::move(graph), x), expected), 1e-7);
}

TEST(PadMatMulColumnsTest, AlignedNarrowOrComputedWeightsStay) {
  ir::Graph aligned = matmul_graph(16, 304, false);
  EXPECT_EQ(pad_matmul_columns(aligned), 0);
  ir::Graph narrow = matmul_graph(16, 13, false);  // a crop would cost more than it saves
  EXPECT_EQ(pad_matmul_columns(narrow), 0);
  ir::Graph computed = matmul_graph(16, 300, false, /*constant_weight=*/false);
  EXPECT_EQ(pad_matmul_columns(computed), 0);
}

}  // namespace
}  // namespace kiln::passes
