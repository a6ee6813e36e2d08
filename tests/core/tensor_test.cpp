// Tensor storage (owned, mapped, copy on write), conversions, reshaping, normalized_error
// and precision parsing. Expected values are worked out by hand in the comments.
#include "core/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/precision.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename Fn>
Error expect_error(ErrorKind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    return error;
  }
  ADD_FAILURE() << "expected a kiln::Error";
  return Error(kind, "");
}

TEST(Tensor, OwnedTensorsStartZeroedAndCountTheirBytes) {
  Tensor tensor(DType::Float16, {2, 3});
  EXPECT_EQ(tensor.numel(), 6);
  EXPECT_EQ(tensor.nbytes(), 12u);
  EXPECT_EQ(tensor.dim(-1), 3);
  for (float16 value : tensor.values<float16>()) EXPECT_EQ(value.bits, 0);
  EXPECT_FALSE(Tensor().defined());
  Tensor scalar = Tensor::scalar<int64_t>(7);
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.numel(), 1);
  expect_error(ErrorKind::InvalidArgument, [&] { tensor.dim(2); });
  expect_error(ErrorKind::InvalidArgument, [] { Tensor(DType::Float32, {2, -1}); });
}

TEST(Tensor, CopiesShareBytesUntilOneIsWritten) {
  Tensor original = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor copy = original;
  EXPECT_EQ(copy.raw(), original.raw());
  copy.data_mutable<float>()[0] = 10;
  EXPECT_NE(copy.raw(), original.raw());
  EXPECT_THAT(original.values<float>(), ElementsAre(1, 2, 3));
  EXPECT_THAT(copy.values<float>(), ElementsAre(10, 2, 3));
}

TEST(Tensor, MappedTensorsReadInPlaceAndCopyOnWrite) {
  auto buffer = std::make_shared<std::vector<int32_t>>(std::vector<int32_t>{4, 5, 6, 7});
  Tensor mapped = Tensor::from_mapped(DType::Int32, {2, 2}, buffer, buffer->data(), 16);
  EXPECT_EQ(mapped.raw(), buffer->data());
  mapped.data_mutable<int32_t>()[3] = 70;
  EXPECT_NE(mapped.raw(), buffer->data());
  EXPECT_EQ((*buffer)[3], 7);  // the mapped bytes are never written
  EXPECT_THAT(mapped.values<int32_t>(), ElementsAre(4, 5, 6, 70));
  expect_error(ErrorKind::InvalidModel,
               [&] { Tensor::from_mapped(DType::Int32, {3}, buffer, buffer->data(), 16); });
}

TEST(Tensor, ReadingAsTheWrongTypeFails) {
  Tensor tensor = Tensor::from_vector<float>({1}, {1});
  expect_error(ErrorKind::Runtime, [&] { tensor.data<int32_t>(); });
}

TEST(Tensor, CloneOwnsItsBytes) {
  Tensor original = Tensor::from_vector<int8_t>({2}, {1, 2});
  Tensor clone = original.clone();
  EXPECT_NE(clone.raw(), original.raw());
  EXPECT_THAT(clone.values<int8_t>(), ElementsAre(1, 2));
}

TEST(Tensor, ReshapedSharesBytesAndChecksTheCount) {
  Tensor tensor = Tensor::from_vector<int64_t>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor flat = tensor.reshaped({6});
  EXPECT_EQ(flat.raw(), tensor.raw());
  EXPECT_EQ(flat.dims(), Dims({6}));
  expect_error(ErrorKind::InvalidArgument, [&] { tensor.reshaped({4}); });
}

TEST(Tensor, FloatToIntTruncatesTowardZeroAndSaturates) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor floats = Tensor::from_vector<float>({7}, {1.7f, -1.7f, 2.5f, -0.5f, 1e20f, -1e20f, nan});
  EXPECT_THAT(floats.to(DType::Int32).values<int32_t>(),
              ElementsAre(1, -1, 2, 0, std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min(), 0));
  EXPECT_THAT(floats.to(DType::Int8).values<int8_t>(), ElementsAre(1, -1, 2, 0, 127, -128, 0));
}

TEST(Tensor, ConversionsBetweenFloatTypesRoundToNearestEven) {
  // 1 + 2^-8 is the tie between bf16 1 and 1 + 2^-7: even is 1. 1 + 3*2^-8 rounds up to 1 + 2^-6.
  Tensor floats = Tensor::from_vector<float>({3}, {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -2.0f});
  Tensor bf16 = floats.to(DType::BFloat16);
  EXPECT_THAT(bf16.to_double_vector(), ElementsAre(1.0, 1.0 + 0x1p-6, -2.0));
  Tensor fp16 = Tensor::from_vector<double>({2}, {65519.0, 65520.0}).to(DType::Float16);
  EXPECT_THAT(fp16.to_double_vector(),
              ElementsAre(65504.0, std::numeric_limits<double>::infinity()));
}

TEST(Tensor, BoolConversions) {
  Tensor values = Tensor::from_vector<float>({4}, {0.0f, -0.0f, 0.25f, -3.0f});
  EXPECT_THAT(values.to(DType::Bool).values<bool>(), ElementsAre(false, false, true, true));
  Tensor flags = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_THAT(flags.to(DType::Float32).values<float>(), ElementsAre(1.0f, 0.0f));
  EXPECT_THAT(flags.to_int64_vector(), ElementsAre(1, 0));
}

TEST(Tensor, IntegerToIntegerWrapsLikeACast) {
  Tensor wide = Tensor::from_vector<int64_t>({2}, {300, -1});
  EXPECT_THAT(wide.to(DType::UInt8).values<uint8_t>(), ElementsAre(44, 255));
  expect_error(ErrorKind::InvalidModel, [] { Tensor::scalar<float>(1).to_int64_vector(); });
}

TEST(NormalizedError, MatchesAHandComputedValue) {
  Tensor actual = Tensor::from_vector<float>({3}, {1, 2, 2});
  Tensor expected = Tensor::from_vector<float>({3}, {1, 2, 3});
  // ||(0, 0, -1)|| / ||(1, 2, 3)|| = 1 / sqrt(14)
  EXPECT_DOUBLE_EQ(normalized_error(actual, expected), 1.0 / std::sqrt(14.0));
  EXPECT_DOUBLE_EQ(normalized_error(expected, expected), 0.0);
  // All-zero reference: the absolute norm, sqrt(3^2 + 4^2) = 5.
  EXPECT_DOUBLE_EQ(
      normalized_error(Tensor::from_vector<float>({2}, {3, 4}), Tensor(DType::Float32, {2})), 5.0);
}

TEST(NormalizedError, NanGivesNan) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor with_nan = Tensor::from_vector<float>({2}, {1, nan});
  Tensor clean = Tensor::from_vector<float>({2}, {1, 2});
  EXPECT_TRUE(std::isnan(normalized_error(with_nan, clean)));
  EXPECT_TRUE(std::isnan(normalized_error(clean, with_nan)));
  expect_error(ErrorKind::InvalidArgument,
               [&] { normalized_error(clean, Tensor::from_vector<float>({1}, {1})); });
}

TEST(Precision, ParsesListsAndNamesTheBadEntry) {
  EXPECT_EQ(parse_precisions("fp32,bf16"), (std::set<Precision>{Precision::FP32, Precision::BF16}));
  EXPECT_EQ(parse_precisions("tf32"), (std::set<Precision>{Precision::TF32}));
  EXPECT_EQ(precisions_to_string(parse_precisions("bf16,fp32,fp16")), "fp32,fp16,bf16");
  Error bad = expect_error(ErrorKind::InvalidArgument, [] { parse_precisions("fp32,fp33"); });
  EXPECT_THAT(bad.what(), HasSubstr("'fp33'"));
  EXPECT_THAT(bad.what(), HasSubstr("bf16"));
  expect_error(ErrorKind::InvalidArgument, [] { parse_precisions(""); });
  expect_error(ErrorKind::InvalidArgument, [] { parse_precisions(","); });
  expect_error(ErrorKind::InvalidArgument, [] { parse_precisions("FP32"); });
}

TEST(Precision, RoundsToWhatThePrecisionHolds) {
  float value = 1.0f + 0x1p-12f;
  EXPECT_EQ(round_to_precision(value, Precision::FP32), value);
  EXPECT_EQ(round_to_precision(value, Precision::TF32), 1.0f);
  EXPECT_EQ(round_to_precision(value, Precision::BF16), 1.0f);
  EXPECT_EQ(precision_storage_dtype(Precision::BF16), DType::BFloat16);
  EXPECT_EQ(precision_storage_dtype(Precision::TF32), DType::Float32);
}

}  // namespace
}  // namespace kiln
