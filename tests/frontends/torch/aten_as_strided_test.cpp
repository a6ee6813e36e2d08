// aten.as_strided: views that address the input's storage (a dense permuted layout, windows
// that overlap, stride-0 broadcasts, the layout a .pt2 declares), on the CPU reference against
// values worked out by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<float> counting(int64_t count) {
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i) values.push_back(static_cast<float>(i));
  return values;
}

Tensor as_strided(const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                  int64_t offset, Dims in_dims = {6}, std::vector<std::string>* ops = nullptr) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, in_dims);
  ir::Value* out = h.convert(
      "aten.as_strided.default",
      {arg("self", x), arg("size", size), arg("stride", stride), arg("storage_offset", offset)});
  int64_t count = 1;
  for (int64_t d : in_dims) count *= d;
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector(in_dims, counting(count))}});
  if (ops != nullptr) *ops = h.ops();
  return result;
}

// A dense layout in another order of its dims is a Slice, Reshape and Transpose.
TEST(AtenAsStrided, PermutedDenseViewIsATranspose) {
  std::vector<std::string> ops;
  Tensor out = as_strided({3, 2}, {1, 3}, 2, {2, 3, 4}, &ops);
  EXPECT_EQ(out.dims(), (Dims{3, 2}));
  EXPECT_THAT(out.to_double_vector(), ElementsAre(2, 5, 3, 6, 4, 7));
  EXPECT_THAT(ops, Contains("Transpose"));
  EXPECT_THAT(ops, Not(Contains("Gather")));
}

// Overlapping windows (unfold-like) gather constant indices; stride 0 is an Expand.
TEST(AtenAsStrided, OverlappingWindowsAndBroadcasts) {
  std::vector<std::string> ops;
  EXPECT_THAT(as_strided({3, 3}, {1, 1}, 0, {6}, &ops).to_double_vector(),
              ElementsAre(0, 1, 2, 1, 2, 3, 2, 3, 4));
  EXPECT_THAT(ops, Contains("Gather"));
  EXPECT_THAT(as_strided({2, 3}, {0, 1}, 1, {6}, &ops).to_double_vector(),
              ElementsAre(1, 2, 3, 1, 2, 3));
  EXPECT_THAT(ops, Contains("Expand"));
  EXPECT_THAT(ops, Not(Contains("Gather")));
}

// The input's declared layout decides which element each storage address holds: x is a
// transposed view (strides [1, 2]), so storage order walks its columns.
TEST(AtenAsStrided, ReadsTheDeclaredStorageLayout) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 3});
  h.context.set_layout_lookup([](const std::string& name) -> std::optional<StorageLayout> {
    if (name == "x") return StorageLayout{{1, 2}, 0};
    return std::nullopt;
  });
  ir::Value* out =
      h.convert("aten.as_strided.default",
                {NamedArgument{"self", x, "x"}, arg("size", std::vector<int64_t>{6}),
                 arg("stride", std::vector<int64_t>{1}), arg("storage_offset", NoneArg{})});
  Tensor result = h.run_one(out, {{"x", Tensor::from_vector(Dims{2, 3}, counting(6))}});
  EXPECT_THAT(result.to_double_vector(), ElementsAre(0, 3, 1, 4, 2, 5));
}

TEST(AtenAsStrided, StorageBeyondTheInputIsRefused) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{6});
  EXPECT_THAT(h.conversion_error(
                  "aten.as_strided.default",
                  {arg("self", x), arg("size", std::vector<int64_t>{4}),
                   arg("stride", std::vector<int64_t>{2}), arg("storage_offset", int64_t{0})}),
              HasSubstr("outside its input (elements 0 to 6 of 6)"));
}

}  // namespace
}  // namespace kiln::torch
