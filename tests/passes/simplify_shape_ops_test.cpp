// simplify_shape_ops: Shape of known sizes becomes a constant (also through Gather/Slice
// when only the picked dims are static), and no-op reshapes, casts and transposes vanish
// while graph outputs keep their names.
#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "ir/verifier.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using ir::testing::shape;

std::vector<int64_t> constant_of(const ir::Graph& graph, const std::string& name) {
  const ir::Value* value = graph.find_value(name);
  EXPECT_NE(value, nullptr) << name;
  if (value == nullptr || !value->is_constant()) return {};
  return value->constant->to_int64_vector();
}

TEST(SimplifyShapeOps, ShapeOfStaticValueBecomesConstant) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 3, 4}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
  ir::Node* shape_node = graph.add_node("Shape", "shape", {relu->outputs[0]}, {"dims"});
  shape_node->attrs["start"] = int64_t{1};
  graph.add_output(shape_node->outputs[0]);
  graph.add_output(relu->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 1);
  EXPECT_EQ(constant_of(graph, "dims"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(graph.node_count(), 1u);
  EXPECT_EQ(graph.outputs()[0]->name, "dims");
  EXPECT_NO_THROW(ir::verify(graph));
}

TEST(SimplifyShapeOps, GatherAndSliceOfShapeFoldWhenPickedDimsAreStatic) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3, 4}));
  ir::Node* shape_node = graph.add_node("Shape", "shape", {x}, {"dims"});
  auto int_constant = [&](const std::string& name, std::vector<int64_t> values) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
  };
  ir::Node* pick = graph.add_node(
      "Gather", "pick", {shape_node->outputs[0], int_constant("idx", {-1, 1})}, {"picked"});
  ir::Node* tail = graph.add_node(
      "Slice", "tail",
      {shape_node->outputs[0], int_constant("start", {1}), int_constant("end", {INT64_MAX})},
      {"tail_dims"});
  ir::Node* batch = graph.add_node(
      "Gather", "batch", {shape_node->outputs[0], int_constant("zero", {0})}, {"batch_dim"});
  for (ir::Node* node : {pick, tail, batch}) graph.add_output(node->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 2);  // the batch dim stays dynamic
  EXPECT_EQ(constant_of(graph, "picked"), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(constant_of(graph, "tail_dims"), (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE(graph.find_value("batch_dim")->is_constant());
  EXPECT_NO_THROW(ir::verify(graph));
}

TEST(SimplifyShapeOps, RemovesNoOps) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
  ir::Node* cast = graph.add_node("Cast", "cast", {relu->outputs[0]}, {"c"});
  cast->attrs["to"] = static_cast<int64_t>(DType::Float32);
  ir::Node* transpose = graph.add_node("Transpose", "transpose", {cast->outputs[0]}, {"t"});
  transpose->attrs["perm"] = std::vector<int64_t>{0, 1};
  ir::Value* same = graph.add_constant("same", Tensor::from_vector<int64_t>({2}, {0, 3}));
  ir::Node* reshape = graph.add_node("Reshape", "reshape", {transpose->outputs[0], same}, {"s"});
  ir::Node* neg = graph.add_node("Neg", "neg", {reshape->outputs[0]}, {"out"});
  graph.add_output(neg->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 3);
  ASSERT_EQ(graph.node_count(), 2u);
  EXPECT_EQ(neg->inputs[0], relu->outputs[0]);
  EXPECT_NO_THROW(ir::verify(graph));
}

TEST(SimplifyShapeOps, NoOpProducingAGraphOutputKeepsTheOutputName) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 3}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
  ir::Node* flatten = graph.add_node("Flatten", "flatten", {relu->outputs[0]}, {"logits"});
  ir::Node* cast = graph.add_node("Cast", "cast", {x}, {"passthrough"});  // reads a graph input
  cast->attrs["to"] = static_cast<int64_t>(DType::Float32);
  graph.add_output(flatten->outputs[0]);
  graph.add_output(cast->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 1);
  ASSERT_EQ(graph.node_count(), 2u);  // Relu, and the Cast that must keep "passthrough"
  EXPECT_EQ(graph.outputs()[0]->name, "logits");
  EXPECT_EQ(graph.outputs()[0]->producer, relu);
  EXPECT_EQ(graph.outputs()[1]->name, "passthrough");
  eliminate_dead_code(graph);
  EXPECT_NO_THROW(ir::verify(graph));
}

TEST(SimplifyShapeOps, KeepsRealReshapes) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3, 4}));
  ir::Value* target = graph.add_constant("target", Tensor::from_vector<int64_t>({2}, {0, -1}));
  ir::Node* reshape = graph.add_node("Reshape", "reshape", {x, target}, {"y"});
  ir::Node* transpose = graph.add_node("Transpose", "transpose", {reshape->outputs[0]}, {"t"});
  graph.add_output(transpose->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 0);
  EXPECT_EQ(graph.node_count(), 2u);
}

// A channels-last region's exit Transpose followed by the model's own permute to NHWC
// (ConvNeXt) cancels; a pair that does not cancel becomes one Transpose of the original input.
TEST(SimplifyShapeOps, ConsecutiveTransposesCompose) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 5, 6, 3}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
  ir::Node* to_nchw = graph.add_node("Transpose", "to_nchw", {relu->outputs[0]}, {"nchw"});
  to_nchw->attrs["perm"] = std::vector<int64_t>{0, 3, 1, 2};
  ir::Node* to_nhwc = graph.add_node("Transpose", "to_nhwc", {to_nchw->outputs[0]}, {"nhwc"});
  to_nhwc->attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
  ir::Node* swap = graph.add_node("Transpose", "swap", {to_nchw->outputs[0]}, {"swapped"});
  swap->attrs["perm"] = std::vector<int64_t>{0, 1, 3, 2};  // NCHW → NCWH
  ir::Node* tail = graph.add_node("Sigmoid", "tail", {to_nhwc->outputs[0]}, {"y"});
  graph.add_output(tail->outputs[0]);
  graph.add_output(swap->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_shape_ops(graph), 3);  // two compositions, one identity removed
  eliminate_dead_code(graph);
  EXPECT_EQ(tail->inputs[0], relu->outputs[0]);  // NHWC → NCHW → NHWC is no transpose at all
  EXPECT_EQ(swap->inputs[0], relu->outputs[0]);
  EXPECT_EQ(swap->attr_ints("perm"), (std::vector<int64_t>{0, 3, 2, 1}));  // NHWC → NCWH
  EXPECT_EQ(graph.find_value("nchw"), nullptr);
  ir::infer_graph(graph);
  EXPECT_EQ(graph.find_value("swapped")->shape, shape({2, 3, 6, 5}));
  EXPECT_NO_THROW(ir::verify(graph));
}

// A Transpose that moves only dims of size 1 (a channels-last region's exit after global
// pooling) becomes a Reshape, a view: a symbolic dim in place is kept with 0, one that moves
// is inferred with -1. Transposes that reorder real dims, or move two symbolic dims, stay.
TEST(SimplifyShapeOps, TransposeOfUnitDimsBecomesReshape) {
  struct Case {
    ir::Shape input;
    std::vector<int64_t> perm;
    std::vector<int64_t> target;  // empty: the Transpose stays
  };
  const Case cases[] = {
      {shape({"batch", 1, 1, 8}), {0, 3, 1, 2}, {0, 8, 1, 1}},
      {shape({2, 1, 1, 8}), {0, 3, 1, 2}, {2, 8, 1, 1}},
      {shape({"a", 1, "b"}), {1, 0, 2}, {1, -1, 0}},
      {shape({1, "s", 1, 4}), {2, 1, 0, 3}, {1, 0, 1, 4}},
      {shape({"?", 1, 6}), {1, 0, 2}, {1, -1, 6}},
      {shape({2, 1, 3}), {2, 1, 0}, {}},
      {shape({1, "a", "b"}), {1, 2, 0}, {}},
      {shape({2, 0, 1}), {0, 2, 1}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input.to_string());
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, c.input);
    ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
    ir::Node* transpose = graph.add_node("Transpose", "t", {relu->outputs[0]}, {"y"});
    transpose->attrs["perm"] = c.perm;
    graph.add_output(transpose->outputs[0]);
    ir::infer_graph(graph);
    ir::Shape transposed = transpose->outputs[0]->shape;
    EXPECT_EQ(simplify_shape_ops(graph), c.target.empty() ? 0 : 1);
    if (c.target.empty()) {
      EXPECT_EQ(transpose->op, "Transpose");
      continue;
    }
    EXPECT_EQ(transpose->op, "Reshape");
    ASSERT_EQ(transpose->inputs.size(), 2u);
    EXPECT_EQ(transpose->inputs[1]->constant->to_int64_vector(), c.target);
    transpose->outputs[0]->shape = ir::Shape();
    ir::infer_graph(graph);
    EXPECT_EQ(transpose->outputs[0]->shape, transposed);
    EXPECT_NO_THROW(ir::verify(graph));
  }
}

}  // namespace
}  // namespace kiln::passes
