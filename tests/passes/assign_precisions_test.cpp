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

}  // namespace
}  // namespace kiln::passes
