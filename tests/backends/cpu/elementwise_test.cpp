// Tests of the CPU elementwise kernels against hand values and float64 formulas.
#include <cmath>
#include <limits>
#include <numbers>

#include "backends/cpu/group_a_test_util.h"

namespace kiln::cpu::testing {
namespace {

constexpr double kFloat32Tolerance = 2e-6;  // a few float32 roundings, relative

// Unary float ops against the same formula evaluated in float64.
TEST(CpuElementwise, UnaryOpsMatchFloat64Formulas) {
  const std::vector<float> inputs = {-3.5f, -1.0f, -0.25f, 0.0f, 0.3f, 1.0f, 2.5f, 7.0f};
  struct Case {
    const char* op;
    double (*reference)(double);
  };
  const Case cases[] = {
      {"Relu", [](double x) { return x < 0 ? 0.0 : x; }},
      {"Erf", [](double x) { return std::erf(x); }},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"HardSigmoid", [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }},
      {"HardSwish", [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }},
      {"Neg", [](double x) { return -x; }},
      {"Exp", [](double x) { return std::exp(x); }},
  };
  for (const Case& c : cases) {
    std::vector<double> expected;
    for (float x : inputs) expected.push_back(c.reference(x));
    SCOPED_TRACE(c.op);
    expect_tensor(TestNode(c.op).run1({f32({2, 4}, inputs)}), DType::Float32, {2, 4}, expected,
                  kFloat32Tolerance);
  }
}

TEST(CpuElementwise, LogSqrtReciprocalIncludingEdgeValues) {
  const std::vector<float> inputs = {4.0f, 0.5f, 0.0f, -1.0f};
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_tensor(TestNode("Log").run1({f32({4}, inputs)}), DType::Float32, {4},
                {std::log(4.0), std::log(0.5), -inf, nan}, kFloat32Tolerance);
  expect_tensor(TestNode("Sqrt").run1({f32({4}, inputs)}), DType::Float32, {4},
                {2.0, std::sqrt(0.5), 0.0, nan}, kFloat32Tolerance);
  expect_tensor(TestNode("Reciprocal").run1({f32({4}, inputs)}), DType::Float32, {4},
                {0.25, 2.0, inf, -1.0}, kFloat32Tolerance);
}

TEST(CpuElementwise, GeluExactAndTanh) {
  // Values from Python's math.erf / math.tanh in float64 (see the formulas in core_ops.md).
  const std::vector<double> inputs = {-3.0, -1.0, 0.5, 2.0};
  expect_tensor(
      TestNode("Gelu").run1({f64({4}, inputs)}), DType::Float64, {4},
      {-0.00404969409489031, -0.15865525393145707, 0.34573123063700656, 1.9544997361036416}, 1e-14);
  TestNode tanh_gelu("Gelu");
  tanh_gelu.attr("approximate", std::string("tanh"));
  expect_tensor(
      tanh_gelu.run1({f32({4}, {-3.0f, -1.0f, 0.5f, 2.0f})}), DType::Float32, {4},
      {-0.0036373920817729943, -0.15880800939172324, 0.34571400982514394, 1.954597694087775},
      kFloat32Tolerance);
  TestNode bad("Gelu");
  bad.attr("approximate", std::string("fast"));
  expect_error([&] { bad.run1({f32({1}, {1.0f})}); }, ErrorKind::InvalidModel, {"my_Gelu", "fast"});
}

TEST(CpuElementwise, HardSigmoidAttributesAndFloat64) {
  TestNode node("HardSigmoid");
  node.attr("alpha", 0.5).attr("beta", 0.25);
  expect_tensor(node.run1({f64({3}, {-1.0, 0.5, 3.0})}), DType::Float64, {3}, {0.0, 0.5, 1.0}, 0);
}

TEST(CpuElementwise, SigmoidIsStableForLargeMagnitudes) {
  Tensor out = TestNode("Sigmoid").run1({f32({2}, {-200.0f, 200.0f})});
  expect_tensor(out, DType::Float32, {2}, {0.0, 1.0}, 0);
}

TEST(CpuElementwise, FloatOnlyOpsRejectIntegers) {
  expect_error([] { TestNode("Exp").run1({i32({1}, {1})}); }, ErrorKind::Unsupported,
               {"Exp node 'my_Exp'", "int32"});
}

TEST(CpuElementwise, NegAndReluOnIntegers) {
  expect_tensor(TestNode("Neg").run1({i64({3}, {5, -7, 0})}), DType::Int64, {3}, {-5, 7, 0});
  expect_tensor(TestNode("Relu").run1({i32({3}, {5, -7, 0})}), DType::Int32, {3}, {5, 0, 0});
}

// Broadcasting across ranks 0..4: the expected value of each output element is computed from
// its multi-index by hand (a[i0,i1,i2,i3] with size-1 axes pinned to 0).
TEST(CpuElementwise, AddBroadcastsRanksZeroToFour) {
  const Dims a_dims = {2, 1, 3, 1};  // rank 4
  const Dims b_dims = {4, 1, 5};     // rank 3: aligns to [_, 4, 1, 5]
  const Dims c_dims = {};            // rank 0
  std::vector<float> a = sample_values(6, 2.0f, 1), b = sample_values(20, 2.0f, 2);
  Tensor ab = TestNode("Add").run1({f32(a_dims, a), f32(b_dims, b)});
  Tensor abc = TestNode("Add").run1({ab, f32(c_dims, {10.0f})});
  std::vector<double> expected;
  for (int i0 = 0; i0 < 2; ++i0)
    for (int i1 = 0; i1 < 4; ++i1)
      for (int i2 = 0; i2 < 3; ++i2)
        for (int i3 = 0; i3 < 5; ++i3)
          expected.push_back(double(a[i0 * 3 + i2]) + double(b[i1 * 5 + i3]) + 10.0);
  expect_tensor(abc, DType::Float32, {2, 4, 3, 5}, expected, kFloat32Tolerance);

  // Rank 1 against rank 2, and scalar against scalar.
  expect_tensor(TestNode("Sub").run1({f32({3}, {1, 2, 3}), f32({2, 1}, {10, 20})}), DType::Float32,
                {2, 3}, {-9, -8, -7, -19, -18, -17});
  expect_tensor(TestNode("Mul").run1({f32({}, {3}), f32({}, {4})}), DType::Float32, {}, {12});
}

TEST(CpuElementwise, BroadcastMismatchNamesTheNode) {
  expect_error(
      [] {
        TestNode("Add").run1({f32({2, 3}, sample_values(6)), f32({4}, sample_values(4))});
      },
      ErrorKind::InvalidArgument, {"Add node 'my_Add'", "[2, 3]", "[4]"});
  expect_error(
      [] {
        TestNode("Add").run1({f32({1}, {1}), i64({1}, {1})});
      },
      ErrorKind::InvalidArgument, {"my_Add", "int64"});
}

// A large output takes the multi-threaded path of map_broadcast; compare with a plain loop.
TEST(CpuElementwise, LargeBroadcastMatchesPlainLoop) {
  const int64_t rows = 300, cols = 257;
  std::vector<float> a = sample_values(rows * cols, 3.0f, 3), b = sample_values(cols, 1.0f, 4);
  Tensor out = TestNode("Mul").run1({f32({rows, cols}, a), f32({cols}, b)});
  const float* values = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(values[r * cols + c], a[size_t(r * cols + c)] * b[size_t(c)]) << r << "," << c;
    }
  }
}

TEST(CpuElementwise, Int64ArithmeticTruncatesAndWraps) {
  Tensor a = i64({4}, {7, -7, 7, std::numeric_limits<int64_t>::max()});
  Tensor b = i64({4}, {2, 2, -2, 1});
  expect_tensor(TestNode("Div").run1({a, b}), DType::Int64, {4},
                {3, -3, -3, double(std::numeric_limits<int64_t>::max())});
  expect_tensor(TestNode("Sub").run1({i64({2}, {5, -5}), i64({}, {8})}), DType::Int64, {2},
                {-3, -13});
  Tensor wrapped = TestNode("Add").run1({a, b});
  EXPECT_EQ(wrapped.data<int64_t>()[3], std::numeric_limits<int64_t>::min());
  expect_tensor(TestNode("Mul").run1({i32({3}, {3, -4, 1000}), i32({1}, {-3})}), DType::Int32, {3},
                {-9, 12, -3000});
  // The minimum divided by -1 wraps instead of trapping.
  Tensor min_div =
      TestNode("Div").run1({i64({1}, {std::numeric_limits<int64_t>::min()}), i64({1}, {-1})});
  EXPECT_EQ(min_div.data<int64_t>()[0], std::numeric_limits<int64_t>::min());
}

TEST(CpuElementwise, IntegerDivisionByZeroNamesTheNode) {
  TestNode node("Div", 1, "shape_div");
  expect_error(
      [&] {
        node.run1({i64({2}, {4, 5}), i64({2}, {2, 0})});
      },
      ErrorKind::Runtime, {"Div node 'shape_div'", "division by zero"});
  // Float division by zero is IEEE: inf.
  expect_tensor(TestNode("Div").run1({f32({1}, {1}), f32({1}, {0})}), DType::Float32, {1},
                {std::numeric_limits<double>::infinity()});
}

TEST(CpuElementwise, PowWithMixedExponentTypes) {
  expect_tensor(TestNode("Pow").run1({f32({3}, {2, 9, -2}), i64({3}, {3, 0, 2})}), DType::Float32,
                {3}, {8, 1, 4});
  expect_tensor(TestNode("Pow").run1({f32({2, 2}, {4, 9, 16, 2}), f32({}, {0.5f})}), DType::Float32,
                {2, 2}, {2, 3, 4, std::sqrt(2.0)}, kFloat32Tolerance);
  // numpy: np.power(np.array([2, -3, 5]), np.array([3, 3, 0])) == [8, -27, 1]
  expect_tensor(TestNode("Pow").run1({i64({3}, {2, -3, 5}), i64({3}, {3, 3, 0})}), DType::Int64,
                {3}, {8, -27, 1});
  expect_tensor(TestNode("Pow").run1({i32({2}, {9, 10}), f32({1}, {0.5f})}), DType::Int32, {2},
                {3, 3});
}

TEST(CpuElementwise, VariadicMaxMinAndIsNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = f32({2, 1}, {1, nan}), b = f32({3}, {0, 2, 5}), c = f32({}, {3});
  const double dnan = std::numeric_limits<double>::quiet_NaN();
  expect_tensor(TestNode("Max").run1({a, b, c}), DType::Float32, {2, 3},
                {3, 3, 5, dnan, dnan, dnan});
  expect_tensor(TestNode("Min").run1({a, b, c}), DType::Float32, {2, 3},
                {0, 1, 1, dnan, dnan, dnan});
  expect_tensor(TestNode("Max").run1({i64({2}, {-4, 9})}), DType::Int64, {2}, {-4, 9});
  expect_tensor(TestNode("Min").run1({i32({2}, {-4, 9}), i32({1}, {0})}), DType::Int32, {2},
                {-4, 0});
  expect_tensor(
      TestNode("IsNaN").run1({f32({3}, {nan, 1, std::numeric_limits<float>::infinity()})}),
      DType::Bool, {3}, {1, 0, 0});
}

TEST(CpuElementwise, ComparisonsBroadcastToBool) {
  Tensor a = f32({2, 1}, {1.0f, 3.0f});
  Tensor b = f32({3}, {1.0f, 2.0f, 3.0f});
  expect_tensor(TestNode("Equal").run1({a, b}), DType::Bool, {2, 3}, {1, 0, 0, 0, 0, 1});
  expect_tensor(TestNode("Less").run1({a, b}), DType::Bool, {2, 3}, {0, 1, 1, 0, 0, 0});
  expect_tensor(TestNode("Greater").run1({a, b}), DType::Bool, {2, 3}, {0, 0, 0, 1, 1, 0});
  expect_tensor(TestNode("Less").run1({i64({2}, {-5, 5}), i64({}, {0})}), DType::Bool, {2}, {1, 0});
  expect_tensor(TestNode("Equal").run1({boolean({2}, {true, false}), boolean({1}, {false})}),
                DType::Bool, {2}, {0, 1});
}

TEST(CpuElementwise, AndNotWhere) {
  Tensor p = boolean({2, 2}, {true, true, false, false});
  Tensor q = boolean({2}, {true, false});
  expect_tensor(TestNode("And").run1({p, q}), DType::Bool, {2, 2}, {1, 0, 0, 0});
  expect_tensor(TestNode("Not").run1({q}), DType::Bool, {2}, {0, 1});
  expect_error([] { TestNode("Not").run1({f32({1}, {1})}); }, ErrorKind::Unsupported, {"my_Not"});
  // Where broadcasts all three: cond [2,1], X [3], Y scalar.
  Tensor where =
      TestNode("Where").run1({boolean({2, 1}, {true, false}), i64({3}, {1, 2, 3}), i64({}, {-1})});
  expect_tensor(where, DType::Int64, {2, 3}, {1, 2, 3, -1, -1, -1});
  Tensor where_f = TestNode("Where").run1({q, f32({2}, {5, 6}), f32({2}, {7, 8})});
  expect_tensor(where_f, DType::Float32, {2}, {5, 8});
}

TEST(CpuElementwise, CastTruncatesAndMapsToBool) {
  auto cast = [](DType to) {
    TestNode node("Cast");
    node.attr("to", static_cast<int64_t>(to));
    return node.run1({f32({5}, {-2.7f, -0.5f, 0.0f, 0.9f, 2.7f})});
  };
  expect_tensor(cast(DType::Int32), DType::Int32, {5}, {-2, 0, 0, 0, 2});
  expect_tensor(cast(DType::Int64), DType::Int64, {5}, {-2, 0, 0, 0, 2});
  expect_tensor(cast(DType::Bool), DType::Bool, {5}, {1, 1, 0, 1, 1});
  expect_tensor(cast(DType::Float64), DType::Float64, {5}, {-2.7f, -0.5, 0, 0.9f, 2.7f});
  TestNode to_half("Cast");
  to_half.attr("to", static_cast<int64_t>(DType::Float16));
  // numpy: np.float16(1/3) == 0.333251953125
  expect_tensor(to_half.run1({f32({1}, {1.0f / 3.0f})}), DType::Float16, {1}, {0.333251953125});
  TestNode bad("Cast");
  bad.attr("to", int64_t{42});
  expect_error([&] { bad.run1({f32({1}, {1})}); }, ErrorKind::InvalidModel, {"my_Cast", "42"});
}

TEST(CpuElementwise, ClipWithOptionalBounds) {
  Tensor x = f32({5}, {-3, -1, 0, 2, 9});
  expect_tensor(TestNode("Clip").run1({x, f32({}, {-1.5f}), f32({}, {2.5f})}), DType::Float32, {5},
                {-1.5, -1, 0, 2, 2.5});
  expect_tensor(TestNode("Clip").run1({x, Tensor(), f32({1}, {1})}), DType::Float32, {5},
                {-3, -1, 0, 1, 1});
  expect_tensor(TestNode("Clip").run1({i64({3}, {-5, 5, 50}), i64({}, {0}), i64({}, {10})}),
                DType::Int64, {3}, {0, 5, 10});
  // min > max: every value becomes max, as numpy.clip.
  expect_tensor(TestNode("Clip").run1({x, f32({}, {3}), f32({}, {1})}), DType::Float32, {5},
                {1, 1, 1, 1, 1});
}

}  // namespace
}  // namespace kiln::cpu::testing
