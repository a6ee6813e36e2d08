// ATen group norm, weight norm, adaptive_avg_pool1d and detach_, written in core ops: run on
// the CPU reference against values worked out by hand or by a float64 loop over the formula.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using Ints = std::vector<int64_t>;

constexpr double kFloat32Tolerance = 1e-5;

// Distinct, uneven values so that a wrong grouping changes the result.
std::vector<double> wavy(int64_t count) {
  std::vector<double> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(std::sin(0.7 * double(i)) + 0.1 * double(i));
  return values;
}

Tensor doubles_as_floats(const Dims& dims, const std::vector<double>& values) {
  return Tensor::from_vector<double>(dims, values).to(DType::Float32);
}

// PyTorch's group norm in float64: per (sample, group), subtract the mean and divide by the
// square root of the biased variance plus eps; then scale and shift per channel.
std::vector<double> group_norm_reference(const std::vector<double>& x, const Dims& dims,
                                         int64_t groups, const std::vector<double>& weight,
                                         const std::vector<double>& bias, double eps) {
  int64_t batch = dims[0], channels = dims[1];
  int64_t spatial = static_cast<int64_t>(x.size()) / (batch * channels);
  int64_t group_size = channels / groups * spatial;
  std::vector<double> result(x.size());
  for (int64_t start = 0; start < static_cast<int64_t>(x.size()); start += group_size) {
    double mean = 0, variance = 0;
    for (int64_t i = start; i < start + group_size; ++i) mean += x[size_t(i)] / double(group_size);
    for (int64_t i = start; i < start + group_size; ++i) {
      variance += (x[size_t(i)] - mean) * (x[size_t(i)] - mean) / double(group_size);
    }
    for (int64_t i = start; i < start + group_size; ++i) {
      size_t channel = size_t(i / spatial % channels);
      double normed = (x[size_t(i)] - mean) / std::sqrt(variance + eps);
      result[size_t(i)] =
          normed * (weight.empty() ? 1.0 : weight[channel]) + (bias.empty() ? 0.0 : bias[channel]);
    }
  }
  return result;
}

// 4-D [N, C, H, W] with weight and bias, two groups of two channels.
TEST(AtenGroupNorm, FourDimensionalWithAffine) {
  AtenHarness h;
  Dims dims{2, 4, 2, 3};
  ir::Value* x = h.input("x", DType::Float32, dims);
  ir::Value* weight = h.input("weight", DType::Float32, Dims{4});
  ir::Value* bias = h.input("bias", DType::Float32, Dims{4});
  ir::Value* out = h.convert("aten.group_norm.default",
                             {arg("input", x), arg("num_groups", int64_t{2}), arg("weight", weight),
                              arg("bias", bias), arg("eps", 1e-3), arg("cudnn_enabled", true)});
  EXPECT_EQ(out->shape.to_string(), "[2, 4, 2, 3]");
  std::vector<double> values = wavy(48), scale{0.5, -1.0, 2.0, 1.5}, shift{0.1, 0.2, -0.3, 0.0};
  Tensor result = h.run_one(out, {{"x", doubles_as_floats(dims, values)},
                                  {"weight", doubles_as_floats({4}, scale)},
                                  {"bias", doubles_as_floats({4}, shift)}});
  EXPECT_THAT(result.to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance),
                        group_norm_reference(values, dims, 2, scale, shift, 1e-3)));
}

// 3-D [N, C, L] without weight or bias: one group (over all channels) and one group per
// channel (wav2vec2's feature extractor).
TEST(AtenGroupNorm, ThreeDimensionalOneGroupAndGroupPerChannel) {
  AtenHarness h;
  Dims dims{2, 3, 4};
  ir::Value* x = h.input("x", DType::Float32, dims);
  ir::Value* whole = h.convert("aten.group_norm.default",
                               {arg("input", x), arg("num_groups", int64_t{1})}, "whole");
  ir::Value* per_channel = h.convert("aten.group_norm.default",
                                     {arg("input", x), arg("num_groups", int64_t{3})}, "channels");
  std::vector<double> values = wavy(24);
  auto results = h.run({whole, per_channel}, {{"x", doubles_as_floats(dims, values)}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance),
                        group_norm_reference(values, dims, 1, {}, {}, 1e-5)));
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance),
                        group_norm_reference(values, dims, 3, {}, {}, 1e-5)));
}

// By hand: one channel [1, 3] normalizes to ±sqrt(3/2), 0 (eps 0); weight 2, bias 1.
TEST(AtenGroupNorm, HandComputedValues) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 3});
  ir::Value* weight = h.input("weight", DType::Float32, Dims{1});
  ir::Value* bias = h.input("bias", DType::Float32, Dims{1});
  ir::Value* out = h.convert("aten.group_norm.default",
                             {arg("input", x), arg("num_groups", int64_t{1}), arg("weight", weight),
                              arg("bias", bias), arg("eps", 0.0)});
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector<float>({1, 1, 3}, {1, 2, 3})},
                                  {"weight", Tensor::from_vector<float>({1}, {2})},
                                  {"bias", Tensor::from_vector<float>({1}, {1})}});
  double side = 2 * std::sqrt(1.5);
  EXPECT_THAT(
      result.to_double_vector(),
      ElementsAre(DoubleNear(1 - side, 1e-5), DoubleNear(1, 1e-6), DoubleNear(1 + side, 1e-5)));
}

// A symbolic batch stays symbolic: the Reshapes copy it (0) rather than fixing it.
TEST(AtenGroupNorm, SymbolicBatch) {
  AtenHarness h;
  ir::Value* x =
      h.input("x", DType::Float32,
              ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(4), ir::Dim::fixed(3)}));
  ir::Value* out =
      h.convert("aten.group_norm.default", {arg("input", x), arg("num_groups", int64_t{2})});
  EXPECT_EQ(out->shape.to_string(), "[batch, 4, 3]");
  for (const ir::Node* node : h.graph.nodes()) EXPECT_NE(node->op, "Shape");
  std::vector<double> values = wavy(36);
  Tensor result = h.run_one(out, {{"x", doubles_as_floats({3, 4, 3}, values)}});
  EXPECT_EQ(result.dims(), (Dims{3, 4, 3}));
  EXPECT_THAT(result.to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance),
                        group_norm_reference(values, {3, 4, 3}, 2, {}, {}, 1e-5)));
}

// native_group_norm (core ATen): its mean and rstd outputs are [N, G].
TEST(AtenGroupNorm, NativeFormWithStatistics) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 2});
  ir::Value* weight = h.input("weight", DType::Float32, Dims{2});
  h.convert_slots(
      "aten.native_group_norm.default",
      {arg("input", x), arg("weight", weight), arg("bias", NoneArg{}), arg("N", int64_t{1}),
       arg("C", int64_t{2}), arg("HxW", int64_t{2}), arg("group", int64_t{2}), arg("eps", 0.0)},
      {{OutputSlot::Kind::Tensor, {"out"}},
       {OutputSlot::Kind::Tensor, {"mean"}},
       {OutputSlot::Kind::Tensor, {"rstd"}}});
  // Channel 0 holds [1, 3] (mean 2, std 1), channel 1 [10, 14] (mean 12, std 2).
  auto results = h.run(
      {h.context.find_tensor("out"), h.context.find_tensor("mean"), h.context.find_tensor("rstd")},
      {{"x", Tensor::from_vector<float>({1, 2, 2}, {1, 3, 10, 14})},
       {"weight", Tensor::from_vector<float>({2}, {3, -1})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(-3, 3, 1, -1));
  EXPECT_EQ(results[1].dims(), (Dims{1, 2}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(2, 12));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 0.5));
}

TEST(AtenGroupNorm, RejectsChannelsThatDoNotSplit) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 6, 2});
  EXPECT_THAT(h.conversion_error("aten.group_norm.default",
                                 {arg("input", x), arg("num_groups", int64_t{4})}),
              HasSubstr("6 channels do not split into 4 groups"));
}

// w = v * g / ||v||, the norm over every axis but `dim`: rows [3, 4, 0] and [0, 2, 0] have
// norms 5 and 2; columns [3, 4], [0, 2] and [1, 0] have norms 5, 2 and 1.
TEST(AtenWeightNorm, DimZeroAndDimOne) {
  AtenHarness h;
  ir::Value* v_rows = h.input("v_rows", DType::Float32, Dims{2, 3});
  ir::Value* v_columns = h.input("v_columns", DType::Float32, Dims{2, 3});
  ir::Value* rows_g = h.input("rows_g", DType::Float32, Dims{2, 1});
  ir::Value* columns_g = h.input("columns_g", DType::Float32, Dims{1, 3});
  ir::Value* rows = h.convert("aten._weight_norm.default",
                              {arg("v", v_rows), arg("g", rows_g), arg("dim", int64_t{0})}, "rows");
  ir::Value* columns =
      h.convert("aten._weight_norm.default",
                {arg("v", v_columns), arg("g", columns_g), arg("dim", int64_t{1})}, "columns");
  auto results =
      h.run({rows, columns}, {{"v_rows", Tensor::from_vector<float>({2, 3}, {3, 4, 0, 0, 2, 0})},
                              {"v_columns", Tensor::from_vector<float>({2, 3}, {3, 0, 1, 4, 2, 0})},
                              {"rows_g", Tensor::from_vector<float>({2, 1}, {10, 1})},
                              {"columns_g", Tensor::from_vector<float>({1, 3}, {5, 1, 2})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{6, 8, 0, 0, 1, 0}));
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{3, 0, 2, 4, 1, 0}));
}

// dim -1 is torch's "over the whole tensor": [3, 4] has norm 5.
TEST(AtenWeightNorm, MinusOneNormsTheWholeTensor) {
  AtenHarness h;
  ir::Value* v = h.input("v", DType::Float32, Dims{1, 2});
  ir::Value* g = h.input("g", DType::Float32, Dims{});
  ir::Value* out =
      h.convert("aten._weight_norm.default", {arg("v", v), arg("g", g), arg("dim", int64_t{-1})});
  Tensor result = h.run_one(out, {{"v", Tensor::from_vector<float>({1, 2}, {3, 4})},
                                  {"g", Tensor::from_vector<float>({}, {10})}});
  EXPECT_THAT(result.to_double_vector(), Pointwise(DoubleNear(1e-6), std::vector<double>{6, 8}));
}

// A conv weight [out, in, k] normalized per output channel (dim 0) and per kernel tap
// (dim 2, wav2vec2's positional convolution), checked against a float64 loop.
TEST(AtenWeightNorm, ThreeDimensionalWeights) {
  AtenHarness h;
  Dims dims{2, 3, 2};
  ir::Value* v = h.input("v", DType::Float32, dims);
  ir::Value* g0 = h.input("g0", DType::Float32, Dims{2, 1, 1});
  ir::Value* g2 = h.input("g2", DType::Float32, Dims{1, 1, 2});
  ir::Value* first = h.convert("aten._weight_norm.default",
                               {arg("v", v), arg("g", g0), arg("dim", int64_t{0})}, "first");
  ir::Value* last = h.convert("aten._weight_norm.default",
                              {arg("v", v), arg("g", g2), arg("dim", int64_t{2})}, "last");
  std::vector<double> values = wavy(12);
  auto results = h.run({first, last}, {{"v", doubles_as_floats(dims, values)},
                                       {"g0", doubles_as_floats({2, 1, 1}, {2, 3})},
                                       {"g2", doubles_as_floats({1, 1, 2}, {0.5, 4})}});
  std::vector<double> norm0(2, 0), norm2(2, 0);
  for (size_t i = 0; i < 12; ++i) {
    norm0[i / 6] += values[i] * values[i];
    norm2[i % 2] += values[i] * values[i];
  }
  std::vector<double> expected0, expected2;
  for (size_t i = 0; i < 12; ++i) {
    expected0.push_back(values[i] * (i < 6 ? 2 : 3) / std::sqrt(norm0[i / 6]));
    expected2.push_back(values[i] * (i % 2 == 0 ? 0.5 : 4) / std::sqrt(norm2[i % 2]));
  }
  EXPECT_THAT(results[0].to_double_vector(), Pointwise(DoubleNear(kFloat32Tolerance), expected0));
  EXPECT_THAT(results[1].to_double_vector(), Pointwise(DoubleNear(kFloat32Tolerance), expected2));
}

// What torch.export of PyTorch 2.11 leaves for weight norm over the first or last dim (the
// dims its fused kernel takes): _weight_norm_interface, whose second output is the norms; and
// norm_except_dim for the others. Rows [3, 4, 0] and [0, 2, 0]: norms 5 and 2 (pow 2); the
// 1-norms 7 and 2.
TEST(AtenWeightNorm, InterfaceAndNormExceptDim) {
  AtenHarness h;
  ir::Value* v = h.input("v", DType::Float32, Dims{2, 3});
  ir::Value* g = h.input("g", DType::Float32, Dims{2, 1});
  ir::Value* w = h.convert("aten._weight_norm_interface.default",
                           {arg("v", v), arg("g", g), arg("dim", int64_t{0})}, "interface");
  ir::Value* two = h.convert("aten.norm_except_dim.default",
                             {arg("v", v), arg("pow", int64_t{2}), arg("dim", int64_t{0})}, "two");
  ir::Value* one = h.convert("aten.norm_except_dim.default",
                             {arg("v", v), arg("pow", int64_t{1}), arg("dim", int64_t{0})}, "one");
  EXPECT_EQ(two->shape.to_string(), "[2, 1]");
  auto results =
      h.run({w, two, one}, {{"v", Tensor::from_vector<float>({2, 3}, {3, 4, 0, 0, -2, 0})},
                            {"g", Tensor::from_vector<float>({2, 1}, {10, 1})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{6, 8, 0, 0, -1, 0}));
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{5, 2}));
  EXPECT_THAT(results[2].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{7, 2}));
}

// x = [[0..5], [6..11]] as [1, 2, 6] and as [2, 6].
TEST(AtenAdaptiveAvgPool1d, OneBinEvenBinsAndUnevenBins) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 6});
  ir::Value* flat = h.input("flat", DType::Float32, Dims{2, 6});
  auto pool = [&](ir::Value* input, int64_t outputs, const std::string& name) {
    return h.convert("aten.adaptive_avg_pool1d.default",
                     {arg("self", input), arg("output_size", Ints{outputs})}, name);
  };
  ir::Value* one = pool(x, 1, "one");
  ir::Value* thirds = pool(x, 3, "thirds");
  ir::Value* uneven = pool(x, 4, "uneven");
  ir::Value* flat_uneven = pool(flat, 4, "flat_uneven");
  EXPECT_EQ(one->producer->op, "ReduceMean");
  EXPECT_EQ(uneven->producer->op, "MatMul");
  std::vector<float> values(12);
  for (size_t i = 0; i < 12; ++i) values[i] = float(i);
  auto results = h.run({one, thirds, uneven, flat_uneven},
                       {{"x", Tensor::from_vector<float>({1, 2, 6}, values)},
                        {"flat", Tensor::from_vector<float>({2, 6}, values)}});
  EXPECT_EQ(results[0].dims(), (Dims{1, 2, 1}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(2.5, 8.5));
  EXPECT_EQ(results[1].dims(), (Dims{1, 2, 3}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0.5, 2.5, 4.5, 6.5, 8.5, 10.5));
  // Six into four bins as PyTorch cuts them: [0, 2), [1, 3), [3, 5), [4, 6).
  std::vector<double> expected{0.5, 1.5, 3.5, 4.5, 6.5, 7.5, 9.5, 10.5};
  EXPECT_EQ(results[2].dims(), (Dims{1, 2, 4}));
  EXPECT_THAT(results[2].to_double_vector(), Pointwise(DoubleNear(1e-6), expected));
  EXPECT_EQ(results[3].dims(), (Dims{2, 4}));
  EXPECT_THAT(results[3].to_double_vector(), Pointwise(DoubleNear(1e-6), expected));
}

TEST(AtenAdaptiveAvgPool1d, SymbolicLengthTakesOnlyOneBin) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32,
                         ir::Shape({ir::Dim::fixed(1), ir::Dim::fixed(2), ir::Dim::named("len")}));
  ir::Value* one =
      h.convert("aten.adaptive_avg_pool1d.default", {arg("self", x), arg("output_size", Ints{1})});
  EXPECT_EQ(one->shape.to_string(), "[1, 2, 1]");
  EXPECT_THAT(h.conversion_error("aten.adaptive_avg_pool1d.default",
                                 {arg("self", x), arg("output_size", Ints{2})}),
              HasSubstr("static float length"));
}

TEST(AtenDetach, InPlaceDetachIsTheIdentity) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2});
  EXPECT_EQ(h.convert("aten.detach_.default", {arg("self", x)}), x);
  EXPECT_TRUE(h.graph.nodes().empty());
}

}  // namespace
}  // namespace kiln::torch
