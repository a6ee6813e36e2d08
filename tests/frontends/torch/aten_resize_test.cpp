// ATen upsampling converters: PyTorch's conventions (nearest reads floor(dst * in / out),
// nearest-exact rounds half pixels, linear is half_pixel or align_corners) as Kiln's Resize,
// run on the CPU reference against values worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Ints = std::vector<int64_t>;
using Floats = std::vector<double>;

// scale_factors [2, 2] double each pixel of [[1, 2], [3, 4]].
TEST(AtenResize, NearestTwoDimsByScaleFactors) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 2});
  ir::Value* out = h.convert(
      "aten.upsample_nearest2d.vec",
      {arg("input", x), arg("output_size", NoneArg{}), arg("scale_factors", Floats{2.0, 2.0})});
  EXPECT_EQ(h.ops(), (std::vector<std::string>{"Resize"}));
  const ir::Node& resize = *h.graph.nodes()[0];
  EXPECT_EQ(resize.attr_string("coordinate_transformation_mode", ""), "asymmetric");
  EXPECT_EQ(resize.attr_string("nearest_mode", ""), "floor");
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4})}});
  EXPECT_EQ(result.dims(), (Dims{1, 1, 4, 4}));
  EXPECT_THAT(result.to_double_vector(),
              ElementsAre(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4));
}

// 3 to 5 elements: nearest reads 0, 0, 1, 1, 2; nearest-exact 0, 0, 1, 2, 2.
TEST(AtenResize, NearestAndNearestExactByOutputSize) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 3});
  ir::Value* nearest = h.convert("aten.upsample_nearest1d.default",
                                 {arg("self", x), arg("output_size", Ints{5})}, "nearest");
  ir::Value* exact = h.convert(
      "aten._upsample_nearest_exact1d.vec",
      {arg("input", x), arg("output_size", Ints{5}), arg("scale_factors", NoneArg{})}, "exact");
  auto results = h.run({nearest, exact}, {{"x", Tensor::from_vector<float>({1, 1, 3}, {1, 2, 3})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 1, 2, 2, 3));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 1, 2, 3, 3));
}

// [1, 3] to 4 columns: half_pixel gives 1, 1.5, 2.5, 3 (the edges clamp); align_corners
// 1, 5/3, 7/3, 3.
TEST(AtenResize, BilinearWithAndWithoutAlignCorners) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 1, 2});
  ir::Value* half = h.convert(
      "aten.upsample_bilinear2d.default",
      {arg("self", x), arg("output_size", Ints{1, 4}), arg("align_corners", false)}, "half");
  ir::Value* corners = h.convert("aten.upsample_bilinear2d.vec",
                                 {arg("input", x), arg("output_size", NoneArg{}),
                                  arg("align_corners", true), arg("scale_factors", Floats{1, 2})},
                                 "corners");
  auto results = h.run({half, corners}, {{"x", Tensor::from_vector<float>({1, 1, 1, 2}, {1, 3})}});
  EXPECT_EQ(results[0].dims(), (Dims{1, 1, 1, 4}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 1.5, 2.5, 3));
  EXPECT_THAT(results[1].to_double_vector(),
              ElementsAre(1, DoubleNear(5.0 / 3, 1e-6), DoubleNear(7.0 / 3, 1e-6), 3));
}

// Trilinear doubling the depth of [1, 1, 2, 1, 1] = [0, 4]: 0, 1, 3, 4.
TEST(AtenResize, TrilinearByScaleFactors) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 1, 1});
  ir::Value* out = h.convert("aten.upsample_trilinear3d.default",
                             {arg("self", x), arg("output_size", Ints{4, 1, 1}),
                              arg("align_corners", false), arg("scales_d", 2.0)});
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector<float>({1, 1, 2, 1, 1}, {0, 4})}});
  EXPECT_EQ(result.dims(), (Dims{1, 1, 4, 1, 1}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(0, 1, 3, 4));
}

TEST(AtenResize, BadArgumentsNameTheNode) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 3});
  EXPECT_THAT(
      h.conversion_error(
          "aten.upsample_bilinear2d.default",
          {arg("self", x), arg("output_size", Ints{4, 4}), arg("align_corners", false)}),
      HasSubstr("(aten.upsample_bilinear2d.default) at test.py:1: needs an input of rank 4"));
  EXPECT_THAT(h.conversion_error("aten.upsample_nearest1d.vec",
                                 {arg("input", x), arg("output_size", NoneArg{}),
                                  arg("scale_factors", Floats{2, 2})}),
              HasSubstr("scale_factors holds 2 values; it needs 1"));
  EXPECT_THAT(h.conversion_error("aten.upsample_nearest1d.vec",
                                 {arg("input", x), arg("output_size", NoneArg{}),
                                  arg("scale_factors", NoneArg{})}),
              HasSubstr("needs output_size or positive scale_factors"));
}

}  // namespace
}  // namespace kiln::torch
