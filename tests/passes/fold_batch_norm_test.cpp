// fold_batch_norm: Conv → BatchNormalization becomes one Conv with the same outputs, and
// the pattern is left alone where folding would be wrong.
#include <gtest/gtest.h>

#include <random>

#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

Tensor random_values(const Dims& dims, double low, double high, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Tensor tensor(DType::Float64, dims);
  double* out = tensor.data_mutable<double>();
  for (int64_t i = 0; i < tensor.numel(); ++i) out[i] = uniform(generator);
  return tensor.to(DType::Float32);
}

// x[2, 3, 6, 6] → Conv(4 filters 3×3, bias optional) → BatchNormalization → Relu → y.
ir::Graph conv_bn_graph(bool with_bias, bool second_reader = false) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 6, 6}));
  std::vector<ir::Value*> conv_inputs = {
      x, graph.add_constant("w", random_values({4, 3, 3, 3}, -1, 1, 1))};
  if (with_bias) conv_inputs.push_back(graph.add_constant("b", random_values({4}, -1, 1, 2)));
  ir::Node* conv = graph.add_node("Conv", "conv", conv_inputs, {"c"});
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* bn =
      graph.add_node("BatchNormalization", "bn",
                     {conv->outputs[0], graph.add_constant("scale", random_values({4}, 0.5, 2, 3)),
                      graph.add_constant("shift", random_values({4}, -1, 1, 4)),
                      graph.add_constant("mean", random_values({4}, -1, 1, 5)),
                      graph.add_constant("var", random_values({4}, 0.1, 3, 6))},
                     {"n"});
  bn->attrs["epsilon"] = 1e-3;
  ir::Node* relu = graph.add_node("Relu", "relu", {bn->outputs[0]}, {"y"});
  graph.add_output(relu->outputs[0]);
  if (second_reader) graph.add_output(conv->outputs[0]);
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> run(ir::Graph graph, const Tensor& x) {
  CpuSession session(std::move(graph), {Precision::FP32}, false);
  return session.run({{"x", x}});
}

int count_op(const ir::Graph& graph, const std::string& op) {
  int count = 0;
  for (const ir::Node* node : graph.nodes()) count += node->op == op;
  return count;
}

TEST(FoldBatchNormTest, FoldedConvComputesTheSame) {
  Tensor x = random_values({2, 3, 6, 6}, -2, 2, 7);
  for (bool with_bias : {false, true}) {
    std::map<std::string, Tensor> expected = run(conv_bn_graph(with_bias), x);
    ir::Graph graph = conv_bn_graph(with_bias);
    EXPECT_EQ(fold_batch_norm(graph), 1);
    EXPECT_EQ(count_op(graph, "BatchNormalization"), 0);
    EXPECT_EQ(graph.outputs()[0]->name, "y");
    std::map<std::string, Tensor> folded = run(std::move(graph), x);
    EXPECT_LE(normalized_error(folded.at("y"), expected.at("y")), 1e-6)
        << "with bias " << with_bias;
  }
}

TEST(FoldBatchNormTest, LeavesAConvWithAnotherReaderAlone) {
  ir::Graph graph = conv_bn_graph(true, /*second_reader=*/true);
  EXPECT_EQ(fold_batch_norm(graph), 0);
  EXPECT_EQ(count_op(graph, "BatchNormalization"), 1);
}

}  // namespace
}  // namespace kiln::passes
