// CPU reference kernels for elementwise ops: unary math, broadcasting arithmetic, Max/Min,
// comparisons, logic, IsNaN/IsInf, Where, Cast and Clip. One templated kernel per op shape, one
// functor per op.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <type_traits>

#include "backends/cpu/broadcast.h"
#include "backends/cpu/kernel_registry.h"
#include "backends/cpu/kernel_util.h"

namespace kiln::cpu {
namespace {

// ---- Unary functors. kIntegers says whether int32/int64 inputs are accepted. ----

struct Relu {
  static constexpr bool kIntegers = true;
  // `x < 0 ? 0 : x` keeps NaN, as PyTorch does.
  template <typename T>
  T operator()(T x) const {
    return x < T(0) ? T(0) : x;
  }
};

struct Neg {
  static constexpr bool kIntegers = true;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x));  // wraps at the minimum
    } else {
      return -x;
    }
  }
};

struct Abs {
  static constexpr bool kIntegers = true;
  // -x computed unsigned for integers: the minimum stays the minimum, as in PyTorch.
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) {
      return x < T(0) ? static_cast<T>(-static_cast<std::make_unsigned_t<T>>(x)) : x;
    } else {
      return std::fabs(x);
    }
  }
};

// Sign: -1, 0 or 1; NaN stays NaN and -0 gives +0, as numpy.sign (ONNX's reference).
struct Sign {
  static constexpr bool kIntegers = true;
  template <typename T>
  T operator()(T x) const {
    if (x > T(0)) return T(1);
    if constexpr (std::is_signed_v<T>) {
      if (x < T(0)) return T(-1);
    }
    return x == x ? T(0) : x;
  }
};

struct Gelu {
  static constexpr bool kIntegers = false;
  bool tanh_form = false;
  explicit Gelu(const ir::Node& node) {
    const std::string approximate = node.attr_string("approximate", "none");
    check(approximate == "none" || approximate == "tanh", ErrorKind::InvalidModel, node.describe(),
          ": approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
    tanh_form = approximate == "tanh";
  }
  template <typename T>
  T operator()(T x) const {
    if (tanh_form) {
      const T k = std::sqrt(T(2) / std::numbers::pi_v<T>);
      return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x / std::numbers::sqrt2_v<T>));
  }
};

struct Sigmoid {
  static constexpr bool kIntegers = false;
  // Two branches so that exp never overflows.
  template <typename T>
  T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
};

struct HardSigmoid {
  static constexpr bool kIntegers = false;
  double alpha, beta;
  explicit HardSigmoid(const ir::Node& node)
      : alpha(node.attr_float("alpha", 0.2)), beta(node.attr_float("beta", 0.5)) {}
  template <typename T>
  T operator()(T x) const {
    return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
  }
};

struct HardSwish {
  static constexpr bool kIntegers = false;
  template <typename T>
  T operator()(T x) const {
    return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  }
};

// Unary math functions with no parameters.
template <auto kFunction>
struct MathFunction {
  static constexpr bool kIntegers = false;
  template <typename T>
  T operator()(T x) const {
    return kFunction(x);
  }
};
inline constexpr auto kErf = [](auto x) { return std::erf(x); };
inline constexpr auto kTanh = [](auto x) { return std::tanh(x); };
inline constexpr auto kExp = [](auto x) { return std::exp(x); };
inline constexpr auto kSin = [](auto x) { return std::sin(x); };
inline constexpr auto kCos = [](auto x) { return std::cos(x); };
inline constexpr auto kLog = [](auto x) { return std::log(x); };
inline constexpr auto kSqrt = [](auto x) { return std::sqrt(x); };
inline constexpr auto kReciprocal = [](auto x) { return decltype(x)(1) / x; };
inline constexpr auto kTan = [](auto x) { return std::tan(x); };
inline constexpr auto kAsin = [](auto x) { return std::asin(x); };
inline constexpr auto kAcos = [](auto x) { return std::acos(x); };
inline constexpr auto kAtan = [](auto x) { return std::atan(x); };
inline constexpr auto kSinh = [](auto x) { return std::sinh(x); };
inline constexpr auto kCosh = [](auto x) { return std::cosh(x); };
inline constexpr auto kAsinh = [](auto x) { return std::asinh(x); };
inline constexpr auto kAcosh = [](auto x) { return std::acosh(x); };
inline constexpr auto kAtanh = [](auto x) { return std::atanh(x); };
inline constexpr auto kFloor = [](auto x) { return std::floor(x); };
inline constexpr auto kCeil = [](auto x) { return std::ceil(x); };
// Halves to even (2.5 -> 2, -0.5 -> -0): nearbyint in the default rounding mode, as ONNX's
// Round and torch.round.
inline constexpr auto kRound = [](auto x) { return std::nearbyint(x); };

template <typename Op>
Op make_op(const ir::Node& node) {
  if constexpr (std::is_constructible_v<Op, const ir::Node&>) {
    return Op(node);
  } else {
    return Op{};
  }
}

template <typename Op>
std::vector<Tensor> unary_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const Op op = make_op<Op>(node);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    return map_broadcast<T, T>(
        node.describe(), [&op](T value) { return op(value); }, x);
  };
  if constexpr (Op::kIntegers) {
    return {visit_numeric(node, x.dtype(), run)};
  } else {
    return {visit_float(node, x.dtype(), run)};
  }
}

// ---- Binary arithmetic. Integers wrap on overflow (computed unsigned, as two's complement). ----

template <typename T, typename Fn>
T wrapping(T a, T b, Fn fn) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(fn(static_cast<U>(a), static_cast<U>(b)));
}

struct Add {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>)
      return wrapping(a, b, std::plus<>{});
    else
      return a + b;
  }
};
struct Sub {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>)
      return wrapping(a, b, std::minus<>{});
    else
      return a - b;
  }
};
struct Mul {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>)
      return wrapping(a, b, std::multiplies<>{});
    else
      return a * b;
  }
};
struct Div {
  // Integer division truncates toward zero; divisors were checked to be non-zero.
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == T(-1)) return Neg{}(a);  // the minimum divided by -1 wraps instead of trapping
    }
    return a / b;
  }
};

// Mod: the remainder of a / b with the dividend's sign (fmod=1, C's fmod) or the divisor's
// (fmod=0, Python's %). Integers: b = -1 gives 0 (the minimum would trap).
struct Modulo {
  bool c_style = false;
  template <typename T>
  T operator()(T a, T b) const {
    T r;
    if constexpr (std::is_integral_v<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
      }
      r = a % b;
    } else {
      r = std::fmod(a, b);
    }
    if constexpr (std::is_signed_v<T> || !std::is_integral_v<T>) {
      if (!c_style && r != T(0) && ((r < T(0)) != (b < T(0)))) r += b;
    }
    return r;
  }
};

template <typename T>
void check_no_zero_divisor(const ir::Node& node, const Tensor& divisor) {
  for (T value : divisor.values<T>()) {
    check(value != T(0), ErrorKind::Runtime, node.describe(),
          ": integer division by zero (the divisor input holds a 0)");
  }
}

const Tensor& same_dtype_input(const ir::Node& node, const std::vector<Tensor>& inputs,
                               size_t index) {
  const Tensor& tensor = required_input(node, inputs, index);
  check(tensor.dtype() == inputs[0].dtype(), ErrorKind::InvalidArgument, node.describe(),
        ": input ", index, " is ", dtype_name(tensor.dtype()), " but input 0 is ",
        dtype_name(inputs[0].dtype()));
  return tensor;
}

template <typename Op>
std::vector<Tensor> arithmetic_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& a = required_input(node, inputs, 0);
  const Tensor& b = same_dtype_input(node, inputs, 1);
  return {visit_numeric(node, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<Op, Div> && std::is_integral_v<T>) {
      if (element_count(broadcast_dims({a.dims(), b.dims()}, node.describe())) > 0) {
        check_no_zero_divisor<T>(node, b);
      }
    }
    return map_broadcast<T, T, T>(node.describe(), Op{}, a, b);
  })};
}

std::vector<Tensor> mod_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& a = required_input(node, inputs, 0);
  const Tensor& b = same_dtype_input(node, inputs, 1);
  Modulo op{node.attr_int("fmod", 0) != 0};
  return {visit_numeric(node, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      if (element_count(broadcast_dims({a.dims(), b.dims()}, node.describe())) > 0) {
        check_no_zero_divisor<T>(node, b);
      }
    }
    return map_broadcast<T, T, T>(node.describe(), op, a, b);
  })};
}

// Integer power by squaring, wrapping like the other integer ops; negative exponents give
// the truncated reciprocal (1 for base 1, ±1 for base -1, 0 otherwise).
template <typename T>
T integer_power(T base, int64_t exponent) {
  if (exponent < 0) {
    if (base == T(1)) return T(1);
    if (base == T(-1)) return (exponent % 2 == 0) ? T(1) : T(-1);
    return T(0);
  }
  T result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = Mul{}(result, base);
    base = Mul{}(base, base);
    exponent >>= 1;
  }
  return result;
}

// Pow: the output has the base's type; the exponent may be any numeric type.
std::vector<Tensor> pow_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& base = required_input(node, inputs, 0);
  const Tensor& exponent = required_input(node, inputs, 1);
  return {visit_numeric(node, base.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      return map_broadcast<T, T, T>(
          node.describe(), [](T x, T y) { return std::pow(x, y); }, base,
          exponent.to(DTypeOf<T>::value));
    } else if (is_integral(exponent.dtype())) {
      return map_broadcast<T, T, int64_t>(node.describe(), integer_power<T>, base,
                                          exponent.to(DType::Int64));
    } else {
      auto power = [](T x, double y) { return static_cast<T>(std::trunc(std::pow(double(x), y))); };
      return map_broadcast<T, T, double>(node.describe(), power, base, exponent.to(DType::Float64));
    }
  })};
}

// Max and Min fold any number of inputs pairwise; NaN wins, as in numpy and PyTorch.
struct Maximum {
  template <typename T>
  T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};
struct Minimum {
  template <typename T>
  T operator()(T a, T b) const {
    return (a < b || a != a) ? a : b;
  }
};

template <typename Op>
std::vector<Tensor> variadic_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  Tensor result = required_input(node, inputs, 0);
  for (size_t k = 1; k < inputs.size(); ++k) {
    const Tensor& next = same_dtype_input(node, inputs, k);
    result = visit_numeric(node, result.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return map_broadcast<T, T, T>(node.describe(), Op{}, result, next);
    });
  }
  return {result};
}

// ---- Comparisons and logic: bool outputs. ----

template <typename Compare>
std::vector<Tensor> compare_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& a = required_input(node, inputs, 0);
  const Tensor& b = same_dtype_input(node, inputs, 1);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    return map_broadcast<bool, T, T>(node.describe(), Compare{}, a, b);
  };
  if (a.dtype() == DType::Bool) return {run(bool{})};
  return {visit_numeric(node, a.dtype(), run)};
}

// IsNaN and IsInf: a bool per float element.
struct IsNaN {
  explicit IsNaN(const ir::Node&) {}
  bool operator()(double x) const { return std::isnan(x); }
};

// IsInf's detect_negative / detect_positive (ONNX, both 1 by default) pick the infinities.
struct IsInf {
  bool negative, positive;
  explicit IsInf(const ir::Node& node)
      : negative(node.attr_int("detect_negative", 1) != 0),
        positive(node.attr_int("detect_positive", 1) != 0) {}
  bool operator()(double x) const { return std::isinf(x) && (x < 0 ? negative : positive); }
};

template <typename Test>
std::vector<Tensor> float_test_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  const Test test(node);
  return {visit_float(node, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return map_broadcast<bool, T>(
        node.describe(), [&test](T value) { return test(double(value)); }, x);
  })};
}

void check_bool(const ir::Node& node, const Tensor& tensor) {
  if (tensor.dtype() != DType::Bool) fail_dtype(node, tensor.dtype(), "bool");
}

std::vector<Tensor> and_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& a = required_input(node, inputs, 0);
  const Tensor& b = required_input(node, inputs, 1);
  check_bool(node, a);
  check_bool(node, b);
  return {map_broadcast<bool, bool, bool>(node.describe(), std::logical_and<>{}, a, b)};
}

std::vector<Tensor> not_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  check_bool(node, x);
  return {map_broadcast<bool, bool>(node.describe(), std::logical_not<>{}, x)};
}

// Where works for every dtype: it only selects elements.
std::vector<Tensor> where_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& condition = required_input(node, inputs, 0);
  check_bool(node, condition);
  const Tensor& x = required_input(node, inputs, 1);
  const Tensor& y = required_input(node, inputs, 2);
  check(x.dtype() == y.dtype(), ErrorKind::InvalidArgument, node.describe(), ": X is ",
        dtype_name(x.dtype()), " but Y is ", dtype_name(y.dtype()));
  return {visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return map_broadcast<T, bool, T, T>(
        node.describe(), [](bool c, T a, T b) { return c ? a : b; }, condition, x, y);
  })};
}

// ---- Cast and Clip. ----

std::vector<Tensor> cast_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  check(node.has_attr("to"), ErrorKind::InvalidModel, node.describe(), " has no 'to' attribute");
  const int64_t code = node.attr_int("to", 0);
  check(code > static_cast<int64_t>(DType::Undefined) && code <= static_cast<int64_t>(DType::Bool),
        ErrorKind::InvalidModel, node.describe(), ": 'to' = ", code, " is not a Kiln dtype code");
  // Tensor::to truncates float→int toward zero and maps anything→bool as `!= 0`.
  return {x.to(static_cast<DType>(code))};
}

// min and max are optional one-element tensors; absent bounds do not clip.
std::vector<Tensor> clip_kernel(const ir::Node& node, const std::vector<Tensor>& inputs) {
  const Tensor& x = required_input(node, inputs, 0);
  return {visit_numeric(node, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto bound = [&](size_t index, T fallback) {
      const Tensor* tensor = optional_input(inputs, index);
      if (!tensor) return fallback;
      check(tensor->numel() == 1, ErrorKind::InvalidArgument, node.describe(), ": input ", index,
            " must be a scalar, got dims ", dims_to_string(tensor->dims()));
      return tensor->to(DTypeOf<T>::value).template data<T>()[0];
    };
    const T low = bound(1, std::numeric_limits<T>::lowest());
    const T high = bound(2, std::numeric_limits<T>::max());
    // min(max(x, low), high), as numpy: NaN stays NaN, and high wins when low > high.
    auto clip = [low, high](T value) { return std::min(std::max(value, low), high); };
    return map_broadcast<T, T>(node.describe(), clip, x);
  })};
}

}  // namespace

void register_elementwise_kernels(KernelMap& map) {
  map["Relu"] = unary_kernel<Relu>;
  map["Neg"] = unary_kernel<Neg>;
  map["Abs"] = unary_kernel<Abs>;
  map["Sign"] = unary_kernel<Sign>;
  map["Gelu"] = unary_kernel<Gelu>;
  map["Sigmoid"] = unary_kernel<Sigmoid>;
  map["HardSigmoid"] = unary_kernel<HardSigmoid>;
  map["HardSwish"] = unary_kernel<HardSwish>;
  map["Erf"] = unary_kernel<MathFunction<kErf>>;
  map["Tanh"] = unary_kernel<MathFunction<kTanh>>;
  map["Exp"] = unary_kernel<MathFunction<kExp>>;
  map["Sin"] = unary_kernel<MathFunction<kSin>>;
  map["Cos"] = unary_kernel<MathFunction<kCos>>;
  map["Log"] = unary_kernel<MathFunction<kLog>>;
  map["Sqrt"] = unary_kernel<MathFunction<kSqrt>>;
  map["Reciprocal"] = unary_kernel<MathFunction<kReciprocal>>;
  map["Tan"] = unary_kernel<MathFunction<kTan>>;
  map["Asin"] = unary_kernel<MathFunction<kAsin>>;
  map["Acos"] = unary_kernel<MathFunction<kAcos>>;
  map["Atan"] = unary_kernel<MathFunction<kAtan>>;
  map["Sinh"] = unary_kernel<MathFunction<kSinh>>;
  map["Cosh"] = unary_kernel<MathFunction<kCosh>>;
  map["Asinh"] = unary_kernel<MathFunction<kAsinh>>;
  map["Acosh"] = unary_kernel<MathFunction<kAcosh>>;
  map["Atanh"] = unary_kernel<MathFunction<kAtanh>>;
  map["Floor"] = unary_kernel<MathFunction<kFloor>>;
  map["Ceil"] = unary_kernel<MathFunction<kCeil>>;
  map["Round"] = unary_kernel<MathFunction<kRound>>;
  map["Add"] = arithmetic_kernel<Add>;
  map["Sub"] = arithmetic_kernel<Sub>;
  map["Mul"] = arithmetic_kernel<Mul>;
  map["Div"] = arithmetic_kernel<Div>;
  map["Pow"] = pow_kernel;
  map["Mod"] = mod_kernel;
  map["Max"] = variadic_kernel<Maximum>;
  map["Min"] = variadic_kernel<Minimum>;
  map["IsNaN"] = float_test_kernel<IsNaN>;
  map["IsInf"] = float_test_kernel<IsInf>;
  map["Equal"] = compare_kernel<std::equal_to<>>;
  map["Less"] = compare_kernel<std::less<>>;
  map["Greater"] = compare_kernel<std::greater<>>;
  map["And"] = and_kernel;
  map["Not"] = not_kernel;
  map["Where"] = where_kernel;
  map["Cast"] = cast_kernel;
  map["Clip"] = clip_kernel;
}

}  // namespace kiln::cpu
