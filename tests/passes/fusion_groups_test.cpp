// find_fusion_groups: which pointwise nodes group together, which may not (another domain,
// a broadcast that is not one block, integer math, dynamic dims), and the rule that keeps
// "run the group at its last node" a valid order.
#include "passes/fusion_groups.h"

#include <gtest/gtest.h>

#include <set>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"         // tests/ir/shape_literals.h
#include "passes/pass_test_helpers.h"  // tests/passes

namespace kiln::passes {
namespace {

using ir::testing::shape;
using pass_testing::weight;

std::vector<std::string> names(const FusionGroup& group) {
  std::vector<std::string> result;
  for (const ir::Node* node : group.nodes) result.push_back(node->name);
  return result;
}

ir::Value* scalar(ir::Graph& graph, const std::string& name, float value) {
  return graph.add_constant(name, Tensor::from_vector<float>({}, {value}));
}

TEST(FusionGroups, ABiasGeluScaleChainIsOneGroup) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 8, 16}));
  ir::Node* add = graph.add_node("Add", "add", {x, weight(graph, "b", {16}, 1)}, {"a"});
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {add->outputs[0]}, {"g"});
  ir::Node* mul = graph.add_node("Mul", "mul", {gelu->outputs[0], scalar(graph, "s", 0.5f)}, {"y"});
  graph.add_output(mul->outputs[0]);
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"add", "gelu", "mul"}));
  EXPECT_EQ(groups[0].domain, (Dims{4, 8, 16}));
}

// a = x + 1; m = MatMul(a, w); y = a * m: `mul` may not join `a`'s group, since the group
// would then need m, which needs the group. Neither is left with two nodes.
TEST(FusionGroups, ANodeThatReadsAnOutsideUserOfTheGroupDoesNotJoinIt) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({8, 8}));
  ir::Node* add = graph.add_node("Add", "add", {x, scalar(graph, "one", 1.f)}, {"a"});
  ir::Node* relu = graph.add_node("Relu", "relu", {add->outputs[0]}, {"r"});
  ir::Node* matmul =
      graph.add_node("MatMul", "matmul", {relu->outputs[0], weight(graph, "w", {8, 8}, 2)}, {"m"});
  ir::Node* mul = graph.add_node("Mul", "mul", {relu->outputs[0], matmul->outputs[0]}, {"p"});
  ir::Node* tanh = graph.add_node("Tanh", "tanh", {mul->outputs[0]}, {"y"});
  graph.add_output(tanh->outputs[0]);
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"add", "relu"}));
  EXPECT_EQ(names(groups[1]), (std::vector<std::string>{"mul", "tanh"}));
}

// exp and neg over [4, 16] feed an add over [3, 4, 16]: where only the add reads them, the add
// takes their group (the kernel recomputes them per element it writes); where the graph also
// delivers neg, they keep a group of their own.
TEST(FusionGroups, AGroupOverSmallerDimsJoinsTheNodeThatBroadcastsIt) {
  for (bool neg_delivered : {false, true}) {
    ir::Graph graph;
    ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 16}));
    ir::Value* wide = graph.add_input("wide", DType::Float32, shape({3, 4, 16}));
    ir::Node* exp = graph.add_node("Exp", "exp", {x}, {"e"});
    ir::Node* neg = graph.add_node("Neg", "neg", {exp->outputs[0]}, {"n"});
    ir::Node* add = graph.add_node("Add", "add", {wide, neg->outputs[0]}, {"a"});  // [3,4,16]
    ir::Node* sig = graph.add_node("Sigmoid", "sig", {add->outputs[0]}, {"y"});
    graph.add_output(sig->outputs[0]);
    if (neg_delivered) graph.add_output(neg->outputs[0]);
    ir::infer_graph(graph);
    std::vector<FusionGroup> groups = find_fusion_groups(graph);
    if (!neg_delivered) {
      ASSERT_EQ(groups.size(), 1u);
      EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"exp", "neg", "add", "sig"}));
      EXPECT_EQ(groups[0].domain, (Dims{3, 4, 16}));
      continue;
    }
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"exp", "neg"}));
    EXPECT_EQ(names(groups[1]), (std::vector<std::string>{"add", "sig"}));
  }
}

// Hugging Face's rotary embedding, q * cos + rotate_half(q) * sin with
// rotate_half(q) = cat(-q[..., 4:], q[..., :4]): one group over q's dims that reads q, cos and
// sin ([1, S, 1, D]: two blocks of q's [B, S, H, D]) and writes the rotated q.
TEST(FusionGroups, ARotaryEmbeddingIsOneGroupWithItsSlicesAndConcat) {
  ir::Graph graph;
  ir::Value* q = graph.add_input("q", DType::Float32, shape({2, 5, 3, 8}));
  ir::Value* cos = weight(graph, "cos", {1, 5, 1, 8}, 1);
  ir::Value* sin = weight(graph, "sin", {1, 5, 1, 8}, 2);
  auto ints = [&](const std::string& name, int64_t value) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({1}, {value}));
  };
  ir::Node* first = graph.add_node(
      "Slice", "first", {q, ints("s0", 0), ints("e0", 4), ints("a0", 3), ints("t0", 1)}, {"q1"});
  ir::Node* second = graph.add_node(
      "Slice", "second", {q, ints("s1", 4), ints("e1", 8), ints("a1", -1), ints("t1", 1)}, {"q2"});
  ir::Node* neg = graph.add_node("Neg", "neg", {second->outputs[0]}, {"n"});
  ir::Node* cat = graph.add_node("Concat", "cat", {neg->outputs[0], first->outputs[0]}, {"r"});
  cat->attrs["axis"] = int64_t(3);
  ir::Node* straight = graph.add_node("Mul", "straight", {q, cos}, {"qc"});
  ir::Node* rotated = graph.add_node("Mul", "rotated", {cat->outputs[0], sin}, {"rs"});
  ir::Node* sum =
      graph.add_node("Add", "sum", {straight->outputs[0], rotated->outputs[0]}, {"embedded"});
  graph.add_output(sum->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_TRUE(is_fusible_index_op(*first));
  EXPECT_TRUE(is_fusible_index_op(*cat));
  ASSERT_TRUE(slice_window(*second).has_value());
  EXPECT_EQ(slice_window(*second)->starts, (Dims{0, 0, 0, 4}));
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"first", "second", "neg", "cat", "straight",
                                                        "rotated", "sum"}));
  EXPECT_EQ(groups[0].domain, (Dims{2, 5, 3, 8}));
  EXPECT_EQ(groups[0].inputs, (std::vector<const ir::Value*>{q, cos, sin}));
  EXPECT_EQ(groups[0].outputs, (std::vector<const ir::Value*>{sum->outputs[0]}));
}

// A slice of a group's value that another node also reads may not take the group (the group
// would have to write a value over other dims than its outputs').
TEST(FusionGroups, ASliceOfAValueReadElsewhereStartsItsOwnGroup) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 8}));
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {x}, {"g"});
  ir::Node* scale =
      graph.add_node("Mul", "scale", {gelu->outputs[0], scalar(graph, "h", .5f)}, {"gs"});
  auto ints = [&](const std::string& name, int64_t value) {
    return graph.add_constant(name, Tensor::from_vector<int64_t>({1}, {value}));
  };
  ir::Node* head = graph.add_node(
      "Slice", "head", {scale->outputs[0], ints("s", 0), ints("e", 4), ints("a", 1)}, {"h4"});
  ir::Node* tanh = graph.add_node("Tanh", "tanh", {head->outputs[0]}, {"t"});
  graph.set_outputs({scale->outputs[0], tanh->outputs[0]});
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"gelu", "scale"}));
  EXPECT_EQ(names(groups[1]), (std::vector<std::string>{"head", "tanh"}));
  EXPECT_EQ(groups[1].domain, (Dims{4, 4}));
}

TEST(FusionGroups, IntegerMathAndDynamicDimsStayUnfused) {
  ir::Graph graph;
  ir::Value* ids = graph.add_input("ids", DType::Int64, shape({4, 8}));
  ir::Node* add = graph.add_node(
      "Add", "add", {ids, graph.add_constant("one", Tensor::from_vector<int64_t>({}, {1}))}, {"a"});
  ir::Node* mul = graph.add_node("Mul", "mul", {add->outputs[0], add->outputs[0]}, {"m"});
  ir::Value* x = graph.add_input("x", DType::Float32, shape({"batch", 8}));
  ir::Node* exp = graph.add_node("Exp", "exp", {x}, {"e"});
  ir::Node* neg = graph.add_node("Neg", "neg", {exp->outputs[0]}, {"n"});
  graph.set_outputs({mul->outputs[0], neg->outputs[0]});
  ir::infer_graph(graph);
  EXPECT_FALSE(is_fusible_pointwise(*add));
  EXPECT_FALSE(is_fusible_pointwise(*exp));
  EXPECT_TRUE(find_fusion_groups(graph).empty());
}

TEST(FusionGroups, MasksAndCastsFuseWithTheirFloatMath) {
  ir::Graph graph;
  ir::Value* mask = graph.add_input("mask", DType::Int64, shape({2, 1, 1, 8}));
  ir::Value* scores = graph.add_input("scores", DType::Float32, shape({2, 4, 8, 8}));
  ir::Node* cast = graph.add_node("Cast", "cast", {mask}, {"m"});
  cast->attrs["to"] = int64_t(DType::Float32);
  ir::Node* sub =
      graph.add_node("Sub", "sub", {scalar(graph, "one", 1.f), cast->outputs[0]}, {"s"});
  ir::Node* big =
      graph.add_node("Mul", "big", {sub->outputs[0], scalar(graph, "min", -1e9f)}, {"b"});
  ir::Node* add = graph.add_node("Add", "add", {scores, big->outputs[0]}, {"y"});
  graph.add_output(add->outputs[0]);
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  // The mask arithmetic has the mask's dims, [2, 1, 1, 8], two blocks of the scores'; only the
  // add reads it, so the add takes it into a group over the scores' dims.
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"cast", "sub", "big", "add"}));
  EXPECT_TRUE(is_fusible_pointwise(*add));
  EXPECT_EQ(groups[0].domain, (Dims{2, 4, 8, 8}));
}

TEST(FusionGroups, BlockBroadcasts) {
  EXPECT_TRUE(is_block_broadcast({16}, {4, 8, 16}));            // a bias
  EXPECT_TRUE(is_block_broadcast({8, 1}, {4, 8, 16}));          // per row of the middle dim
  EXPECT_TRUE(is_block_broadcast({1, 3, 1, 1}, {2, 3, 5, 5}));  // per channel
  EXPECT_TRUE(is_block_broadcast({}, {2, 3}));                  // a scalar
  EXPECT_TRUE(is_block_broadcast({2, 3, 5, 5}, {2, 3, 5, 5}));
  EXPECT_TRUE(is_block_broadcast({2, 1, 1, 1}, {2, 3, 5, 5}));   // per batch
  EXPECT_FALSE(is_block_broadcast({2, 1, 5, 1}, {2, 3, 5, 5}));  // two blocks
  EXPECT_TRUE(is_block_broadcast({3, 1}, {2, 3, 5}));
  EXPECT_FALSE(is_block_broadcast({4}, {2, 3}));  // not broadcastable at all
}

TEST(FusionGroups, InlinedScalarsAreOneElementFloatOrBoolConstants) {
  ir::Graph graph;
  EXPECT_TRUE(is_inlined_scalar(*scalar(graph, "s", 2.f)));
  EXPECT_FALSE(is_inlined_scalar(*weight(graph, "w", {2}, 3)));
  EXPECT_FALSE(is_inlined_scalar(*graph.add_constant("i", Tensor::from_vector<int64_t>({}, {1}))));
  EXPECT_FALSE(is_inlined_scalar(*graph.add_input("x", DType::Float32, shape({}))));
}

}  // namespace
}  // namespace kiln::passes

namespace kiln::passes {
namespace {

using ir::testing::shape;
using pass_testing::weight;

// x + r → LayerNorm → Gelu: the residual add and the Gelu fuse around the norm.
TEST(FusionGroups, AResidualAddAndAnActivationFuseAroundALayerNorm) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8, 64}));
  ir::Value* r = graph.add_input("r", DType::Float32, shape({2, 8, 64}));
  ir::Node* add = graph.add_node("Add", "add", {x, r}, {"sum"});
  ir::Node* norm = graph.add_node(
      "LayerNormalization", "norm",
      {add->outputs[0], weight(graph, "gamma", {64}, 1), weight(graph, "beta", {64}, 2)}, {"n"});
  ir::Node* gelu = graph.add_node("Gelu", "gelu", {norm->outputs[0]}, {"g"});
  graph.set_outputs({add->outputs[0], gelu->outputs[0]});
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"add", "norm", "gelu"}));
  EXPECT_EQ(groups[0].reduction, norm);
}

// Softmax(x + x) * (x + x): the Mul reads a value from before the softmax (the row kernel
// recomputes it in its second pass). A second softmax starts its own group.
TEST(FusionGroups, AfterTheReductionAMemberMayReadAValueFromBeforeIt) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 32}));
  ir::Node* add = graph.add_node("Add", "add", {x, x}, {"sum"});
  ir::Node* softmax = graph.add_node("Softmax", "softmax", {add->outputs[0]}, {"p"});
  ir::Node* mul = graph.add_node("Mul", "mul", {softmax->outputs[0], add->outputs[0]}, {"m"});
  ir::Node* again = graph.add_node("Softmax", "again", {mul->outputs[0]}, {"y"});
  graph.add_output(again->outputs[0]);
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"add", "softmax", "mul"}));
  EXPECT_EQ(names(groups[1]), (std::vector<std::string>{"again"}));
  EXPECT_EQ(groups[1].reduction, again);
}

// A spelled-out RMSNorm after a residual add, as Llama's exports have it:
//   h = x + r; y = h * (1 / sqrt(mean(h^2, -1) + eps)) * w
TEST(FusionGroups, ASpelledOutRmsNormIsOneGroupWithItsPerRowMath) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8, 64}));
  ir::Value* r = graph.add_input("r", DType::Float32, shape({2, 8, 64}));
  ir::Node* add = graph.add_node("Add", "add", {x, r}, {"h"});
  ir::Node* square =
      graph.add_node("Pow", "square", {add->outputs[0], scalar(graph, "two", 2.f)}, {"h2"});
  ir::Node* mean = graph.add_node("ReduceMean", "mean", {square->outputs[0]}, {"ms"});
  mean->attrs["axes"] = std::vector<int64_t>{-1};
  ir::Node* eps =
      graph.add_node("Add", "eps", {mean->outputs[0], scalar(graph, "e", 1e-6f)}, {"mse"});
  ir::Node* root = graph.add_node("Sqrt", "root", {eps->outputs[0]}, {"rms"});
  ir::Node* inverse = graph.add_node("Reciprocal", "inverse", {root->outputs[0]}, {"inv"});
  ir::Node* scale = graph.add_node("Mul", "scale", {add->outputs[0], inverse->outputs[0]}, {"n"});
  ir::Node* weigh =
      graph.add_node("Mul", "weigh", {scale->outputs[0], weight(graph, "w", {64}, 4)}, {"y"});
  graph.set_outputs({add->outputs[0], weigh->outputs[0]});
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"add", "square", "mean", "eps", "root",
                                                        "inverse", "scale", "weigh"}));
  EXPECT_EQ(groups[0].reduction, mean);
  EXPECT_EQ(groups[0].domain, (Dims{2, 8, 64}));
}

TEST(FusionGroups, RowReductionsNeedTheLastAxisShortRowsAndUnreadStatistics) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 32}));
  ir::Value* long_rows = graph.add_input("long_rows", DType::Float32, shape({2, 16384}));
  ir::Node* first_axis = graph.add_node("Softmax", "first_axis", {x}, {"a"});
  first_axis->attrs["axis"] = int64_t(0);
  ir::Node* too_long = graph.add_node("Softmax", "too_long", {long_rows}, {"b"});
  ir::Node* stats = graph.add_node("LayerNormalization", "stats",
                                   {x, weight(graph, "gamma", {32}, 3)}, {"n", "mean", ""});
  ir::Node* last = graph.add_node("Softmax", "last", {x}, {"c"});
  graph.set_outputs({first_axis->outputs[0], too_long->outputs[0], stats->outputs[0],
                     stats->outputs[1], last->outputs[0]});
  ir::infer_graph(graph);
  EXPECT_FALSE(is_fusible_row_reduction(*first_axis, graph));
  EXPECT_FALSE(is_fusible_row_reduction(*too_long, graph));
  EXPECT_FALSE(is_fusible_row_reduction(*stats, graph));  // its Mean is a graph output
  EXPECT_TRUE(is_fusible_row_reduction(*last, graph));
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 1u);  // a reduction alone is a group: the generated row kernel
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"last"}));
}

}  // namespace
}  // namespace kiln::passes

namespace kiln::passes {
namespace {

// x + y1 + y2 + ... + y20: a generated kernel reads at most kMaxGroupInputs tensors, so the
// chain is cut into groups that each read no more.
TEST(FusionGroups, AGroupReadsAtMostWhatAKernelTakes) {
  ir::Graph graph;
  ir::Value* sum = graph.add_input("x", DType::Float32, ir::testing::shape({4, 8}));
  for (int i = 1; i <= 20; ++i) {
    ir::Value* y =
        graph.add_input("y" + std::to_string(i), DType::Float32, ir::testing::shape({4, 8}));
    sum = graph.add_node("Add", "add" + std::to_string(i), {sum, y}, {""})->outputs[0];
  }
  graph.add_output(sum);
  ir::infer_graph(graph);
  std::vector<FusionGroup> groups = find_fusion_groups(graph);
  ASSERT_EQ(groups.size(), 2u);
  size_t grouped = 0;
  for (const FusionGroup& group : groups) {
    std::set<const ir::Value*> made, read;
    for (const ir::Node* node : group.nodes) made.insert(node->outputs[0]);
    for (const ir::Node* node : group.nodes)
      for (const ir::Value* input : node->inputs)
        if (!made.contains(input)) read.insert(input);
    EXPECT_LE(read.size(), size_t(kMaxGroupInputs));
    grouped += group.nodes.size();
  }
  EXPECT_EQ(grouped, 20u);
  EXPECT_EQ(groups[0].nodes.size(), 15u);  // x and y1..y15
}

// A fusible node the backend has no kernel for is a group alone: its generated kernel is its
// kernel. One it has a kernel for stays a node.
TEST(FusionGroups, ANodeWithoutAKernelIsAGroupAlone) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, ir::testing::shape({4, 8}));
  ir::Node* abs = graph.add_node("Abs", "abs", {x}, {"a"});
  ir::Node* matmul =
      graph.add_node("MatMul", "matmul", {abs->outputs[0], weight(graph, "w", {8, 8}, 1)}, {"m"});
  ir::Node* relu = graph.add_node("Relu", "relu", {matmul->outputs[0]}, {"y"});
  graph.add_output(relu->outputs[0]);
  ir::infer_graph(graph);
  EXPECT_TRUE(find_fusion_groups(graph).empty());
  std::vector<FusionGroup> groups =
      find_fusion_groups(graph, [](const ir::Node& node) { return node.op == "Abs"; });
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].nodes, (std::vector<const ir::Node*>{abs}));
}

}  // namespace
}  // namespace kiln::passes
