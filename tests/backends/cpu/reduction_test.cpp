// Tests of the CPU reduction kernels (ReduceSum/Mean/Max/Min, ArgMax/ArgMin, TopK, Softmax) against
// float64 loops and hand values.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

constexpr double kFloat32Tolerance = 2e-6;

// x[i, j, k] of a [2, 3, 4] tensor of sample values.
struct Cube {
  std::vector<float> values = sample_values(24, 3.0f, 5);
  double at(int i, int j, int k) const { return values[size_t((i * 3 + j) * 4 + k)]; }
  Tensor tensor() const { return f32({2, 3, 4}, values); }
};

TEST(CpuReduction, ReduceSumOverOneAxisKeepdimsOnAndOff) {
  Cube x;
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) expected.push_back(x.at(i, 0, k) + x.at(i, 1, k) + x.at(i, 2, k));
  TestNode keep("ReduceSum");
  keep.attr("axes", std::vector<int64_t>{1});
  expect_tensor(keep.run1({x.tensor()}), DType::Float32, {2, 1, 4}, expected, kFloat32Tolerance);
  TestNode drop("ReduceSum");
  drop.attr("axes", std::vector<int64_t>{-2}).attr("keepdims", int64_t{0});
  expect_tensor(drop.run1({x.tensor()}), DType::Float32, {2, 4}, expected, kFloat32Tolerance);
}

TEST(CpuReduction, ReduceMeanOverNonAdjacentAxes) {
  Cube x;
  std::vector<double> expected;
  for (int j = 0; j < 3; ++j) {
    double sum = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) sum += x.at(i, j, k);
    expected.push_back(sum / 8.0);
  }
  TestNode node("ReduceMean");
  node.attr("axes", std::vector<int64_t>{2, 0}).attr("keepdims", int64_t{0});
  expect_tensor(node.run1({x.tensor()}), DType::Float32, {3}, expected, kFloat32Tolerance);
  node.attr("keepdims", int64_t{1});
  expect_tensor(node.run1({x.tensor()}), DType::Float32, {1, 3, 1}, expected, kFloat32Tolerance);
}

// Products in input order: over a negative axis, over an empty axis (1), and wrapping int64.
TEST(CpuReduction, ReduceProdOfFloatsIntsAndNothing) {
  TestNode rows("ReduceProd");
  rows.attr("axes", std::vector<int64_t>{-1}).attr("keepdims", int64_t{0});
  expect_tensor(rows.run1({f32({2, 3}, {1.5f, -2, 4, 0.5f, 0.5f, 8})}), DType::Float32, {2},
                {-12, 2}, kFloat32Tolerance);
  Tensor ints = rows.run1({i64({2, 2}, {int64_t{1} << 62, 4, -3, 7})});
  EXPECT_EQ(ints.dtype(), DType::Int64);
  EXPECT_EQ(ints.to_int64_vector(), (std::vector<int64_t>{0, -21}));  // 2^64 wraps to 0
  TestNode empty("ReduceProd");
  empty.attr("axes", std::vector<int64_t>{1});
  expect_tensor(empty.run1({f32({2, 0}, {})}), DType::Float32, {2, 1}, {1, 1}, kFloat32Tolerance);
}

TEST(CpuReduction, EmptyAxesReduceAllUnlessNoop) {
  Cube x;
  double sum = 0;
  for (float v : x.values) sum += v;
  expect_tensor(TestNode("ReduceSum").run1({x.tensor()}), DType::Float32, {1, 1, 1}, {sum},
                kFloat32Tolerance);
  TestNode flat("ReduceMean");
  flat.attr("keepdims", int64_t{0});
  expect_tensor(flat.run1({x.tensor()}), DType::Float32, {}, {sum / 24}, kFloat32Tolerance);
  TestNode noop("ReduceSum");
  noop.attr("noop_with_empty_axes", int64_t{1});
  std::vector<double> same(x.values.begin(), x.values.end());
  expect_tensor(noop.run1({x.tensor()}), DType::Float32, {2, 3, 4}, same);
}

TEST(CpuReduction, ReduceMaxWithIntegersAndNaN) {
  TestNode node("ReduceMax");
  node.attr("axes", std::vector<int64_t>{-1}).attr("keepdims", int64_t{0});
  expect_tensor(node.run1({i64({2, 3}, {4, -9, 7, -3, -1, -2})}), DType::Int64, {2}, {7, -1});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_tensor(node.run1({f32({2, 3}, {1, nan, 3, -5, -4, -6})}), DType::Float32, {2},
                {std::numeric_limits<double>::quiet_NaN(), -4});
  // Reducing an empty axis gives -inf (the identity of max).
  expect_tensor(
      node.run1({f32({2, 0}, {})}), DType::Float32, {2},
      {-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()});
}

TEST(CpuReduction, ReduceMinWithIntegersNaNAndEmptyAxes) {
  TestNode node("ReduceMin");
  node.attr("axes", std::vector<int64_t>{-1});
  expect_tensor(node.run1({i64({2, 3}, {4, -9, 7, -3, -1, -2})}), DType::Int64, {2, 1}, {-9, -3});
  expect_tensor(node.run1({i32({2, 2}, {5, 5, 0, 2})}), DType::Int32, {2, 1}, {5, 0});
  node.attr("keepdims", int64_t{0});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_tensor(node.run1({f32({2, 3}, {1, nan, -3, -5, -4, -6})}), DType::Float32, {2},
                {std::numeric_limits<double>::quiet_NaN(), -6});
  // Reducing an empty axis gives +inf (the identity of min), or the highest integer.
  expect_tensor(node.run1({f32({2, 0}, {})}), DType::Float32, {2},
                {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()});
  expect_tensor(node.run1({i32({1, 0}, {})}), DType::Int32, {1},
                {double(std::numeric_limits<int32_t>::max())});
  // Over non-adjacent axes of the cube, against a float64 loop.
  Cube x;
  std::vector<double> expected;
  for (int j = 0; j < 3; ++j) {
    double least = x.at(0, j, 0);
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) least = std::min(least, x.at(i, j, k));
    expected.push_back(least);
  }
  TestNode outer("ReduceMin");
  outer.attr("axes", std::vector<int64_t>{0, 2});
  expect_tensor(outer.run1({x.tensor()}), DType::Float32, {1, 3, 1}, expected);
}

// Row 0 has two maxima (indices 1 and 2), row 1 two maxima (0 and 2) and two minima (1 and 3).
TEST(CpuReduction, ArgMaxAndArgMinTiesTakeTheFirstIndexUnlessSelectLastIndex) {
  Tensor x = f32({2, 4}, {1, 3, 3, 0, 2, -1, 2, -1});
  TestNode max("ArgMax");
  max.attr("axis", int64_t{1});
  expect_tensor(max.run1({x}), DType::Int64, {2, 1}, {1, 0});
  max.attr("select_last_index", int64_t{1});
  expect_tensor(max.run1({x}), DType::Int64, {2, 1}, {2, 2});
  TestNode min("ArgMin");
  min.attr("axis", int64_t{-1}).attr("keepdims", int64_t{0});
  expect_tensor(min.run1({x}), DType::Int64, {2}, {3, 1});
  min.attr("select_last_index", int64_t{1});
  expect_tensor(min.run1({x}), DType::Int64, {2}, {3, 3});
}

// ArgMax over each axis of the cube, kept or dropped, against a loop over the values.
TEST(CpuReduction, ArgMaxAndArgMinOverEachAxis) {
  Cube x;
  const int sizes[3] = {2, 3, 4};
  for (int axis = 0; axis < 3; ++axis) {
    std::vector<double> largest, smallest;
    for (int i = 0; i < (axis == 0 ? 1 : 2); ++i) {
      for (int j = 0; j < (axis == 1 ? 1 : 3); ++j) {
        for (int k = 0; k < (axis == 2 ? 1 : 4); ++k) {
          int high = 0, low = 0;
          for (int m = 1; m < sizes[axis]; ++m) {
            auto at = [&](int index) {
              return x.at(axis == 0 ? index : i, axis == 1 ? index : j, axis == 2 ? index : k);
            };
            if (at(m) > at(high)) high = m;
            if (at(m) < at(low)) low = m;
          }
          largest.push_back(high);
          smallest.push_back(low);
        }
      }
    }
    Dims kept = {2, 3, 4};
    kept[size_t(axis)] = 1;
    Dims dropped = {2, 3, 4};
    dropped.erase(dropped.begin() + axis);
    TestNode max("ArgMax");
    max.attr("axis", int64_t{axis - 3});  // negative axes count from the end
    expect_tensor(max.run1({x.tensor()}), DType::Int64, kept, largest);
    TestNode min("ArgMin");
    min.attr("axis", int64_t{axis}).attr("keepdims", int64_t{0});
    expect_tensor(min.run1({x.tensor()}), DType::Int64, dropped, smallest);
  }
}

// As numpy: NaN beats every number for both ArgMax and ArgMin (the first NaN, or the last).
TEST(CpuReduction, ArgMaxAndArgMinPickNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = f32({1, 5}, {1, nan, 5, nan, -2});
  for (const char* op : {"ArgMax", "ArgMin"}) {
    TestNode node(op);
    node.attr("axis", int64_t{1}).attr("keepdims", int64_t{0});
    expect_tensor(node.run1({x}), DType::Int64, {1}, {1});
    node.attr("select_last_index", int64_t{1});
    expect_tensor(node.run1({x}), DType::Int64, {1}, {3});
  }
}

TEST(CpuReduction, ArgMaxAndArgMinOfIntegers) {
  TestNode max("ArgMax");
  max.attr("keepdims", int64_t{0});  // axis 0 by default
  expect_tensor(max.run1({i32({3, 2}, {5, -7, -1, 9, 5, 9})}), DType::Int64, {2}, {0, 1});
  expect_tensor(max.run1({i64({3}, {std::numeric_limits<int64_t>::min(), -1, -1})}), DType::Int64,
                {}, {1});
  TestNode min("ArgMin");
  min.attr("select_last_index", int64_t{1});
  expect_tensor(min.run1({i64({4}, {3, -8, 0, -8})}), DType::Int64, {1}, {3});
  expect_tensor(min.run1({f64({2}, {-1e300, -1e300})}), DType::Int64, {1}, {1});
}

TEST(CpuReduction, ArgMaxErrorsNameTheNode) {
  TestNode bad_axis("ArgMax", 1, "argmax_bad_axis");
  bad_axis.attr("axis", int64_t{2});
  expect_error(
      [&] {
        bad_axis.run1({f32({2, 3}, {1, 2, 3, 4, 5, 6})});
      },
      ErrorKind::InvalidModel, {"argmax_bad_axis", "axis 2 is out of range"});
  TestNode empty("ArgMin", 1, "argmin_empty");
  empty.attr("axis", int64_t{1});
  expect_error(
      [&] {
        empty.run1({f32({2, 0}, {})});
      },
      ErrorKind::InvalidArgument, {"argmin_empty", "axis 1", "is empty"});
  expect_error(
      [] {
        TestNode("ArgMax").run1({boolean({2}, {true, false})});
      },
      ErrorKind::Unsupported, {"ArgMax node 'my_ArgMax'", "bool"});
}

TEST(CpuReduction, ReduceSumInt64AndFloat64) {
  TestNode node("ReduceSum");
  node.attr("axes", std::vector<int64_t>{0});
  expect_tensor(node.run1({i64({3, 2}, {1, 2, 3, 4, 5, 6})}), DType::Int64, {1, 2}, {9, 12});
  expect_tensor(node.run1({f64({2, 1}, {0.1, 0.2})}), DType::Float64, {1, 1}, {0.1 + 0.2}, 1e-16);
  expect_error(
      [] {
        TestNode("ReduceMean").run1({i64({2}, {1, 2})});
      },
      ErrorKind::Unsupported, {"ReduceMean node 'my_ReduceMean'"});
  TestNode bad_axis("ReduceSum", 1, "sum_bad_axis");
  bad_axis.attr("axes", std::vector<int64_t>{3});
  expect_error(
      [&] {
        bad_axis.run1({f32({2}, {1, 2})});
      },
      ErrorKind::InvalidModel, {"sum_bad_axis", "axis 3"});
}

// A plain float32 running sum of 1e6 copies of 0.1f drifts by ~1e-3 relative; the
// compensated sum stays within float32 rounding of the float64 sum.
TEST(CpuReduction, LongFloat32SumsStayAccurate) {
  const int64_t count = 1000000;
  std::vector<float> values(count, 0.1f);
  TestNode node("ReduceMean");
  node.attr("keepdims", int64_t{0});
  Tensor mean = node.run1({f32({count}, values)});
  EXPECT_NEAR(mean.data<float>()[0], double(0.1f), 1e-7);
}

TEST(CpuReduction, SoftmaxOnLastAndFirstAxis) {
  Cube x;
  auto reference = [&](int axis) {
    std::vector<double> out(24);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 4; ++k) {
          double total = 0;
          const int length = axis == 0 ? 2 : axis == 1 ? 3 : 4;
          for (int m = 0; m < length; ++m) {
            total += std::exp(axis == 0   ? x.at(m, j, k)
                              : axis == 1 ? x.at(i, m, k)
                                          : x.at(i, j, m));
          }
          out[size_t((i * 3 + j) * 4 + k)] = std::exp(x.at(i, j, k)) / total;
        }
    return out;
  };
  expect_tensor(TestNode("Softmax").run1({x.tensor()}), DType::Float32, {2, 3, 4}, reference(2),
                kFloat32Tolerance);
  TestNode first("Softmax");
  first.attr("axis", int64_t{0});
  expect_tensor(first.run1({x.tensor()}), DType::Float32, {2, 3, 4}, reference(0),
                kFloat32Tolerance);
  TestNode middle("Softmax");
  middle.attr("axis", int64_t{-2});
  expect_tensor(middle.run1({x.tensor()}), DType::Float32, {2, 3, 4}, reference(1),
                kFloat32Tolerance);
}

TEST(CpuReduction, SoftmaxIsStableForLargeInputs) {
  // exp(1000) overflows float32; subtracting the max gives exactly [1/(1+e), e/(1+e)].
  const double e = std::exp(1.0);
  expect_tensor(TestNode("Softmax").run1({f32({2}, {1000.0f, 1001.0f})}), DType::Float32, {2},
                {1 / (1 + e), e / (1 + e)}, kFloat32Tolerance);
  expect_tensor(TestNode("Softmax").run1({f64({1, 3}, {-1e300, 0, -1e300})}), DType::Float64,
                {1, 3}, {0, 1, 0}, 0);
}

// TopK by hand: ties by lower index, NaN above every number (first when largest, last when
// smallest), a middle axis, integers.
TEST(CpuReduction, TopKOrdersTiesByIndexAndNaNFirst) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = f32({2, 5}, {3, 1, 3, nan, 2, 5, 5, -1, 5, 0});
  TestNode largest("TopK", 2);
  largest.attr("k", int64_t{3}).attr("axis", int64_t{-1});
  std::vector<Tensor> out = largest.run({x});
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{3, 0, 2, 0, 1, 3}));
  std::vector<double> values = out[0].to_double_vector();
  EXPECT_TRUE(std::isnan(values[0]));
  EXPECT_EQ(std::vector<double>(values.begin() + 1, values.end()),
            (std::vector<double>{3, 3, 5, 5, 5}));
  TestNode smallest("TopK", 2);
  smallest.attr("k", int64_t{5}).attr("largest", int64_t{0});
  out = smallest.run({x});
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 4, 0, 2, 3, 2, 4, 0, 1, 3}));
}

TEST(CpuReduction, TopKOnAMiddleAxisOfIntegers) {
  Tensor x = i64({2, 3, 2}, {1, 6, 4, 2, 4, 9, 0, 0, 8, 1, 7, 1});
  TestNode node("TopK", 2);
  node.attr("k", int64_t{2}).attr("axis", int64_t{1});
  std::vector<Tensor> out = node.run({x});
  EXPECT_EQ(out[0].dims(), (Dims{2, 2, 2}));
  EXPECT_EQ(out[0].to_int64_vector(), (std::vector<int64_t>{4, 9, 4, 6, 8, 1, 7, 1}));
  EXPECT_EQ(out[1].to_int64_vector(), (std::vector<int64_t>{1, 2, 2, 0, 1, 1, 2, 2}));
}

}  // namespace
}  // namespace kiln::cpu::testing
