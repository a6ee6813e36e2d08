// ATen padding converters: PyTorch's pad lists (last dim first) become Kiln's Pad over every
// axis, run on the CPU reference against values worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Ints = std::vector<int64_t>;

// x = [[1, 2, 3], [4, 5, 6]]
Tensor two_by_three() { return Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6}); }

// [left, right, top, bottom]: the last dim's pair comes first; a negative pad crops.
TEST(AtenPad, ConstantPadListsRunFromTheLastDim) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* out = h.convert("aten.constant_pad_nd.default",
                             {arg("self", x), arg("pad", Ints{1, -1, 0, 1}), arg("value", 7.5)});
  EXPECT_EQ(h.ops(), (std::vector<std::string>{"Pad"}));
  const ir::Node& pad = *h.graph.nodes()[0];
  EXPECT_THAT(pad.attr_ints("pads"), ElementsAre(0, 1, 1, -1));
  Tensor result = h.run_one(out, {{"x", two_by_three()}});
  EXPECT_EQ(result.dims(), (Dims{3, 3}));
  EXPECT_THAT(result.to_double_vector(), ElementsAre(7.5, 1, 2, 7.5, 4, 5, 7.5, 7.5, 7.5));
}

// F.pad's modes: reflect, replicate (Kiln's edge) and circular (Kiln's wrap); an int64
// tensor keeps its dtype.
TEST(AtenPad, PadModes) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* reflect =
      h.convert("aten.pad.default",
                {arg("self", x), arg("pad", Ints{2, 1}), arg("mode", "reflect")}, "reflect");
  ir::Value* replicate = h.convert(
      "aten.pad.default", {arg("self", x), arg("pad", Ints{0, 0, 1, 0}), arg("mode", "replicate")},
      "replicate");
  ir::Value* circular =
      h.convert("aten.pad.default",
                {arg("self", x), arg("pad", Ints{1, 1}), arg("mode", "circular")}, "circular");
  ir::Value* i = h.input("i", DType::Int64, Dims{2});
  ir::Value* constant = h.convert(
      "aten.pad.default", {arg("self", i), arg("pad", Ints{1, 0}), arg("value", 3.0)}, "constant");
  auto results = h.run({reflect, replicate, circular, constant},
                       {{"x", two_by_three()}, {"i", Tensor::from_vector<int64_t>({2}, {8, 9})}});
  EXPECT_EQ(results[0].dims(), (Dims{2, 6}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5));
  EXPECT_EQ(results[1].dims(), (Dims{3, 3}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 2, 3, 1, 2, 3, 4, 5, 6));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(3, 1, 2, 3, 1, 6, 4, 5, 6, 4));
  EXPECT_EQ(results[3].dtype(), DType::Int64);
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(3, 8, 9));
}

// reflection_pad2d / replication_pad1d over the last dims of an [N, C, H, W] or [N, C, W] input.
TEST(AtenPad, ReflectionAndReplicationPads) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, 1, 2, 3});
  ir::Value* reflected = h.convert("aten.reflection_pad2d.default",
                                   {arg("self", x), arg("padding", Ints{1, 0, 1, 0})}, "reflected");
  ir::Value* w = h.input("w", DType::Float32, Dims{1, 2, 2});
  ir::Value* replicated = h.convert("aten.replication_pad1d.default",
                                    {arg("self", w), arg("padding", Ints{0, 2})}, "replicated");
  auto results =
      h.run({reflected, replicated}, {{"x", two_by_three().reshaped({1, 1, 2, 3})},
                                      {"w", Tensor::from_vector<float>({1, 2, 2}, {1, 2, 3, 4})}});
  EXPECT_EQ(results[0].dims(), (Dims{1, 1, 3, 4}));
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(5, 4, 5, 6, 2, 1, 2, 3, 5, 4, 5, 6));
  EXPECT_EQ(results[1].dims(), (Dims{1, 2, 4}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(1, 2, 2, 2, 3, 4, 4, 4));
}

TEST(AtenPad, BadPadsNameTheNode) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  EXPECT_THAT(h.conversion_error("aten.reflection_pad1d.default",
                                 {arg("self", x), arg("padding", Ints{3, 0})}),
              HasSubstr("must each be less than its size 3"));
  EXPECT_THAT(h.conversion_error("aten.reflection_pad2d.default",
                                 {arg("self", x), arg("padding", Ints{1, 1})}),
              HasSubstr("padding [1, 1] must hold 4 values"));
  EXPECT_THAT(h.conversion_error("aten.constant_pad_nd.default",
                                 {arg("self", x), arg("pad", Ints{1, 1, 1, 1, 1, 1})}),
              HasSubstr("covers 3 dims, but the input has rank 2"));
  EXPECT_THAT(h.conversion_error("aten.pad.default",
                                 {arg("self", x), arg("pad", Ints{1, 1}), arg("mode", "mirror")}),
              HasSubstr("node 'node' (aten.pad.default) at test.py:1: mode 'mirror'"));
}

}  // namespace
}  // namespace kiln::torch
