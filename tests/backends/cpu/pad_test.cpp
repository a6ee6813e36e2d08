// Tests of the CPU Pad kernel: each mode by hand, negative pads (crops), ranks 0 to 4 against
// loops over the padded index, integer and bool dtypes, and errors that name the node.
#include <cstdint>
#include <string>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

TestNode pad_node(const std::string& mode, std::vector<int64_t> pads, double value = 0.0) {
  TestNode node("Pad", 1, "my_pad");
  node.attr("mode", mode).attr("pads", std::move(pads)).attr("value", value);
  return node;
}

TEST(CpuPad, EachModeOnOneAxis) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  expect_tensor(pad_node("constant", {2, 3}, 9).run1({x}), DType::Float32, {9},
                {9, 9, 1, 2, 3, 4, 9, 9, 9});
  expect_tensor(pad_node("reflect", {2, 3}).run1({x}), DType::Float32, {9},
                {3, 2, 1, 2, 3, 4, 3, 2, 1});
  expect_tensor(pad_node("edge", {2, 3}).run1({x}), DType::Float32, {9},
                {1, 1, 1, 2, 3, 4, 4, 4, 4});
  expect_tensor(pad_node("wrap", {2, 3}).run1({x}), DType::Float32, {9},
                {3, 4, 1, 2, 3, 4, 1, 2, 3});
  // Wrap and edge go on past the size of the input; the default constant is 0.
  expect_tensor(pad_node("wrap", {3, 0}).run1({f32({2}, {1, 2})}), DType::Float32, {5},
                {2, 1, 2, 1, 2});
  expect_tensor(pad_node("edge", {0, 3}).run1({f32({1}, {5})}), DType::Float32, {4}, {5, 5, 5, 5});
  TestNode zeros("Pad");
  zeros.attr("pads", std::vector<int64_t>{1, 1});
  expect_tensor(zeros.run1({x}), DType::Float32, {6}, {0, 1, 2, 3, 4, 0});
}

// pads [-1, 1, 0, -2]: axis 0 drops its first row, axis 1 gains one column in front and drops
// its last two. Input rows 1 and 2 of [[0..3], [4..7], [8..11]] remain.
TEST(CpuPad, NegativePadsCrop) {
  Tensor x = f32({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const std::vector<int64_t> pads = {-1, 1, 0, -2};
  expect_tensor(pad_node("constant", pads, -1).run1({x}), DType::Float32, {2, 3},
                {-1, 4, 5, -1, 8, 9});
  expect_tensor(pad_node("edge", pads).run1({x}), DType::Float32, {2, 3}, {4, 4, 5, 8, 8, 9});
  expect_tensor(pad_node("reflect", pads).run1({x}), DType::Float32, {2, 3}, {5, 4, 5, 9, 8, 9});
  expect_tensor(pad_node("wrap", pads).run1({x}), DType::Float32, {2, 3}, {7, 4, 5, 11, 8, 9});
  // Cropping a whole axis leaves an empty tensor.
  expect_tensor(pad_node("constant", {0, -2, 0, -2}).run1({x}), DType::Float32, {3, 0}, {});
}

TEST(CpuPad, IntegerAndBoolDtypes) {
  expect_tensor(pad_node("constant", {1, 0, 0, 1}, -7).run1({i32({2, 2}, {1, 2, 3, 4})}),
                DType::Int32, {3, 3}, {-7, -7, -7, 1, 2, -7, 3, 4, -7});
  const int64_t big = int64_t{1} << 40;
  expect_tensor(pad_node("edge", {1, 1}).run1({i64({2}, {-big, big})}), DType::Int64, {4},
                {double(-big), double(-big), double(big), double(big)});
  expect_tensor(pad_node("reflect", {0, 1}).run1({i64({3}, {7, 8, 9})}), DType::Int64, {4},
                {7, 8, 9, 8});
  expect_tensor(pad_node("constant", {1, 1}, 1).run1({boolean({1}, {false})}), DType::Bool, {3},
                {1, 0, 1});
  // A scalar with no pads comes back as it is.
  expect_tensor(pad_node("edge", {}).run1({f64({}, {2.5})}), DType::Float64, {}, {2.5});
}

// In-range indices read themselves; outside: reflect mirrors about the end elements, edge
// clamps.
int64_t reference_index(const std::string& mode, int64_t i, int64_t size) {
  if (i < 0) return mode == "reflect" ? -i : 0;
  if (i >= size) return mode == "reflect" ? 2 * (size - 1) - i : size - 1;
  return i;
}

// Ranks 3 and 4, each mode but wrap, against a loop over every output index.
TEST(CpuPad, RanksThreeAndFourAgainstALoop) {
  struct Case {
    Dims dims;
    std::vector<int64_t> pads;
  };
  const Case cases[] = {{{2, 3, 3}, {0, 1, 2, 1, 2, 0}}, {{1, 2, 2, 3}, {0, 1, 0, 1, 0, 0, 1, 2}}};
  for (const Case& c : cases) {
    const size_t rank = c.dims.size();
    std::vector<float> values = sample_values(element_count(c.dims));
    Tensor x = f32(c.dims, values);
    Dims out_dims;
    for (size_t d = 0; d < rank; ++d) out_dims.push_back(c.dims[d] + c.pads[d] + c.pads[d + rank]);
    for (const std::string mode : {"reflect", "edge"}) {
      std::vector<double> expected;
      Dims index(rank, 0);
      for (int64_t flat = 0; flat < element_count(out_dims); ++flat) {
        int64_t offset = 0;
        for (size_t d = 0; d < rank; ++d) {
          offset = offset * c.dims[d] + reference_index(mode, index[d] - c.pads[d], c.dims[d]);
        }
        expected.push_back(values[size_t(offset)]);
        for (size_t d = rank; d-- > 0;) {
          if (++index[d] < out_dims[d]) break;
          index[d] = 0;
        }
      }
      expect_tensor(pad_node(mode, c.pads).run1({x}), DType::Float32, out_dims, expected);
    }
  }
}

TEST(CpuPad, ErrorsNameTheNode) {
  Tensor x = f32({1, 3}, {1, 2, 3});
  expect_error(
      [&] {
        pad_node("reflect", {0, 3, 0, 0}).run1({x});
      },
      ErrorKind::InvalidArgument,
      {"Pad node 'my_pad'", "reflect pads 3 and 0 of axis 1 must each be less than its size 3"});
  expect_error(
      [&] {
        pad_node("constant", {0, -4, 0, 0}).run1({x});
      },
      ErrorKind::InvalidArgument, {"my_pad", "crop more than the 3 elements of axis 1"});
  expect_error(
      [&] {
        pad_node("edge", {1, 1}).run1({x});
      },
      ErrorKind::InvalidModel, {"my_pad", "an input of rank 2 needs 4"});
  expect_error(
      [&] {
        pad_node("symmetric", {0, 0, 0, 0}).run1({x});
      },
      ErrorKind::InvalidModel, {"my_pad", "mode 'symmetric'"});
  expect_error(
      [&] {
        pad_node("wrap", {0, 1}).run1({f32({0}, {})});
      },
      ErrorKind::InvalidArgument, {"my_pad", "axis 0 is empty"});
}

}  // namespace
}  // namespace kiln::cpu::testing
