// fold_constants and the optimize pipeline; these run the CPU reference kernels.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "ir/verifier.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using ir::testing::shape;

ir::Value* int_constant(ir::Graph& graph, const std::string& name, std::vector<int64_t> values) {
  return graph.add_constant(name, Tensor::from_vector<int64_t>({int64_t(values.size())}, values));
}

TEST(FoldConstants, ReplacesConstantSubgraphKeepingNames) {
  ir::Graph graph;
  ir::Value* a = graph.add_constant("a", Tensor::from_vector<float>({2}, {1.5f, -2.0f}));
  ir::Value* b = graph.add_constant("b", Tensor::from_vector<float>({2, 1}, {10.0f, 20.0f}));
  ir::Node* add = graph.add_node("Add", "add", {a, b}, {"sum"});
  ir::Node* relu = graph.add_node("Relu", "relu", {add->outputs[0]}, {"out"});
  graph.add_output(relu->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(fold_constants(graph), 2);
  EXPECT_EQ(graph.node_count(), 0u);
  const ir::Value* out = graph.outputs()[0];
  ASSERT_TRUE(out->is_constant());
  EXPECT_EQ(out->name, "out");
  EXPECT_EQ(out->shape.to_string(), "[2, 2]");
  // By hand: relu([[11.5, 8], [21.5, 18]]).
  EXPECT_EQ(out->constant->to_double_vector(), (std::vector<double>{11.5, 8.0, 21.5, 18.0}));
  EXPECT_NO_THROW(ir::verify(graph));
}

TEST(FoldConstants, LeavesHugeResultsAsNodes) {
  ir::Graph graph;
  // 4097 x 4096 = 16,781,312 elements, just over the 16M (16,777,216) limit.
  ir::Node* fill = graph.add_node("ConstantOfShape", "fill",
                                  {int_constant(graph, "dims", {4097, 4096})}, {"big"});
  graph.add_output(fill->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(fold_constants(graph), 0);
  EXPECT_EQ(graph.node_count(), 1u);
}

// A tied LM head's table, [vocab, width], read transposed by its product: over the size limit,
// but the transposed copy replaces the table, so the engine holds it once and the product
// reads a constant (no 0.6 ms transpose per inference on an H100 for Llama's 32000 x 2048).
TEST(FoldConstants, RearrangesAConstantOnlyItReadsWhateverItsSize) {
  ir::Graph graph;
  Tensor table(DType::Float32, {4097, 4096});
  table.data_mutable<float>()[1] = 7.0f;  // row 0, column 1 -> row 1, column 0
  ir::Value* weight = graph.add_constant("table", table);
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4096}));
  ir::Node* transpose = graph.add_node("Transpose", "transpose", {weight}, {"table_t"});
  transpose->attrs["perm"] = std::vector<int64_t>{1, 0};
  ir::Node* product = graph.add_node("MatMul", "head", {x, transpose->outputs[0]}, {"logits"});
  graph.add_output(product->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(fold_constants(graph), 1);
  const ir::Value* folded = product->inputs[1];
  ASSERT_TRUE(folded->is_constant());
  EXPECT_EQ(folded->shape.to_string(), "[4096, 4097]");
  EXPECT_EQ(folded->constant->data<float>()[4097], 7.0f);
}

// A mixture-of-experts layer's stacked weights [experts, in, out], split into one matrix per
// expert and squeezed: over the size limit, folded all the same (the pieces replace the stack),
// so that no expert's weights are copied at run time.
TEST(FoldConstants, SplitsAConstantOnlyItReadsWhateverItsSize) {
  ir::Graph graph;
  Tensor stacked(DType::Float32, {2, 4097, 2048});
  stacked.data_mutable<float>()[int64_t{4097} * 2048 + 5] = 3.0f;  // expert 1, row 0, column 5
  ir::Value* weights = graph.add_constant("experts", stacked);
  ir::Node* split = graph.add_node("Split", "split", {weights}, {"expert0", "expert1"});
  split->attrs["axis"] = int64_t{0};
  split->attrs["split"] = std::vector<int64_t>{1, 1};
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4097}));
  for (int e = 0; e < 2; ++e) {
    std::string index = std::to_string(e);
    ir::Node* squeeze =
        graph.add_node("Squeeze", "squeeze" + index, {split->outputs[e]}, {"matrix" + index});
    squeeze->attrs["axes"] = std::vector<int64_t>{0};
    ir::Node* product =
        graph.add_node("MatMul", "product" + index, {x, squeeze->outputs[0]}, {"y" + index});
    graph.add_output(product->outputs[0]);
  }
  ir::infer_graph(graph);
  EXPECT_EQ(fold_constants(graph), 3);
  ASSERT_EQ(graph.node_count(), 2u);
  const ir::Value* second = graph.nodes()[1]->inputs[1];
  ASSERT_TRUE(second->is_constant());
  EXPECT_EQ(second->shape.to_string(), "[4097, 2048]");
  EXPECT_EQ(second->constant->data<float>()[5], 3.0f);
}

TEST(FoldConstants, LeavesALargeRearrangementOfASharedConstant) {
  ir::Graph graph;
  ir::Value* weight = graph.add_constant("table", Tensor(DType::Float32, {4097, 4096}));
  ir::Value* ids = graph.add_input("ids", DType::Int64, shape({2}));
  ir::Node* transpose = graph.add_node("Transpose", "transpose", {weight}, {"table_t"});
  transpose->attrs["perm"] = std::vector<int64_t>{1, 0};
  ir::Node* lookup = graph.add_node("Gather", "embedding", {weight, ids}, {"rows"});
  graph.add_output(transpose->outputs[0]);
  graph.add_output(lookup->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(fold_constants(graph), 0);  // folding would hold the table twice
  EXPECT_EQ(graph.node_count(), 2u);
}

// x → Shape → Gather(0) → Unsqueeze ─┐
//                     constant [-1] ─┴→ Concat → Reshape(x, ·)
TEST(Optimize, ShapeChainOfStaticInputCollapsesToOneReshape) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 3, 4}));
  ir::Node* shape_node = graph.add_node("Shape", "shape", {x}, {"dims"});
  ir::Node* first = graph.add_node(
      "Gather", "first",
      {shape_node->outputs[0], graph.add_constant("zero", Tensor::scalar<int64_t>(0))}, {"d0"});
  ir::Node* unsqueeze = graph.add_node("Unsqueeze", "unsqueeze", {first->outputs[0]}, {"d0_1d"});
  unsqueeze->attrs["axes"] = std::vector<int64_t>{0};
  ir::Node* concat = graph.add_node(
      "Concat", "concat", {unsqueeze->outputs[0], int_constant(graph, "rest", {-1})}, {"target"});
  concat->attrs["axis"] = int64_t{0};
  ir::Node* reshape = graph.add_node("Reshape", "reshape", {x, concat->outputs[0]}, {"y"});
  graph.add_output(reshape->outputs[0]);

  optimize(graph);
  ASSERT_EQ(graph.node_count(), 1u);
  const ir::Node* only = graph.nodes()[0];
  EXPECT_EQ(only->op, "Reshape");
  ASSERT_TRUE(only->inputs[1]->is_constant());
  EXPECT_EQ(only->inputs[1]->constant->to_int64_vector(), (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(graph.outputs()[0]->name, "y");
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[2, 12]");
}

TEST(Optimize, ShapeChainToTheSameShapeDisappears) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 3, 4}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"r"});
  ir::Node* shape_node = graph.add_node("Shape", "shape", {relu->outputs[0]}, {"dims"});
  ir::Node* tail = graph.add_node(
      "Slice", "tail",
      {shape_node->outputs[0], int_constant(graph, "start", {1}), int_constant(graph, "end", {3})},
      {"tail"});
  ir::Node* head = graph.add_node(
      "Gather", "head", {shape_node->outputs[0], int_constant(graph, "zero", {0})}, {"head"});
  ir::Node* concat =
      graph.add_node("Concat", "concat", {head->outputs[0], tail->outputs[0]}, {"target"});
  concat->attrs["axis"] = int64_t{0};
  ir::Node* reshape =
      graph.add_node("Reshape", "reshape", {relu->outputs[0], concat->outputs[0]}, {"y"});
  graph.add_output(reshape->outputs[0]);

  optimize(graph);
  ASSERT_EQ(graph.node_count(), 1u);
  EXPECT_EQ(graph.nodes()[0]->op, "Relu");
  EXPECT_EQ(graph.outputs()[0]->name, "y");
  EXPECT_EQ(graph.outputs()[0]->producer, graph.nodes()[0]);
}

TEST(Optimize, SymbolicBatchKeepsGraphValidAndFoldsStaticParts) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 3, 4}));
  ir::Node* shape_node = graph.add_node("Shape", "shape", {x}, {"dims"});
  ir::Node* rows = graph.add_node(
      "Gather", "rows", {shape_node->outputs[0], int_constant(graph, "one", {1})}, {"rows"});
  ir::Node* cols = graph.add_node(
      "Gather", "cols", {shape_node->outputs[0], int_constant(graph, "two", {2})}, {"cols"});
  ir::Node* product =
      graph.add_node("Mul", "product", {rows->outputs[0], cols->outputs[0]}, {"features"});
  ir::Node* concat = graph.add_node(
      "Concat", "concat", {int_constant(graph, "keep", {0}), product->outputs[0]}, {"target"});
  concat->attrs["axis"] = int64_t{0};
  ir::Node* reshape = graph.add_node("Reshape", "reshape", {x, concat->outputs[0]}, {"y"});
  graph.add_output(reshape->outputs[0]);

  optimize(graph);
  ASSERT_EQ(graph.node_count(), 1u);  // 3·4 = 12 folded: Reshape(x, [0, 12])
  EXPECT_EQ(graph.nodes()[0]->inputs[1]->constant->to_int64_vector(),
            (std::vector<int64_t>{0, 12}));
  EXPECT_EQ(graph.outputs()[0]->shape.to_string(), "[batch, 12]");
}

TEST(Optimize, UnsupportedOpsAreReported) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2}));
  ir::Node* unknown = graph.add_node("onnx.TopK", "topk", {x}, {"y"});
  graph.add_output(unknown->outputs[0]);
  EXPECT_THROW(optimize(graph), Error);
}

}  // namespace
}  // namespace kiln::passes
