// Tests of the CPU Conv kernel against a direct float64 loop, and of the pools against
// values worked out by hand (ceil_mode, count_include_pad, dilation, auto_pad).
#include <gtest/gtest.h>

#include "backends/cpu/reference_helpers.h"

namespace kiln::cpu {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::run_kernel;
using testing::SingleNode;
using testing::values_of;

constexpr double kFp32Tolerance = 1e-5;

struct ConvCase {
  Dims x, w;
  std::vector<int64_t> strides, dilations, pads;  // explicit pads (begins then ends)
  int64_t group = 1;
  bool bias = true;
};

// Direct N-d convolution in float64: every output element sums its receptive field.
std::vector<double> reference_conv(const ConvCase& c, const Tensor& x, const Tensor& w,
                                   const Tensor& b, Dims* out_dims) {
  size_t rank = c.x.size() - 2;
  Dims out{c.x[0], c.w[0]};
  for (size_t i = 0; i < rank; ++i) {
    int64_t extent = (c.w[2 + i] - 1) * c.dilations[i] + 1;
    out.push_back((c.x[2 + i] + c.pads[i] + c.pads[rank + i] - extent) / c.strides[i] + 1);
  }
  *out_dims = out;
  std::vector<double> xv = values_of(x), wv = values_of(w), bv;
  if (c.bias) bv = values_of(b);
  int64_t cg = c.x[1] / c.group, mg = c.w[0] / c.group;
  Dims out_spatial(out.begin() + 2, out.end()), kernel(c.w.begin() + 2, c.w.end());
  Dims in_spatial(c.x.begin() + 2, c.x.end());
  std::vector<double> result;
  for (int64_t n = 0; n < out[0]; ++n) {
    for (int64_t m = 0; m < out[1]; ++m) {
      int64_t g = m / mg;
      for (int64_t o = 0; o < element_count(out_spatial); ++o) {
        double sum = c.bias ? bv[size_t(m)] : 0.0;
        for (int64_t ci = 0; ci < cg; ++ci) {
          for (int64_t kk = 0; kk < element_count(kernel); ++kk) {
            // Decompose the flat output and kernel indices; accumulate in-bounds taps only.
            int64_t o_rest = o, k_rest = kk, in_index = 0;
            bool inside = true;
            std::vector<int64_t> pos(rank);
            for (size_t d = rank; d-- > 0;) {
              int64_t oc = o_rest % out_spatial[d], kc = k_rest % kernel[d];
              o_rest /= out_spatial[d];
              k_rest /= kernel[d];
              pos[d] = oc * c.strides[d] - c.pads[d] + kc * c.dilations[d];
              inside = inside && pos[d] >= 0 && pos[d] < in_spatial[d];
            }
            if (!inside) continue;
            for (size_t d = 0; d < rank; ++d) in_index = in_index * in_spatial[d] + pos[d];
            int64_t channel = g * cg + ci;
            sum += xv[size_t((n * c.x[1] + channel) * element_count(in_spatial) + in_index)] *
                   wv[size_t((m * cg + ci) * element_count(kernel) + kk)];
          }
        }
        result.push_back(sum);
      }
    }
  }
  return result;
}

void expect_conv_matches(const ConvCase& c, const std::string& auto_pad = "") {
  SCOPED_TRACE("x " + dims_to_string(c.x) + " w " + dims_to_string(c.w) + " group " +
               std::to_string(c.group) + " " + auto_pad);
  Tensor x = random_tensor(c.x, 11), w = random_tensor(c.w, 12), b = random_tensor({c.w[0]}, 13);
  SingleNode conv("Conv");
  conv.attr("strides", c.strides).attr("dilations", c.dilations).attr("group", c.group);
  if (auto_pad.empty()) {
    conv.attr("pads", c.pads);
  } else {
    conv.attr("auto_pad", auto_pad);
  }
  Tensor out = run_kernel(*conv.node, {x, w, c.bias ? b : Tensor()}).at(0);
  Dims expected_dims;
  std::vector<double> expected = reference_conv(c, x, w, b, &expected_dims);
  ASSERT_EQ(out.dims(), expected_dims);
  EXPECT_LT(relative_error(values_of(out), expected), kFp32Tolerance);
}

TEST(CpuConv, TwoDimensionalPaddedStridedDilated) {
  expect_conv_matches({{2, 3, 9, 8}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}});
  expect_conv_matches({{1, 3, 11, 10}, {5, 3, 3, 2}, {2, 3}, {2, 1}, {0, 1, 2, 1}});
  expect_conv_matches({{1, 2, 7, 7}, {3, 2, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, false});
}

TEST(CpuConv, GroupsAndDepthwise) {
  expect_conv_matches({{2, 4, 6, 7}, {6, 2, 3, 3}, {1, 2}, {1, 1}, {1, 1, 1, 1}, 2});
  // Depthwise with a channel multiplier of 2, batch 3 (work split by image and group).
  expect_conv_matches({{3, 4, 8, 8}, {8, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 4});
}

TEST(CpuConv, OneAndThreeSpatialDims) {
  expect_conv_matches({{2, 3, 17}, {4, 3, 5}, {2}, {2}, {3, 1}});
  expect_conv_matches({{1, 2, 5, 6, 7}, {3, 2, 3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 1, 1, 0}});
}

TEST(CpuConv, AutoPad) {
  // in 7, kernel 4, stride 2 → out ceil(7/2) = 4, total pad (4-1)*2 + 4 - 7 = 3:
  // SAME_UPPER pads (1 begin, 2 end), SAME_LOWER (2, 1); VALID none: out (7-4)/2+1 = 2.
  expect_conv_matches({{1, 2, 7, 7}, {3, 2, 4, 4}, {2, 2}, {1, 1}, {1, 1, 2, 2}}, "SAME_UPPER");
  expect_conv_matches({{1, 2, 7, 7}, {3, 2, 4, 4}, {2, 2}, {1, 1}, {2, 2, 1, 1}}, "SAME_LOWER");
  expect_conv_matches({{1, 2, 7, 7}, {3, 2, 4, 4}, {2, 2}, {1, 1}, {0, 0, 0, 0}}, "VALID");
}

TEST(CpuConv, BadGroupIsAnError) {
  SingleNode conv("Conv");
  conv.attr("group", int64_t{2});
  EXPECT_THROW(
      run_kernel(*conv.node, {random_tensor({1, 3, 4, 4}, 1), random_tensor({2, 3, 1, 1}, 2)}),
      Error);
}

Tensor pool(const std::string& op, const Tensor& x, const std::vector<int64_t>& kernel,
            const std::vector<std::pair<std::string, ir::AttrValue>>& attrs) {
  SingleNode node(op);
  node.attr("kernel_shape", kernel);
  for (const auto& [key, value] : attrs) node.node->attrs[key] = value;
  return run_kernel(*node.node, {x}).at(0);
}

Tensor iota(const Dims& dims, float start) {
  std::vector<float> values(size_t(element_count(dims)));
  for (size_t i = 0; i < values.size(); ++i) values[i] = start + float(i);
  return Tensor::from_vector<float>(dims, values);
}

TEST(CpuPool, MaxPoolCeilModeKeepsThePartialLastWindow) {
  // 5x5 input 0..24, 2x2 windows, stride 2: with ceil_mode the last row/column of windows
  // covers only index 4, so out[i][j] = 5 * min(2i+1, 4) + min(2j+1, 4).
  Tensor out = pool("MaxPool", iota({1, 1, 5, 5}, 0), {2, 2},
                    {{"strides", std::vector<int64_t>{2, 2}}, {"ceil_mode", int64_t{1}}});
  EXPECT_EQ(out.dims(), (Dims{1, 1, 3, 3}));
  EXPECT_EQ(values_of(out), (std::vector<double>{6, 8, 9, 16, 18, 19, 21, 23, 24}));
  Tensor floor_out =
      pool("MaxPool", iota({1, 1, 5, 5}, 0), {2, 2}, {{"strides", std::vector<int64_t>{2, 2}}});
  EXPECT_EQ(values_of(floor_out), (std::vector<double>{6, 8, 16, 18}));
}

TEST(CpuPool, MaxPoolDilationAndAutoPad) {
  Tensor x = Tensor::from_vector<float>({1, 1, 7}, {1, 5, 2, 8, 3, 0, 7});
  // Dilation 2 reads x[i] and x[i+2].
  EXPECT_EQ(values_of(pool("MaxPool", x, {2}, {{"dilations", std::vector<int64_t>{2}}})),
            (std::vector<double>{2, 8, 3, 8, 7}));
  Tensor y = Tensor::from_vector<float>({1, 1, 5}, {1, 5, 2, 8, 3});
  // Kernel 2, stride 1, SAME: one pad element, at the end (UPPER) or the start (LOWER).
  EXPECT_EQ(values_of(pool("MaxPool", y, {2}, {{"auto_pad", std::string("SAME_UPPER")}})),
            (std::vector<double>{5, 5, 8, 8, 3}));
  EXPECT_EQ(values_of(pool("MaxPool", y, {2}, {{"auto_pad", std::string("SAME_LOWER")}})),
            (std::vector<double>{1, 5, 5, 8, 8}));
}

TEST(CpuPool, AveragePoolCountIncludePad) {
  // 3x3 input 1..9, 3x3 window, pad 1: the corner window holds 1, 2, 4, 5 (sum 12) and five
  // padding taps, so 12/4 = 3 without counting padding and 12/9 with.
  Tensor x = iota({1, 1, 3, 3}, 1);
  std::vector<int64_t> pads{1, 1, 1, 1};
  Tensor excl = pool("AveragePool", x, {3, 3}, {{"pads", pads}});
  Tensor incl = pool("AveragePool", x, {3, 3}, {{"pads", pads}, {"count_include_pad", int64_t{1}}});
  ASSERT_EQ(excl.dims(), (Dims{1, 1, 3, 3}));
  EXPECT_FLOAT_EQ(float(values_of(excl)[0]), 3.f);
  EXPECT_FLOAT_EQ(float(values_of(incl)[0]), 12.f / 9.f);
  EXPECT_FLOAT_EQ(float(values_of(excl)[4]), 5.f);  // centre: all of 1..9
  EXPECT_FLOAT_EQ(float(values_of(incl)[1]), (1 + 2 + 3 + 4 + 5 + 6) / 9.f);
  EXPECT_FLOAT_EQ(float(values_of(excl)[1]), (1 + 2 + 3 + 4 + 5 + 6) / 6.f);
}

TEST(CpuPool, AveragePoolCeilModeWithPads) {
  // [1..5], kernel 3, stride 2, pads 1+1, ceil_mode: out = ceil((5+2-3)/2)+1 = 3 windows at
  // -1, 1, 3. Window 0 = pad,1,2; window 2 = 4,5,pad (the end pad is inside the padded
  // input, so count_include_pad counts it).
  Tensor x = iota({1, 1, 5}, 1);
  std::vector<std::pair<std::string, ir::AttrValue>> attrs{{"strides", std::vector<int64_t>{2}},
                                                           {"pads", std::vector<int64_t>{1, 1}},
                                                           {"ceil_mode", int64_t{1}}};
  Tensor excl = pool("AveragePool", x, {3}, attrs);
  attrs.push_back({"count_include_pad", int64_t{1}});
  Tensor incl = pool("AveragePool", x, {3}, attrs);
  EXPECT_EQ(values_of(excl), (std::vector<double>{1.5, 3, 4.5}));
  EXPECT_EQ(values_of(incl), (std::vector<double>{1, 3, 3}));
  // No pads, kernel 2, stride 2: the ceil window holds only x[4] and nothing past the end
  // counts, with or without count_include_pad.
  Tensor last = pool("AveragePool", x, {2},
                     {{"strides", std::vector<int64_t>{2}},
                      {"ceil_mode", int64_t{1}},
                      {"count_include_pad", int64_t{1}}});
  EXPECT_EQ(values_of(last), (std::vector<double>{1.5, 3.5, 5}));
}

TEST(CpuPool, GlobalAveragePool) {
  Tensor x = random_tensor({2, 3, 4, 5}, 21);
  SingleNode gap("GlobalAveragePool");
  Tensor out = run_kernel(*gap.node, {x}).at(0);
  EXPECT_EQ(out.dims(), (Dims{2, 3, 1, 1}));
  std::vector<double> xv = values_of(x), expected(6, 0.0);
  for (size_t i = 0; i < xv.size(); ++i) expected[i / 20] += xv[i] / 20;
  EXPECT_LT(relative_error(values_of(out), expected), kFp32Tolerance);
}

TEST(CpuPool, MaxPoolIndicesOutputIsUnsupported) {
  SingleNode node("MaxPool", 2);
  node.attr("kernel_shape", std::vector<int64_t>{2});
  EXPECT_THROW(run_kernel(*node.node, {iota({1, 1, 4}, 0)}), Error);
}

}  // namespace
}  // namespace kiln::cpu
