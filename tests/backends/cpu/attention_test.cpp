// Tests of the CPU Attention kernel against a naive float64 softmax(Q·Kᵀ·scale + mask)·V,
// for 4-D and 3-D layouts, grouped KV heads, causal masking, bool/float masks and softcap.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/cpu/reference_helpers.h"

namespace kiln::cpu {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::run_kernel;
using testing::SingleNode;
using testing::values_of;

constexpr double kFp32Tolerance = 1e-5;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Sizes {
  int64_t batch, q_heads, kv_heads, q_seq, kv_seq, head, v_head;
};

// Attention over (B, H, S, D) float64 arrays; bias is (B, Hq, Sq, Skv) or empty.
std::vector<double> reference_attention(const Sizes& s, const std::vector<double>& q,
                                        const std::vector<double>& k, const std::vector<double>& v,
                                        const std::vector<double>& bias, bool causal, double scale,
                                        double softcap = 0) {
  std::vector<double> y;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.q_heads; ++h) {
      int64_t kvh = h / (s.q_heads / s.kv_heads);
      for (int64_t i = 0; i < s.q_seq; ++i) {
        std::vector<double> logits(size_t(s.kv_seq));
        bool any = false;
        for (int64_t j = 0; j < s.kv_seq; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < s.head; ++d) {
            dot += q[size_t(((b * s.q_heads + h) * s.q_seq + i) * s.head + d)] *
                   k[size_t(((b * s.kv_heads + kvh) * s.kv_seq + j) * s.head + d)];
          }
          double logit = dot * scale;
          if (softcap > 0) logit = softcap * std::tanh(logit / softcap);
          double add =
              bias.empty() ? 0 : bias[size_t(((b * s.q_heads + h) * s.q_seq + i) * s.kv_seq + j)];
          if (causal && j > i) add = kNegInf;
          any = any || add != kNegInf;
          logits[size_t(j)] = logit + add;
        }
        double max = kNegInf, sum = 0;
        for (double l : logits) max = std::max(max, l);
        for (double& l : logits) sum += (l = std::exp(l - max));
        for (int64_t d = 0; d < s.v_head; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < s.kv_seq && any; ++j) {
            acc += logits[size_t(j)] / sum *
                   v[size_t(((b * s.kv_heads + kvh) * s.kv_seq + j) * s.v_head + d)];
          }
          y.push_back(acc);
        }
      }
    }
  }
  return y;
}

// (B, H, S, D) → (B, S, H·D), the 3-D layout.
Tensor to_three_d(const Tensor& t) {
  int64_t b = t.dim(0), h = t.dim(1), s = t.dim(2), d = t.dim(3);
  std::vector<float> out(size_t(t.numel()));
  const float* src = t.data<float>();
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t hi = 0; hi < h; ++hi)
      for (int64_t si = 0; si < s; ++si)
        for (int64_t di = 0; di < d; ++di)
          out[size_t(((bi * s + si) * h + hi) * d + di)] = src[((bi * h + hi) * s + si) * d + di];
  return Tensor::from_vector<float>({b, s, h * d}, out);
}

struct Inputs {
  Tensor q, k, v;
};

Inputs make_inputs(const Sizes& s) {
  return {random_tensor({s.batch, s.q_heads, s.q_seq, s.head}, 31, -2, 2),
          random_tensor({s.batch, s.kv_heads, s.kv_seq, s.head}, 32, -2, 2),
          random_tensor({s.batch, s.kv_heads, s.kv_seq, s.v_head}, 33)};
}

TEST(CpuAttention, FourDimensionalDefaultScale) {
  Sizes s{2, 3, 3, 4, 5, 8, 8};
  Inputs in = make_inputs(s);
  SingleNode node("Attention");
  Tensor y = run_kernel(*node.node, {in.q, in.k, in.v}).at(0);
  EXPECT_EQ(y.dims(), (Dims{2, 3, 4, 8}));
  auto expected = reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), {},
                                      false, 1 / std::sqrt(8.0));
  EXPECT_LT(relative_error(values_of(y), expected), kFp32Tolerance);
}

TEST(CpuAttention, GroupedQueryCausalIsUpperLeftAligned) {
  // Sq 5 < Skv 7: upper-left alignment lets query i see keys 0..i only.
  Sizes s{1, 4, 2, 5, 7, 6, 3};
  Inputs in = make_inputs(s);
  SingleNode node("Attention");
  node.attr("is_causal", int64_t{1}).attr("scale", 0.3);
  Tensor y = run_kernel(*node.node, {in.q, in.k, in.v}).at(0);
  EXPECT_EQ(y.dims(), (Dims{1, 4, 5, 3}));
  auto expected =
      reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), {}, true, 0.3);
  EXPECT_LT(relative_error(values_of(y), expected), kFp32Tolerance);
}

TEST(CpuAttention, BoolMaskBroadcastKeepsTrue) {
  Sizes s{2, 2, 2, 3, 4, 4, 4};
  Inputs in = make_inputs(s);
  // Mask (B, 1, Sq, Skv): drop key (i + b) % 4 in each row.
  std::vector<uint8_t> keep_bytes;
  std::vector<double> bias;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) keep_bytes.push_back(j != (i + b) % 4);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) bias.push_back(j != (i + b) % 4 ? 0 : kNegInf);
  Tensor mask = Tensor::from_bytes(DType::Bool, {2, 1, 3, 4}, keep_bytes.data(), keep_bytes.size());
  SingleNode node("Attention");
  Tensor y = run_kernel(*node.node, {in.q, in.k, in.v, mask}).at(0);
  auto expected =
      reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), bias, false, 0.5);
  EXPECT_LT(relative_error(values_of(y), expected), kFp32Tolerance);
}

TEST(CpuAttention, FloatMaskIsAddedAndCombinesWithCausal) {
  Sizes s{1, 2, 2, 4, 4, 4, 4};
  Inputs in = make_inputs(s);
  Tensor mask = random_tensor({4, 4}, 34, -3, 3);  // (Sq, Skv), broadcast over B and H
  std::vector<double> mv = values_of(mask), bias;
  for (int h = 0; h < 2; ++h) bias.insert(bias.end(), mv.begin(), mv.end());
  SingleNode node("Attention");
  node.attr("is_causal", int64_t{1});
  Tensor y = run_kernel(*node.node, {in.q, in.k, in.v, mask}).at(0);
  auto expected =
      reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), bias, true, 0.5);
  EXPECT_LT(relative_error(values_of(y), expected), kFp32Tolerance);
}

TEST(CpuAttention, ThreeDimensionalWithGroupedHeads) {
  Sizes s{2, 4, 2, 3, 5, 4, 6};
  Inputs in = make_inputs(s);
  SingleNode node("Attention");
  node.attr("q_num_heads", int64_t{4}).attr("kv_num_heads", int64_t{2});
  Tensor y = run_kernel(*node.node, {to_three_d(in.q), to_three_d(in.k), to_three_d(in.v)}).at(0);
  EXPECT_EQ(y.dims(), (Dims{2, 3, 4 * 6}));
  auto expected =
      reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), {}, false, 0.5);
  Tensor expected_4d = Tensor::from_vector<float>(
      {2, 4, 3, 6}, std::vector<float>(expected.begin(), expected.end()));
  EXPECT_LT(relative_error(values_of(y), values_of(to_three_d(expected_4d))), kFp32Tolerance);
}

TEST(CpuAttention, SoftcapAppliesBeforeTheMask) {
  Sizes s{1, 1, 1, 3, 3, 4, 4};
  Inputs in = make_inputs(s);
  SingleNode node("Attention");
  node.attr("softcap", 0.7).attr("is_causal", int64_t{1});
  Tensor y = run_kernel(*node.node, {in.q, in.k, in.v}).at(0);
  auto expected =
      reference_attention(s, values_of(in.q), values_of(in.k), values_of(in.v), {}, true, 0.5, 0.7);
  EXPECT_LT(relative_error(values_of(y), expected), kFp32Tolerance);
}

TEST(CpuAttention, FullyMaskedRowGivesZeros) {
  Sizes s{1, 1, 1, 2, 3, 2, 2};
  Inputs in = make_inputs(s);
  std::vector<uint8_t> keep{1, 0, 1, 0, 0, 0};  // row 1 masks every key
  Tensor mask = Tensor::from_bytes(DType::Bool, {2, 3}, keep.data(), keep.size());
  SingleNode node("Attention");
  std::vector<double> y = values_of(run_kernel(*node.node, {in.q, in.k, in.v, mask}).at(0));
  EXPECT_EQ(y[2], 0.0);
  EXPECT_EQ(y[3], 0.0);
  EXPECT_FALSE(std::isnan(y[0]));
}

TEST(CpuAttention, PastKeysExtendTheSequenceAndShiftCausal) {
  // Past 3 keys + 2 new ones; causal lets new query i see keys 0 .. 3 + i.
  Sizes s{1, 2, 2, 2, 5, 4, 4};
  Inputs all = make_inputs(s);
  auto slice = [](const Tensor& t, int64_t from, int64_t to) {
    std::vector<float> out;
    const float* src = t.data<float>();
    for (int64_t bh = 0; bh < t.dim(0) * t.dim(1); ++bh)
      for (int64_t si = from; si < to; ++si)
        for (int64_t d = 0; d < t.dim(3); ++d)
          out.push_back(src[(bh * t.dim(2) + si) * t.dim(3) + d]);
    return Tensor::from_vector<float>({t.dim(0), t.dim(1), to - from, t.dim(3)}, out);
  };
  SingleNode node("Attention", 3);
  node.attr("is_causal", int64_t{1});
  auto outputs = run_kernel(*node.node, {all.q, slice(all.k, 3, 5), slice(all.v, 3, 5), Tensor(),
                                         slice(all.k, 0, 3), slice(all.v, 0, 3)});
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(values_of(outputs[1]), values_of(all.k));  // present_key = past ++ new
  EXPECT_EQ(values_of(outputs[2]), values_of(all.v));
  std::vector<double> bias;  // causal with offset 3, written as an explicit bias
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 5; ++j) bias.push_back(j <= 3 + i ? 0 : kNegInf);
  auto expected = reference_attention(s, values_of(all.q), values_of(all.k), values_of(all.v), bias,
                                      false, 0.5);
  EXPECT_LT(relative_error(values_of(outputs[0]), expected), kFp32Tolerance);
}

}  // namespace
}  // namespace kiln::cpu
