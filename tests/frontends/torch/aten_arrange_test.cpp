// ATen ops found in models torch.export leaves in its default dialect (stack, meshgrid,
// repeat_interleave, reshape_as, x.T, baddbmm, floor_divide, empty_like, glu,
// adaptive_avg_pool3d, 1-D pools, square, broadcast_to, empty): converted and run on the CPU
// reference against values worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using testing::floats;
using ::testing::Pointwise;

std::vector<float> iota(int64_t count) {
  std::vector<float> values(static_cast<size_t>(count));
  std::iota(values.begin(), values.end(), 0.f);
  return values;
}

// a = [[0, 1], [2, 3]], b = [[4, 5], [6, 7]]: stacked on dim 0 they are [a, b]; on dim -1 the
// pairs (0, 4), (1, 5), ...
TEST(AtenArrange, StackOnTheFirstAndTheLastDim) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Float32, Dims{2, 2});
  ir::Value* b = h.input("b", DType::Float32, Dims{2, 2});
  ir::Value* first = h.convert("aten.stack.default", {arg("tensors", TensorList{a, b})}, "first");
  ir::Value* last = h.convert("aten.stack.default",
                              {arg("tensors", TensorList{a, b}), arg("dim", int64_t{-1})}, "last");
  EXPECT_EQ(first->shape.to_string(), "[2, 2, 2]");
  auto results = h.run({first, last},
                       {{"a", floats({2, 2}, {0, 1, 2, 3})}, {"b", floats({2, 2}, {4, 5, 6, 7})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 4, 1, 5, 2, 6, 3, 7));
}

// x = [0, 1, 2], y = [10, 20]: "ij" gives [3, 2] grids, x down the rows; "xy" gives [2, 3]
// grids, x along the columns.
TEST(AtenArrange, MeshgridIjAndXy) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3});
  ir::Value* y = h.input("y", DType::Float32, Dims{2});
  h.convert_slots("aten.meshgrid.indexing",
                  {arg("tensors", TensorList{x, y}), arg("indexing", std::string("ij"))},
                  {{OutputSlot::Kind::TensorList, {"ij_x", "ij_y"}}});
  h.convert_slots("aten.meshgrid.indexing",
                  {arg("tensors", TensorList{x, y}), arg("indexing", std::string("xy"))},
                  {{OutputSlot::Kind::TensorList, {"xy_x", "xy_y"}}});
  std::vector<ir::Value*> outputs;
  for (const char* name : {"ij_x", "ij_y", "xy_x", "xy_y"})
    outputs.push_back(h.context.find_tensor(name));
  EXPECT_EQ(outputs[0]->shape.to_string(), "[3, 2]");
  EXPECT_EQ(outputs[2]->shape.to_string(), "[2, 3]");
  auto results = h.run(outputs, {{"x", floats({3}, {0, 1, 2})}, {"y", floats({2}, {10, 20})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0, 0, 1, 1, 2, 2));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(10, 20, 10, 20, 10, 20));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(0, 1, 2, 0, 1, 2));
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(10, 10, 10, 20, 20, 20));
}

// [[0, 1], [2, 3]] repeated twice along dim 1: [[0, 0, 1, 1], [2, 2, 3, 3]]; along dim 0:
// rows 0, 0, 1, 1; with no dim, the flattened elements each twice.
TEST(AtenArrange, RepeatInterleaveWithAnIntCount) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 2});
  ir::Value* columns =
      h.convert("aten.repeat_interleave.self_int",
                {arg("self", x), arg("repeats", int64_t{2}), arg("dim", int64_t{1})}, "columns");
  ir::Value* rows =
      h.convert("aten.repeat_interleave.self_int",
                {arg("self", x), arg("repeats", int64_t{2}), arg("dim", int64_t{0})}, "rows");
  ir::Value* flat = h.convert("aten.repeat_interleave.self_int",
                              {arg("self", x), arg("repeats", int64_t{2})}, "flat");
  auto results = h.run({columns, rows, flat}, {{"x", floats({2, 2}, {0, 1, 2, 3})}});
  EXPECT_EQ(results[0].dims(), (Dims{2, 4}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0, 0, 1, 1, 2, 2, 3, 3));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 1, 0, 1, 2, 3, 2, 3));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(0, 0, 1, 1, 2, 2, 3, 3));
}

TEST(AtenArrange, ReshapeAsViewAsAndNumpyT) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3, 4});
  ir::Value* shape = h.input("shape", DType::Float32, Dims{6, 4});
  ir::Value* reshaped =
      h.convert("aten.reshape_as.default", {arg("self", x), arg("other", shape)}, "reshaped");
  ir::Value* viewed =
      h.convert("aten.view_as.default", {arg("self", x), arg("other", shape)}, "viewed");
  ir::Value* reversed = h.convert("aten.numpy_T.default", {arg("self", x)}, "reversed");
  EXPECT_EQ(reshaped->shape.to_string(), "[6, 4]");
  EXPECT_EQ(viewed->shape.to_string(), "[6, 4]");
  EXPECT_EQ(reversed->shape.to_string(), "[4, 3, 2]");
  auto results = h.run({reversed, reshaped},
                       {{"x", floats({2, 3, 4}, iota(24))}, {"shape", floats({6, 4}, iota(24))}});
  EXPECT_EQ(results[1].dims(), (Dims{6, 4}));
  // reversed[k][j][i] = x[i][j][k]: reversed[1][0][1] = x[1][0][1] = 13.
  EXPECT_EQ(results[0].to_double_vector()[size_t(1 * 6 + 0 * 2 + 1)], 13);
}

// baddbmm: 0.5 * self + 2 * (batch1 @ batch2); with beta 0 a NaN in self does not show.
TEST(AtenArrange, BaddbmmScalesBothTermsAndIgnoresSelfWithBetaZero) {
  AtenHarness h;
  ir::Value* self = h.input("self", DType::Float32, Dims{1, 1, 2});
  ir::Value* b1 = h.input("b1", DType::Float32, Dims{1, 1, 2});
  ir::Value* b2 = h.input("b2", DType::Float32, Dims{1, 2, 2});
  ir::Value* mixed = h.convert("aten.baddbmm.default",
                               {arg("self", self), arg("batch1", b1), arg("batch2", b2),
                                arg("beta", 0.5), arg("alpha", 2.0)},
                               "mixed");
  ir::Value* plain = h.convert(
      "aten.baddbmm.default",
      {arg("self", self), arg("batch1", b1), arg("batch2", b2), arg("beta", 0.0)}, "plain");
  auto results = h.run({mixed, plain}, {{"self", floats({1, 1, 2}, {2, NAN})},
                                        {"b1", floats({1, 1, 2}, {1, 2})},
                                        {"b2", floats({1, 2, 2}, {1, 0, 0, 1})}});
  EXPECT_TRUE(std::isnan(results[0].to_double_vector()[1]));
  EXPECT_EQ(results[0].to_double_vector()[0], 0.5 * 2 + 2 * 1);
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 2));
}

// Python's //: floor for floats and for integers of either sign.
TEST(AtenArrange, FloorDivideFloorsBothSigns) {
  AtenHarness h;
  ir::Value* a = h.input("a", DType::Int64, Dims{4});
  ir::Value* b = h.input("b", DType::Int64, Dims{4});
  ir::Value* f = h.input("f", DType::Float32, Dims{2});
  ir::Value* ints =
      h.convert("aten.floor_divide.default", {arg("self", a), arg("other", b)}, "ints");
  ir::Value* by_two =
      h.convert("aten.floor_divide.Scalar", {arg("self", f), arg("other", 2.0)}, "by_two");
  auto results = h.run({ints, by_two}, {{"a", Tensor::from_vector<int64_t>({4}, {7, -7, 7, -7})},
                                        {"b", Tensor::from_vector<int64_t>({4}, {2, 2, -2, -2})},
                                        {"f", floats({2}, {-3, 5})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(3, -4, -4, 3));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(-2, 2));
}

// glu over the last dim: [a, b] -> a * sigmoid(b); empty_like has self's shape and dtype.
TEST(AtenArrange, GluAndEmptyLike) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 4});
  ir::Value* gated = h.convert("aten.glu.default", {arg("self", x)}, "gated");
  ir::Value* empty = h.convert("aten.empty_like.default", {arg("self", x)}, "empty");
  EXPECT_EQ(empty->shape.to_string(), "[1, 4]");
  auto results = h.run({gated, empty}, {{"x", floats({1, 4}, {2, -4, 0, 1e4})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{1, -4}));
  EXPECT_EQ(results[1].dims(), (Dims{1, 4}));
}

// [1, 1, 2, 2, 3] (D, H, W) pooled to (1, 1, 2): W's three columns split into bins {0, 1} and
// {1, 2} (PyTorch's bins overlap when uneven), averaged over D and H too; to (1, 1, 1): the mean.
TEST(AtenArrange, AdaptiveAvgPool3dUnevenBinsAndGlobal) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 2, 3});
  ir::Value* bins =
      h.convert("aten.adaptive_avg_pool3d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{1, 1, 2})}, "bins");
  ir::Value* mean =
      h.convert("aten.adaptive_avg_pool3d.default",
                {arg("self", x), arg("output_size", std::vector<int64_t>{1, 1, 1})}, "mean");
  auto results = h.run({bins, mean}, {{"x", floats({1, 1, 2, 2, 3}, iota(12))}});
  // Columns 0..2 of the 4 (d, h) rows average to 4.5, 5.5, 6.5.
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-5), std::vector<double>{5, 6}));
  EXPECT_THAT(results[1].to_double_vector(), Pointwise(DoubleNear(1e-5), std::vector<double>{5.5}));
}

// [N, C, L] pooled in windows of 2 (stride 2, one pad each side for the max): the 2-D kernels
// over a unit height give PyTorch's 1-D results. square, broadcast_to and empty as well.
TEST(AtenArrange, OneDimensionalPoolsSquareBroadcastToAndEmpty) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 4});
  ir::Value* average =
      h.convert("aten.avg_pool1d.default",
                {arg("self", x), arg("kernel_size", std::vector<int64_t>{2})}, "average");
  ir::Value* maximum =
      h.convert("aten.max_pool1d.default",
                {arg("self", x), arg("kernel_size", std::vector<int64_t>{2}),
                 arg("stride", std::vector<int64_t>{2}), arg("padding", std::vector<int64_t>{1})},
                "maximum");
  ir::Value* squared = h.convert("aten.square.default", {arg("self", x)}, "squared");
  ir::Value* wide = h.convert("aten.broadcast_to.default",
                              {arg("self", x), arg("size", std::vector<int64_t>{2, 1, 4})}, "wide");
  ir::Value* empty =
      h.convert("aten.empty.memory_format", {arg("size", std::vector<int64_t>{3, 2})}, "empty");
  EXPECT_EQ(average->shape.to_string(), "[1, 1, 2]");
  EXPECT_EQ(maximum->shape.to_string(), "[1, 1, 3]");
  EXPECT_EQ(empty->shape.to_string(), "[3, 2]");
  auto results =
      h.run({average, maximum, squared, wide}, {{"x", floats({1, 1, 4}, {1, 5, -2, 3})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(3, 0.5));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 5, 3));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 25, 4, 9));
  EXPECT_EQ(results[3].dims(), (Dims{2, 1, 4}));
}

// pixel_shuffle of [1, 4, 1, 1] by 2: channels 0..3 land at (0,0), (0,1), (1,0), (1,1);
// pixel_unshuffle takes it back.
TEST(AtenArrange, PixelShuffleAndUnshuffle) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 8, 1, 2});
  ir::Value* up = h.convert("aten.pixel_shuffle.default",
                            {arg("self", x), arg("upscale_factor", int64_t{2})}, "up");
  ir::Value* back = h.convert("aten.pixel_unshuffle.default",
                              {arg("self", up), arg("downscale_factor", int64_t{2})}, "back");
  EXPECT_EQ(up->shape.to_string(), "[1, 2, 2, 4]");
  auto results = h.run({up, back}, {{"x", floats({1, 8, 1, 2}, iota(16))}});
  // Channel c of the first group (0..3), pixel w: goes to row c / 2, column 2 w + c % 2.
  EXPECT_THAT(results[0].to_double_vector(),
              ElementsAre(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15));
  EXPECT_THAT(results[1].to_double_vector(), ::testing::ElementsAreArray(iota(16)));
}

// sort descending along the last dim (values and indices), argsort ascending.
TEST(AtenArrange, SortAndArgsort) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  h.convert_slots(
      "aten.sort.default", {arg("self", x), arg("dim", int64_t{-1}), arg("descending", true)},
      {{OutputSlot::Kind::Tensor, {"values"}}, {OutputSlot::Kind::Tensor, {"indices"}}});
  ir::Value* order =
      h.convert("aten.argsort.default", {arg("self", x), arg("dim", int64_t{1})}, "order");
  auto results = h.run({h.context.find_tensor("values"), h.context.find_tensor("indices"), order},
                       {{"x", floats({2, 3}, {2, 7, 5, 1, -1, 4})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(7, 5, 2, 4, 1, -1));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 2, 0, 2, 0, 1));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(0, 2, 1, 1, 0, 2));
}

// instance_norm without running statistics: each (sample, channel) normalized on its own;
// [1, 2, 2] per channel rows [1, 3] and [2, 6] become [-1, 1] (eps 0), then weight 2, bias 1.
TEST(AtenArrange, InstanceNormUsesEachChannelsOwnStatistics) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 2});
  ir::Value* w = h.input("w", DType::Float32, Dims{2});
  ir::Value* b = h.input("b", DType::Float32, Dims{2});
  ir::Value* out =
      h.convert("aten.instance_norm.default", {arg("input", x), arg("weight", w), arg("bias", b),
                                               arg("use_input_stats", true), arg("eps", 0.0)});
  auto results = h.run({out}, {{"x", floats({1, 2, 2}, {1, 3, 2, 6})},
                               {"w", floats({2}, {2, 2})},
                               {"b", floats({2}, {1, 1})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{-1, 3, -1, 3}));
}

// im2col of a [1, 1, 3, 3] image in 2x2 windows, stride 1: 4 columns of 4 elements; col2im of
// those columns sums the overlaps back (the centre is in all four windows).
TEST(AtenArrange, Im2colAndCol2imAreUnfoldAndFold) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 3, 3});
  std::vector<NamedArgument> window = {
      arg("kernel_size", std::vector<int64_t>{2}), arg("dilation", std::vector<int64_t>{1}),
      arg("padding", std::vector<int64_t>{0}), arg("stride", std::vector<int64_t>{1})};
  std::vector<NamedArgument> unfold_args = window;
  unfold_args.push_back(arg("self", x));
  ir::Value* columns = h.convert("aten.im2col.default", unfold_args, "columns");
  std::vector<NamedArgument> fold_args = window;
  fold_args.push_back(arg("self", columns));
  fold_args.push_back(arg("output_size", std::vector<int64_t>{3, 3}));
  ir::Value* folded = h.convert("aten.col2im.default", fold_args, "folded");
  EXPECT_EQ(columns->shape.to_string(), "[1, 4, 4]");
  auto results = h.run({columns, folded}, {{"x", floats({1, 1, 3, 3}, iota(9))}});
  // Row t of the columns is window tap t (0: top-left) over the 4 window positions.
  EXPECT_THAT(results[0].to_double_vector(),
              ElementsAre(0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(0, 2, 2, 6, 16, 10, 6, 14, 8));
}

// Bicubic upsampling of the row [0, 1, 4, 9]: PyTorch 2.15's values for 4 -> 8 (half-pixel
// centres, edge taps clamped) and 4 -> 3 with align_corners.
TEST(AtenArrange, BicubicUpsamplingMatchesPyTorch) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 1, 4});
  ir::Value* wide = h.convert("aten.upsample_bicubic2d.vec",
                              {arg("input", x), arg("output_size", std::vector<int64_t>{1, 8}),
                               arg("align_corners", false)},
                              "wide");
  ir::Value* corners = h.convert(
      "aten.upsample_bicubic2d.default",
      {arg("self", x), arg("output_size", std::vector<int64_t>{1, 3}), arg("align_corners", true)},
      "corners");
  auto results = h.run({wide, corners}, {{"x", floats({1, 1, 1, 4}, {0, 1, 4, 9})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-5),
                        std::vector<double>{-0.10546875, 0.12109375, 0.45703125, 1.609375, 2.828125,
                                            5.44921875, 7.97265625, 9.52734375}));
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(1e-5), std::vector<double>{0, 2.125, 9}));
}

// tensor_split of 7 columns into 3 sections: 3, 2, 2 (the first 7 % 3 one longer); at
// indices [1, 5]: 1, 4, 2.
TEST(AtenArrange, TensorSplitBySectionsAndIndices) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 7});
  h.convert_slots("aten.tensor_split.sections",
                  {arg("self", x), arg("sections", int64_t{3}), arg("dim", int64_t{1})},
                  {{OutputSlot::Kind::TensorList, {"s0", "s1", "s2"}}});
  h.convert_slots(
      "aten.tensor_split.indices",
      {arg("self", x), arg("indices", std::vector<int64_t>{1, 5}), arg("dim", int64_t{1})},
      {{OutputSlot::Kind::TensorList, {"i0", "i1", "i2"}}});
  std::vector<std::string> widths;
  for (const char* name : {"s0", "s1", "s2", "i0", "i1", "i2"})
    widths.push_back(h.context.find_tensor(name)->shape.to_string());
  EXPECT_EQ(widths,
            (std::vector<std::string>{"[1, 3]", "[1, 2]", "[1, 2]", "[1, 1]", "[1, 4]", "[1, 2]"}));
  auto results = h.run({h.context.find_tensor("i1")}, {{"x", floats({1, 7}, iota(7))}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(1, 2, 3, 4));
}

// A ceil_mode pool whose window is wider than the map (Hugging Face EfficientNet's pooler):
// one output, the mean (max) of the whole map, as PyTorch clips the window.
TEST(AtenArrange, APoolWiderThanItsInputWithCeilModeIsAWholeMapReduction) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 2, 2, 2});
  std::vector<NamedArgument> common = {arg("self", x), arg("kernel_size", std::vector<int64_t>{64}),
                                       arg("ceil_mode", true)};
  ir::Value* mean = h.convert("aten.avg_pool2d.default", common, "mean");
  ir::Value* max = h.convert("aten.max_pool2d.default", common, "max");
  EXPECT_EQ(mean->shape.to_string(), "[1, 2, 1, 1]");
  auto results = h.run({mean, max}, {{"x", floats({1, 2, 2, 2}, {1, 2, 3, 6, 0, 0, 4, 8})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(3, 3));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(6, 8));
}

// affine_grid of the identity on a 2x2 map with align_corners: the corners (-1, -1) ... (1, 1);
// grid_sample of [[0, 1], [2, 3]] at them gives the map back. At the points below, PyTorch's
// values: bilinear, nearest (pixel 0.5 rounds half to even, to 0) and, outside the map, 0 with
// zeros padding and the edge with border padding.
TEST(AtenArrange, AffineGridAndGridSample) {
  AtenHarness h;
  ir::Value* theta = h.input("theta", DType::Float32, Dims{1, 2, 3});
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 2});
  ir::Value* points = h.input("points", DType::Float32, Dims{1, 1, 4, 2});
  ir::Value* grid = h.convert("aten.affine_grid_generator.default",
                              {arg("theta", theta), arg("size", std::vector<int64_t>{1, 1, 2, 2}),
                               arg("align_corners", true)},
                              "grid");
  auto sample = [&](ir::Value* where, int64_t mode, int64_t padding, const std::string& name) {
    return h.convert("aten.grid_sampler.default",
                     {arg("input", x), arg("grid", where), arg("interpolation_mode", mode),
                      arg("padding_mode", padding), arg("align_corners", true)},
                     name);
  };
  ir::Value* back = sample(grid, 0, 0, "back");
  ir::Value* bilinear = sample(points, 0, 0, "bilinear");
  ir::Value* nearest = sample(points, 1, 0, "nearest");
  ir::Value* border = sample(points, 0, 1, "border");
  auto results =
      h.run({back, bilinear, nearest, border},
            {{"theta", floats({1, 2, 3}, {1, 0, 0, 0, 1, 0})},
             {"x", floats({1, 1, 2, 2}, {0, 1, 2, 3})},
             // (0, 0): the centre; (0.6, -0.6); (3, 0): right of the map; (-1, 1): bottom-left
             {"points", floats({1, 1, 4, 2}, {0, 0, 0.6f, -0.6f, 3, 0, -1, 1})}});
  EXPECT_THAT(results[0].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{0, 1, 2, 3}));
  // (0.6, -0.6) is pixel (0.8, 0.2): 0.8 * 0.8 * 1 + 0.2 * 0.2 * 2 + 0.2 * 0.8 * 3 = 1.2.
  EXPECT_THAT(results[1].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{1.5, 1.2, 0, 2}));
  EXPECT_THAT(results[2].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{0, 1, 0, 2}));
  // Border: (3, 0) clamps to pixel (1, 0.5): the right column's mean 2.
  EXPECT_THAT(results[3].to_double_vector(),
              Pointwise(DoubleNear(1e-6), std::vector<double>{1.5, 1.2, 2, 2}));
}

}  // namespace
}  // namespace kiln::torch
