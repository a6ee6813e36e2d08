// infer_graph: order of inference, refining (never widening) known shapes, and the errors
// for ops without a schema.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

TEST(InferGraph, RefinesButNeverWidensDeclaredShapes) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 8}));
  Value* target = graph.add_input("target", DType::Int64, shape({2}));
  Node* reshape = graph.add_node("Reshape", "r", {x, target}, {"y"});
  // A declared shape (as an ONNX value_info would give) is better than "[?, ?]".
  reshape->outputs[0]->shape = shape({"batch", 8});
  Node* relu = graph.add_node("Relu", "relu", {reshape->outputs[0]}, {"z"});
  relu->outputs[0]->shape = shape({4, "?"});  // a static declaration beats an inferred symbol
  infer_graph(graph);
  EXPECT_EQ(reshape->outputs[0]->shape.to_string(), "[batch, 8]");
  EXPECT_EQ(relu->outputs[0]->shape.to_string(), "[4, 8]");
  EXPECT_EQ(relu->outputs[0]->dtype, DType::Float32);
}

TEST(InferGraph, UnsupportedOpsAreListedTogether) {
  Graph graph;
  graph.name = "main";
  Value* x = graph.add_input("x", DType::Float32, shape({2}));
  Node* placeholder = graph.add_node("onnx.NonMaxSuppression", "nms", {x}, {"a"});
  placeholder->source = "model.onnx";
  graph.add_node("Frobnicate", "frob", {x}, {"b"});
  try {
    infer_graph(graph);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_NE(message.find("NonMaxSuppression"), std::string::npos) << message;
    EXPECT_NE(message.find("'nms'"), std::string::npos) << message;
    EXPECT_NE(message.find("model.onnx"), std::string::npos) << message;
    EXPECT_NE(message.find("Frobnicate"), std::string::npos) << message;
    EXPECT_NE(message.find("'frob'"), std::string::npos) << message;
  }
}

TEST(InferGraph, AllowUnknownOpsSkipsThemAndTheirUntypedReaders) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({2}));
  Node* placeholder = graph.add_node("onnx.Unique", "unique", {x}, {"u"});
  Node* after = graph.add_node("Relu", "after", {placeholder->outputs[0]}, {"r"});
  Node* independent = graph.add_node("Neg", "neg", {x}, {"n"});
  EXPECT_NO_THROW(infer_graph(graph, /*allow_unknown_ops=*/true));
  EXPECT_EQ(after->outputs[0]->dtype, DType::Undefined);
  EXPECT_EQ(independent->outputs[0]->dtype, DType::Float32);
}

TEST(InferGraph, ArityIsChecked) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({2}));
  Node* node = graph.add_node("Add", "add", {x}, {"y"});
  EXPECT_THROW(infer_node(*node), Error);
}

}  // namespace
}  // namespace kiln::ir
