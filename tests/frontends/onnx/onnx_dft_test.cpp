// ONNX DFT against the transform's definition summed in double: real and complex inputs,
// forward and inverse, onesided, dft_length cutting and zero-padding, the axis as an
// attribute (opset 17) and as an input (opset 20).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "backends/cpu/executor.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using testing::ModelBuilder;

struct DftCase {
  int64_t opset;
  bool complex_input, inverse, onesided;
  int64_t length;  // dft_length, 0: the signal's own
};

// x [2, 5, 3, P] (P = 1 or 2), transformed along axis 1.
Tensor signal(bool complex_input) {
  const int64_t pair = complex_input ? 2 : 1;
  std::vector<float> values;
  for (int64_t i = 0; i < 2 * 5 * 3 * pair; ++i)
    values.push_back(std::sin(float(i) * 0.77f) + 0.1f);
  return Tensor::from_vector(Dims{2, 5, 3, pair}, values);
}

Tensor run_dft(const DftCase& c, const Tensor& x) {
  ModelBuilder builder(c.opset);
  builder.input("x", TensorProto::FLOAT,
                std::vector<testing::DimSpec>(x.dims().begin(), x.dims().end()));
  std::vector<std::string> inputs = {"x", ""};
  if (c.length > 0) {
    auto& length = builder.initializer("length", TensorProto::INT64, {});
    length.add_int64_data(c.length);
    inputs[1] = "length";
  }
  if (c.opset >= 20) {
    auto& axis = builder.initializer("axis", TensorProto::INT64, {});
    axis.add_int64_data(1);
    inputs.push_back("axis");
  }
  auto& node = builder.node("DFT", inputs, {"y"}, "dft");
  if (c.opset < 20) testing::attr_int(node, "axis", 1);
  testing::attr_int(node, "inverse", c.inverse ? 1 : 0);
  testing::attr_int(node, "onesided", c.onesided ? 1 : 0);
  builder.output("y");
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  return cpu::Executor(graph).run({{"x", x}}).at(0);
}

TEST(OnnxDft, MatchesTheDefinition) {
  const DftCase cases[] = {{17, false, false, false, 0}, {20, false, false, true, 0},
                           {20, true, false, false, 0},  {17, true, true, false, 0},
                           {20, false, false, false, 8}, {20, true, true, false, 4}};
  for (const DftCase& c : cases) {
    Tensor x = signal(c.complex_input);
    Tensor y = run_dft(c, x);
    const int64_t n = c.length > 0 ? c.length : 5, outputs = c.onesided ? n / 2 + 1 : n;
    ASSERT_EQ(y.dims(), (Dims{2, outputs, 3, 2})) << c.opset << " " << c.length;
    std::vector<double> in = x.to_double_vector(), out = y.to_double_vector();
    const int64_t pair = c.complex_input ? 2 : 1;
    for (int64_t b = 0; b < 2; ++b) {
      for (int64_t col = 0; col < 3; ++col) {
        for (int64_t k = 0; k < outputs; ++k) {
          std::complex<double> sum = 0;
          for (int64_t j = 0; j < std::min<int64_t>(n, 5); ++j) {
            size_t at = size_t(((b * 5 + j) * 3 + col) * pair);
            std::complex<double> value(in[at], c.complex_input ? in[at + 1] : 0.0);
            double angle = (c.inverse ? 2.0 : -2.0) * std::numbers::pi * double(j * k) / double(n);
            sum += value * std::polar(1.0, angle);
          }
          if (c.inverse) sum /= double(n);
          size_t at = size_t(((b * outputs + k) * 3 + col) * 2);
          EXPECT_NEAR(out[at], sum.real(), 1e-5) << "case opset " << c.opset << " k " << k;
          EXPECT_NEAR(out[at + 1], sum.imag(), 1e-5) << "case opset " << c.opset << " k " << k;
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::onnx
