// The text form: inputs with symbolic shapes, constants (values when small), node lines with
// attributes, and outputs.
#include "ir/printer.h"

#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::ir {
namespace {

using testing::shape;

TEST(Printer, ShowsInputsConstantsNodesAndOutputs) {
  Graph graph;
  graph.name = "main";
  Value* x = graph.add_input("x", DType::Float32, shape({"batch", 4}));
  Value* w = graph.add_constant("fc.weight", Tensor(DType::Float32, {3, 4}));
  Value* b = graph.add_constant("fc.bias", Tensor::from_vector<float>({3}, {0.5f, -1.0f, 2.0f}));
  Node* fc = graph.add_node("Gemm", "fc", {x, w, b}, {"y"});
  fc->attrs["transB"] = int64_t{1};
  Node* cast = graph.add_node("Cast", "to_half", {fc->outputs[0]}, {"h"});
  cast->attrs["to"] = static_cast<int64_t>(DType::Float16);
  graph.add_output(cast->outputs[0]);
  infer_graph(graph);
  fc->precision = Precision::BF16;

  std::string text = print_graph(graph);
  EXPECT_NE(text.find("graph main (inputs: %x: float32[batch, 4]) {"), std::string::npos) << text;
  EXPECT_NE(text.find("  @fc.weight: float32[3, 4] = constant\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  @fc.bias: float32[3] = constant [0.5, -1, 2]\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  %y: float32[batch, 3] = Gemm(%x, @fc.weight, @fc.bias) {transB=1}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# node fc, precision bf16"), std::string::npos) << text;
  EXPECT_NE(text.find("= Cast(%y) {to=float16}"), std::string::npos) << text;
  EXPECT_NE(text.find("}\noutputs: %h\n"), std::string::npos) << text;
}

TEST(Printer, LargeConstantValuesOnlyWhenAsked) {
  Graph graph;
  graph.name = "g";
  std::vector<int64_t> values(100, 7);
  Value* big = graph.add_constant("big", Tensor::from_vector<int64_t>({100}, values));
  Value* flag = graph.add_constant("flag", Tensor::scalar<bool>(true));
  graph.add_output(big);
  graph.add_output(flag);
  std::string plain = print_graph(graph);
  EXPECT_NE(plain.find("@big: int64[100] = constant\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("@flag: bool[] = constant true\n"), std::string::npos) << plain;
  std::string full = print_graph(graph, /*with_constant_values=*/true);
  EXPECT_NE(full.find("@big: int64[100] = constant [7, 7,"), std::string::npos) << full;
  EXPECT_NE(full.find("(36 more)"), std::string::npos) << full;
  EXPECT_NE(full.find("outputs: @big, @flag"), std::string::npos) << full;
}

TEST(Printer, AbsentInputsAndMultipleOutputs) {
  Graph graph;
  Value* x = graph.add_input("x", DType::Float32, shape({6}));
  Node* clip = graph.add_node(
      "Clip", "clip", {x, nullptr, graph.add_constant("hi", Tensor::scalar<float>(1.0f))}, {"c"});
  Node* split = graph.add_node("Split", "split", {clip->outputs[0]}, {"p", "q"});
  infer_graph(graph);
  std::string text = print_graph(graph);
  EXPECT_NE(text.find("Clip(%x, none, @hi)"), std::string::npos) << text;
  EXPECT_NE(text.find("%p: float32[3], %q: float32[3] = Split(%c)"), std::string::npos) << text;
  (void)split;
}

}  // namespace
}  // namespace kiln::ir
