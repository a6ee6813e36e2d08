// The CPU Conv's residual input Z (input 3, from passes::fuse_conv_residual): added after the
// bias and before the fused activation, over 1 to 3 spatial dims, NHWC like Y with
// channels_last=1; and the errors for a Z that is not Y's shape or dtype.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/cpu/channels_last.h"
#include "backends/cpu/reference_helpers.h"  // tests/backends/cpu
#include "core/error.h"

namespace kiln::cpu {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::run_kernel;
using testing::SingleNode;
using testing::values_of;

constexpr double kFp32Tolerance = 1e-6;  // one float rounding of the sum apart

struct ResidualCase {
  Dims x, w;  // NCHW / KCRS; pads 1 and stride 1 on every spatial dim keep the sizes
};

SingleNode conv_node(size_t spatial, const std::string& activation) {
  SingleNode conv("Conv");
  conv.attr("pads", std::vector<int64_t>(2 * spatial, 1));
  if (!activation.empty()) conv.attr("fused_activation", activation);
  return conv;
}

// act(conv(X, W) + B + Z), with conv(X, W) + B from the kernel without Z (tested against a
// float64 loop in conv_pool_test.cpp), Z and the activation added here in float64.
TEST(CpuConvResidual, AddsZAfterTheBiasAndBeforeTheActivation) {
  std::vector<ResidualCase> cases = {
      {{2, 3, 11}, {4, 3, 3}}, {{2, 3, 7, 6}, {5, 3, 3, 3}}, {{1, 2, 4, 5, 3}, {3, 2, 3, 3, 3}}};
  for (const ResidualCase& c : cases) {
    size_t spatial = c.x.size() - 2;
    Dims y_dims = c.x;
    y_dims[1] = c.w[0];
    Tensor x = random_tensor(c.x, 1), w = random_tensor(c.w, 2);
    Tensor b = random_tensor({c.w[0]}, 3), z = random_tensor(y_dims, 4, -2, 2);
    for (bool bias : {false, true}) {
      for (std::string activation : {"", "Relu"}) {
        SCOPED_TRACE("x " + dims_to_string(c.x) + (bias ? " bias " : " ") + activation);
        Tensor bias_input = bias ? b : Tensor();
        std::vector<double> plain =
            values_of(run_kernel(*conv_node(spatial, "").node, {x, w, bias_input}).at(0));
        Tensor out = run_kernel(*conv_node(spatial, activation).node, {x, w, bias_input, z}).at(0);
        ASSERT_EQ(out.dims(), y_dims);
        std::vector<double> zv = values_of(z), expected;
        int flipped = 0;  // elements where Relu before Z would give another result
        for (size_t i = 0; i < plain.size(); ++i) {
          double sum = plain[i] + zv[i];
          flipped += (plain[i] > 0) != (sum > 0) ? 1 : 0;
          expected.push_back(activation == "Relu" && sum < 0 ? 0.0 : sum);
        }
        EXPECT_GT(flipped, 0);
        EXPECT_LT(relative_error(values_of(out), expected), kFp32Tolerance);
      }
    }
  }
}

// With channels_last=1, X and Z are NHWC and W is KRSC: the result is the NCHW one transposed.
TEST(CpuConvResidual, ChannelsLastTakesZInTheOutputsLayout) {
  Tensor x = random_tensor({2, 4, 6, 5}, 5), w = random_tensor({6, 4, 3, 3}, 6);
  Tensor b = random_tensor({6}, 7), z = random_tensor({2, 6, 6, 5}, 8);
  SingleNode nchw = conv_node(2, "Relu");
  SingleNode nhwc = conv_node(2, "Relu");
  nhwc.attr("channels_last", int64_t{1});
  Tensor expected = to_channels_last(run_kernel(*nchw.node, {x, w, b, z}).at(0));
  Tensor actual =
      run_kernel(*nhwc.node, {to_channels_last(x), to_channels_last(w), b, to_channels_last(z)})
          .at(0);
  ASSERT_EQ(actual.dims(), expected.dims());
  EXPECT_EQ(values_of(actual), values_of(expected));
}

TEST(CpuConvResidual, AZThatIsNotTheOutputsShapeOrDtypeIsAnError) {
  Tensor x = random_tensor({1, 2, 5, 5}, 9), w = random_tensor({3, 2, 3, 3}, 10);
  std::vector<Tensor> bad_z = {random_tensor({1, 3, 5, 1}, 11),  // would broadcast
                               random_tensor({1, 3, 25}, 12),
                               random_tensor({1, 3, 5, 5}, 13).to(DType::Float64)};
  for (const Tensor& z : bad_z) {
    SCOPED_TRACE(std::string(dtype_name(z.dtype())) + " " + dims_to_string(z.dims()));
    SingleNode conv = conv_node(2, "");
    try {
      run_kernel(*conv.node, {x, w, Tensor(), z});
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
      EXPECT_NE(std::string(error.what()).find("test_Conv"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("residual"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace kiln::cpu
