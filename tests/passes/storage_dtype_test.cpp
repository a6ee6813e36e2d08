// storage_dtype: the storage rule shared by the CUDA execution context (which plans buffers
// by it) and the builder (which counts boundary casts by it).
#include "passes/storage_dtype.h"

#include <gtest/gtest.h>

#include "ir/op_schema.h"
#include "ir/shape_literals.h"  // tests/ir/shape_literals.h

namespace kiln::passes {
namespace {

using ir::testing::shape;

// x(f32) → MatMul(bf16) → Transpose → Reshape → Cast(f32); x → Transpose; an int64 side input.
struct Model {
  ir::Graph graph;
  ir::Node *matmul, *transpose, *reshape, *cast, *input_transpose, *unassigned;
  Model() {
    ir::Value* x = graph.add_input("x", DType::Float32, shape({4, 4}));
    ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {4, 4}));
    matmul = graph.add_node("MatMul", "matmul", {x, w}, {"m"});
    matmul->precision = Precision::BF16;
    transpose = graph.add_node("Transpose", "transpose", {matmul->outputs[0]}, {"t"});
    transpose->attrs["perm"] = std::vector<int64_t>{1, 0};
    reshape = graph.add_node(
        "Reshape", "reshape",
        {transpose->outputs[0], graph.add_constant("s", Tensor::from_vector<int64_t>({1}, {-1}))},
        {"flat"});
    cast = graph.add_node("Cast", "cast", {reshape->outputs[0]}, {"c"});
    cast->attrs["to"] = int64_t(1);  // ONNX FLOAT
    input_transpose = graph.add_node("Transpose", "input_transpose", {x}, {"xt"});
    input_transpose->attrs["perm"] = std::vector<int64_t>{1, 0};
    // A float-compute layer with no precision yet stores like its first float input.
    unassigned = graph.add_node("MatMul", "unassigned", {transpose->outputs[0], w}, {"u"});
    ir::infer_graph(graph);
  }
};

TEST(StorageDtype, LayersStoreInTheirPrecisionAndDataMovementFollowsItsInput) {
  Model model;
  EXPECT_EQ(storage_dtype(*model.matmul->outputs[0]), DType::BFloat16);
  EXPECT_EQ(storage_dtype(*model.transpose->outputs[0]), DType::BFloat16);
  EXPECT_EQ(storage_dtype(*model.reshape->outputs[0]), DType::BFloat16);
  EXPECT_EQ(storage_dtype(*model.unassigned->outputs[0]), DType::BFloat16);
  EXPECT_EQ(storage_dtype(*model.input_transpose->outputs[0]), DType::Float32);
}

TEST(StorageDtype, CastsInputsConstantsAndIntegersKeepTheirDeclaredDtype) {
  Model model;
  EXPECT_EQ(storage_dtype(*model.cast->outputs[0]), DType::Float32);
  EXPECT_EQ(storage_dtype(*model.matmul->inputs[0]), DType::Float32);  // graph input
  EXPECT_EQ(storage_dtype(*model.matmul->inputs[1]), DType::Float32);  // constant
  EXPECT_EQ(storage_dtype(*model.reshape->inputs[1]), DType::Int64);
}

TEST(StorageDtype, FollowsTheNewPrecisionWhenALayerIsRechosen) {
  Model model;
  model.matmul->precision = Precision::FP16;
  EXPECT_EQ(storage_dtype(*model.reshape->outputs[0]), DType::Float16);
  model.matmul->precision = Precision::TF32;
  EXPECT_EQ(storage_dtype(*model.reshape->outputs[0]), DType::Float32);
}

// A Concat of a learned token (a float32 constant) before bf16 activations (ViT's class token
// and patch embeddings) moves bf16: constants follow the computed input wherever they stand.
TEST(StorageDtype, DataMovementFollowsItsComputedInputNotAConstant) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", DType::Float32, shape({2, 4}));
  ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {4, 4}));
  ir::Node* matmul = graph.add_node("MatMul", "matmul", {x, w}, {"m"});
  matmul->precision = Precision::BF16;
  ir::Value* token = graph.add_constant("token", Tensor(DType::Float32, {1, 4}));
  ir::Node* concat = graph.add_node("Concat", "concat", {token, matmul->outputs[0]}, {"c"});
  concat->attrs["axis"] = int64_t(0);
  ir::Node* constants_only = graph.add_node("Concat", "tokens", {token, w}, {"t"});
  constants_only->attrs["axis"] = int64_t(0);
  ir::infer_graph(graph);
  EXPECT_EQ(data_input(*concat), matmul->outputs[0]);
  EXPECT_EQ(storage_dtype(*concat->outputs[0]), DType::BFloat16);
  EXPECT_EQ(data_input(*constants_only), token);  // no computed input: the first float one
  EXPECT_EQ(storage_dtype(*constants_only->outputs[0]), DType::Float32);
  // A fill beyond float16's range (a -1e9 mask value) leads where it stands first, so that
  // no float16 copy of it becomes an infinity.
  ir::Value* fill =
      graph.add_constant("fill", Tensor::from_vector<float>({1, 4}, {0, -1e9f, 0, 0}));
  ir::Node* filled = graph.add_node("Concat", "filled", {fill, matmul->outputs[0]}, {"f"});
  filled->attrs["axis"] = int64_t(0);
  ir::infer_graph(graph);
  EXPECT_EQ(data_input(*filled), fill);
  EXPECT_EQ(storage_dtype(*filled->outputs[0]), DType::Float32);
  EXPECT_EQ(data_input(*graph.add_node("Shape", "shape",
                                       {graph.add_input("i", DType::Int64, shape({3}))}, {"s"})),
            nullptr);
}

}  // namespace
}  // namespace kiln::passes
