// simplify_constant_operands: GatherND reading its data in order becomes a Reshape, And with
// all-true (Or with all-false) an Expand, an Expand read only as attention masks goes; each
// graph computes what it did, on the CPU reference with fresh random inputs.
#include <gtest/gtest.h>

#include "backends/cpu/executor.h"
#include "ir/op_schema.h"
#include "kiln/kiln.h"
#include "pass_test_helpers.h"

namespace kiln::passes {
namespace {

using pass_testing::count_op;

bool same_values(const Tensor& a, const Tensor& b) {
  return a.dims() == b.dims() && a.to_double_vector() == b.to_double_vector();
}

Tensor bools(const Dims& dims, const std::vector<int64_t>& values) {
  Tensor tensor(DType::Bool, dims);
  for (int64_t i = 0; i < tensor.numel(); ++i)
    tensor.data_mutable<bool>()[i] = values[size_t(i) % values.size()] != 0;
  return tensor;
}

// Indices [B, 1, 1, K, 2] naming (b, k) in order: Hugging Face's padding mask lookup.
Tensor enumerating_indices(int64_t batch, int64_t keys, bool swap_last_two) {
  std::vector<int64_t> values;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t k = 0; k < keys; ++k) {
      int64_t key = swap_last_two && k >= keys - 2 ? 2 * keys - 3 - k : k;
      values.push_back(b);
      values.push_back(k == 0 ? key - keys : key);  // a negative index, normalized
    }
  }
  return Tensor::from_vector<int64_t>({batch, 1, 1, keys, 2}, values);
}

// mask (int64 [B, K]) → Cast → GatherND(indices) → And(constant) → attention mask; the
// attention's Q/K/V are inputs. Returns the graph with shapes inferred.
ir::Graph padding_mask_graph(const Tensor& indices, const Tensor& and_constant) {
  constexpr int64_t kBatch = 2, kHeads = 2, kSeq = 6, kHead = 4;
  ir::Graph graph;
  ir::Value* mask = graph.add_input("mask", DType::Int64, ir::Shape::from_dims({kBatch, kSeq}));
  ir::Node* cast = graph.add_node("Cast", "to", {mask}, {"to"});
  cast->attrs["to"] = int64_t(DType::Bool);
  ir::Node* gather = graph.add_node(
      "GatherND", "index", {cast->outputs[0], graph.add_constant("indices", indices)}, {"index"});
  ir::Node* both = graph.add_node(
      "And", "and", {graph.add_constant("and_1", and_constant), gather->outputs[0]}, {"both"});
  std::vector<ir::Value*> qkv;
  for (const char* name : {"q", "k", "v"}) {
    qkv.push_back(
        graph.add_input(name, DType::Float32, ir::Shape::from_dims({kBatch, kHeads, kSeq, kHead})));
  }
  ir::Value* previous = nullptr;
  for (int layer = 0; layer < 2; ++layer) {  // two layers read the one mask
    std::string name = "attention_" + std::to_string(layer);
    ir::Node* attention = graph.add_node(
        "Attention", name, {previous ? previous : qkv[0], qkv[1], qkv[2], both->outputs[0]},
        {name + ".y"});
    previous = attention->outputs[0];
  }
  graph.add_output(previous);
  ir::infer_graph(graph);
  return graph;
}

std::map<std::string, Tensor> padding_inputs() {
  Tensor mask = Tensor::from_vector<int64_t>({2, 6}, {1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1});
  std::map<std::string, Tensor> inputs{{"mask", mask}};
  uint32_t seed = 30;
  for (const char* name : {"q", "k", "v"})
    inputs[name] = cpu::testing::random_tensor({2, 2, 6, 4}, seed++);
  return inputs;
}

TEST(SimplifyConstantOperands, APaddingMaskLookupBecomesAViewTheAttentionsRead) {
  ir::Graph graph = padding_mask_graph(enumerating_indices(2, 6, false), bools({1, 1, 6, 1}, {1}));
  std::map<std::string, Tensor> inputs = padding_inputs();
  std::vector<Tensor> before = cpu::Executor(graph).run(inputs);
  EXPECT_EQ(simplify_constant_operands(graph), 3);  // GatherND, And, then the Expand
  EXPECT_EQ(count_op(graph, "GatherND"), 0);
  EXPECT_EQ(count_op(graph, "And"), 0);
  EXPECT_EQ(count_op(graph, "Expand"), 0);
  EXPECT_EQ(count_op(graph, "Reshape"), 1);
  for (const ir::Node* node : graph.nodes()) {
    if (node->op == "Attention") EXPECT_EQ(node->input(3)->producer->op, "Reshape");
  }
  std::vector<Tensor> after = cpu::Executor(graph).run(inputs);
  EXPECT_TRUE(same_values(before[0], after[0]));
}

TEST(SimplifyConstantOperands, LeavesLookupsOutOfOrderAndConstantsThatDecide) {
  // Indices that swap two keys: a real gather. A constant with one false: a real And.
  ir::Graph graph =
      padding_mask_graph(enumerating_indices(2, 6, true), bools({1, 1, 6, 1}, {1, 0}));
  std::map<std::string, Tensor> inputs = padding_inputs();
  std::vector<Tensor> before = cpu::Executor(graph).run(inputs);
  EXPECT_EQ(simplify_constant_operands(graph), 0);
  EXPECT_EQ(count_op(graph, "GatherND"), 1);
  EXPECT_EQ(count_op(graph, "And"), 1);
  std::vector<Tensor> after = cpu::Executor(graph).run(inputs);
  EXPECT_TRUE(same_values(before[0], after[0]));
}

// An And with an all-true constant whose output a graph output reads becomes an Expand that
// stays, and so does one that widens the keys' axis (a narrower mask means "padded").
TEST(SimplifyConstantOperands, ExpandsStayWhereSomethingButAMaskReadsThem) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Bool, ir::Shape::from_dims({2, 1, 1, 6}));
  ir::Node* either = graph.add_node(
      "And", "and", {x, graph.add_constant("all", bools({1, 1, 6, 1}, {1}))}, {"either"});
  graph.add_output(either->outputs[0]);
  ir::Value* narrow = graph.add_input("narrow", DType::Bool, ir::Shape::from_dims({2, 1, 6, 1}));
  ir::Node* widen = graph.add_node(
      "Expand", "widen",
      {narrow, graph.add_constant("shape", Tensor::from_vector<int64_t>({4}, {2, 1, 6, 6}))},
      {"wide"});
  ir::Node* attention = graph.add_node(
      "Attention", "attention",
      {graph.add_input("q", DType::Float32, ir::Shape::from_dims({2, 2, 6, 4})),
       graph.add_input("k", DType::Float32, ir::Shape::from_dims({2, 2, 6, 4})),
       graph.add_input("v", DType::Float32, ir::Shape::from_dims({2, 2, 6, 4})), widen->outputs[0]},
      {"y"});
  graph.add_output(attention->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_EQ(simplify_constant_operands(graph), 1);  // the And, into an Expand the output keeps
  EXPECT_EQ(count_op(graph, "And"), 0);
  EXPECT_EQ(count_op(graph, "Expand"), 2);
  EXPECT_EQ(graph.outputs()[0]->name, "either");
}

}  // namespace
}  // namespace kiln::passes
