// layer_flops: the operation counts kiln bench turns into TFLOP/s.
#include "ir/layer_flops.h"

#include <gtest/gtest.h>

namespace kiln::ir {
namespace {

Node node_of(const std::string& op) {
  Node node;
  node.op = op;
  return node;
}

TEST(LayerFlops, ConvCountsOneFilterPerOutputElementInEitherLayout) {
  // ResNet-50's 3x3 conv at batch 32: 32·56·56 positions × 64 filters × 64·3·3 MACs.
  double expected = 2.0 * 32 * 56 * 56 * 64 * (64 * 3 * 3);
  Node conv = node_of("Conv");
  EXPECT_DOUBLE_EQ(layer_flops(conv, {{32, 64, 56, 56}, {64, 64, 3, 3}}, {{32, 64, 56, 56}}),
                   expected);
  EXPECT_DOUBLE_EQ(layer_flops(conv, {{32, 56, 56, 64}, {64, 3, 3, 64}, {64}, {32, 56, 56, 64}},
                               {{32, 56, 56, 64}}),
                   expected);
  // Depthwise: each output sums over its own channel's 3x3 window only.
  EXPECT_DOUBLE_EQ(layer_flops(conv, {{1, 8, 10, 10}, {8, 1, 3, 3}}, {{1, 8, 10, 10}}),
                   2.0 * 8 * 10 * 10 * 9);
}

TEST(LayerFlops, MatMulAndGemm) {
  EXPECT_DOUBLE_EQ(layer_flops(node_of("MatMul"), {{32, 128, 768}, {768, 3072}}, {{32, 128, 3072}}),
                   2.0 * 32 * 128 * 3072 * 768);
  Node gemm = node_of("Gemm");
  EXPECT_DOUBLE_EQ(layer_flops(gemm, {{4, 8}, {8, 16}}, {{4, 16}}), 2.0 * 4 * 16 * 8);
  gemm.attrs["transA"] = int64_t{1};
  EXPECT_DOUBLE_EQ(layer_flops(gemm, {{8, 4}, {8, 16}}, {{4, 16}}), 2.0 * 4 * 16 * 8);
}

TEST(LayerFlops, OtherOpsAndMissingDimsCountNothing) {
  EXPECT_EQ(layer_flops(node_of("Add"), {{4}, {4}}, {{4}}), 0);
  EXPECT_EQ(layer_flops(node_of("Conv"), {{1, 2, 3, 3}}, {{1, 2, 3, 3}}), 0);
  EXPECT_EQ(layer_flops(node_of("Gemm"), {{2, 3, 4}, {4, 5}}, {{2, 3, 5}}), 0);
}

}  // namespace
}  // namespace kiln::ir
