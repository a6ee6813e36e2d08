// A bf16 or fp16 matrix product whose only reader is a float32 output writes float32 itself
// (the storage plan folds the cast into it; cuBLASLt takes 16-bit A and B with a float32 D,
// bias and C): through the CudaExecutor, against the CPU executor, with no cast step left and
// no node sent to the host. Every product layout of matmul_cublaslt.cpp: Gemm's bias
// epilogue, full and broadcast C; MatMul folded, strided and looped batches; each with no
// activation, Relu, exact GELU (the tanh form under bf16, a float32 pass under fp16) and
// Gelu_tanh; output rows of odd lengths (GPT-2's logits are 50257 wide).
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"

namespace kiln::cuda_test {
namespace {

struct ProductCase {
  std::string name;
  std::string op;
  Dims a, b;
  Dims c;                   // Gemm's C or MatMul's bias; empty: none
  bool b_is_weight = true;  // a constant (a layer's weight), else a graph input
  std::map<std::string, ir::AttrValue> attrs;
};

std::vector<ProductCase> product_cases() {
  return {
      {"GemmBias", "Gemm", {37, 24}, {101, 24}, {101}, true, {{"transB", int64_t(1)}}},
      {"GemmFullC", "Gemm", {37, 24}, {24, 101}, {37, 101}, true, {{"alpha", 0.5}, {"beta", 2.0}}},
      {"GemmColumnC", "Gemm", {37, 24}, {24, 19}, {37, 1}, true, {}},
      {"GemmNoC", "Gemm", {13, 24}, {24, 19}, {}, true, {}},
      {"MatMulFoldedBias", "MatMul", {2, 17, 24}, {24, 101}, {101}, true, {}},
      {"MatMulStridedBias", "MatMul", {3, 17, 24}, {3, 24, 40}, {40}, false, {}},
      {"MatMulLoopBias", "MatMul", {2, 1, 9, 16}, {3, 16, 7}, {7}, false, {}},
  };
}

// One product in `precision` whose output is the graph's float32 output.
ir::Graph product_graph(const ProductCase& product, const std::string& activation,
                        Precision precision) {
  ir::Graph graph;
  std::vector<ir::Value*> inputs{
      graph.add_input("a", DType::Float32, ir::Shape::from_dims(product.a))};
  inputs.push_back(product.b_is_weight
                       ? graph.add_constant("b", random_tensor(DType::Float32, product.b, -1, 1, 2))
                       : graph.add_input("b", DType::Float32, ir::Shape::from_dims(product.b)));
  if (!product.c.empty())
    inputs.push_back(graph.add_constant("c", random_tensor(DType::Float32, product.c, -1, 1, 3)));
  ir::Node* node = graph.add_node(product.op, "product", inputs, {"y"});
  node->attrs = product.attrs;
  if (!activation.empty()) node->attrs["fused_activation"] = activation;
  graph.add_output(node->outputs[0]);
  ir::infer_graph(graph);
  node->precision = precision;
  return graph;
}

TEST(ProductFloat32OutputTest, HalfProductsWriteFloat32WithoutACast) {
  KILN_REQUIRE_GPU();
  for (Precision precision : {Precision::BF16, Precision::FP16}) {
    for (const ProductCase& product : product_cases()) {
      for (std::string activation : {"", "Relu", "Gelu", "Gelu_tanh"}) {
        std::string what = product.name + " " + std::string(precision_name(precision)) + " " +
                           (activation.empty() ? "no activation" : activation);
        SCOPED_TRACE(what);
        ir::Graph graph = product_graph(product, activation, precision);
        std::map<std::string, Tensor> inputs{
            {"a", random_tensor(DType::Float32, product.a, -2, 2, 11)}};
        if (!product.b_is_weight) inputs["b"] = random_tensor(DType::Float32, product.b, -1, 1, 12);
        std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
        cuda::CudaExecutor executor(graph, {}, {.poison_values = true});
        std::vector<Tensor> actual = executor.run(inputs);
        ASSERT_EQ(actual.size(), 1u);
        ASSERT_EQ(actual[0].dtype(), DType::Float32);
        EXPECT_TRUE(executor.host_nodes().empty())
            << "ran on the host: " << executor.host_nodes()[0];
        // The CPU rounds the product to the storage type; the GPU delivers it unrounded, more
        // exactly: within the precision's tolerance of each other.
        double error = normalized_error(actual[0], expected[0]);
        EXPECT_LE(error, tolerance_for(precision)) << "normalized error " << error;
        cudaStream_t stream = nullptr;
        for (const cuda::LayerTime& layer : executor.context().profile_layers(stream, 1)) {
          EXPECT_FALSE(layer.op == "Cast" && layer.name == "cast y to float32")
              << "the product's output is still cast";
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::cuda_test
