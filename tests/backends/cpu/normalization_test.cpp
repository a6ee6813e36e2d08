// Tests of the CPU LayerNormalization and BatchNormalization kernels against float64 formulas.
#include <cmath>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

constexpr double kFloat32Tolerance = 5e-6;

struct LayerNormReference {
  std::vector<double> y, mean, inv_std_dev;
};

// Normalizes consecutive rows of `length` values: (x - mean) / sqrt(var + eps) * s + b, with
// s and b indexed by the position in the row.
LayerNormReference layer_norm_reference(const std::vector<float>& x, size_t length,
                                        const std::vector<float>& scale,
                                        const std::vector<float>& bias, double epsilon) {
  LayerNormReference ref;
  for (size_t row = 0; row < x.size() / length; ++row) {
    double mean = 0, var = 0;
    for (size_t k = 0; k < length; ++k) mean += x[row * length + k];
    mean /= double(length);
    for (size_t k = 0; k < length; ++k) var += std::pow(x[row * length + k] - mean, 2);
    const double inv = 1.0 / std::sqrt(var / double(length) + epsilon);
    for (size_t k = 0; k < length; ++k) {
      ref.y.push_back((x[row * length + k] - mean) * inv * scale[k] + (bias.empty() ? 0 : bias[k]));
    }
    ref.mean.push_back(mean);
    ref.inv_std_dev.push_back(inv);
  }
  return ref;
}

TEST(CpuNormalization, LayerNormLastAxisWithStatistics) {
  const std::vector<float> x = sample_values(24, 3.0f, 7);
  const std::vector<float> scale = {0.5f, 1.0f, 1.5f, -2.0f}, bias = {0.1f, 0.2f, -0.3f, 0.0f};
  TestNode node("LayerNormalization", 3);
  node.attr("epsilon", 1e-3);
  std::vector<Tensor> out = node.run({f32({2, 3, 4}, x), f32({4}, scale), f32({4}, bias)});
  ASSERT_EQ(out.size(), 3u);
  LayerNormReference ref = layer_norm_reference(x, 4, scale, bias, 1e-3);
  expect_tensor(out[0], DType::Float32, {2, 3, 4}, ref.y, kFloat32Tolerance);
  expect_tensor(out[1], DType::Float32, {2, 3, 1}, ref.mean, kFloat32Tolerance);
  expect_tensor(out[2], DType::Float32, {2, 3, 1}, ref.inv_std_dev, kFloat32Tolerance);
}

TEST(CpuNormalization, LayerNormOverTwoAxesWithoutBiasInFloat64) {
  const std::vector<float> x = sample_values(24, 2.0f, 8);
  const std::vector<float> scale = sample_values(12, 1.0f, 9);
  std::vector<double> x64(x.begin(), x.end()), scale64(scale.begin(), scale.end());
  TestNode node("LayerNormalization");
  node.attr("axis", int64_t{1});
  std::vector<Tensor> out = node.run({f64({2, 3, 4}, x64), f64({3, 4}, scale64), Tensor()});
  ASSERT_EQ(out.size(), 1u);
  LayerNormReference ref = layer_norm_reference(x, 12, scale, {}, 1e-5);
  expect_tensor(out[0], DType::Float64, {2, 3, 4}, ref.y, 1e-12);
}

TEST(CpuNormalization, LayerNormBadScaleNamesTheNode) {
  TestNode node("LayerNormalization", 1, "ln_final");
  expect_error(
      [&] {
        node.run({f32({2, 4}, sample_values(8)), f32({3}, {1, 1, 1})});
      },
      ErrorKind::InvalidArgument, {"ln_final"});
}

TEST(CpuNormalization, BatchNormInference) {
  const std::vector<float> x = sample_values(24, 3.0f, 10);  // [N=2, C=3, 2, 2]
  const std::vector<float> scale = {1.0f, 0.5f, -2.0f}, bias = {0.0f, 1.0f, -1.0f};
  const std::vector<float> mean = {0.1f, -0.2f, 0.3f}, var = {1.0f, 0.25f, 4.0f};
  TestNode node("BatchNormalization");
  node.attr("epsilon", 1e-2);
  Tensor y = node.run1(
      {f32({2, 3, 2, 2}, x), f32({3}, scale), f32({3}, bias), f32({3}, mean), f32({3}, var)});
  std::vector<double> expected;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = (i / 4) % 3;
    expected.push_back((x[i] - mean[c]) / std::sqrt(double(var[c]) + 1e-2) * scale[c] + bias[c]);
  }
  expect_tensor(y, DType::Float32, {2, 3, 2, 2}, expected, kFloat32Tolerance);
  // Rank 2 (N, C) works too.
  Tensor flat = node.run1(
      {f32({1, 3}, {1, 2, 3}), f32({3}, scale), f32({3}, bias), f32({3}, mean), f32({3}, var)});
  expect_tensor(flat, DType::Float32, {1, 3},
                {(1 - 0.1) / std::sqrt(1.01), (2 + 0.2) / std::sqrt(0.26) * 0.5 + 1,
                 (3 - 0.3) / std::sqrt(4.01) * -2 - 1},
                kFloat32Tolerance);
}

TEST(CpuNormalization, BatchNormRejectsWrongParameterDims) {
  TestNode node("BatchNormalization", 1, "bn1");
  Tensor p = f32({2}, {1, 1});
  expect_error(
      [&] {
        node.run1({f32({1, 3, 2}, sample_values(6)), p, p, p, p});
      },
      ErrorKind::InvalidArgument, {"BatchNormalization node 'bn1'", "scale"});
}

}  // namespace
}  // namespace kiln::cpu::testing
