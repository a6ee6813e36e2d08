// scaled_dot_product_attention of ranks other than 4 (against the rank-4 conversion),
// batch_norm with the input's own statistics, addcmul / addcdiv: on the CPU reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;

Tensor wave(const Dims& dims, float scale) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(std::sin(float(i) * scale));
  return Tensor::from_vector(dims, values);
}

Tensor sdpa(const Dims& q_dims, const Dims& kv_dims, const Tensor& q, const Tensor& kv) {
  AtenHarness h;
  ir::Value* query = h.input("q", DType::Float32, q_dims);
  ir::Value* key = h.input("kv", DType::Float32, kv_dims);
  ir::Value* out = h.convert("aten.scaled_dot_product_attention.default",
                             {arg("query", query), arg("key", key), arg("value", key)});
  return h.run_one(out, {{"q", q.reshaped(q_dims)}, {"kv", kv.reshaped(kv_dims)}});
}

// Rank-5 attention (timm's Hiera and Twins: windows as an extra leading dim) is the rank-4
// one over the merged leading dims, the key broadcast over the query's; rank 3 has one head.
TEST(AtenAttention, OtherRanksMatchRankFour) {
  Tensor q = wave({2, 3, 2, 5, 4}, 0.37f), kv = wave({2, 1, 2, 6, 4}, 0.21f);
  Tensor five = sdpa({2, 3, 2, 5, 4}, {2, 1, 2, 6, 4}, q, kv);
  EXPECT_EQ(five.dims(), (Dims{2, 3, 2, 5, 4}));
  std::vector<double> got = five.to_double_vector();
  for (int64_t w = 0; w < 3; ++w) {  // window w of batch b attends to the same keys
    for (int64_t b = 0; b < 2; ++b) {
      std::vector<double> all_q = q.to_double_vector(), all_kv = kv.to_double_vector();
      std::vector<float> q_part(all_q.begin() + (b * 3 + w) * 40,
                                all_q.begin() + (b * 3 + w + 1) * 40);
      std::vector<float> kv_part(all_kv.begin() + b * 48, all_kv.begin() + (b + 1) * 48);
      Tensor alone = sdpa({1, 2, 5, 4}, {1, 2, 6, 4}, Tensor::from_vector(Dims{1, 2, 5, 4}, q_part),
                          Tensor::from_vector(Dims{1, 2, 6, 4}, kv_part));
      std::vector<double> want = alone.to_double_vector();
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_NEAR(got[size_t((b * 3 + w) * 40) + i], want[i], 1e-6);
    }
  }
  Tensor three = sdpa({2, 5, 4}, {2, 6, 4}, wave({2, 5, 4}, 0.3f), wave({2, 6, 4}, 0.2f));
  Tensor four = sdpa({2, 1, 5, 4}, {2, 1, 6, 4}, wave({2, 5, 4}, 0.3f), wave({2, 6, 4}, 0.2f));
  EXPECT_EQ(three.dims(), (Dims{2, 5, 4}));
  EXPECT_EQ(three.to_double_vector(), four.to_double_vector());
}

// batch_norm(training=True) normalizes by the input's own per-channel statistics (timm's
// ScaledStdConv2d standardizes its weights so); addcmul / addcdiv scale a product or ratio.
TEST(AtenNorms, BatchStatisticsAndScaledProducts) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2, 2});
  ir::Value* weight = h.input("w", DType::Float32, Dims{2});
  ir::Value* norm = h.convert("aten.batch_norm.default",
                              {arg("input", x), arg("weight", weight), arg("bias", NoneArg{}),
                               arg("running_mean", NoneArg{}), arg("running_var", NoneArg{}),
                               arg("training", true), arg("momentum", 0.0), arg("eps", 0.0)},
                              "norm");
  ir::Value* mul =
      h.convert("aten.addcmul.default",
                {arg("self", x), arg("tensor1", x), arg("tensor2", x), arg("value", 0.5)}, "mul");
  ir::Value* div = h.convert("aten.addcdiv.default",
                             {arg("self", x), arg("tensor1", x), arg("tensor2", x)}, "div");
  // channel 0 holds 1, 3, 5, 7 (mean 4, variance 5); channel 1 holds 2, 2, 2, 6 (mean 3, var 3)
  auto results = h.run({norm, mul, div},
                       {{"x", Tensor::from_vector<float>(Dims{2, 2, 2}, {1, 3, 2, 2, 5, 7, 2, 6})},
                        {"w", Tensor::from_vector<float>(Dims{2}, {1, 2})}});
  std::vector<double> n = results[0].to_double_vector();
  const double s5 = std::sqrt(5.0), s3 = std::sqrt(3.0);
  std::vector<double> want = {-3 / s5, -1 / s5, -2 / s3, -2 / s3, 1 / s5, 3 / s5, -2 / s3, 6 / s3};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(n[i], want[i], 1e-6) << i;
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1.5, 7.5, 4, 4, 17.5, 31.5, 4, 24));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(2, 4, 3, 3, 6, 8, 3, 7));
}

}  // namespace
}  // namespace kiln::torch
