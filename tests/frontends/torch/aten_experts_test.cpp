// index_put, histc and the grouped products of mixture-of-experts layers: the values they
// compute on the CPU reference, by hand, and what they refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using testing::floats;
using ::testing::HasSubstr;
using testing::int64s;
using testing::iota;

// x.index_put_((rows,), v, accumulate=True) with row 0 twice: both values add up there.
TEST(AtenIndexPut, AccumulatesRepeatedRows) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{4, 2});
  ir::Value* rows = h.input("rows", DType::Int64, Dims{3});
  ir::Value* v = h.input("v", DType::Float32, Dims{3, 2});
  ir::Value* out =
      h.convert("aten.index_put.default", {arg("self", x), arg("indices", TensorList{rows}),
                                           arg("values", v), arg("accumulate", true)});
  Tensor result = h.run_one(out, {{"x", floats({4, 2}, std::vector<float>(8, 0.5f))},
                                  {"rows", int64s({3}, {0, 2, 0})},
                                  {"v", floats({3, 2}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(6.5, 8.5, 0.5, 0.5, 3.5, 4.5, 0.5, 0.5));
}

// x[:, i, j] = v with v of shape (2, 1): NumPy's x[:, i, j] is [batch, k], so v[b] goes to
// x[b, i[k], j[k]] for every k; a negative index counts from the end.
TEST(AtenIndexPut, AdjacentIndicesAfterNoneTakeValuesInNumPyLayout) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3, 4});
  ir::Value* i = h.input("i", DType::Int64, Dims{2});
  ir::Value* j = h.input("j", DType::Int64, Dims{2});
  ir::Value* v = h.input("v", DType::Float32, Dims{2, 1});
  ir::Value* out =
      h.convert("aten.index_put.default",
                {arg("self", x), arg("indices", TensorList{nullptr, i, j}), arg("values", v)});
  Tensor result = h.run_one(out, {{"x", floats({2, 3, 4}, iota(24))},
                                  {"i", int64s({2}, {2, 0})},
                                  {"j", int64s({2}, {1, -1})},
                                  {"v", floats({2, 1}, {100, 200})}});
  std::vector<double> expected(24);
  for (int k = 0; k < 24; ++k) expected[k] = k;
  expected[9] = expected[3] = 100;    // x[0, 2, 1], x[0, 0, 3]
  expected[21] = expected[15] = 200;  // x[1, 2, 1], x[1, 0, 3]
  EXPECT_EQ(result.to_double_vector(), expected);
}

// x[i, :, j] = v: separated indexed dims; NumPy's x[i, :, j] is [k, c].
TEST(AtenIndexPut, SeparatedIndicesTakeValuesWithTheBroadcastDimsFirst) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3, 4});
  ir::Value* i = h.input("i", DType::Int64, Dims{2});
  ir::Value* j = h.input("j", DType::Int64, Dims{2});
  ir::Value* v = h.input("v", DType::Float32, Dims{2, 3});
  ir::Value* out =
      h.convert("aten.index_put.default",
                {arg("self", x), arg("indices", TensorList{i, nullptr, j}), arg("values", v)});
  Tensor result = h.run_one(out, {{"x", floats({2, 3, 4}, std::vector<float>(24, 0))},
                                  {"i", int64s({2}, {1, 0})},
                                  {"j", int64s({2}, {2, 0})},
                                  {"v", floats({2, 3}, {100, 101, 102, 103, 104, 105})}});
  std::vector<double> values = result.to_double_vector();
  EXPECT_EQ(values[14], 100);  // x[1, 0, 2] = v[0, 0]
  EXPECT_EQ(values[18], 101);  // x[1, 1, 2]
  EXPECT_EQ(values[22], 102);
  EXPECT_EQ(values[0], 103);  // x[0, 0, 0] = v[1, 0]
  EXPECT_EQ(values[4], 104);
  EXPECT_EQ(values[8], 105);
  double total = 0;
  for (double value : values) total += value;
  EXPECT_EQ(total, 615);  // nothing else written
}

// x[mask] = v: one value for every masked element (a Where, not a scatter), v broadcast over
// the dims after the mask's; with accumulate, added there.
TEST(AtenIndexPut, BooleanMaskWritesOrAddsOneValuePerElement) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2, 3});
  ir::Value* mask = h.input("mask", DType::Bool, Dims{2, 2});
  ir::Value* v = h.input("v", DType::Float32, Dims{3});
  ir::Value* written =
      h.convert("aten.index_put.default",
                {arg("self", x), arg("indices", TensorList{mask}), arg("values", v)}, "written");
  ir::Value* added = h.convert(
      "aten.index_put.default",
      {arg("self", x), arg("indices", TensorList{mask}), arg("values", v), arg("accumulate", true)},
      "added");
  Tensor flags(DType::Bool, {2, 2});
  flags.data_mutable<bool>()[1] = true;  // row [0, 1]
  flags.data_mutable<bool>()[2] = true;  // row [1, 0]
  auto results = h.run(
      {written, added},
      {{"x", floats({2, 2, 3}, iota(12))}, {"mask", flags}, {"v", floats({3}, {-1, -2, -3})}});
  EXPECT_THAT(results[0].to_double_vector(),
              ElementsAre(0, 1, 2, -1, -2, -3, -1, -2, -3, 9, 10, 11));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 1, 2, 2, 2, 2, 5, 5, 5, 9, 10, 11));
}

TEST(AtenIndexPut, RefusesOneValuePerMaskedElement) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2, 3});
  ir::Value* mask = h.input("mask", DType::Bool, Dims{2, 2});
  ir::Value* v = h.input("v", DType::Float32, Dims{5, 3});
  std::string error =
      h.conversion_error("aten.index_put.default",
                         {arg("self", x), arg("indices", TensorList{mask}), arg("values", v)});
  EXPECT_THAT(error, HasSubstr("boolean mask 'mask'"));
  EXPECT_THAT(error, HasSubstr("depends on the data"));
}

Tensor histogram(const std::vector<float>& data, int64_t bins, double low, double high) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{int64_t(data.size())});
  ir::Value* out = h.convert(
      "aten.histc.default", {arg("self", x), arg("bins", bins), arg("min", low), arg("max", high)});
  return h.run_one(out, {{"x", floats({int64_t(data.size())}, data)}});
}

// Values as torch.histc gives them (PyTorch 2.15).
TEST(AtenHistc, CountsLikeTorch) {
  // max itself falls in the last bin.
  EXPECT_THAT(histogram({0, 1, 2, 3, 3, 7, 7, 7}, 8, 0, 7).to_double_vector(),
              ElementsAre(1, 1, 1, 2, 0, 0, 0, 3));
  // min == max: the data's own range, [1, 5].
  EXPECT_THAT(histogram({1, 2, 5}, 4, 0, 0).to_double_vector(), ElementsAre(1, 1, 0, 1));
  EXPECT_THAT(histogram({1, 2, 5}, 4, 2, 2).to_double_vector(), ElementsAre(1, 1, 0, 1));
  // Constant data: one either side, [2, 4].
  EXPECT_THAT(histogram({3, 3}, 4, 0, 0).to_double_vector(), ElementsAre(0, 0, 2, 0));
  // Outside the range and NaN: in no bin.
  EXPECT_THAT(histogram({-1, 0.5f, 2, std::nanf(""), 1}, 2, 0, 1).to_double_vector(),
              ElementsAre(0, 2));
}

// Integer data (the expert ids of a mixture-of-experts layer on the GPU): integer counts.
TEST(AtenHistc, CountsIntegersAsIntegers) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Int32, Dims{5});
  ir::Value* out = h.convert(
      "aten.histc.default",
      {arg("self", x), arg("bins", int64_t{4}), arg("min", int64_t{0}), arg("max", int64_t{3})});
  EXPECT_EQ(out->dtype, DType::Int32);
  Tensor ids = Tensor::from_vector<int32_t>({5}, {0, 1, 1, 3, 3});
  EXPECT_THAT(h.run_one(out, {{"x", ids}}).to_double_vector(), ElementsAre(1, 2, 0, 2));
}

TEST(AtenHistc, RefusesAnEmptyOrReversedRange) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3});
  EXPECT_THAT(h.conversion_error("aten.histc.default", {arg("self", x), arg("bins", int64_t{0})}),
              HasSubstr("bins must be positive"));
  EXPECT_THAT(
      h.conversion_error("aten.histc.default", {arg("self", x), arg("min", 2.0), arg("max", 1.0)}),
      HasSubstr("greater than max"));
}

// Rows 0-1 by expert 0, none by expert 1, rows 2-3 by expert 2; row 4 is past the last
// offset, so zeros (as transformers' fallback leaves it).
struct GroupedCase {
  AtenHarness h;
  ir::Value* input = h.input("input", DType::Float32, Dims{5, 2});
  ir::Value* weight = h.input("weight", DType::Float32, Dims{3, 2, 2});
  ir::Value* offs = h.input("offs", DType::Int32, Dims{3});
  std::map<std::string, Tensor> feeds = {
      {"input", floats({5, 2}, {1, 0, 0, 1, 1, 1, 2, 0, 5, 5})},
      {"weight", floats({3, 2, 2}, {1, 2, 3, 4, 100, 100, 100, 100, 0, 1, 1, 0})},
      {"offs", Tensor::from_vector<int32_t>({3}, {2, 2, 4})}};
};

TEST(AtenGroupedMm, TransformersFallbackMultipliesEachGroupByItsExpert) {
  GroupedCase c;
  ir::Value* out =
      c.h.convert("transformers.grouped_mm_fallback.default",
                  {arg("input", c.input), arg("weight", c.weight), arg("offs", c.offs)});
  EXPECT_THAT(c.h.run_one(out, c.feeds).to_double_vector(),
              ElementsAre(1, 2, 3, 4, 1, 1, 0, 2, 0, 0));
}

TEST(AtenGroupedMm, AtenGroupedMmAddsEachGroupsBias) {
  GroupedCase c;
  ir::Value* bias = c.h.input("bias", DType::Float32, Dims{3, 2});
  ir::Value* out = c.h.convert(
      "aten._grouped_mm.default",
      {arg("self", c.input), arg("mat2", c.weight), arg("offs", c.offs), arg("bias", bias)});
  c.feeds["bias"] = floats({3, 2}, {10, 20, 0, 0, -1, -1});
  EXPECT_THAT(c.h.run_one(out, c.feeds).to_double_vector(),
              ElementsAre(11, 22, 13, 24, 0, 0, -1, 1, 0, 0));
}

TEST(AtenGroupedMm, WithoutOffsetsIsABatchedProduct) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{2, 1, 2});
  ir::Value* b = h.input("b", DType::Float32, Dims{2, 2, 1});
  ir::Value* out = h.convert("aten._grouped_mm.default", {arg("self", a), arg("mat2", b)});
  Tensor result = h.run_one(
      out, {{"a", floats({2, 1, 2}, {1, 2, 3, 4})}, {"b", floats({2, 2, 1}, {5, 6, 7, 8})}});
  EXPECT_EQ(result.dims(), (Dims{2, 1, 1}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(17, 53));
}

TEST(AtenGroupedMm, RefusesGroupsAlongTheInnerDim) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{4, 6});
  ir::Value* b = h.input("b", DType::Float32, Dims{6, 3});
  ir::Value* offs = h.input("offs", DType::Int32, Dims{2});
  std::string error = h.conversion_error("aten._grouped_mm.default",
                                         {arg("self", a), arg("mat2", b), arg("offs", offs)});
  EXPECT_THAT(error, HasSubstr("2-D 'a' and 2-D 'b'"));
}

}  // namespace
}  // namespace kiln::torch
