// ATen ops written as several core ops (aten_composite.cpp), run on the CPU reference against
// values worked out by hand from PyTorch's documented semantics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using testing::floats;
using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

// torch.le / torch.ge with NaN are false (not the negation of gt / lt).
TEST(AtenComposite, LeAndGeAreFalseForNaN) {
  for (const char* target : {"aten.le.Tensor", "aten.ge.Tensor"}) {
    AtenHarness h;
    ir::Value* a = h.input("a", DType::Float32, Dims{3});
    ir::Value* b = h.input("b", DType::Float32, Dims{3});
    ir::Value* out = h.convert(target, {arg("self", a), arg("other", b)});
    Tensor result =
        h.run_one(out, {{"a", floats({3}, {1, NAN, 2})}, {"b", floats({3}, {1, 1, 1})}});
    bool le = std::string(target) == "aten.le.Tensor";
    EXPECT_THAT(result.to_int64_vector(), ElementsAre(1, 0, le ? 0 : 1)) << target;
  }
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Int64, Dims{3});
  ir::Value* out = h.convert("aten.le.Scalar", {arg("self", a), arg("other", int64_t{2})});
  Tensor result = h.run_one(out, {{"a", Tensor::from_vector<int64_t>({3}, {1, 2, 3})}});
  EXPECT_THAT(result.to_int64_vector(), ElementsAre(1, 1, 0));
}

TEST(AtenComposite, LogSoftmaxAndLogSumExpAreStable) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2});
  ir::Value* log_softmax =
      h.convert("aten.log_softmax.int", {arg("self", x), arg("dim", int64_t{-1})}, "log_softmax");
  ir::Value* lse = h.convert("aten.logsumexp.default",
                             {arg("self", x), arg("dim", std::vector<int64_t>{1})}, "lse");
  std::vector<Tensor> results =
      h.run({log_softmax, lse}, {{"x", floats({2, 2}, {1000, -1000, -INFINITY, -INFINITY})}});
  EXPECT_THAT(results[0].to_double_vector().front(), 0.0);
  EXPECT_THAT(results[0].to_double_vector()[1], -2000.0);
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(DoubleNear(1000, 1e-3), -kInf));
}

TEST(AtenComposite, VectorNorms) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2});
  ir::Value* l2 = h.convert("aten.linalg_vector_norm.default",
                            {arg("self", x), arg("dim", std::vector<int64_t>{1})}, "l2");
  ir::Value* l1 = h.convert(
      "aten.norm.ScalarOpt_dim",
      {arg("self", x), arg("p", 1.0), arg("dim", std::vector<int64_t>{1}), arg("keepdim", true)},
      "l1");
  std::vector<Tensor> results = h.run({l2, l1}, {{"x", floats({2, 2}, {3, -4, 0, 1})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(5, 1));
  EXPECT_EQ(results[1].dims(), (Dims{2, 1}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(7, 1));

  // Other orders: the largest |x| (inf), the smallest (-inf), the nonzero count (0), and
  // (sum |x|^p)^(1/p).
  AtenHarness others;
  ir::Value* y = others.input("y", DType::Float32, Dims{3});
  std::vector<ir::Value*> norms;
  for (double order : {kInf, -kInf, 0.0, 3.0}) {
    norms.push_back(others.convert("aten.linalg_vector_norm.default",
                                   {arg("self", y), arg("ord", order)},
                                   "norm" + std::to_string(norms.size())));
  }
  std::vector<Tensor> values = others.run(norms, {{"y", floats({3}, {-2, 0, 1})}});
  EXPECT_EQ(values[0].to_double_vector().front(), 2);
  EXPECT_EQ(values[1].to_double_vector().front(), 0);
  EXPECT_EQ(values[2].to_double_vector().front(), 2);
  EXPECT_NEAR(values[3].to_double_vector().front(), std::cbrt(9.0), 1e-6);
}

TEST(AtenComposite, ActivationsMatchPyTorch) {
  Tensor input = floats({3}, {-1, 0.5f, 30});
  auto run = [&](const std::string& target, std::vector<NamedArgument> extra) {
    AtenHarness h;
    ir::Value* x = h.input("x", DType::Float32, Dims{3});
    extra.insert(extra.begin(), arg("self", x));
    return h.run_one(h.convert(target, extra), {{"x", input}}).to_double_vector();
  };
  auto near = [](std::vector<double> expected) {
    std::vector<::testing::Matcher<double>> matchers;
    for (double value : expected)
      matchers.push_back(DoubleNear(value, 1e-5 * (1 + std::abs(value))));
    return ::testing::ElementsAreArray(matchers);
  };
  EXPECT_THAT(run("aten.elu.default", {arg("alpha", 2.0)}), near({2 * std::expm1(-1.0), 0.5, 30}));
  EXPECT_THAT(run("aten.celu.default", {arg("alpha", 2.0)}), near({2 * std::expm1(-0.5), 0.5, 30}));
  EXPECT_THAT(run("aten.leaky_relu.default", {arg("negative_slope", 0.1)}), near({-0.1, 0.5, 30}));
  // softplus(beta=2, threshold=20): linear where beta*x > 20.
  EXPECT_THAT(run("aten.softplus.default", {arg("beta", 2.0), arg("threshold", 20.0)}),
              near({std::log1p(std::exp(-2.0)) / 2, std::log1p(std::exp(1.0)) / 2, 30}));
  EXPECT_THAT(run("aten.hardshrink.default", {arg("lambd", 0.75)}), near({-1, 0, 30}));
  EXPECT_THAT(run("aten.softshrink.default", {arg("lambd", 0.75)}), near({-0.25, 0, 29.25}));
  EXPECT_THAT(run("aten.threshold.default", {arg("threshold", 1.0), arg("value", -7.0)}),
              near({-7, -7, 30}));
}

// prelu's weight is per channel (dim 1), not per last dim.
TEST(AtenComposite, PreluSlopesFollowTheChannelDim) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 2});
  ir::Value* w = h.input("w", DType::Float32, Dims{2});
  ir::Value* out = h.convert("aten.prelu.default", {arg("self", x), arg("weight", w)});
  Tensor result =
      h.run_one(out, {{"x", floats({1, 2, 2}, {-1, -2, -1, 3})}, {"w", floats({2}, {0.5, 3})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(-0.5, -1, -3, 3));
}

TEST(AtenComposite, OneHotNeedsAClassCount) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int64, Dims{3});
  ir::Value* out =
      h.convert("aten.one_hot.default", {arg("self", x), arg("num_classes", int64_t{3})});
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector<int64_t>({3}, {2, 0, 1})}});
  EXPECT_EQ(result.dtype(), DType::Int64);
  EXPECT_THAT(result.to_int64_vector(), ElementsAre(0, 0, 1, 1, 0, 0, 0, 1, 0));

  AtenHarness inferred;
  ir::Value* y = inferred.input("y", DType::Int64, Dims{3});
  EXPECT_THAT(inferred.conversion_error("aten.one_hot.default", {arg("self", y)}),
              HasSubstr("num_classes=-1"));
}

TEST(AtenComposite, LogicalXor) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{3});
  ir::Value* b = h.input("b", DType::Bool, Dims{3});
  ir::Value* out = h.convert("aten.logical_xor.default", {arg("self", a), arg("other", b)});
  Tensor result =
      h.run_one(out, {{"a", floats({3}, {0, 2, 0})},
                      {"b", Tensor::from_vector<int64_t>({3}, {1, 1, 0}).to(DType::Bool)}});
  EXPECT_THAT(result.to_int64_vector(), ElementsAre(1, 0, 0));
}

}  // namespace
}  // namespace kiln::torch
