// recognize_gelu: the tanh GELU written out in elementwise ops becomes one Gelu node with the
// same outputs, in each grouping exporters write; near misses are left alone.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

enum class Grouping { HalfXTimesU, XUTimesHalf, XTimesHalfU };

// y = 0.5·x·(1 + tanh(c·(x + k·x³))) over x[4, 6] with the given constants and grouping.
ir::Graph spelled_out_gelu(Grouping grouping, float c = float(std::sqrt(2.0 / std::numbers::pi)),
                           float k = 0.044715f) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::Shape::from_dims({4, 6}));
  auto scalar = [&](const std::string& name, float value) {
    return graph.add_constant(name, Tensor::scalar(value));
  };
  auto op = [&](const std::string& type, std::vector<ir::Value*> inputs, const std::string& out) {
    return graph.add_node(type, out, std::move(inputs), {out})->outputs[0];
  };
  ir::Value* cube = op("Pow", {x, scalar("three", 3.f)}, "cube");
  ir::Value* scaled_cube = op("Mul", {scalar("k", k), cube}, "scaled_cube");
  ir::Value* inner = op("Add", {x, scaled_cube}, "inner");
  ir::Value* scaled = op("Mul", {inner, scalar("c", c)}, "scaled");
  ir::Value* t = op("Tanh", {scaled}, "t");
  ir::Value* u = op("Add", {t, scalar("one", 1.f)}, "u");
  ir::Value* y = nullptr;
  switch (grouping) {
    case Grouping::HalfXTimesU:
      y = op("Mul", {op("Mul", {x, scalar("half", 0.5f)}, "half_x"), u}, "y");
      break;
    case Grouping::XUTimesHalf:
      y = op("Mul", {op("Mul", {x, u}, "xu"), scalar("half", 0.5f)}, "y");
      break;
    case Grouping::XTimesHalfU:
      y = op("Mul", {x, op("Mul", {scalar("half", 0.5f), u}, "half_u")}, "y");
      break;
  }
  graph.add_output(y);
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> run(ir::Graph graph, const Tensor& x) {
  return CpuSession(std::move(graph), {Precision::FP32}, false).run({{"x", x}});
}

TEST(RecognizeGeluTest, EveryGroupingBecomesOneGeluWithTheSameOutputs) {
  for (Grouping grouping : {Grouping::HalfXTimesU, Grouping::XUTimesHalf, Grouping::XTimesHalfU}) {
    ir::Graph graph = spelled_out_gelu(grouping);
    Tensor x = make_random_inputs(graph, 3).at("x");
    std::map<std::string, Tensor> expected = run(spelled_out_gelu(grouping), x);
    EXPECT_EQ(recognize_gelu(graph), 1);
    ASSERT_EQ(graph.node_count(), 1u);
    const ir::Node& gelu = *graph.nodes().front();
    EXPECT_EQ(gelu.op, "Gelu");
    EXPECT_EQ(gelu.attr_string("approximate", ""), "tanh");
    EXPECT_EQ(graph.outputs()[0]->name, "y");
    EXPECT_LE(normalized_error(run(std::move(graph), x).at("y"), expected.at("y")), 1e-6);
  }
}

TEST(RecognizeGeluTest, OtherConstantsAreNotGelu) {
  ir::Graph wrong_c = spelled_out_gelu(Grouping::HalfXTimesU, 0.7f);
  EXPECT_EQ(recognize_gelu(wrong_c), 0);
  ir::Graph wrong_k =
      spelled_out_gelu(Grouping::HalfXTimesU, float(std::sqrt(2.0 / std::numbers::pi)), 0.05f);
  EXPECT_EQ(recognize_gelu(wrong_k), 0);
}

TEST(RecognizeGeluTest, AnIntermediateReadElsewhereStays) {
  ir::Graph graph = spelled_out_gelu(Grouping::HalfXTimesU);
  graph.add_output(graph.find_value("t"));  // tanh's output is also a graph output
  EXPECT_EQ(recognize_gelu(graph), 0);
}

}  // namespace
}  // namespace kiln::passes
