// Tests of the CPU rounding (Floor, Ceil, Round), Sign, trigonometric and hyperbolic kernels
// and IsInf: edge values against numpy's (np.floor, np.round, np.sign, np.isinf, ... of the
// same float32 inputs), the rest against float64 formulas.
#include <cmath>
#include <limits>
#include <numbers>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

constexpr double kFloat32Tolerance = 2e-6;  // a few float32 roundings, relative
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kNanD = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfD = std::numeric_limits<double>::infinity();

// NaN, the infinities, both zeros, halves on both sides of zero, the float just below 0.5
// (floor(x + 0.5) would round it up) and 2^23 + 1 (every float this large is an integer).
const std::vector<float> kEdges = {kNan, -kInf, kInf, -0.0f, 0.0f,  -2.5f,       -1.5f,     -0.5f,
                                   0.5f, 1.5f,  2.5f, 3.7f,  -3.7f, 0.49999997f, 8388609.0f};

// numpy: np.floor / np.ceil / np.round (halves to even) / np.sign of kEdges as float32.
TEST(CpuUnaryMath, RoundingAndSignOfEdgeValuesMatchNumpy) {
  struct Case {
    const char* op;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {"Floor", {kNanD, -kInfD, kInfD, -0.0, 0, -3, -2, -1, 0, 1, 2, 3, -4, 0, 8388609}},
      {"Ceil", {kNanD, -kInfD, kInfD, -0.0, 0, -2, -1, -0.0, 1, 2, 3, 4, -3, 1, 8388609}},
      {"Round", {kNanD, -kInfD, kInfD, -0.0, 0, -2, -2, -0.0, 0, 2, 2, 4, -4, 0, 8388609}},
      {"Sign", {kNanD, -1, 1, 0, 0, -1, -1, -1, 1, 1, 1, 1, -1, 1, 1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    Tensor out = TestNode(c.op).run1({f32({15}, kEdges)});
    expect_tensor(out, DType::Float32, {15}, c.expected);
    std::vector<double> values = out.to_double_vector();
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isnan(c.expected[i])) continue;
      EXPECT_EQ(std::signbit(values[i]), std::signbit(c.expected[i])) << "element " << i;
    }
  }
}

TEST(CpuUnaryMath, RoundHalvesToEvenInFloat64) {
  expect_tensor(TestNode("Round").run1({f64({6}, {0.5, 1.5, 2.5, 3.5, -2.5, 4503599627370497.0})}),
                DType::Float64, {6}, {0, 2, 2, 4, -2, 4503599627370497.0});
}

// Sign also takes integers (ONNX's Sign does), the signed minimum included.
TEST(CpuUnaryMath, SignOfIntegers) {
  expect_tensor(TestNode("Sign").run1({i64({4}, {-7, 0, 9, std::numeric_limits<int64_t>::min()})}),
                DType::Int64, {4}, {-1, 0, 1, -1});
  expect_tensor(TestNode("Sign").run1({i32({3}, {5, -5, 0})}), DType::Int32, {3}, {1, -1, 0});
}

TEST(CpuUnaryMath, TrigonometricAndHyperbolicMatchFloat64) {
  struct Case {
    const char* op;
    double (*reference)(double);
    std::vector<float> inputs;
  };
  const std::vector<float> any = {-3.5f, -1.0f, -0.25f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f};
  const std::vector<float> unit = {-1.0f, -0.9f, -0.25f, 0.0f, 0.3f, 0.5f, 0.99f, 1.0f};
  const std::vector<float> from_one = {1.0f, 1.001f, 1.5f, 2.0f, 10.0f, 100.0f, 1e4f, 1e30f};
  const std::vector<float> open_unit = {-0.999f, -0.5f, -0.1f, 0.0f, 1e-7f, 0.25f, 0.5f, 0.9f};
  const Case cases[] = {
      {"Tan", [](double x) { return std::tan(x); }, any},
      {"Asin", [](double x) { return std::asin(x); }, unit},
      {"Acos", [](double x) { return std::acos(x); }, unit},
      {"Atan", [](double x) { return std::atan(x); }, {-1e30f, -3.5f, -1, 0, 1e-7f, 1, 7, 1e30f}},
      {"Sinh", [](double x) { return std::sinh(x); }, any},
      {"Cosh", [](double x) { return std::cosh(x); }, any},
      {"Asinh", [](double x) { return std::asinh(x); }, {-1e30f, -3.5f, -1, 0, 1e-7f, 1, 7, 1e30f}},
      {"Acosh", [](double x) { return std::acosh(x); }, from_one},
      {"Atanh", [](double x) { return std::atanh(x); }, open_unit},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    std::vector<double> expected;
    for (float x : c.inputs) expected.push_back(c.reference(x));
    expect_tensor(TestNode(c.op).run1({f32({8}, c.inputs)}), DType::Float32, {8}, expected,
                  kFloat32Tolerance);
  }
}

// torch.tan/asin/.../atanh of NaN, the infinities and values outside each domain.
TEST(CpuUnaryMath, TrigonometricAndHyperbolicEdgeValues) {
  const double pi = std::numbers::pi;
  struct Case {
    const char* op;
    std::vector<float> inputs;
    std::vector<double> expected;
  };
  const Case cases[] = {
      {"Tan", {kNan, kInf, -kInf, -0.0f}, {kNanD, kNanD, kNanD, -0.0}},
      {"Asin", {kNan, 1.5f, -2.0f, -1.0f}, {kNanD, kNanD, kNanD, -pi / 2}},
      {"Acos", {kNan, 1.5f, -1.0f, 1.0f}, {kNanD, kNanD, pi, 0}},
      {"Atan", {kNan, kInf, -kInf, -0.0f}, {kNanD, pi / 2, -pi / 2, -0.0}},
      {"Sinh", {kNan, kInf, -kInf, 100.0f}, {kNanD, kInfD, -kInfD, kInfD}},
      {"Cosh", {kNan, kInf, -kInf, -100.0f}, {kNanD, kInfD, kInfD, kInfD}},
      {"Asinh", {kNan, kInf, -kInf, -0.0f}, {kNanD, kInfD, -kInfD, -0.0}},
      {"Acosh", {kNan, kInf, 0.5f, -kInf}, {kNanD, kInfD, kNanD, kNanD}},
      {"Atanh", {kNan, 1.0f, -1.0f, 2.0f}, {kNanD, kInfD, -kInfD, kNanD}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    expect_tensor(TestNode(c.op).run1({f32({4}, c.inputs)}), DType::Float32, {4}, c.expected,
                  kFloat32Tolerance);
  }
}

TEST(CpuUnaryMath, IsInfDetectsTheChosenInfinities) {
  const std::vector<float> inputs = {kNan, -kInf, kInf, 0.0f, 3.4e38f, -3.4e38f};
  auto is_inf = [&](int64_t negative, int64_t positive) {
    TestNode node("IsInf");
    if (negative >= 0) node.attr("detect_negative", negative);
    if (positive >= 0) node.attr("detect_positive", positive);
    return node.run1({f32({6}, inputs)});
  };
  expect_tensor(is_inf(-1, -1), DType::Bool, {6}, {0, 1, 1, 0, 0, 0});  // ONNX's defaults: both
  expect_tensor(is_inf(1, 0), DType::Bool, {6}, {0, 1, 0, 0, 0, 0});
  expect_tensor(is_inf(0, 1), DType::Bool, {6}, {0, 0, 1, 0, 0, 0});
  expect_tensor(is_inf(0, 0), DType::Bool, {6}, {0, 0, 0, 0, 0, 0});
  expect_tensor(TestNode("IsInf").run1({f64({2}, {-kInfD, 1e308})}), DType::Bool, {2}, {1, 0});
}

TEST(CpuUnaryMath, FloatOnlyOpsRejectIntegers) {
  for (const char* op : {"Floor", "Round", "Tan", "Atanh", "IsInf"}) {
    SCOPED_TRACE(op);
    expect_error([&] { TestNode(op).run1({i64({1}, {1})}); }, ErrorKind::Unsupported,
                 {std::string("my_") + op});
  }
}

}  // namespace
}  // namespace kiln::cpu::testing
