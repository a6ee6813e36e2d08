// The verifier: a valid graph passes; each kind of broken invariant is reported by name.
#include "ir/verifier.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

// verify's message, or "" if the graph is valid.
std::string problems(const Graph& graph) {
  try {
    verify(graph);
    return "";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    return error.what();
  }
}

struct SmallGraph {
  Graph graph;
  Value* x;
  Node* relu;
  SmallGraph() {
    graph.name = "g";
    x = graph.add_input("x", DType::Float32, shape({"batch", 4}));
    relu = graph.add_node("Relu", "relu", {x}, {"y"});
    graph.add_output(relu->outputs[0]);
    infer_graph(graph);
  }
};

TEST(Verifier, AcceptsValidGraph) {
  SmallGraph small;
  EXPECT_EQ(problems(small.graph), "");
}

TEST(Verifier, ReportsUnknownOpAndBadArity) {
  SmallGraph small;
  Node* unknown = small.graph.add_node("onnx.TopK", "topk", {small.x}, {"k"});
  unknown->outputs[0]->dtype = DType::Float32;
  Node* add = small.graph.add_node("Add", "add", {small.x}, {"a"});
  add->outputs[0]->dtype = DType::Float32;
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("TopK is not supported"), std::string::npos) << message;
  EXPECT_NE(message.find("Add node 'add' has 1 inputs"), std::string::npos) << message;
  EXPECT_NE(message.find("2 problems"), std::string::npos) << message;
}

TEST(Verifier, ReportsUseBeforeDefinition) {
  SmallGraph small;
  Node* late = small.graph.add_node("Neg", "neg", {small.x}, {"n"});
  late->outputs[0]->dtype = DType::Float32;
  small.relu->inputs[0] = late->outputs[0];  // relu now reads a value defined after it
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("Relu node 'relu' reads 'n'"), std::string::npos) << message;
}

TEST(Verifier, ReportsValueDefinedTwice) {
  SmallGraph small;
  Node* again = small.graph.add_node("Neg", "neg", {small.x}, {"n"});
  again->outputs[0] = small.relu->outputs[0];
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("'y' is defined twice"), std::string::npos) << message;
}

TEST(Verifier, ReportsUndefinedGraphOutputAndMissingDtype) {
  SmallGraph small;
  Node* orphan = small.graph.add_node("Neg", "neg", {small.x}, {"n"});
  Value* dangling = orphan->outputs[0];
  small.graph.add_output(dangling);
  dangling->producer = nullptr;  // as if its node were removed
  small.relu->outputs[0]->dtype = DType::Undefined;
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("'y' of Relu node 'relu' has no dtype"), std::string::npos) << message;
  EXPECT_NE(message.find("lists another producer"), std::string::npos) << message;
}

TEST(Verifier, ReportsGraphOutputNothingProduces) {
  SmallGraph small;
  Graph other;
  Value* foreign = other.add_input("foreign", DType::Float32, shape({1}));
  small.graph.add_output(foreign);
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("graph output 'foreign' is not produced"), std::string::npos) << message;
}

TEST(Verifier, LimitsTheListButCountsAll) {
  SmallGraph small;
  for (int i = 0; i < 30; ++i)
    small.graph.add_node("Bogus", "b" + std::to_string(i), {small.x}, {""});
  std::string message = problems(small.graph);
  EXPECT_NE(message.find("more"), std::string::npos) << message;
  EXPECT_NE(message.find("problems"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln::ir
