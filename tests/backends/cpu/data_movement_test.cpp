// Tests of the CPU data movement kernels (Reshape, Transpose, Concat, Split, Expand,
// Squeeze, Unsqueeze, Flatten, Trilu) against index arithmetic and numpy one-offs.
#include <cstdint>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

std::vector<double> iota(int64_t count) {
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) values[size_t(i)] = double(i);
  return values;
}
Tensor iota_f32(Dims dims) {
  std::vector<double> values = iota(element_count(dims));
  return f32(std::move(dims), std::vector<float>(values.begin(), values.end()));
}

TEST(CpuDataMovement, ReshapeZeroCopiesAndMinusOneInfers) {
  Tensor x = iota_f32({2, 3, 4});
  expect_tensor(TestNode("Reshape").run1({x, i64({3}, {0, -1, 2})}), DType::Float32, {2, 6, 2},
                iota(24));
  expect_tensor(TestNode("Reshape").run1({x, i64({1}, {-1})}), DType::Float32, {24}, iota(24));
  // allowzero=1: a 0 is a real zero dim.
  TestNode allow_zero("Reshape");
  allow_zero.attr("allowzero", int64_t{1});
  expect_tensor(allow_zero.run1({f32({0, 3}, {}), i64({2}, {3, 0})}), DType::Float32, {3, 0}, {});
  TestNode bad("Reshape", 1, "reshape_7");
  expect_error(
      [&] {
        bad.run1({x, i64({2}, {5, -1})});
      },
      ErrorKind::InvalidArgument, {"Reshape node 'reshape_7'", "-1"});
  expect_error(
      [&] {
        bad.run1({x, i64({2}, {-1, -1})});
      },
      ErrorKind::InvalidArgument, {"reshape_7"});
}

TEST(CpuDataMovement, TransposeDefaultAndPermutedOnBool) {
  // out[i, j] = in[j, i]
  expect_tensor(TestNode("Transpose").run1({iota_f32({2, 3})}), DType::Float32, {3, 2},
                {0, 3, 1, 4, 2, 5});
  // 4-D with perm (0, 2, 3, 1), as NCHW → NHWC: out[n, h, w, c] = in[n, c, h, w].
  TestNode nhwc("Transpose");
  nhwc.attr("perm", std::vector<int64_t>{0, 2, 3, 1});
  Tensor out = nhwc.run1({iota_f32({2, 3, 2, 2})});
  std::vector<double> expected;
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w)
        for (int c = 0; c < 3; ++c) expected.push_back(((n * 3 + c) * 2 + h) * 2 + w);
  expect_tensor(out, DType::Float32, {2, 2, 2, 3}, expected);
  TestNode swap("Transpose");
  swap.attr("perm", std::vector<int64_t>{1, 0});
  expect_tensor(swap.run1({boolean({2, 2}, {true, true, false, true})}), DType::Bool, {2, 2},
                {1, 0, 1, 1});
  TestNode bad("Transpose");
  bad.attr("perm", std::vector<int64_t>{0, 0});
  expect_error(
      [&] {
        bad.run1({iota_f32({2, 2})});
      },
      ErrorKind::InvalidModel, {"my_Transpose", "perm"});
}

TEST(CpuDataMovement, ConcatNegativeAxisAndEmptyInput) {
  Tensor a = i64({2, 1}, {1, 2}), b = i64({2, 2}, {3, 4, 5, 6}), empty = i64({2, 0}, {});
  TestNode node("Concat");
  node.attr("axis", int64_t{-1});
  expect_tensor(node.run1({a, empty, b}), DType::Int64, {2, 3}, {1, 3, 4, 2, 5, 6});
  TestNode rows("Concat");
  rows.attr("axis", int64_t{0});
  Tensor int8s = Tensor::from_vector<int8_t>({1, 2}, {-1, 7});
  expect_tensor(rows.run1({int8s, int8s}), DType::Int8, {2, 2}, {-1, 7, -1, 7});
  expect_error(
      [&] {
        node.run1({a, i64({3, 1}, {1, 2, 3})});
      },
      ErrorKind::InvalidArgument, {"Concat node 'my_Concat'", "input 1"});
}

TEST(CpuDataMovement, SplitUnevenSizesAndEqualParts) {
  Tensor x = iota_f32({2, 5});
  TestNode sized("Split", 2);
  sized.attr("axis", int64_t{-1}).attr("split", std::vector<int64_t>{1, 4});
  std::vector<Tensor> parts = sized.run({x});
  ASSERT_EQ(parts.size(), 2u);
  expect_tensor(parts[0], DType::Float32, {2, 1}, {0, 5});
  expect_tensor(parts[1], DType::Float32, {2, 4}, {1, 2, 3, 4, 6, 7, 8, 9});
  // No sizes: equal parts, the last smaller (5 = 3 + 2), as ONNX num_outputs.
  TestNode equal("Split", 2);
  equal.attr("axis", int64_t{1});
  parts = equal.run({x});
  expect_tensor(parts[0], DType::Float32, {2, 3}, {0, 1, 2, 5, 6, 7});
  expect_tensor(parts[1], DType::Float32, {2, 2}, {3, 4, 8, 9});
  TestNode three("Split", 3);
  parts = three.run({iota_f32({6})});
  expect_tensor(parts[2], DType::Float32, {2}, {4, 5});
  TestNode bad("Split", 2, "split_bad");
  bad.attr("axis", int64_t{1}).attr("split", std::vector<int64_t>{2, 2});
  expect_error([&] { bad.run({x}); }, ErrorKind::InvalidArgument, {"split_bad", "axis size 5"});
}

TEST(CpuDataMovement, ExpandIsBidirectional) {
  // [3, 1] with shape [2, 1, 4] → [2, 3, 4]; out[i, j, k] = x[j].
  Tensor out = TestNode("Expand").run1({i64({3, 1}, {7, 8, 9}), i64({3}, {2, 1, 4})});
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected.push_back(7 + j);
  expect_tensor(out, DType::Int64, {2, 3, 4}, expected);
  // A shape smaller than the input keeps the input's dims.
  expect_tensor(TestNode("Expand").run1({iota_f32({2, 2}), i64({1}, {1})}), DType::Float32, {2, 2},
                iota(4));
  expect_tensor(TestNode("Expand").run1({f32({}, {5}), i64({2}, {2, 1})}), DType::Float32, {2, 1},
                {5, 5});
  expect_error(
      [] {
        TestNode("Expand").run1({iota_f32({3}), i64({1}, {2})});
      },
      ErrorKind::InvalidArgument, {"my_Expand"});
}

TEST(CpuDataMovement, SqueezeAndUnsqueeze) {
  Tensor x = iota_f32({1, 3, 1, 2});
  expect_tensor(TestNode("Squeeze").run1({x}), DType::Float32, {3, 2}, iota(6));
  TestNode one_axis("Squeeze");
  one_axis.attr("axes", std::vector<int64_t>{-2});
  expect_tensor(one_axis.run1({x}), DType::Float32, {1, 3, 2}, iota(6));
  TestNode bad("Squeeze");
  bad.attr("axes", std::vector<int64_t>{1});
  expect_error([&] { bad.run1({x}); }, ErrorKind::InvalidArgument, {"my_Squeeze", "axis 1"});

  TestNode unsqueeze("Unsqueeze");
  unsqueeze.attr("axes", std::vector<int64_t>{0, -1});
  expect_tensor(unsqueeze.run1({iota_f32({3, 2})}), DType::Float32, {1, 3, 2, 1}, iota(6));
  unsqueeze.attr("axes", std::vector<int64_t>{1, 3});
  expect_tensor(unsqueeze.run1({iota_f32({3, 2})}), DType::Float32, {3, 1, 2, 1}, iota(6));
  expect_error([&] { unsqueeze.run1({f32({}, {4})}); }, ErrorKind::InvalidModel,
               {"my_Unsqueeze", "axis 3"});
  unsqueeze.attr("axes", std::vector<int64_t>{-1, 0});
  expect_tensor(unsqueeze.run1({f32({}, {4})}), DType::Float32, {1, 1}, {4});
}

TEST(CpuDataMovement, FlattenAxes) {
  Tensor x = iota_f32({2, 3, 4});
  expect_tensor(TestNode("Flatten").run1({x}), DType::Float32, {2, 12}, iota(24));
  TestNode node("Flatten");
  node.attr("axis", int64_t{0});
  expect_tensor(node.run1({x}), DType::Float32, {1, 24}, iota(24));
  node.attr("axis", int64_t{-1});
  expect_tensor(node.run1({x}), DType::Float32, {6, 4}, iota(24));
  node.attr("axis", int64_t{3});
  expect_tensor(node.run1({x}), DType::Float32, {24, 1}, iota(24));
}

TEST(CpuDataMovement, TriluUpperLowerWithK) {
  Tensor x = iota_f32({3, 4});
  // numpy: np.triu(np.arange(12).reshape(3, 4), 1)
  expect_tensor(TestNode("Trilu").run1({x, i64({}, {1})}), DType::Float32, {3, 4},
                {0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11});
  // numpy: np.triu(..., -1)
  expect_tensor(TestNode("Trilu").run1({x, i64({}, {-1})}), DType::Float32, {3, 4},
                {0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11});
  TestNode lower("Trilu");
  lower.attr("upper", int64_t{0});
  // numpy: np.tril(..., -1), batched twice over a leading axis.
  Tensor batch = TestNode("Concat")
                     .attr("axis", int64_t{0})
                     .run1({x.reshaped({1, 3, 4}), x.reshaped({1, 3, 4})});
  std::vector<double> one = {0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0};
  std::vector<double> both = one;
  both.insert(both.end(), one.begin(), one.end());
  expect_tensor(lower.run1({batch, i64({}, {-1})}), DType::Float32, {2, 3, 4}, both);
  // No k: the main diagonal is kept by both forms.
  expect_tensor(lower.run1({iota_f32({2, 2})}), DType::Float32, {2, 2}, {0, 0, 2, 3});
}

}  // namespace
}  // namespace kiln::cpu::testing
