// Tests of the CPU Slice and Gather kernels against numpy one-offs (pasted as literals).
#include <limits>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// np.arange(24).reshape(2, 3, 4) as int64.
Tensor arange_cube() {
  std::vector<int64_t> values(24);
  for (int64_t i = 0; i < 24; ++i) values[size_t(i)] = i;
  return i64({2, 3, 4}, values);
}

std::vector<double> as_doubles(const std::vector<int64_t>& values) {
  return {values.begin(), values.end()};
}

Tensor slice(const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
             const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) {
  const Dims n = {int64_t(starts.size())};
  return TestNode("Slice").run1(
      {arange_cube(), i64(n, starts), i64(n, ends), i64(n, axes), i64(n, steps)});
}

TEST(CpuSlice, NegativeStepsMatchNumpy) {
  // numpy: x[:, ::-1, 3:0:-2]
  expect_tensor(slice({kMax, 3}, {kMin, 0}, {1, 2}, {-1, -2}), DType::Int64, {2, 3, 2},
                {11, 9, 7, 5, 3, 1, 23, 21, 19, 17, 15, 13});
  // numpy: x[-1:, 1:100, ::-3] (axes given negative, in any order)
  expect_tensor(slice({-1, 1, -1}, {kMax, 100, kMin}, {0, -2, -1}, {1, 1, -3}), DType::Int64,
                {1, 2, 2}, {19, 16, 23, 20});
}

TEST(CpuSlice, ClampsStartsAndEnds) {
  // numpy: x[:, -100:2, :]
  expect_tensor(slice({-100}, {2}, {1}, {1}), DType::Int64, {2, 2, 4},
                as_doubles({0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19}));
  // numpy: x[..., 10:-1] is empty, shape (2, 3, 0)
  expect_tensor(slice({10}, {-1}, {2}, {1}), DType::Int64, {2, 3, 0}, {});
  // INT64_MIN start with a positive step and INT64_MAX end: the whole axis.
  Tensor whole = slice({kMin}, {kMax}, {0}, {1});
  EXPECT_EQ(whole.dims(), (Dims{2, 3, 4}));
  EXPECT_EQ(whole.to_int64_vector(), arange_cube().to_int64_vector());
  // A huge negative step takes just the start element.
  expect_tensor(slice({2}, {kMin}, {2}, {kMin}), DType::Int64, {2, 3, 1}, {2, 6, 10, 14, 18, 22});
}

TEST(CpuSlice, DefaultAxesAndStepsAndOtherDtypes) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor out = TestNode("Slice").run1({x, i32({2}, {1, 1}), i32({2}, {2, 3})});
  expect_tensor(out, DType::Float32, {1, 2}, {5, 6});
  Tensor flags = boolean({4}, {true, false, true, true});
  expect_tensor(
      TestNode("Slice").run1({flags, i64({1}, {3}), i64({1}, {0}), Tensor(), i64({1}, {-1})}),
      DType::Bool, {3}, {1, 1, 0});
}

TEST(CpuSlice, ErrorsNameTheNode) {
  TestNode node("Slice", 1, "bad_slice");
  Tensor one = i64({1}, {0});
  expect_error(
      [&] {
        node.run1({arange_cube(), one, one, one, i64({1}, {0})});
      },
      ErrorKind::InvalidArgument, {"Slice node 'bad_slice'", "step is 0"});
  expect_error(
      [&] {
        node.run1({arange_cube(), one, i64({2}, {1, 1})});
      },
      ErrorKind::InvalidArgument, {"bad_slice"});
  expect_error(
      [&] {
        node.run1({arange_cube(), i64({2}, {0, 0}), i64({2}, {1, 1}), i64({2}, {1, -2})});
      },
      ErrorKind::InvalidModel, {"bad_slice", "twice"});
}

TEST(CpuGather, NegativeIndicesWrapOnAxisOne) {
  std::vector<float> data(12);
  for (int i = 0; i < 12; ++i) data[size_t(i)] = float(i);
  TestNode node("Gather");
  node.attr("axis", int64_t{-1});
  // numpy: np.take(np.arange(12).reshape(3, 4), [[-1, 0], [1, -4]], axis=1)
  expect_tensor(node.run1({f32({3, 4}, data), i64({2, 2}, {-1, 0, 1, -4})}), DType::Float32,
                {3, 2, 2}, {3, 0, 1, 0, 7, 4, 5, 4, 11, 8, 9, 8});
}

TEST(CpuGather, AxisZeroScalarAndInt32Indices) {
  std::vector<int64_t> data(12);
  for (int i = 0; i < 12; ++i) data[size_t(i)] = i;
  // numpy: np.take(np.arange(12).reshape(3, 4), [2, -3], axis=0)
  expect_tensor(TestNode("Gather").run1({i64({3, 4}, data), i32({2}, {2, -3})}), DType::Int64,
                {2, 4}, {8, 9, 10, 11, 0, 1, 2, 3});
  // A scalar index drops the axis.
  expect_tensor(TestNode("Gather").run1({i64({3, 4}, data), i64({}, {1})}), DType::Int64, {4},
                {4, 5, 6, 7});
}

TEST(CpuGather, OutOfRangeIndexNamesTheNode) {
  TestNode node("Gather", 1, "embedding_lookup");
  expect_error(
      [&] {
        node.run1({f32({3, 2}, sample_values(6)), i64({2}, {1, 3})});
      },
      ErrorKind::Runtime, {"Gather node 'embedding_lookup'", "index 3", "size 3"});
  expect_error(
      [&] {
        node.run1({f32({3, 2}, sample_values(6)), i64({1}, {-4})});
      },
      ErrorKind::Runtime, {"embedding_lookup", "index -4"});
}

}  // namespace
}  // namespace kiln::cpu::testing
