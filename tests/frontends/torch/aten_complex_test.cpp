// Complex views and arithmetic (aten_complex.cpp) against std::complex: products, sums with
// alpha, quotients, negation, conjugates and magnitudes of complex pairs with complex, real and
// number operands; view / reshape / view_as_complex keep the pair's dim last; a real call still
// takes the real converter.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <complex>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using Complex = std::complex<double>;

// Values (re, im) of element i of a [.., 2] pair tensor: distinct, none zero.
Tensor pairs(const Dims& dims) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(0.25f * float((i * 7) % 11) - 1.1f);
  return Tensor::from_vector(dims, values);
}

std::vector<Complex> as_complex(const Tensor& pair) {
  std::vector<double> v = pair.to_double_vector();
  std::vector<Complex> out;
  for (size_t i = 0; i + 1 < v.size(); i += 2) out.emplace_back(v[i], v[i + 1]);
  return out;
}

void expect_pairs(const Tensor& got, const std::vector<Complex>& want) {
  std::vector<Complex> values = as_complex(got);
  ASSERT_EQ(values.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(values[i].real(), want[i].real(), 1e-5) << i;
    EXPECT_NEAR(values[i].imag(), want[i].imag(), 1e-5) << i;
  }
}

struct PairInputs {
  AtenHarness h;
  ir::Value* a = complex_input("a", {2, 3, 2});
  ir::Value* b = complex_input("b", {3, 2});  // broadcast over a's first dim
  ir::Value* r = h.input("r", DType::Float32, Dims{2, 3});
  Tensor a_value = pairs({2, 3, 2}), b_value = pairs({3, 2});
  Tensor r_value = Tensor::from_vector<float>({2, 3}, {0.5f, -2.f, 3.f, 1.5f, -0.25f, 4.f});

  ir::Value* complex_input(const std::string& name, const Dims& dims) {
    ir::Value* value = h.input(name, DType::Float32, dims);
    h.context.mark_complex(value);
    return value;
  }
  std::map<std::string, Tensor> feeds() const {
    return {{"a", a_value}, {"b", b_value}, {"r", r_value}};
  }
  Complex at_a(size_t i) const { return as_complex(a_value)[i]; }
  Complex at_b(size_t i) const { return as_complex(b_value)[i % 3]; }
  double at_r(size_t i) const { return r_value.to_double_vector()[i]; }
};

TEST(AtenComplex, ProductsSumsAndQuotients) {
  PairInputs in;
  auto call = [&](const char* target, ir::Value* self, Argument other, const char* out,
                  double alpha = 1.0) {
    std::vector<NamedArgument> args = {arg("self", self), arg("other", std::move(other))};
    if (alpha != 1.0) args.push_back(arg("alpha", alpha));
    ir::Value* value = in.h.convert(target, args, out);
    EXPECT_TRUE(in.h.context.is_complex(value)) << out;
    return value;
  };
  ir::Value* product = call("aten.mul.Tensor", in.a, in.b, "product");
  ir::Value* scaled = call("aten.mul.Tensor", in.a, in.r, "scaled");
  ir::Value* doubled = call("aten.mul.Scalar", in.a, 2.0, "doubled");
  ir::Value* sum = call("aten.add.Tensor", in.a, in.b, "sum", 0.5);
  ir::Value* difference = call("aten.sub.Tensor", in.r, in.a, "difference");
  ir::Value* quotient = call("aten.div.Tensor", in.a, in.b, "quotient");
  auto results = in.h.run({product, scaled, doubled, sum, difference, quotient}, in.feeds());
  std::vector<Complex> want[6];
  for (size_t i = 0; i < 6; ++i) {
    want[0].push_back(in.at_a(i) * in.at_b(i));
    want[1].push_back(in.at_a(i) * in.at_r(i));
    want[2].push_back(in.at_a(i) * 2.0);
    want[3].push_back(in.at_a(i) + 0.5 * in.at_b(i));
    want[4].push_back(in.at_r(i) - in.at_a(i));
    want[5].push_back(in.at_a(i) / in.at_b(i));
  }
  for (size_t k = 0; k < 6; ++k) {
    SCOPED_TRACE(k);
    expect_pairs(results[k], want[k]);
  }
}

TEST(AtenComplex, NegationConjugatesAndMagnitudes) {
  PairInputs in;
  ir::Value* negated = in.h.convert("aten.neg.default", {arg("self", in.a)}, "negated");
  ir::Value* conjugate = in.h.convert("aten.conj_physical.default", {arg("self", in.a)}, "conj");
  ir::Value* resolved = in.h.convert("aten.resolve_conj.default", {arg("self", in.a)}, "same");
  EXPECT_EQ(resolved, in.a);
  ir::Value* magnitude = in.h.convert("aten.abs.default", {arg("self", in.a)}, "magnitude");
  EXPECT_FALSE(in.h.context.is_complex(magnitude));
  ir::Value* real_abs = in.h.convert("aten.abs.default", {arg("self", in.r)}, "real_abs");
  auto results = in.h.run({negated, conjugate, magnitude, real_abs}, in.feeds());
  std::vector<Complex> neg, conj;
  std::vector<double> abs;
  for (size_t i = 0; i < 6; ++i) {
    neg.push_back(-in.at_a(i));
    conj.push_back(std::conj(in.at_a(i)));
    EXPECT_NEAR(results[2].to_double_vector()[i], std::abs(in.at_a(i)), 1e-5);
    EXPECT_EQ(results[3].to_double_vector()[i], std::abs(in.at_r(i)));
  }
  expect_pairs(results[0], neg);
  expect_pairs(results[1], conj);
}

// Meta's rotary embeddings: view_as_complex(x.reshape(..., -1, 2)), a view of the complex
// table, their product, view_as_real and flatten back.
TEST(AtenComplex, ViewsKeepThePairLast) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 4, 2});
  ir::Value* q = h.convert("aten.view_as_complex.default", {arg("self", x)}, "q");
  ASSERT_TRUE(h.context.is_complex(q));
  ir::Value* table = h.input("table", DType::Float32, Dims{8, 2});
  h.context.mark_complex(table);
  ir::Value* view = h.convert(
      "aten.view.default", {arg("self", table), arg("size", std::vector<int64_t>{2, 4})}, "view");
  ASSERT_TRUE(h.context.is_complex(view));
  EXPECT_EQ(view->shape.to_string(), "[2, 4, 2]");
  ir::Value* rotated = h.convert("aten.mul.Tensor", {arg("self", q), arg("other", view)}, "rot");
  ir::Value* real = h.convert("aten.view_as_real.default", {arg("self", rotated)}, "real");
  Tensor x_value = pairs({2, 4, 2}), table_value = pairs({8, 2});
  Tensor result = h.run_one(real, {{"x", x_value}, {"table", table_value}});
  EXPECT_EQ(result.dims(), (Dims{2, 4, 2}));
  std::vector<Complex> xs = as_complex(x_value), ts = as_complex(table_value), want;
  for (size_t i = 0; i < 8; ++i) want.push_back(xs[i] * ts[i]);
  expect_pairs(result, want);
}

// polar(abs, angle) as freqs_cis is built in a forward, and complex(real, imag) broadcast.
TEST(AtenComplex, PolarAndComplexBuildPairs) {
  AtenHarness h;
  ir::Value* magnitude = h.input("m", DType::Float32, Dims{2, 3});
  ir::Value* angle = h.input("t", DType::Float32, Dims{2, 3});
  ir::Value* re = h.input("re", DType::Float32, Dims{3});
  ir::Value* polar =
      h.convert("aten.polar.default", {arg("abs", magnitude), arg("angle", angle)}, "polar");
  ir::Value* built =
      h.convert("aten.complex.default", {arg("real", re), arg("imag", angle)}, "built");
  ASSERT_TRUE(h.context.is_complex(polar) && h.context.is_complex(built));
  Tensor m = Tensor::from_vector<float>({2, 3}, {1.f, 2.f, 0.5f, 3.f, 1.5f, 0.25f});
  Tensor t = Tensor::from_vector<float>({2, 3}, {0.f, 0.7f, -1.2f, 2.5f, 3.1f, -0.4f});
  Tensor r = Tensor::from_vector<float>({3}, {4.f, -5.f, 6.f});
  auto results = h.run({polar, built}, {{"m", m}, {"t", t}, {"re", r}});
  std::vector<Complex> want_polar, want_built;
  std::vector<double> mv = m.to_double_vector(), tv = t.to_double_vector(),
                      rv = r.to_double_vector();
  for (size_t i = 0; i < 6; ++i) {
    want_polar.push_back(std::polar(mv[i], tv[i]));
    want_built.emplace_back(rv[i % 3], tv[i]);
  }
  expect_pairs(results[0], want_polar);
  expect_pairs(results[1], want_built);
}

TEST(AtenComplex, RealOperandsTakeTheRealConverter) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3});
  ir::Value* y = h.convert("aten.mul.Tensor", {arg("self", x), arg("other", x)});
  EXPECT_FALSE(h.context.is_complex(y));
  EXPECT_THAT(h.ops(), ::testing::ElementsAre("Mul"));
}

}  // namespace
}  // namespace kiln::torch
