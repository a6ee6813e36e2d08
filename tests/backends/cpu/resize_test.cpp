// Tests of the CPU Resize kernel against values from the onnx package's reference
// implementation: linear under each coordinate transform, up and down, nearest under each
// rounding, integer nearest, trilinear, and errors that name the node.
#include <cstdint>
#include <string>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

// sizes per axis (-1: floor(dim * scale)); scales per axis (0: output size / input size).
TestNode resize_node(const std::string& mode, const std::string& coordinates,
                     std::vector<int64_t> sizes, std::vector<double> scales,
                     const std::string& nearest = "round_prefer_floor") {
  TestNode node("Resize", 1, "my_resize");
  node.attr("mode", mode).attr("coordinate_transformation_mode", coordinates);
  node.attr("nearest_mode", nearest).attr("sizes", std::move(sizes));
  node.attr("scales", std::move(scales));
  return node;
}

// x = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as [1, 1, 3, 4].
Tensor three_by_four() { return f32({1, 1, 3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}); }

// Sizes [5, 3]: H grows from 3 to 5, W shrinks from 4 to 3 (the scales follow from them).
TEST(CpuResize, LinearEachCoordinateTransformBySizes) {
  const std::vector<int64_t> sizes = {1, 1, 5, 3};
  const std::vector<double> derived = {0, 0, 0, 0};
  const std::vector<double> half_pixel = {0.166667, 1.5,      2.833333, 1.766667, 3.1,
                                          4.433333, 4.166667, 5.5,      6.833333, 6.566667,
                                          7.9,      9.233334, 8.166667, 9.5,      10.833333};
  for (const std::string mode : {"half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"}) {
    expect_tensor(resize_node("linear", mode, sizes, derived).run1({three_by_four()}),
                  DType::Float32, {1, 1, 5, 3}, half_pixel, 1e-5);
  }
  expect_tensor(resize_node("linear", "align_corners", sizes, derived).run1({three_by_four()}),
                DType::Float32, {1, 1, 5, 3},
                {0, 1.5, 3, 2, 3.5, 5, 4, 5.5, 7, 6, 7.5, 9, 8, 9.5, 11}, 1e-5);
  expect_tensor(resize_node("linear", "asymmetric", sizes, derived).run1({three_by_four()}),
                DType::Float32, {1, 1, 5, 3},
                {0, 1.333333, 2.666667, 2.4, 3.733333, 5.066667, 4.8, 6.133333, 7.466667, 7.2,
                 8.533334, 9.866667, 8, 9.333333, 10.666667},
                1e-5);
}

// Scales [0.5, 1.5]: H shrinks from 3 to floor(1.5) = 1, W grows from 4 to 6; the given
// scales (not 1/3 and 6/4) drive the coordinates.
TEST(CpuResize, LinearEachCoordinateTransformByScales) {
  const std::vector<int64_t> sizes = {-1, -1, -1, -1};
  const std::vector<double> scales = {1, 1, 0.5, 1.5};
  auto run = [&](const std::string& mode) {
    return resize_node("linear", mode, sizes, scales).run1({three_by_four()});
  };
  expect_tensor(run("half_pixel"), DType::Float32, {1, 1, 1, 6},
                {2, 2.5, 3.166667, 3.833333, 4.5, 5}, 1e-5);
  expect_tensor(run("pytorch_half_pixel"), DType::Float32, {1, 1, 1, 6},
                {2, 2.5, 3.166667, 3.833333, 4.5, 5}, 1e-5);
  expect_tensor(run("align_corners"), DType::Float32, {1, 1, 1, 6}, {0, 0.6, 1.2, 1.8, 2.4, 3},
                1e-5);
  expect_tensor(run("asymmetric"), DType::Float32, {1, 1, 1, 6},
                {0, 0.666667, 1.333333, 2, 2.666667, 3}, 1e-5);
  expect_tensor(run("half_pixel_symmetric"), DType::Float32, {1, 1, 1, 6},
                {4, 4.5, 5.166667, 5.833333, 6.5, 7}, 1e-5);
  // pytorch_half_pixel reads index 0 for an output of length 1; half_pixel the middle.
  Tensor line = f32({4}, {1, 2, 3, 5});
  expect_tensor(resize_node("linear", "pytorch_half_pixel", {1}, {0}).run1({line}), DType::Float32,
                {1}, {1});
  expect_tensor(resize_node("linear", "half_pixel", {1}, {0}).run1({line}), DType::Float32, {1},
                {2.5});
}

// Sizes [1, 2] read source columns 0.5 and 2.5: the rounding decides each tie.
TEST(CpuResize, NearestEachRounding) {
  const std::vector<int64_t> sizes = {1, 1, 1, 2};
  const std::vector<double> derived = {0, 0, 0, 0};
  auto run = [&](const std::string& nearest, std::vector<int64_t> to) {
    return resize_node("nearest", "half_pixel", std::move(to), derived, nearest)
        .run1({three_by_four()});
  };
  expect_tensor(run("round_prefer_floor", sizes), DType::Float32, {1, 1, 1, 2}, {4, 6});
  expect_tensor(run("round_prefer_ceil", sizes), DType::Float32, {1, 1, 1, 2}, {5, 7});
  expect_tensor(run("floor", sizes), DType::Float32, {1, 1, 1, 2}, {4, 6});
  expect_tensor(run("ceil", sizes), DType::Float32, {1, 1, 1, 2}, {5, 7});
  // Upsampling 4 to 8: floor and ceil against the edges (indices clamp to the input).
  expect_tensor(run("floor", {1, 1, 1, 8}), DType::Float32, {1, 1, 1, 8}, {4, 4, 4, 5, 5, 6, 6, 7});
  expect_tensor(run("ceil", {1, 1, 1, 8}), DType::Float32, {1, 1, 1, 8}, {4, 5, 5, 6, 6, 7, 7, 7});
}

// Nearest copies elements, so integers keep their exact values; PyTorch's convention
// (asymmetric, floor) doubles each pixel.
TEST(CpuResize, NearestOnIntegersUpAndDown) {
  const std::vector<double> twice = {1, 1, 2, 2};
  expect_tensor(resize_node("nearest", "asymmetric", {-1, -1, -1, -1}, twice, "floor")
                    .run1({i32({1, 1, 2, 2}, {1, 2, 3, 4})}),
                DType::Int32, {1, 1, 4, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  std::vector<int32_t> counting(16);
  for (int32_t i = 0; i < 16; ++i) counting[size_t(i)] = i;
  expect_tensor(resize_node("nearest", "asymmetric", {-1, -1, -1, -1}, {1, 1, 0.5, 0.5}, "floor")
                    .run1({i32({1, 1, 4, 4}, counting)}),
                DType::Int32, {1, 1, 2, 2}, {0, 2, 8, 10});
  const int64_t big = int64_t{1} << 40;
  expect_tensor(resize_node("nearest", "align_corners", {1, 5}, {0, 0}, "round_prefer_ceil")
                    .run1({i64({1, 3}, {-big, 0, big})}),
                DType::Int64, {1, 5}, {double(-big), 0, 0, double(big), double(big)});
}

// Trilinear over [1, 1, 2, 2, 2]: D and W double, H stays; float64 stays float64.
TEST(CpuResize, TrilinearFiveDims) {
  Tensor x = f64({1, 1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  expect_tensor(
      resize_node("linear", "half_pixel", {-1, -1, -1, -1, -1}, {1, 1, 2, 1, 2}).run1({x}),
      DType::Float64, {1, 1, 4, 2, 4},
      {0, 0.25, 0.75, 1, 2, 2.25, 2.75, 3, 1, 1.25, 1.75, 2, 3, 3.25, 3.75, 4,
       3, 3.25, 3.75, 4, 5, 5.25, 5.75, 6, 4, 4.25, 4.75, 5, 6, 6.25, 6.75, 7},
      1e-12);
}

TEST(CpuResize, ErrorsNameTheNode) {
  Tensor x = f32({1, 3}, {1, 2, 3});
  expect_error(
      [&] {
        resize_node("cubic", "half_pixel", {1, 6}, {0, 0}).run1({x});
      },
      ErrorKind::Unsupported, {"Resize node 'my_resize'", "mode 'cubic' is not supported"});
  expect_error(
      [&] {
        resize_node("linear", "tf_crop_and_resize", {1, 6}, {0, 0}).run1({x});
      },
      ErrorKind::Unsupported, {"my_resize", "'tf_crop_and_resize'"});
  expect_error(
      [&] {
        resize_node("nearest", "half_pixel", {1, 6}, {0, 0}, "nearest").run1({x});
      },
      ErrorKind::InvalidModel, {"my_resize", "nearest_mode 'nearest' is not one of"});
  expect_error([&] { resize_node("nearest", "half_pixel", {6}, {0}).run1({x}); },
               ErrorKind::InvalidModel, {"my_resize", "an input of rank 2 needs 2"});
  expect_error(
      [&] {
        resize_node("linear", "half_pixel", {1, 6}, {0, 0}).run1({i32({1, 3}, {1, 2, 3})});
      },
      ErrorKind::Unsupported, {"my_resize", "int32"});
  expect_error(
      [&] {
        resize_node("nearest", "half_pixel", {1, 2}, {0, 0}).run1({f32({1, 0}, {})});
      },
      ErrorKind::InvalidArgument, {"my_resize", "axis 1 is empty"});
}

}  // namespace
}  // namespace kiln::cpu::testing
