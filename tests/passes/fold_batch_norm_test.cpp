// fold_batch_norm: Conv → BatchNormalization becomes one Conv with the same outputs, and
// the pattern is left alone where folding would be wrong.
#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/pass_test_helpers.h"  // tests/passes
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using cpu::testing::random_tensor;
using pass_testing::count_op;

// x[2, 3, 6, 6] → Conv(4 filters 3×3, bias optional) → BatchNormalization → Relu → y.
ir::Graph conv_bn_graph(bool with_bias, bool second_reader = false) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({2, 3, 6, 6}));
  std::vector<ir::Value*> conv_inputs = {
      x, graph.add_constant("w", random_tensor({4, 3, 3, 3}, 1, -1, 1))};
  if (with_bias) conv_inputs.push_back(graph.add_constant("b", random_tensor({4}, 2, -1, 1)));
  ir::Node* conv = graph.add_node("Conv", "conv", conv_inputs, {"c"});
  conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  ir::Node* bn =
      graph.add_node("BatchNormalization", "bn",
                     {conv->outputs[0], graph.add_constant("scale", random_tensor({4}, 3, 0.5, 2)),
                      graph.add_constant("shift", random_tensor({4}, 4, -1, 1)),
                      graph.add_constant("mean", random_tensor({4}, 5, -1, 1)),
                      graph.add_constant("var", random_tensor({4}, 6, 0.1, 3))},
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

TEST(FoldBatchNormTest, FoldedConvComputesTheSame) {
  Tensor x = random_tensor({2, 3, 6, 6}, 7, -2, 2);
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

// BN(conv + B + Z) scales Z too; folded weights and bias cannot.
TEST(FoldBatchNormTest, LeavesAConvWithAResidualAlone) {
  ir::Graph graph = conv_bn_graph(true);
  ir::Node* conv = graph.nodes().front();
  ASSERT_EQ(conv->op, "Conv");
  conv->inputs.push_back(graph.add_input("z", DType::Float32, ir::Shape::from_dims({2, 4, 6, 6})));
  ir::infer_graph(graph);
  EXPECT_EQ(fold_batch_norm(graph), 0);
  EXPECT_EQ(count_op(graph, "BatchNormalization"), 1);
}

}  // namespace
}  // namespace kiln::passes
