// Op harness cases of the elementwise kernels: the unary activations and math, IsNaN, IsInf
// and Not, the binary arithmetic and Mod, comparisons and logic (broadcast and same-shape
// operands), Where, Cast.
// Their packed and misaligned layouts are fast_paths_test.cpp's subject.
#include <limits>

#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

std::vector<OpCase> unary_cases() {
  std::vector<OpCase> cases;
  for (const char* op : {"Relu", "Erf", "Tanh", "Sigmoid", "HardSwish", "Neg", "Exp"}) {
    cases.push_back({.op = op, .name = "Rank3", .inputs = {floats({3, 5, 67})}});
  }
  cases.push_back({.op = "Log", .name = "Positive", .inputs = {floats({4, 33}, 0.1, 5)}});
  // Rotary embedding angles: positions up to a few thousand times inverse frequencies.
  for (const char* op : {"Sin", "Cos"}) {
    cases.push_back({.op = op, .name = "Angles", .inputs = {floats({5, 64}, -3000, 3000)}});
  }
  cases.push_back({.op = "Sqrt", .name = "Positive", .inputs = {floats({4, 33}, 0.1, 5)}});
  cases.push_back({.op = "Reciprocal", .name = "Positive", .inputs = {floats({4, 33}, 0.5, 5)}});
  cases.push_back({.op = "Gelu", .name = "Exact", .inputs = {floats({7, 129})}});
  cases.push_back({.op = "Gelu",
                   .name = "Tanh",
                   .inputs = {floats({7, 129})},
                   .attrs = {{"approximate", std::string("tanh")}}});
  cases.push_back({.op = "HardSigmoid",
                   .name = "AlphaBeta",
                   .inputs = {floats({2, 50})},
                   .attrs = {{"alpha", 0.25}, {"beta", 0.4}}});
  cases.push_back({.op = "HardSigmoid", .name = "Defaults", .inputs = {floats({2, 50})}});
  cases.push_back({.op = "Clip",
                   .name = "Bounds",
                   .inputs = {floats({6, 31}), constant_floats(Tensor::scalar<float>(-1.f)),
                              constant_floats(Tensor::scalar<float>(1.5f))}});
  cases.push_back({.op = "Clip",
                   .name = "LowerOnly",
                   .inputs = {floats({6, 31}), constant_floats(Tensor::scalar<float>(-0.5f))}});
  cases.push_back({.op = "IsNaN", .name = "Random", .inputs = {floats({4, 6})}});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float infinity = std::numeric_limits<float>::infinity();
  cases.push_back({.op = "IsNaN",
                   .name = "Specials",
                   .inputs = {given_floats(Tensor::from_vector<float>(
                       {2, 4}, {nan, 1.f, -infinity, nan, 0.f, -0.f, infinity, -nan}))}});
  cases.push_back({.op = "Not", .name = "Bool", .inputs = {typed(DType::Bool, {4, 6}, 0, 2)}});
  return cases;
}

// Abs, Sign, rounding, the trigonometric and hyperbolic functions (each within its domain)
// and IsInf with each choice of infinities.
std::vector<OpCase> unary_math_cases() {
  std::vector<OpCase> cases;
  for (const char* op : {"Abs", "Sign", "Floor", "Ceil", "Round", "Atan", "Sinh", "Cosh", "Asinh"})
    cases.push_back({.op = op, .name = "Rank3", .inputs = {floats({3, 5, 67})}});
  const float infinity = std::numeric_limits<float>::infinity();
  // Halves (Round takes them to even), both zeros and the infinities.
  InputSpec specials =
      given_floats(Tensor::from_vector<float>({2, 6}, {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, -0.f,
                                                       0.f, infinity, -infinity, 3.7f, -3.7f}));
  for (const char* op : {"Abs", "Sign", "Floor", "Ceil", "Round"})
    cases.push_back({.op = op, .name = "Specials", .inputs = {specials}});
  cases.push_back({.op = "Tan", .name = "Principal", .inputs = {floats({4, 33}, -1.5, 1.5)}});
  for (const char* op : {"Asin", "Acos", "Atanh"})
    cases.push_back({.op = op, .name = "Unit", .inputs = {floats({4, 33}, -0.99, 0.99)}});
  cases.push_back({.op = "Acosh", .name = "FromOne", .inputs = {floats({4, 33}, 1, 5)}});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  InputSpec extremes = given_floats(
      Tensor::from_vector<float>({2, 4}, {nan, 1.f, -infinity, infinity, 0.f, -0.f, 3.f, -nan}));
  cases.push_back({.op = "IsInf", .name = "Both", .inputs = {extremes}});
  cases.push_back({.op = "IsInf",
                   .name = "Negative",
                   .inputs = {extremes},
                   .attrs = {{"detect_positive", int64_t{0}}}});
  cases.push_back({.op = "IsInf",
                   .name = "Positive",
                   .inputs = {extremes},
                   .attrs = {{"detect_negative", int64_t{0}}}});
  return cases;
}

std::vector<OpCase> binary_float_cases() {
  std::vector<OpCase> cases;
  for (const char* op : {"Add", "Sub", "Mul", "Max", "Min"}) {
    cases.push_back(
        {.op = op, .name = "Broadcast", .inputs = {floats({2, 3, 1, 17}), floats({4, 1})}});
    cases.push_back({.op = op, .name = "Same", .inputs = {floats({8, 33}), floats({8, 33})}});
  }
  cases.push_back({.op = "Div", .name = "Bias", .inputs = {floats({5, 40}), floats({40}, 0.5, 3)}});
  // A scale broadcast over middle axes (NHWC squeeze-excite: [N, 1, 1, C] against [N, H, W, C])
  // in packs, either operand order; a block too short for a pack; a 3-D middle broadcast.
  cases.push_back({.op = "Mul",
                   .name = "MiddleBroadcast",
                   .inputs = {floats({2, 5, 6, 32}), floats({2, 1, 1, 32})}});
  cases.push_back({.op = "Mul",
                   .name = "MiddleBroadcastFirst",
                   .inputs = {floats({3, 1, 16}), floats({3, 7, 16})}});
  cases.push_back({.op = "Add",
                   .name = "MiddleBroadcastShortBlock",
                   .inputs = {floats({2, 3, 4, 5}), floats({2, 1, 1, 5})}});
  cases.push_back({.op = "Sub",
                   .name = "MiddleBroadcastInner",
                   .inputs = {floats({2, 4, 3, 8}), floats({2, 1, 3, 8})}});
  cases.push_back({.op = "Pow",
                   .name = "OneExponent",
                   .inputs = {floats({5, 40}, 0.1, 3), floats({1}, 0.5, 2)}});
  // One divisor per row, away from 0 and of both signs (a float Mod of a near-zero divisor is
  // ill-conditioned).
  InputSpec divisors =
      given_floats(Tensor::from_vector<float>({5, 1}, {2.5f, -3.f, 7.f, -1.5f, 0.75f}));
  for (int64_t fmod : {0, 1}) {
    cases.push_back({.op = "Mod",
                     .name = fmod ? "Truncated" : "Floored",
                     .inputs = {floats({5, 40}, -20, 20), divisors},
                     .attrs = {{"fmod", fmod}}});
  }
  cases.push_back(
      {.op = "Max", .name = "Variadic", .inputs = {floats({3, 4}), floats({4}), floats({3, 1})}});
  cases.push_back(
      {.op = "Min", .name = "Variadic", .inputs = {floats({3, 4}), floats({4}), floats({3, 1})}});
  for (const char* op : {"Equal", "Less", "Greater"}) {
    cases.push_back({.op = op, .name = "Float", .inputs = {floats({3, 8}), floats({3, 8})}});
  }
  // Equal on floats that often are equal: values on a grid of 0.5.
  cases.push_back(
      {.op = "Equal",
       .name = "FloatGrid",
       .inputs = {given_floats(Tensor::from_vector<float>({2, 3}, {0, .5f, 1, -1, 2, 3})),
                  given_floats(Tensor::from_vector<float>({3}, {0, 1, 2}))}});
  return cases;
}

std::vector<OpCase> binary_integer_cases() {
  std::vector<OpCase> cases;
  auto ints = [](DType dtype, Dims dims) { return typed(dtype, std::move(dims), -50, 50); };
  cases.push_back({.op = "Add",
                   .name = "Int32",
                   .inputs = {ints(DType::Int32, {4, 9}), ints(DType::Int32, {9})}});
  cases.push_back({.op = "Mul",
                   .name = "Int64",
                   .inputs = {ints(DType::Int64, {4, 9}), ints(DType::Int64, {4, 9})}});
  cases.push_back({.op = "Div",
                   .name = "Int64",
                   .inputs = {ints(DType::Int64, {4, 9}), typed(DType::Int64, {1}, 1, 7)}});
  cases.push_back({.op = "Div",
                   .name = "Int32",
                   .inputs = {ints(DType::Int32, {4, 9}), typed(DType::Int32, {9}, 1, 7)}});
  // Divisors of both signs, never 0 (an integer Mod by 0 is an error on the CPU).
  const std::vector<int64_t> divisors = {3, -4, 7, 1, -1, 2, -9, 5, -2};
  for (int64_t fmod : {0, 1}) {
    for (DType dtype : {DType::Int32, DType::Int64}) {
      cases.push_back({.op = "Mod",
                       .name = dtype_label(dtype) + (fmod ? "Truncated" : "Floored"),
                       .inputs = {ints(dtype, {4, 9}),
                                  given(Tensor::from_vector<int64_t>({9}, divisors).to(dtype))},
                       .attrs = {{"fmod", fmod}}});
    }
  }
  for (const char* op : {"Sub", "Max", "Min"}) {
    for (DType dtype : {DType::Int32, DType::Int64}) {
      cases.push_back({.op = op,
                       .name = dtype_label(dtype),
                       .inputs = {ints(dtype, {4, 9}), ints(dtype, {9})}});
    }
  }
  for (const char* op : {"Equal", "Less", "Greater"}) {
    cases.push_back(
        {.op = op,
         .name = "Int64",
         .inputs = {typed(DType::Int64, {3, 8}, -3, 3), typed(DType::Int64, {8}, -3, 3)}});
    cases.push_back(
        {.op = op,
         .name = "Int32",
         .inputs = {typed(DType::Int32, {3, 8}, -3, 3), typed(DType::Int32, {8}, -3, 3)}});
  }
  cases.push_back({.op = "And",
                   .name = "Bool",
                   .inputs = {typed(DType::Bool, {4, 6}, 0, 2), typed(DType::Bool, {6}, 0, 2)}});
  return cases;
}

std::vector<OpCase> where_cases() {
  std::vector<OpCase> cases;
  cases.push_back({.op = "Where",
                   .name = "Broadcast",
                   .inputs = {typed(DType::Bool, {3, 1}, 0, 2), floats({3, 10}), floats({10})},
                   .exact = true});
  for (DType dtype : {DType::Int32, DType::Int64, DType::UInt8, DType::Bool}) {
    cases.push_back(
        {.op = "Where",
         .name = dtype_label(dtype),
         .inputs = {typed(DType::Bool, {3, 1}, 0, 2), data(dtype, {3, 10}), data(dtype, {10})}});
  }
  return cases;
}

std::vector<OpCase> cast_cases() {
  std::vector<OpCase> cases;
  auto cast = [&](DType from, DType to, double low, double high) {
    cases.push_back({.op = "Cast",
                     .name = dtype_label(from) + "To" + dtype_label(to),
                     .inputs = {typed(from, {5, 21}, low, high)},
                     .attrs = {{"to", int64_t(to)}}});
  };
  for (DType to : {DType::Float16, DType::BFloat16, DType::Int32, DType::Int64, DType::Bool}) {
    cast(DType::Float32, to, -40, 40);
  }
  cast(DType::Float32, DType::Int8, -100, 100);
  cast(DType::Float32, DType::UInt8, 0, 200);
  cast(DType::Int64, DType::Float32, -400, 400);
  cast(DType::Int64, DType::Int32, -400, 400);
  for (DType from : {DType::Float16, DType::BFloat16}) {
    cast(from, DType::Float32, -40, 40);
    cast(from, DType::Int64, -40, 40);
  }
  cast(DType::Float16, DType::BFloat16, -40, 40);
  cast(DType::BFloat16, DType::Float16, -40, 40);
  for (DType from : {DType::Int32, DType::Int8, DType::UInt8, DType::Bool}) {
    cast(from, DType::Float32, 0, from == DType::Bool ? 2 : 100);
  }
  cast(DType::Bool, DType::Float16, 0, 2);
  return cases;
}

}  // namespace

std::vector<OpCase> elementwise_cases() {
  return concatenated({unary_cases(), unary_math_cases(), binary_float_cases(),
                       binary_integer_cases(), where_cases(), cast_cases()});
}

INSTANTIATE_TEST_SUITE_P(Elementwise, CudaOpTest, testing::ValuesIn(op_runs(elementwise_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
