// Shape and type inference of elementwise ops: broadcasting with symbolic dims, dtype rules
// and the errors for mismatched dtypes.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

// Infers `op` over inputs of the given dtype/shape and returns the output value.
Value* infer_binary(Graph& graph, const std::string& op, DType a_type, Shape a_shape, DType b_type,
                    Shape b_shape) {
  Value* a = graph.add_input("a", a_type, std::move(a_shape));
  Value* b = graph.add_input("b", b_type, std::move(b_shape));
  Node* node = graph.add_node(op, "n", {a, b}, {"y"});
  infer_node(*node);
  return node->outputs[0];
}

std::string broadcast(Shape a, Shape b) {
  Graph graph;
  return infer_binary(graph, "Add", DType::Float32, std::move(a), DType::Float32, std::move(b))
      ->shape.to_string();
}

TEST(ElementwiseSchema, BroadcastsStaticDims) {
  EXPECT_EQ(broadcast(shape({2, 1, 4}), shape({3, 1})), "[2, 3, 4]");
  EXPECT_EQ(broadcast(shape({5}), shape({})), "[5]");
}

TEST(ElementwiseSchema, BroadcastsSymbolicDims) {
  EXPECT_EQ(broadcast(shape({"batch", 4}), shape({1, 4})), "[batch, 4]");        // symbol vs 1
  EXPECT_EQ(broadcast(shape({"batch", 4}), shape({"batch", 1})), "[batch, 4]");  // equal symbols
  EXPECT_EQ(broadcast(shape({"batch", 4}), shape({8, 4})), "[8, 4]");            // static != 1 wins
  EXPECT_EQ(broadcast(shape({"batch"}), shape({"seq"})), "[?]");  // two symbols: unknown
  EXPECT_EQ(broadcast(shape({"?"}), shape({1})), "[?]");
  EXPECT_EQ(broadcast(Shape(), shape({3})).substr(0, 3), "[?]");  // unknown rank stays unknown
}

TEST(ElementwiseSchema, IncompatibleStaticDimsNameTheNode) {
  try {
    broadcast(shape({3}), shape({4}));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(std::string(error.what()).find("Add node 'n'"), std::string::npos) << error.what();
  }
}

TEST(ElementwiseSchema, DtypeMismatchNamesNodeAndBothDtypes) {
  Graph graph;
  try {
    infer_binary(graph, "Add", DType::Float32, shape({2}), DType::Int64, shape({2}));
    FAIL() << "expected an error";
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_NE(message.find("Add node 'n'"), std::string::npos) << message;
    EXPECT_NE(message.find("float32"), std::string::npos) << message;
    EXPECT_NE(message.find("int64"), std::string::npos) << message;
  }
}

TEST(ElementwiseSchema, ComparisonsGiveBool) {
  for (const char* op : {"Equal", "Less", "Greater"}) {
    Graph graph;
    Value* y = infer_binary(graph, op, DType::Int64, shape({"batch", 1}), DType::Int64, shape({3}));
    EXPECT_EQ(y->dtype, DType::Bool) << op;
    EXPECT_EQ(y->shape.to_string(), "[batch, 3]") << op;
  }
}

TEST(ElementwiseSchema, PowKeepsBaseTypeWithOtherExponentType) {
  Graph graph;
  Value* y = infer_binary(graph, "Pow", DType::Float16, shape({4}), DType::Float32, shape({}));
  EXPECT_EQ(y->dtype, DType::Float16);
  EXPECT_EQ(y->shape.to_string(), "[4]");
}

TEST(ElementwiseSchema, UnaryFloatOpsRejectIntegers) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Int32, shape({2}));
  Node* node = graph.add_node("Sqrt", "root", {x}, {"y"});
  EXPECT_THROW(infer_node(*node), Error);
  Node* relu = graph.add_node("Relu", "relu", {x}, {"z"});
  infer_node(*relu);  // Relu is fine on integers
  EXPECT_EQ(relu->outputs[0]->dtype, DType::Int32);
}

TEST(ElementwiseSchema, WhereBroadcastsAllThreeAndChecksCondition) {
  Graph graph;
  Value* cond = graph.add_input("cond", DType::Bool, shape({"batch", 1, 1}));
  Value* x = graph.add_input("x", DType::Float32, shape({1, 4}));
  Value* y = graph.add_input("y", DType::Float32, shape({3, 1}));
  Node* node = graph.add_node("Where", "where", {cond, x, y}, {"out"});
  infer_node(*node);
  EXPECT_EQ(node->outputs[0]->shape.to_string(), "[batch, 3, 4]");
  EXPECT_EQ(node->outputs[0]->dtype, DType::Float32);
  Node* bad = graph.add_node("Where", "bad", {x, x, y}, {"out2"});  // float condition
  EXPECT_THROW(infer_node(*bad), Error);
}

TEST(ElementwiseSchema, CastTakesDtypeFromAttribute) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 2}));
  Node* node = graph.add_node("Cast", "cast", {x}, {"y"});
  node->attrs["to"] = static_cast<int64_t>(DType::BFloat16);
  infer_node(*node);
  EXPECT_EQ(node->outputs[0]->dtype, DType::BFloat16);
  EXPECT_EQ(node->outputs[0]->shape.to_string(), "[batch, 2]");
  node->attrs["to"] = int64_t{99};
  EXPECT_THROW(infer_node(*node), Error);
}

TEST(ElementwiseSchema, LogicOpsNeedBool) {
  Graph graph;
  Value* a = graph.add_input("a", DType::Bool, shape({2}));
  Value* f = graph.add_input("f", DType::Float32, shape({2}));
  Node* ok = graph.add_node("Not", "not", {a}, {"y"});
  infer_node(*ok);
  EXPECT_EQ(ok->outputs[0]->dtype, DType::Bool);
  Node* bad = graph.add_node("And", "and", {a, f}, {"z"});
  EXPECT_THROW(infer_node(*bad), Error);
}

TEST(ElementwiseSchema, MaxIsVariadicAndIsNaNGivesBool) {
  Graph graph;
  Value* a = graph.add_input("a", DType::Float32, shape({"batch", 1}));
  Value* b = graph.add_input("b", DType::Float32, shape({5}));
  Value* c = graph.add_input("c", DType::Float32, shape({}));
  Node* max = graph.add_node("Max", "max", {a, b, c}, {"m"});
  infer_node(*max);
  EXPECT_EQ(max->outputs[0]->shape.to_string(), "[batch, 5]");
  Node* nan = graph.add_node("IsNaN", "nan", {a}, {"isnan"});
  infer_node(*nan);
  EXPECT_EQ(nan->outputs[0]->dtype, DType::Bool);
}

}  // namespace
}  // namespace kiln::ir
