// Tests of the broadcasting helpers shared by CPU kernels: dims, strides, the strided walker
// (whole and in chunks) and strided_copy.
#include "backends/cpu/broadcast.h"

#include <gtest/gtest.h>

namespace kiln::cpu {
namespace {

TEST(CpuBroadcast, DimsFollowNumpyRules) {
  EXPECT_EQ(broadcast_dims({{}, {}}, "t"), (Dims{}));
  EXPECT_EQ(broadcast_dims({{}, {3}}, "t"), (Dims{3}));
  EXPECT_EQ(broadcast_dims({{2, 1, 4}, {3, 1}, {}}, "t"), (Dims{2, 3, 4}));
  EXPECT_EQ(broadcast_dims({{5, 1, 1, 1}, {1, 2, 3, 1}, {4}}, "t"), (Dims{5, 2, 3, 4}));
  EXPECT_EQ(broadcast_dims({{0, 3}, {1, 3}}, "t"), (Dims{0, 3}));
  try {
    broadcast_dims({{2, 3}, {3, 2}}, "Add node 'x'");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(error.what()).find("Add node 'x'"), std::string::npos);
  }
}

TEST(CpuBroadcast, StridesRepeatBroadcastAxes) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(broadcast_strides({3, 1}, {2, 3, 4}), (Strides{0, 1, 0}));
  EXPECT_EQ(broadcast_strides({}, {2, 2}), (Strides{0, 0}));
}

// Every chunking of the walk visits the same offsets as one whole walk, which in turn equals
// the offsets computed from each element's multi-index.
TEST(CpuBroadcast, WalkerChunksAgreeWithIndexArithmetic) {
  const Dims dims = {3, 1, 4, 5};
  const Strides a = {20, 0, 5, 1}, b = {1, 0, 0, 7};
  std::vector<std::array<int64_t, 2>> expected;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t l = 0; l < 5; ++l) expected.push_back({100 + i * 20 + k * 5 + l, i + l * 7});
  for (int64_t chunk : {1, 3, 7, 60}) {
    std::vector<std::array<int64_t, 2>> seen;
    for (int64_t begin = 0; begin < 60; begin += chunk) {
      for_each_strided<2>(dims, {a, b}, begin, std::min<int64_t>(60, begin + chunk),
                          [&](const std::array<int64_t, 2>& at) { seen.push_back(at); }, {100, 0});
    }
    EXPECT_EQ(seen, expected) << "chunk " << chunk;
  }
}

TEST(CpuBroadcast, StridedCopyReversesAndMapBroadcastCombines) {
  Tensor x = Tensor::from_vector<int32_t>({4}, {1, 2, 3, 4});
  Tensor reversed = strided_copy(x, {4}, {-1}, 3);
  EXPECT_EQ(reversed.to_int64_vector(), (std::vector<int64_t>{4, 3, 2, 1}));
  Tensor column = Tensor::from_vector<int32_t>({2, 1}, {10, 20});
  Tensor sum = map_broadcast<int64_t, int32_t, int32_t>(
      "test", [](int32_t p, int32_t q) { return int64_t{p} * 100 + q; }, x, column);
  EXPECT_EQ(sum.dims(), (Dims{2, 4}));
  EXPECT_EQ(sum.to_int64_vector(), (std::vector<int64_t>{110, 210, 310, 410, 120, 220, 320, 420}));
}

}  // namespace
}  // namespace kiln::cpu
