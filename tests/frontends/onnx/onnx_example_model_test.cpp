// Imports the bundled example model (torch.onnx.export of Linear → LayerNorm → gelu →
// softmax, opset 20) and checks its ops, attributes, shapes and weights.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frontends/onnx/onnx_importer.h"

namespace kiln::onnx {
namespace {

using ::testing::ElementsAre;

const std::filesystem::path kExample =
    std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/example/example.onnx";

TEST(OnnxExampleModel, ImportsLinearLayerNormGeluSoftmax) {
  ImportResult result = import_onnx_model(kExample, {});
  EXPECT_EQ(result.opset, 20);
  EXPECT_EQ(result.producer, "pytorch 2.11.0+cu130");
  const ir::Graph& graph = result.graph;

  std::vector<std::string> ops, names;
  for (const ir::Node* node : graph.nodes()) {
    ops.push_back(node->op);
    names.push_back(node->name);
  }
  EXPECT_THAT(ops, ElementsAre("Gemm", "LayerNormalization", "Gelu", "Softmax"));
  EXPECT_THAT(names, ElementsAre("node_linear", "node_layer_norm", "node_gelu", "node_softmax"));
  EXPECT_EQ(graph.nodes()[0]->source, "example.onnx:node 'node_linear' (Gemm)");

  const ir::Node& gemm = *graph.nodes()[0];
  EXPECT_EQ(gemm.attr_int("transB", 0), 1);
  EXPECT_EQ(gemm.inputs[1]->name, "fc.weight");
  EXPECT_NEAR(graph.nodes()[1]->attr_float("epsilon", 0), 1e-5, 1e-9);
  EXPECT_EQ(graph.nodes()[2]->attr_string("approximate", ""), "none");
  EXPECT_EQ(graph.nodes()[3]->attr_int("axis", 0), -1);

  ASSERT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.inputs()[0]->name, "x");
  EXPECT_EQ(graph.inputs()[0]->shape, ir::Shape::from_dims({2, 4}));
  ASSERT_EQ(graph.outputs().size(), 1u);
  EXPECT_EQ(graph.outputs()[0]->name, "softmax");
  EXPECT_EQ(graph.outputs()[0]->dtype, DType::Float32);
  EXPECT_EQ(graph.outputs()[0]->shape, ir::Shape::from_dims({2, 3}));

  // Values printed by onnx.numpy_helper.to_array on the file.
  const Tensor& bias = *graph.find_value("fc.bias")->constant;
  EXPECT_THAT(bias.to_double_vector(), ElementsAre(-0.2890625, -0.33984375, 0.2890625));
  const Tensor& weight = *graph.find_value("fc.weight")->constant;
  EXPECT_EQ(weight.dims(), (Dims{3, 4}));
  EXPECT_EQ(weight.to_double_vector()[3], -0.421875);
  EXPECT_EQ(weight.to_double_vector()[11], 0.375);
}

}  // namespace
}  // namespace kiln::onnx
