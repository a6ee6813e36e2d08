// ATen var (both overloads), flip, repeat, and the spellings torch.export's core dialect uses
// for ops Kiln already had (native_dropout, _adaptive_avg_pool2d, xor with a number), against
// PyTorch's values (torch 2.11) and by hand.
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
using testing::floats;
using ::testing::Pointwise;

constexpr double kFloat32Tolerance = 1e-6;

ir::Shape batch_by(int64_t columns) {
  return ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(columns)});
}

// x = [[1, 2, 4], [3, 5, 9]]: torch.ops.aten.var.correction(x, [1], correction=1, keepdim=True),
// var.dim(x, [1], unbiased=False), var.correction(x) over all, with correction=2, and over a
// dim of one element (NaN: no degrees of freedom).
TEST(AtenVar, CorrectionAndUnbiasedForms) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* one = h.input("one", DType::Float32, Dims{1, 1});
  ir::Value* rows = h.convert("aten.var.correction",
                              {arg("self", x), arg("dim", std::vector<int64_t>{1}),
                               arg("correction", int64_t{1}), arg("keepdim", true)},
                              "rows");
  ir::Value* biased = h.convert(
      "aten.var.dim",
      {arg("self", x), arg("dim", std::vector<int64_t>{-1}), arg("unbiased", false)}, "biased");
  ir::Value* all = h.convert("aten.var.correction", {arg("self", x)}, "all");
  ir::Value* two =
      h.convert("aten.var.correction", {arg("self", x), arg("correction", 2.0)}, "two");
  ir::Value* none = h.convert("aten.var.correction",
                              {arg("self", one), arg("dim", std::vector<int64_t>{1})}, "none");
  std::vector<Tensor> results =
      h.run({rows, biased, all, two, none},
            {{"x", floats({2, 3}, {1, 2, 4, 3, 5, 9})}, {"one", floats({1, 1}, {5})}});
  EXPECT_EQ(results[0].dims(), (Dims{2, 1}));
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance), {2.3333333, 9.3333333}));
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(kFloat32Tolerance), {1.5555556, 6.2222222}));
  EXPECT_EQ(results[2].dims(), Dims{});
  EXPECT_NEAR(results[2].to_double_vector()[0], 8.0, kFloat32Tolerance);
  EXPECT_NEAR(results[3].to_double_vector()[0], 10.0, kFloat32Tolerance);
  EXPECT_TRUE(std::isnan(results[4].to_double_vector()[0]));
}

// With a run-time batch the count of reduced elements is read at run time.
TEST(AtenVar, SymbolicBatch) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, batch_by(2));
  ir::Value* out =
      h.convert("aten.var.correction", {arg("self", x), arg("dim", std::vector<int64_t>{0})});
  // torch.var(torch.tensor([[1., 2], [3, 6], [5, 1]]), dim=0) == [4, 7]
  Tensor result = h.run_one(out, {{"x", floats({3, 2}, {1, 2, 3, 6, 5, 1})}});
  EXPECT_THAT(result.to_double_vector(), Pointwise(DoubleNear(kFloat32Tolerance), {4.0, 7.0}));
}

TEST(AtenShape, FlipReversesTheNamedDims) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, batch_by(3));
  ir::Value* both = h.convert("aten.flip.default",
                              {arg("self", x), arg("dims", std::vector<int64_t>{0, -1})}, "both");
  ir::Value* rows = h.convert("aten.flip.default",
                              {arg("self", x), arg("dims", std::vector<int64_t>{1})}, "rows");
  ir::Value* none =
      h.convert("aten.flip.default", {arg("self", x), arg("dims", std::vector<int64_t>{})}, "none");
  EXPECT_EQ(none, x);
  std::vector<Tensor> results = h.run({both, rows}, {{"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(6, 5, 4, 3, 2, 1));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(3, 2, 1, 6, 5, 4));
}

// x.repeat(2, 1, 2) of a [2, 3] x: a new leading dim of 2, the columns twice.
TEST(AtenShape, RepeatTilesAndAddsLeadingDims) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* out = h.convert("aten.repeat.default",
                             {arg("self", x), arg("repeats", std::vector<int64_t>{2, 1, 2})});
  EXPECT_EQ(out->shape.to_string(), "[2, 2, 6]");
  Tensor result = h.run_one(out, {{"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6,  //
                                                     1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6));
}

TEST(AtenShape, RepeatOfARunTimeBatch) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, batch_by(2));
  ir::Value* out = h.convert("aten.repeat.default",
                             {arg("self", x), arg("repeats", std::vector<int64_t>{3, 1})});
  Tensor result = h.run_one(out, {{"x", floats({2, 2}, {1, 2, 3, 4})}});
  EXPECT_EQ(result.dims(), (Dims{6, 2}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4));
}

// torch.ops.aten.native_dropout(x, 0.5, False): x itself and an all-true mask.
TEST(AtenExportSpellings, NativeDropoutAtInference) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, batch_by(3));
  h.convert_slots("aten.native_dropout.default",
                  {arg("input", x), arg("p", 0.5), arg("train", false)},
                  {{OutputSlot::Kind::Tensor, {"out"}}, {OutputSlot::Kind::Tensor, {"mask"}}});
  EXPECT_EQ(h.context.find_tensor("out"), x);
  ir::Value* mask = h.context.find_tensor("mask");
  ASSERT_NE(mask, nullptr);
  Tensor result = h.run_one(mask, {{"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(result.dtype(), DType::Bool);
  EXPECT_THAT(result.to_double_vector(), ElementsAre(1, 1, 1, 1, 1, 1));
  EXPECT_THAT(h.conversion_error("aten.native_dropout.default",
                                 {arg("input", x), arg("p", 0.5), arg("train", true)}),
              ::testing::HasSubstr("training mode"));
}

TEST(AtenExportSpellings, AdaptiveAveragePoolAndScalarXor) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 4, 4});
  ir::Value* b = h.input("b", DType::Bool, Dims{2});
  ir::Value* pooled =
      h.convert("aten._adaptive_avg_pool2d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{2, 2})}, "pooled");
  ir::Value* flipped =
      h.convert("aten.bitwise_xor.Scalar", {arg("self", b), arg("other", true)}, "flipped");
  ir::Value* kept = h.convert("aten.__xor__.Scalar", {arg("self", b), arg("other", false)}, "kept");
  std::vector<float> ramp;
  for (int i = 0; i < 16; ++i) ramp.push_back(float(i));
  std::vector<Tensor> results = h.run(
      {pooled, flipped, kept}, {{"x", floats({1, 1, 4, 4}, ramp)},
                                {"b", Tensor::from_vector<int64_t>({2}, {1, 0}).to(DType::Bool)}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(2.5, 4.5, 10.5, 12.5));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 1));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 0));
}

}  // namespace
}  // namespace kiln::torch
