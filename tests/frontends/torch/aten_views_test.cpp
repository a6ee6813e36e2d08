// In-place writes through views (x[1:, -3:-1].fill_(v), x[-1].copy_(row), x[0].zero_()): the
// base the views alias sees the write, as in torch; and roll and swapaxes, which rearrange.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::ElementsAre;
using testing::floats;
using testing::iota;

constexpr int64_t kToEnd = std::numeric_limits<int64_t>::max();

// An argument naming the model's tensor, as the frontends pass them (in-place ops rebind it).
NamedArgument named(AtenHarness& h, const std::string& argument, const std::string& tensor) {
  return {argument, h.context.find_tensor(tensor), tensor};
}

// Values from torch: x = arange(12).reshape(3, 4); x[1:][:, -3:-1].fill_(9);
// x[-1].copy_([10, 20, 30, 40]); x[0].zero_().
TEST(AtenViews, InPlaceWritesReachTheBase) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{3, 4});
  h.input("row", DType::Float32, Dims{4});  // copy_'s source, found by name below
  h.convert(
      "aten.slice.Tensor",
      {named(h, "self", "x"), arg("dim", int64_t{0}), arg("start", int64_t{1}), arg("end", kToEnd)},
      "rows");
  h.convert("aten.slice.Tensor",
            {named(h, "self", "rows"), arg("dim", int64_t{1}), arg("start", int64_t{-3}),
             arg("end", int64_t{-1})},
            "block");
  ir::Value* nine = h.graph.add_constant("nine", Tensor::from_vector<float>({}, {9}));
  h.convert("aten.fill_.Tensor", {named(h, "self", "block"), arg("value", nine)}, "filled");
  h.convert("aten.select.int",
            {named(h, "self", "x"), arg("dim", int64_t{0}), arg("index", int64_t{-1})}, "last");
  h.convert("aten.copy_.default", {named(h, "self", "last"), named(h, "src", "row")}, "copied");
  h.convert("aten.select.int",
            {named(h, "self", "x"), arg("dim", int64_t{0}), arg("index", int64_t{0})}, "first");
  h.convert("aten.zero_.default", {named(h, "self", "first")}, "zeroed");
  ir::Value* result = h.context.find_tensor("x");
  ASSERT_NE(result, x);
  EXPECT_EQ(result->shape.to_string(), "[3, 4]");
  auto results = h.run({result, h.context.find_tensor("rows")},
                       {{"x", floats({3, 4}, iota(12))}, {"row", floats({4}, {10, 20, 30, 40})}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(0, 0, 0, 0, 4, 9, 9, 7, 10, 20, 30, 40));
  // The outer view was rebound too: it reads the fill and the copy.
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(4, 9, 9, 7, 10, 20, 30, 40));
}

// A strided slice cannot take a write yet: the error names the node, not a wrong value.
TEST(AtenViews, WriteIntoAStridedSliceIsUnsupported) {
  AtenHarness h;
  h.input("x", DType::Float32, Dims{4});
  h.convert("aten.slice.Tensor",
            {named(h, "self", "x"), arg("dim", int64_t{0}), arg("start", int64_t{0}),
             arg("end", kToEnd), arg("step", int64_t{2})},
            "evens");
  try {
    h.convert("aten.fill_.Scalar", {named(h, "self", "evens"), arg("value", 1.0)});
    FAIL() << "expected Unsupported";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(error.what(), ::testing::HasSubstr("with a step"));
  }
}

// The functional forms core-ATen graphs use, values from torch: x = arange(12).reshape(3, 4);
// torch.slice_scatter(x, src, 1, 1, 3) with src = [[-1, -2]] * 3, then
// torch.select_scatter(that, row, 0, -1) with row = [10, 20, 30, 40].
TEST(AtenViews, SliceAndSelectScattersReplaceTheirPart) {
  AtenHarness h;
  h.input("x", DType::Float32, Dims{3, 4});
  h.input("src", DType::Float32, Dims{3, 2});
  h.input("row", DType::Float32, Dims{4});
  h.convert("aten.slice_scatter.default",
            {named(h, "self", "x"), named(h, "src", "src"), arg("dim", int64_t{1}),
             arg("start", int64_t{1}), arg("end", int64_t{3})},
            "middle");
  h.convert("aten.select_scatter.default",
            {named(h, "self", "middle"), named(h, "src", "row"), arg("dim", int64_t{0}),
             arg("index", int64_t{-1})},
            "last");
  auto results = h.run({h.context.find_tensor("middle"), h.context.find_tensor("last")},
                       {{"x", floats({3, 4}, iota(12))},
                        {"src", floats({3, 2}, {-1, -2, -1, -2, -1, -2})},
                        {"row", floats({4}, {10, 20, 30, 40})}});
  EXPECT_THAT(results[0].to_double_vector(),
              ElementsAre(0, -1, -2, 3, 4, -1, -2, 7, 8, -1, -2, 11));
  EXPECT_THAT(results[1].to_double_vector(),
              ElementsAre(0, -1, -2, 3, 4, -1, -2, 7, 10, 20, 30, 40));
}

// Values from torch.roll on arange(6).reshape(2, 3).
TEST(AtenShape, RollRotatesEachDimOrTheFlatTensor) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  ir::Value* both = h.convert("aten.roll.default",
                              {arg("self", x), arg("shifts", std::vector<int64_t>{1, -1}),
                               arg("dims", std::vector<int64_t>{0, 1})},
                              "both");
  ir::Value* flat = h.convert("aten.roll.default",
                              {arg("self", x), arg("shifts", std::vector<int64_t>{2})}, "flat");
  ir::Value* wide = h.convert("aten.roll.default",
                              {arg("self", x), arg("shifts", std::vector<int64_t>{-4}),
                               arg("dims", std::vector<int64_t>{1})},
                              "wide");
  ir::Value* swapped =
      h.convert("aten.swapaxes.default",
                {arg("self", x), arg("axis0", int64_t{0}), arg("axis1", int64_t{-1})}, "swapped");
  auto results = h.run({both, flat, wide, swapped}, {{"x", floats({2, 3}, iota(6))}});
  EXPECT_THAT(results[0].to_double_vector(), ElementsAre(4, 5, 3, 1, 2, 0));
  EXPECT_EQ(results[1].dims(), (Dims{2, 3}));
  EXPECT_THAT(results[1].to_double_vector(), ElementsAre(4, 5, 0, 1, 2, 3));
  EXPECT_THAT(results[2].to_double_vector(), ElementsAre(1, 2, 0, 4, 5, 3));
  EXPECT_THAT(results[3].to_double_vector(), ElementsAre(0, 3, 1, 4, 2, 5));
}

}  // namespace
}  // namespace kiln::torch
