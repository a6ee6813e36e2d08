// assign_precisions: strongly typed graphs follow their dtypes; otherwise the no-GPU
// heuristic picks bf16, then fp16, then tf32 (matrix products only), then fp32.
#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h
#include "passes/passes.h"

namespace kiln::passes {
namespace {

using ir::testing::shape;

// x(dtype) → MatMul → Relu → Reshape, plus an int64 Add and a float64 Mul on the side.
struct Model {
  ir::Graph graph;
  ir::Node *matmul, *relu, *reshape, *int_add, *double_mul;
  explicit Model(DType dtype) {
    ir::Value* x = graph.add_input("x", dtype, shape({"batch", 4}));
    ir::Value* w = graph.add_constant("w", Tensor(dtype, {4, 4}));
    matmul = graph.add_node("MatMul", "matmul", {x, w}, {"m"});
    relu = graph.add_node("Relu", "relu", {matmul->outputs[0]}, {"r"});
    reshape = graph.add_node(
        "Reshape", "reshape",
        {relu->outputs[0], graph.add_constant("s", Tensor::from_vector<int64_t>({1}, {-1}))},
        {"flat"});
    ir::Value* i = graph.add_input("i", DType::Int64, shape({2}));
    int_add = graph.add_node("Add", "int_add", {i, i}, {"i2"});
    ir::Value* d = graph.add_input("d", DType::Float64, shape({2}));
    double_mul = graph.add_node("Mul", "double_mul", {d, d}, {"d2"});
    ir::infer_graph(graph);
  }
};

std::string precision_of(const ir::Node* node) {
  return node->precision ? std::string(precision_name(*node->precision)) : "unset";
}

TEST(AssignPrecisions, StronglyTypedFollowsDtypes) {
  for (auto [dtype, expected] :
       {std::pair{DType::Float16, "fp16"}, std::pair{DType::BFloat16, "bf16"},
        std::pair{DType::Float32, "fp32"}}) {
    Model model(dtype);
    assign_precisions(model.graph, {Precision::FP32, Precision::BF16, Precision::FP16}, true);
    EXPECT_EQ(precision_of(model.matmul), expected);
    EXPECT_EQ(precision_of(model.relu), expected);
    EXPECT_EQ(precision_of(model.reshape), "unset");  // data movement carries no precision
    EXPECT_EQ(precision_of(model.int_add), "unset");
    EXPECT_EQ(precision_of(model.double_mul), "unset");
  }
}

TEST(AssignPrecisions, HeuristicPrefersBf16ThenFp16) {
  Model model(DType::Float32);
  assign_precisions(model.graph,
                    {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16}, false);
  EXPECT_EQ(precision_of(model.matmul), "bf16");
  EXPECT_EQ(precision_of(model.relu), "bf16");
  EXPECT_EQ(precision_of(model.int_add), "unset");
  EXPECT_EQ(precision_of(model.double_mul), "unset");
  assign_precisions(model.graph, {Precision::FP32, Precision::TF32, Precision::FP16}, false);
  EXPECT_EQ(precision_of(model.matmul), "fp16");
  EXPECT_EQ(precision_of(model.relu), "fp16");
}

TEST(AssignPrecisions, Tf32OnlyForMatrixProducts) {
  Model model(DType::BFloat16);  // the storage dtype does not decide when not strongly typed
  assign_precisions(model.graph, {Precision::FP32, Precision::TF32}, false);
  EXPECT_EQ(precision_of(model.matmul), "tf32");
  EXPECT_EQ(precision_of(model.relu), "fp32");
  assign_precisions(model.graph, {Precision::FP32}, false);
  EXPECT_EQ(precision_of(model.matmul), "fp32");
}

// A timestep embedding: t [2, 1] → MatMul by frequencies → Mul by a constant → Sin, Cos →
// Concat → Gemm; and a group norm spelled out: x → Reshape → ReduceMean → Sub → Mul(c, c) →
// ReduceMean → Add(eps) → Sqrt → Div(c, ·) → Mul(scale) → Sigmoid.
struct SensitiveModel {
  ir::Graph graph;
  explicit SensitiveModel() {
    ir::Value* t = graph.add_input("t", DType::Float32, shape({2, 1}));
    ir::Node* angles = graph.add_node(
        "MatMul", "angles", {t, graph.add_constant("freq", Tensor(DType::Float32, {1, 8}))}, {"a"});
    ir::Node* scaled =
        graph.add_node("Mul", "scaled",
                       {angles->outputs[0], graph.add_constant("k", Tensor::scalar(2.0f))}, {"as"});
    ir::Node* sin = graph.add_node("Sin", "sin", {scaled->outputs[0]}, {"s"});
    ir::Node* cos = graph.add_node("Cos", "cos", {scaled->outputs[0]}, {"c"});
    ir::Node* cat = graph.add_node("Concat", "cat", {sin->outputs[0], cos->outputs[0]}, {"e"});
    cat->attrs["axis"] = int64_t{1};
    ir::Node* mlp = graph.add_node(
        "MatMul", "mlp",
        {cat->outputs[0], graph.add_constant("w", Tensor(DType::Float32, {16, 4}))}, {"emb"});
    graph.add_output(mlp->outputs[0]);

    ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 8, 4, 4}));
    ir::Node* grouped = graph.add_node(
        "Reshape", "grouped",
        {x, graph.add_constant("gs", Tensor::from_vector<int64_t>({3}, {0, 2, -1}))}, {"g"});
    auto reduce = [&](const char* name, ir::Value* input) {
      ir::Node* node = graph.add_node("ReduceMean", name, {input}, {std::string(name) + "_out"});
      node->attrs["axes"] = std::vector<int64_t>{2};
      return node->outputs[0];
    };
    ir::Value* mean = reduce("mean", grouped->outputs[0]);
    ir::Node* centered = graph.add_node("Sub", "centered", {grouped->outputs[0], mean}, {"cx"});
    ir::Node* square =
        graph.add_node("Mul", "square", {centered->outputs[0], centered->outputs[0]}, {"sq"});
    ir::Value* variance = reduce("variance", square->outputs[0]);
    ir::Node* eps = graph.add_node(
        "Add", "eps", {variance, graph.add_constant("e", Tensor::scalar(1e-5f))}, {"ve"});
    ir::Node* sqrt = graph.add_node("Sqrt", "deviation", {eps->outputs[0]}, {"dev"});
    ir::Node* normed =
        graph.add_node("Div", "normed", {centered->outputs[0], sqrt->outputs[0]}, {"n"});
    ir::Node* scale = graph.add_node(
        "Mul", "scale", {normed->outputs[0], graph.add_constant("gamma", Tensor::scalar(0.5f))},
        {"y"});
    ir::Node* act = graph.add_node("Sigmoid", "act", {scale->outputs[0]}, {"z"});
    graph.add_output(act->outputs[0]);
    ir::infer_graph(graph);
  }
  std::string precision(const std::string& name) const {
    for (const ir::Node* node : graph.nodes()) {
      if (node->name == name) return precision_of(node);
    }
    return "missing";
  }
};

TEST(AssignPrecisions, MixedPrecisionKeepsRoundingSensitiveLayersInFp32) {
  SensitiveModel model;
  assign_precisions(model.graph, {Precision::FP32, Precision::BF16}, false);
  for (const char* pinned : {"angles", "scaled", "sin", "cos", "mean", "centered", "square",
                             "variance", "eps", "deviation", "normed"}) {
    EXPECT_EQ(model.precision(pinned), "fp32") << pinned;
  }
  for (const char* free : {"mlp", "scale", "act"}) EXPECT_EQ(model.precision(free), "bf16") << free;
  EXPECT_EQ(
      rounding_sensitive_layers(model.graph, {Precision::FP32, Precision::BF16}, false).size(),
      11u);
}

TEST(AssignPrecisions, WithoutFp32EnabledNothingIsPinned) {
  SensitiveModel model;
  assign_precisions(model.graph, {Precision::BF16}, false);
  EXPECT_EQ(model.precision("sin"), "bf16");
  EXPECT_EQ(model.precision("centered"), "bf16");
  EXPECT_TRUE(rounding_sensitive_layers(model.graph, {Precision::BF16}, false).empty());
  EXPECT_TRUE(
      rounding_sensitive_layers(model.graph, {Precision::FP32, Precision::BF16}, true).empty());
}

}  // namespace
}  // namespace kiln::passes
