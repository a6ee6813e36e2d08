// eliminate_dead_code: unused nodes and constants go; everything reaching an output stays.
#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "ir/verifier.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using ir::testing::shape;

TEST(EliminateDeadCode, RemovesUnusedChainsAndConstants) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 4}));
  ir::Value* unused_weight = graph.add_constant("unused_weight", Tensor(DType::Float32, {4}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"y"});
  ir::Node* dead1 = graph.add_node("Mul", "dead1", {x, unused_weight}, {"d1"});
  graph.add_node("Neg", "dead2", {dead1->outputs[0]}, {"d2"});
  ir::Node* split = graph.add_node("Split", "split", {relu->outputs[0]}, {"s0", "s1"});
  graph.add_output(split->outputs[1]);  // one used output keeps the whole Split
  ir::infer_graph(graph);

  EXPECT_EQ(eliminate_dead_code(graph), 2);
  ASSERT_EQ(graph.node_count(), 2u);
  EXPECT_EQ(graph.nodes()[0]->name, "relu");
  EXPECT_EQ(graph.nodes()[1]->name, "split");
  EXPECT_EQ(graph.find_value("unused_weight"), nullptr);
  EXPECT_EQ(graph.find_value("d2"), nullptr);
  EXPECT_NE(graph.find_value("x"), nullptr);  // inputs stay even if unused
  EXPECT_NO_THROW(ir::verify(graph));
  EXPECT_EQ(eliminate_dead_code(graph), 0);
}

}  // namespace
}  // namespace kiln::passes
