// Tests of the CPU Shape, Size, ConstantOfShape and Range kernels against hand values.
#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

TEST(CpuShapeOps, ShapeWithStartAndEnd) {
  Tensor x(DType::Float32, {2, 3, 4, 5});
  expect_tensor(TestNode("Shape").run1({x}), DType::Int64, {4}, {2, 3, 4, 5});
  TestNode tail("Shape");
  tail.attr("start", int64_t{-2});
  expect_tensor(tail.run1({x}), DType::Int64, {2}, {4, 5});
  TestNode middle("Shape");
  middle.attr("start", int64_t{1}).attr("end", int64_t{-1});
  expect_tensor(middle.run1({x}), DType::Int64, {2}, {3, 4});
  // Out-of-range start/end clamp to [0, rank]; start past end gives an empty shape.
  TestNode clamped("Shape");
  clamped.attr("start", int64_t{-10}).attr("end", int64_t{10});
  expect_tensor(clamped.run1({x}), DType::Int64, {4}, {2, 3, 4, 5});
  clamped.attr("start", int64_t{3}).attr("end", int64_t{1});
  expect_tensor(clamped.run1({x}), DType::Int64, {0}, {});
  expect_tensor(TestNode("Shape").run1({Tensor(DType::Bool, {})}), DType::Int64, {0}, {});
}

TEST(CpuShapeOps, Size) {
  expect_tensor(TestNode("Size").run1({Tensor(DType::Int8, {2, 3, 4})}), DType::Int64, {}, {24});
  expect_tensor(TestNode("Size").run1({Tensor(DType::Float32, {3, 0})}), DType::Int64, {}, {0});
}

TEST(CpuShapeOps, ConstantOfShape) {
  expect_tensor(TestNode("ConstantOfShape").run1({i64({2}, {2, 3})}), DType::Float32, {2, 3},
                {0, 0, 0, 0, 0, 0});
  TestNode ones("ConstantOfShape");
  ones.attr("value", i64({1}, {-7}));
  expect_tensor(ones.run1({i64({3}, {1, 2, 1})}), DType::Int64, {1, 2, 1}, {-7, -7});
  expect_tensor(ones.run1({i64({0}, {})}), DType::Int64, {}, {-7});
  TestNode bad("ConstantOfShape", 1, "fill");
  expect_error([&] { bad.run1({i64({1}, {-2})}); }, ErrorKind::InvalidArgument,
               {"fill", "negative"});
}

TEST(CpuShapeOps, RangeFloatAndInteger) {
  expect_tensor(TestNode("Range").run1({f32({}, {1}), f32({}, {2}), f32({}, {0.25f})}),
                DType::Float32, {4}, {1, 1.25, 1.5, 1.75});
  // ceil((-4 - 10) / -3) = 5 elements
  expect_tensor(TestNode("Range").run1({i64({}, {10}), i64({}, {-4}), i64({}, {-3})}), DType::Int64,
                {5}, {10, 7, 4, 1, -2});
  expect_tensor(TestNode("Range").run1({i32({}, {0}), i32({}, {5}), i32({}, {2})}), DType::Int32,
                {3}, {0, 2, 4});
  expect_tensor(TestNode("Range").run1({i64({}, {3}), i64({}, {1}), i64({}, {1})}), DType::Int64,
                {0}, {});
  expect_tensor(TestNode("Range").run1({f64({}, {0}), f64({}, {-1}), f64({}, {-0.3})}),
                DType::Float64, {4}, {0, -0.3, -0.6, -0.3 * 3}, 1e-15);
  TestNode bad("Range", 1, "positions");
  expect_error(
      [&] {
        bad.run1({i64({}, {0}), i64({}, {5}), i64({}, {0})});
      },
      ErrorKind::InvalidArgument, {"Range node 'positions'", "delta is 0"});
  expect_error(
      [&] {
        bad.run1({i64({}, {0}), i32({}, {5}), i64({}, {1})});
      },
      ErrorKind::InvalidArgument, {"positions", "limit"});
}

}  // namespace
}  // namespace kiln::cpu::testing
