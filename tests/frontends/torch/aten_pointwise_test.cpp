// The ATen rounding, sign, isinf/isnan, div rounding modes, atan2, expm1/log1p/log2/log10 and
// trigonometric converters, run on the CPU reference against PyTorch's values (torch 2.11,
// float32, printed to 9 digits), edge values (signed zeros, infinities, NaN, halves) included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = std::numbers::pi;

Tensor floats(std::vector<double> values) {
  Dims dims = {static_cast<int64_t>(values.size())};
  return Tensor::from_vector<double>(dims, values).to(DType::Float32);
}

// Converts `target` on a float32 `self` of `values` and runs it.
Tensor run_unary(const std::string& target, const std::vector<double>& values,
                 std::vector<NamedArgument> extra = {}) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{static_cast<int64_t>(values.size())});
  extra.insert(extra.begin(), arg("self", x));
  return h.run_one(h.convert(target, std::move(extra)), {{"x", floats(values)}});
}

// Same values, NaN where expected is NaN, and the same sign bits (so -0 is not +0); within
// `ulps` float32 ulps of the expected magnitude.
void expect_values(const Tensor& actual, const std::vector<double>& expected, double ulps = 0) {
  ASSERT_EQ(actual.dtype(), DType::Float32);
  std::vector<double> values = actual.to_double_vector();
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(values[i])) << "element " << i << ": " << values[i];
      continue;
    }
    EXPECT_EQ(std::signbit(values[i]), std::signbit(expected[i])) << "element " << i;
    if (std::isinf(expected[i])) {
      EXPECT_EQ(values[i], expected[i]) << "element " << i;
    } else {
      double tolerance = ulps * std::ldexp(1.0, -23) * std::abs(expected[i]);
      EXPECT_NEAR(values[i], expected[i], tolerance) << "element " << i;
    }
  }
}

const std::vector<double> kEdges = {kNan, -kInf, kInf, -0.0, 0.0, -2.5, -1.5,
                                    -0.5, 0.5,   1.5,  2.5,  3.7, -3.7};

TEST(AtenPointwise, RoundingAndSignMatchPyTorchOnEdgeValues) {
  expect_values(run_unary("aten.floor.default", kEdges),
                {kNan, -kInf, kInf, -0.0, 0, -3, -2, -1, 0, 1, 2, 3, -4});
  expect_values(run_unary("aten.ceil.default", kEdges),
                {kNan, -kInf, kInf, -0.0, 0, -2, -1, -0.0, 1, 2, 3, 4, -3});
  expect_values(run_unary("aten.round.default", kEdges),
                {kNan, -kInf, kInf, -0.0, 0, -2, -2, -0.0, 0, 2, 2, 4, -4});
  expect_values(run_unary("aten.trunc.default", kEdges),
                {kNan, -kInf, kInf, -0.0, 0, -2, -1, -0.0, 0, 1, 2, 3, -3});
  // torch.sign gives 0 for NaN (Kiln's Sign, as numpy's, keeps it) and +0 for -0.
  expect_values(run_unary("aten.sign.default", kEdges),
                {0, -1, 1, 0, 0, -1, -1, -1, 1, 1, 1, 1, -1});
}

// torch.round(x, decimals=2) and decimals=-2.
TEST(AtenPointwise, RoundWithDecimals) {
  expect_values(run_unary("aten.round.decimals", {1.2345, 125.0, -0.05, 2.675, 0.125},
                          {arg("decimals", int64_t{2})}),
                {1.23000002, 125.0, -0.0500000007, 2.68000007, 0.119999997}, 1);
  expect_values(run_unary("aten.round.decimals", {1250.0, 1350.0, -0.05, 149.9, 50.0},
                          {arg("decimals", int64_t{-2})}),
                {1200, 1400, -0.0, 100, 0});
}

// floor, ceil, round and trunc of integers are the integers (no node); sign of an integer is
// Sign in its dtype.
TEST(AtenPointwise, IntegersKeepTheirValues) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int64, Dims{3});
  for (const char* target : {"aten.floor.default", "aten.round.default", "aten.trunc.default"}) {
    EXPECT_EQ(h.convert(target, {arg("self", x)}, target), x) << target;
  }
  ir::Value* sign = h.convert("aten.sign.default", {arg("self", x)}, "sign");
  Tensor result = h.run_one(sign, {{"x", Tensor::from_vector<int64_t>({3}, {-3, 0, 5})}});
  EXPECT_EQ(result.dtype(), DType::Int64);
  EXPECT_THAT(result.to_double_vector(), ElementsAre(-1, 0, 1));
  EXPECT_THAT(
      h.conversion_error("aten.round.decimals", {arg("self", x), arg("decimals", int64_t{1})}),
      HasSubstr("round with decimals on int64"));
}

TEST(AtenPointwise, IsinfAndIsnanOfFloatsAndIntegers) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{4});
  ir::Value* n = h.input("n", DType::Int64, Dims{2});
  ir::Value* inf = h.convert("aten.isinf.default", {arg("self", x)}, "inf");
  ir::Value* nan = h.convert("aten.isnan.default", {arg("self", x)}, "nan");
  ir::Value* int_inf = h.convert("aten.isinf.default", {arg("self", n)}, "int_inf");
  std::vector<Tensor> results = h.run(
      {inf, nan, int_inf},
      {{"x", floats({kNan, -kInf, kInf, 3})}, {"n", Tensor::from_vector<int64_t>({2}, {1, -1})}});
  EXPECT_EQ(results[0].dtype(), DType::Bool);
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0, 1, 1, 0));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 0, 0, 0));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(0, 0));
}

// torch.div(a, b, rounding_mode='floor' / 'trunc'): 1 // 0.1 is 9 (PyTorch floors the exact
// quotient (a - fmod(a, b)) / b), zero quotients keep a / b's sign, b = 0 gives a / b.
TEST(AtenPointwise, DivRoundingModesOfFloats) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{10});
  ir::Value* b = h.input("b", DType::Float32, Dims{10});
  auto divide = [&](const char* mode) {
    return h.convert("aten.div.Tensor_mode",
                     {arg("self", a), arg("other", b), arg("rounding_mode", std::string(mode))},
                     mode);
  };
  ir::Value* floor = divide("floor");
  ir::Value* trunc = divide("trunc");
  std::vector<Tensor> results =
      h.run({floor, trunc}, {{"a", floats({-7.5, 7.5, 1, -1, 5, -0.0, 0.5, -3, 7, 0})},
                             {"b", floats({2, -2, 0.1, 0.1, 0, 3, -4, 0, 7, 0})}});
  expect_values(results[0], {-4, -4, 9, -10, kInf, -0.0, -1, -kInf, 1, kNan});
  expect_values(results[1], {-3, -3, 10, -10, kInf, -0.0, -0.0, -kInf, 1, kNan});
}

TEST(AtenPointwise, DivRoundingModesOfIntegersAndScalars) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Int64, Dims{7});
  ir::Value* b = h.input("b", DType::Int64, Dims{7});
  auto mode = [](const char* name) { return arg("rounding_mode", std::string(name)); };
  ir::Value* floor =
      h.convert("aten.div.Tensor_mode", {arg("self", a), arg("other", b), mode("floor")}, "floor");
  ir::Value* trunc =
      h.convert("aten.div.Tensor_mode", {arg("self", a), arg("other", b), mode("trunc")}, "trunc");
  ir::Value* by_three = h.convert(
      "aten.div.Scalar_mode", {arg("self", a), arg("other", int64_t{3}), mode("floor")}, "three");
  ir::Value* by_half =
      h.convert("aten.div.Scalar_mode", {arg("self", a), arg("other", 2.5), mode("floor")}, "half");
  ir::Value* true_division =
      h.convert("aten.div.Scalar_mode", {arg("self", a), arg("other", int64_t{2})}, "true");
  std::vector<Tensor> results =
      h.run({floor, trunc, by_three, by_half, true_division},
            {{"a", Tensor::from_vector<int64_t>({7}, {-7, 7, 7, -7, 6, 0, -1})},
             {"b", Tensor::from_vector<int64_t>({7}, {2, -2, 2, -2, 3, 5, 5})}});
  EXPECT_EQ(results[0].dtype(), DType::Int64);
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(-4, -4, 3, 3, 2, 0, -1));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(-3, -3, 3, 3, 2, 0, 0));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(-3, 2, 2, -3, 2, 0, -1));
  EXPECT_EQ(results[3].dtype(), DType::Float32);
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(-3, 2, 2, -3, 2, 0, -1));
  EXPECT_THAT(results[4].to_double_vector(), ElementsAre(-3.5, 3.5, 3.5, -3.5, 3, 0, -0.5));
}

// torch.atan2 in all four quadrants, on both axes with both zeros, and at the infinities.
TEST(AtenPointwise, Atan2InEveryQuadrantAndAtSignedZerosAndInfinities) {
  AtenHarness h;
  ir::Value* y = h.input("y", DType::Float32, Dims{19});
  ir::Value* x = h.input("x", DType::Float32, Dims{19});
  ir::Value* angle = h.convert("aten.atan2.default", {arg("self", y), arg("other", x)});
  Tensor result = h.run_one(angle, {{"y", floats({0, -0.0, 0, -0.0, 1, -1, 1, -1, 3, -3, kInf, kInf,
                                                  -kInf, -kInf, 1, 1, 0, kNan, 2})},
                                    {"x", floats({0, 0, -0.0, -0.0, 0, 0, -0.0, -0.0, -4, -4, kInf,
                                                  -kInf, kInf, -kInf, kInf, -kInf, -1, 1, 2})}});
  expect_values(result,
                {0, -0.0, kPi, -kPi, kPi / 2, -kPi / 2, kPi / 2, -kPi / 2, 2.49809146, -2.49809146,
                 kPi / 4, 3 * kPi / 4, -kPi / 4, -3 * kPi / 4, 0, kPi, kPi, kNan, kPi / 4},
                2);
}

// torch.expm1 and torch.log1p near 0 (where exp(x) - 1 and log(1 + x) lose every digit) and
// elsewhere, within 4 float32 ulps.
TEST(AtenPointwise, Expm1AndLog1pKeepTheDigitsNearZero) {
  const std::vector<double> x = {-1,    -0.999, -0.5, -0.3, -1e-3, -1e-7, -0.0, 0,
                                 1e-10, 1e-7,   1e-3, 0.3,  0.49,  0.5,   0.51, 1,
                                 2,     10,     100,  89,   kInf,  -kInf, kNan};
  expect_values(run_unary("aten.expm1.default", x),
                {-0.63212055,
                 -0.631752491,
                 -0.393469334,
                 -0.259181798,
                 -0.00099950016,
                 -9.99999941e-08,
                 -0.0,
                 0,
                 1.00000001e-10,
                 1.00000008e-07,
                 0.00100050017,
                 0.34985882,
                 0.632316232,
                 0.648721278,
                 0.66529119,
                 1.71828187,
                 6.38905621,
                 22025.4648,
                 kInf,
                 kInf,
                 kInf,
                 -1,
                 kNan},
                4);
  expect_values(run_unary("aten.log1p.default", x),
                {-kInf,
                 -6.90776825,
                 -0.693147182,
                 -0.356674969,
                 -0.0010005004,
                 -1.00000008e-07,
                 -0.0,
                 0,
                 1.00000001e-10,
                 9.99999941e-08,
                 0.000999500393,
                 0.262364268,
                 0.398776114,
                 0.405465096,
                 0.412109643,
                 0.693147182,
                 1.09861231,
                 2.39789534,
                 4.61512041,
                 4.49980974,
                 kInf,
                 kNan,
                 kNan},
                4);
}

// torch.log2 / log10: powers of the base give their exponents exactly.
TEST(AtenPointwise, Log2AndLog10AreExactAtPowers) {
  const std::vector<double> x = {
      0,    0.001, 0.3, 1,    3, 8, 1024, std::ldexp(1.0, -126), std::ldexp(1.0, 100),
      1e10, 1000,  7,   kInf, -1};
  Tensor log2 = run_unary("aten.log2.default", x);
  expect_values(log2,
                {-kInf, -9.96578407, -1.73696554, 0, 1.58496249, 3, 10, -126, 100, 33.2192802,
                 9.96578407, 2.80735493, kInf, kNan},
                2);
  for (size_t i : {3, 5, 6, 7, 8}) EXPECT_EQ(log2.to_double_vector()[i], std::log2(x[i]));
  Tensor log10 = run_unary("aten.log10.default", x);
  expect_values(log10,
                {-kInf, -3, -0.522878706, 0, 0.477121264, 0.90309, 3.01029992, -37.9297791,
                 30.1029987, 10, 3, 0.845098019, kInf, kNan},
                2);
  for (size_t i : {1, 3, 9, 10})
    EXPECT_EQ(log10.to_double_vector()[i], std::round(std::log10(x[i])));
}

// The trigonometric and hyperbolic targets are one core op each; integers compute in float32.
TEST(AtenPointwise, TrigonometricTargetsAreOneCoreOp) {
  const std::vector<std::pair<std::string, std::string>> targets = {
      {"tan", "Tan"},   {"asin", "Asin"},   {"acos", "Acos"},   {"atan", "Atan"},  {"sinh", "Sinh"},
      {"cosh", "Cosh"}, {"asinh", "Asinh"}, {"acosh", "Acosh"}, {"atanh", "Atanh"}};
  for (const auto& [name, op] : targets) {
    AtenHarness h;
    ir::Value* n = h.input("n", DType::Int64, Dims{1});
    ir::Value* out = h.convert("aten." + name + ".default", {arg("self", n)});
    EXPECT_THAT(h.ops(), ElementsAre("Cast", op)) << name;
    EXPECT_EQ(out->dtype, DType::Float32) << name;
  }
  // torch.atan(torch.tensor([1.0])), torch.acosh(torch.tensor([2.0]))
  expect_values(run_unary("aten.atan.default", {1}), {0.785398185}, 1);
  expect_values(run_unary("aten.acosh.default", {2}), {1.31695795}, 1);
}

}  // namespace
}  // namespace kiln::torch
