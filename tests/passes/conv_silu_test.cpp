// fuse_epilogues' SiLU: Conv → {Sigmoid, Mul} (x·sigmoid(x) as PyTorch exports F.silu) becomes
// one Conv with fused_activation "Silu"; the CPU reference computes the same before and after.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "kiln/summary.h"
#include "passes/pass_test_helpers.h"  // tests/passes
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using cpu::testing::random_tensor;
using ir::testing::shape;
using pass_testing::weight;

// img[2,3,8,8] → Conv (bias) → y; s = Sigmoid(y); out = Mul(y, s) or Mul(s, y).
struct ConvSilu {
  ir::Graph graph;
  ir::Node* conv = nullptr;
  ir::Node* sigmoid = nullptr;
  ir::Node* mul = nullptr;

  explicit ConvSilu(bool sigmoid_first = false) {
    ir::Value* img = graph.add_input("img", DType::Float32, shape({2, 3, 8, 8}));
    conv = graph.add_node("Conv", "conv",
                          {img, weight(graph, "w", {4, 3, 3, 3}, 1), weight(graph, "b", {4}, 2)},
                          {"y"});
    conv->attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    ir::Value* y = conv->outputs[0];
    sigmoid = graph.add_node("Sigmoid", "sigmoid", {y}, {"s"});
    ir::Value* s = sigmoid->outputs[0];
    mul = graph.add_node("Mul", "mul", sigmoid_first ? std::vector{s, y} : std::vector{y, s},
                         {"out"});
  }
  void finish() {
    graph.add_output(mul->outputs[0]);
    ir::infer_graph(graph);
  }
};

TEST(ConvSilu, FoldsSigmoidAndMulInEitherOrderKeepingNames) {
  for (bool sigmoid_first : {false, true}) {
    ConvSilu plain(sigmoid_first), fused(sigmoid_first);
    plain.finish();
    fused.finish();
    ASSERT_EQ(fuse_epilogues(fused.graph), 1);
    EXPECT_EQ(fused.graph.node_count(), 1u);
    const ir::Node& conv = *fused.graph.nodes().front();
    EXPECT_EQ(conv.name, "conv");
    EXPECT_EQ(conv.attr_string("fused_activation", ""), "Silu");
    EXPECT_EQ(conv.outputs[0]->name, "out");
    std::map<std::string, Tensor> inputs{{"img", random_tensor({2, 3, 8, 8}, 5)}};
    Tensor expected = cpu::Executor(plain.graph).run(inputs)[0];
    Tensor actual = cpu::Executor(fused.graph).run(inputs)[0];
    EXPECT_LE(compare_tensors(actual, expected).max_abs_diff, 1e-6);
  }
}

TEST(ConvSilu, OtherReadersOrOperandsBlockFusion) {
  {  // the Sigmoid is read elsewhere too
    ConvSilu p;
    ir::Node* extra = p.graph.add_node("Relu", "extra", {p.sigmoid->outputs[0]}, {"e"});
    p.graph.add_output(extra->outputs[0]);
    p.finish();
    EXPECT_EQ(fuse_epilogues(p.graph), 0);
  }
  {  // the convolution's output is a graph output
    ConvSilu p;
    p.graph.add_output(p.conv->outputs[0]);
    p.finish();
    EXPECT_EQ(fuse_epilogues(p.graph), 0);
  }
  {  // a Mul of the Sigmoid with something else: a gate, not a SiLU
    ir::Graph graph;
    ir::Value* img = graph.add_input("img", DType::Float32, shape({1, 2, 5, 5}));
    ir::Value* gate = graph.add_input("gate", DType::Float32, shape({1, 3, 5, 5}));
    ir::Node* conv =
        graph.add_node("Conv", "conv", {img, weight(graph, "w", {3, 2, 1, 1}, 1)}, {"y"});
    ir::Node* sigmoid = graph.add_node("Sigmoid", "sigmoid", {conv->outputs[0]}, {"s"});
    ir::Node* mul = graph.add_node("Mul", "mul", {gate, sigmoid->outputs[0]}, {"out"});
    ir::Node* add = graph.add_node("Add", "add", {mul->outputs[0], conv->outputs[0]}, {"z"});
    graph.add_output(add->outputs[0]);
    ir::infer_graph(graph);
    EXPECT_EQ(fuse_epilogues(graph), 0);
  }
}

TEST(ConvSilu, ConvSchemaTakesSilu) {
  ConvSilu p;
  p.finish();
  p.conv->attrs["fused_activation"] = std::string("Silu");
  EXPECT_NO_THROW(ir::infer_node(*p.conv));
}

}  // namespace
}  // namespace kiln::passes
