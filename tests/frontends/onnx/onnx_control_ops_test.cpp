// The ONNX control and sequence importers (onnx_ops_control.cpp): If on conditions that static
// shapes decide (taken branch inlined, graph output names kept) and the refusal of conditions
// computed from values; sequences built, edited, split, mapped and concatenated, run on the
// CPU reference against values worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::GraphProto;
using ::onnx::TensorProto;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::import_error_of;
using testing::ModelBuilder;

ir::Graph import(const ModelBuilder& builder) { return import_onnx_bytes(builder.bytes(), {}); }

// x: float [2, 3] holding 0..5.
std::map<std::string, Tensor> x_values() {
  return {{"x", Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5})}};
}

std::vector<double> run_output(const ir::Graph& graph, size_t index = 0) {
  return cpu::Executor(graph).run(x_values()).at(index).to_double_vector();
}

GraphProto& graph_attr(::onnx::NodeProto& node, const std::string& name) {
  return *testing::add_attr(node, name, ::onnx::AttributeProto::GRAPH).mutable_g();
}

// A subgraph whose one node `op` reads `inputs` and writes `output`, its output.
void one_node_graph(GraphProto& graph, const std::string& op,
                    const std::vector<std::string>& inputs, const std::string& output) {
  graph.set_name(op + "_graph");
  auto* node = graph.add_node();
  node->set_op_type(op);
  for (const std::string& input : inputs) node->add_input(input);
  node->add_output(output);
  graph.add_output()->set_name(output);
}

// "rank(x) == wanted" from static shape facts, as the dynamo exporter asks in atleast_1d.
ModelBuilder rank_test(int64_t wanted) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  builder.int64_initializer("wanted", {wanted});
  builder.node("Shape", {"x"}, {"shape"});
  builder.node("Size", {"shape"}, {"rank"});
  builder.node("Equal", {"rank", "wanted"}, {"cond"});
  return builder;
}

TEST(OnnxControlOps, IfOnAStaticConditionInlinesTheTakenBranch) {
  for (int64_t wanted : {2, 0}) {
    ModelBuilder builder = rank_test(wanted);
    auto& node = builder.node("If", {"cond"}, {"y"}, "if");
    one_node_graph(graph_attr(node, "then_branch"), "Neg", {"x"}, "negated");
    one_node_graph(graph_attr(node, "else_branch"), "Abs", {"x"}, "kept");
    builder.output("y");
    ir::Graph graph = import(builder);
    ASSERT_EQ(graph.outputs().size(), 1u);
    EXPECT_EQ(graph.outputs()[0]->name, "y");  // the If's output name, not the branch's
    EXPECT_EQ(graph.outputs()[0]->producer->op, wanted == 2 ? "Neg" : "Abs");
    EXPECT_THAT(run_output(graph),
                wanted == 2 ? ElementsAre(0, -1, -2, -3, -4, -5) : ElementsAre(0, 1, 2, 3, 4, 5));
  }
}

TEST(OnnxControlOps, IfOnAConditionFromValuesIsUnsupported) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  builder.input("flag", TensorProto::BOOL, {});
  auto& node = builder.node("If", {"flag"}, {"y"}, "if");
  one_node_graph(graph_attr(node, "then_branch"), "Neg", {"x"}, "negated");
  one_node_graph(graph_attr(node, "else_branch"), "Abs", {"x"}, "kept");
  builder.output("y");
  Error error = import_error_of(builder);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("its condition 'flag' is computed at run time"));
}

TEST(OnnxControlOps, SequencesAreBuiltEditedAndConcatenated) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  builder.int64_initializer("zero", {0});
  builder.int64_initializer("last", {-1});
  builder.node("Neg", {"x"}, {"negated"});
  builder.node("SequenceConstruct", {"x", "negated"}, {"pair"});
  builder.node("SequenceInsert", {"pair", "x", "zero"}, {"triple"});  // [x, x, -x]
  builder.node("SequenceErase", {"triple", "last"}, {"doubled"});     // [x, x]
  builder.node("SequenceAt", {"triple", "last"}, {"at_last"});        // -x
  builder.node("SequenceLength", {"triple"}, {"length"});
  auto& stack = builder.node("ConcatFromSequence", {"doubled"}, {"stacked"});
  testing::attr_int(stack, "new_axis", 1);
  testing::attr_int(stack, "axis", 1);  // [2, 2, 3]: row i of each, side by side
  testing::attr_int(builder.node("ConcatFromSequence", {"triple"}, {"rows"}), "axis", 0);
  builder.output("at_last");
  builder.output("length", TensorProto::INT64);
  builder.output("stacked");
  builder.output("rows");
  ir::Graph graph = import(builder);
  std::vector<Tensor> out = cpu::Executor(graph).run(x_values());
  EXPECT_THAT(out[0].to_double_vector(), ElementsAre(0, -1, -2, -3, -4, -5));
  EXPECT_THAT(out[1].to_double_vector(), ElementsAre(3));
  EXPECT_EQ(out[2].dims(), (Dims{2, 2, 3}));
  EXPECT_THAT(out[2].to_double_vector(), ElementsAre(0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5));
  EXPECT_EQ(out[3].dims(), (Dims{6, 3}));
}

TEST(OnnxControlOps, SplitToSequenceCutsByOnesByAScalarAndBySizes) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  TensorProto& two = builder.initializer("two", TensorProto::INT64, {});
  two.add_int64_data(2);
  builder.int64_initializer("sizes", {1, 2});
  auto& ones = builder.node("SplitToSequence", {"x"}, {"columns"});
  testing::attr_int(ones, "axis", 1);
  testing::attr_int(ones, "keepdims", 0);
  auto& chunks = builder.node("SplitToSequence", {"x", "two"}, {"chunks"});
  testing::attr_int(chunks, "axis", 1);
  auto& sized = builder.node("SplitToSequence", {"x", "sizes"}, {"sized"});
  testing::attr_int(sized, "axis", 1);
  builder.int64_initializer("first", {0});
  builder.int64_initializer("second", {1});
  builder.node("SequenceAt", {"columns", "second"}, {"column"});  // [1, 4], squeezed
  builder.node("SequenceAt", {"chunks", "second"}, {"tail"});     // the short last chunk
  builder.node("SequenceAt", {"sized", "second"}, {"wide"});
  builder.output("column");
  builder.output("tail");
  builder.output("wide");
  std::vector<Tensor> out = cpu::Executor(import(builder)).run(x_values());
  EXPECT_EQ(out[0].dims(), (Dims{2}));
  EXPECT_THAT(out[0].to_double_vector(), ElementsAre(1, 4));
  EXPECT_EQ(out[1].dims(), (Dims{2, 1}));
  EXPECT_THAT(out[1].to_double_vector(), ElementsAre(2, 5));
  EXPECT_EQ(out[2].dims(), (Dims{2, 2}));
  EXPECT_THAT(out[2].to_double_vector(), ElementsAre(1, 2, 4, 5));
}

// SequenceMap's body once per element of the sequence, the further input (a tensor) given to
// every iteration; the results concatenated.
TEST(OnnxControlOps, SequenceMapInlinesItsBodyPerElement) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  builder.float_initializer("bias", {3}, {10, 20, 30});
  builder.node("Neg", {"x"}, {"negated"});
  builder.node("SequenceConstruct", {"x", "negated"}, {"pair"});
  auto& map = builder.node("SequenceMap", {"pair", "bias"}, {"mapped"}, "map");
  GraphProto& body = graph_attr(map, "body");
  body.set_name("body");
  body.add_input()->set_name("element");
  body.add_input()->set_name("shared");
  auto* add = body.add_node();
  add->set_op_type("Add");
  add->add_input("element");
  add->add_input("shared");
  add->add_output("sum");
  body.add_output()->set_name("sum");
  testing::attr_int(builder.node("ConcatFromSequence", {"mapped"}, {"y"}), "axis", 0);
  builder.output("y");
  EXPECT_THAT(run_output(import(builder)),
              ElementsAre(10, 21, 32, 13, 24, 35, 10, 19, 28, 7, 16, 25));
}

// Sequences unroll at import, so their length is bounded: a hostile file cannot make millions
// of nodes.
TEST(OnnxControlOps, OverlongSequencesAreUnsupported) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(5000)});
  testing::attr_int(builder.node("SplitToSequence", {"x"}, {"columns"}, "split"), "axis", 1);
  testing::attr_int(builder.node("ConcatFromSequence", {"columns"}, {"y"}), "axis", 1);
  builder.output("y");
  Error error = import_error_of(builder);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("it would split 5000 tensors"));
}

// Found by fuzz_onnx: an empty static shape compared with a number, a SequenceMap with fewer
// body outputs than node outputs, and a sequence op without outputs crashed the importer.
TEST(OnnxControlOps, MalformedControlNodesGetClearErrors) {
  {
    ModelBuilder builder;
    builder.input("x", TensorProto::FLOAT, {});
    builder.int64_initializer("two", {2});
    builder.node("Shape", {"x"}, {"shape"});  // [] for a scalar
    builder.node("Equal", {"shape", "two"}, {"cond"});
    auto& node = builder.node("If", {"cond"}, {"y"}, "if");
    one_node_graph(graph_attr(node, "then_branch"), "Neg", {"x"}, "negated");
    one_node_graph(graph_attr(node, "else_branch"), "Abs", {"x"}, "kept");
    builder.output("y");
    EXPECT_EQ(import_error_of(builder).kind(), ErrorKind::Unsupported);
  }
  {
    ModelBuilder builder;
    builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
    builder.node("SequenceConstruct", {"x"}, {"items"});
    auto& map = builder.node("SequenceMap", {"items"}, {"a", "b"}, "map");
    GraphProto& body = graph_attr(map, "body");
    one_node_graph(body, "Neg", {"element"}, "negated");
    body.add_input()->set_name("element");
    testing::attr_int(builder.node("ConcatFromSequence", {"a"}, {"y"}), "axis", 0);
    builder.output("y");
    Error error = import_error_of(builder);
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_THAT(error.what(), HasSubstr("its body has 1 outputs; the node has 2"));
  }
  {
    ModelBuilder builder;
    builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
    builder.node("SplitToSequence", {"x"}, {}, "split");
    builder.node("Neg", {"x"}, {"y"});
    builder.output("y");
    EXPECT_EQ(import_error_of(builder).kind(), ErrorKind::InvalidModel);
  }
}

TEST(OnnxControlOps, AMissingSequenceIsInvalid) {
  ModelBuilder builder;
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(3)});
  builder.int64_initializer("zero", {0});
  builder.node("SequenceAt", {"x", "zero"}, {"y"}, "at");
  builder.output("y");
  Error error = import_error_of(builder);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("input 0 ('x') is not a sequence"));
}

}  // namespace
}  // namespace kiln::onnx
