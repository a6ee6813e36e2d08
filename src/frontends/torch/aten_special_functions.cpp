// Special functions as elementwise core ops, by the classic approximations (float32 accurate
// to a few ulps over their domains): lgamma (Lanczos, g = 7, with the reflection formula below
// 1/2), digamma and polygamma (the recurrence up to x + 6, then the asymptotic series; the
// reflection formula for negative x), erfinv (Giles' single-precision fit and one Newton step on
// erf), and the modified Bessel functions i0 / i0e / i1 / i1e (Abramowitz and Stegun 9.8.1-4).
#include <cmath>
#include <limits>
#include <numbers>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

constexpr double kPi = std::numbers::pi;

// lgamma of x >= 1/2 by Lanczos' series.
ir::Value* lanczos_lgamma(ScalarMath& m, ir::Value* x) {
  static const double c[] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                             771.32342877765313,   -176.61502916214059,   12.507343278686905,
                             -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  ir::Value* z = m("Sub", {x, m.number(1)});
  ir::Value* series = m.number(c[0]);
  for (int i = 1; i < 9; ++i) series = m.add(series, m.div(m.number(c[i]), m.add(z, m.number(i))));
  ir::Value* t = m.add(z, m.number(7.5));
  ir::Value* log_t = m("Log", {t});
  ir::Value* value = m.add(m.mul(m.add(z, m.number(0.5)), log_t), m("Neg", {t}));
  return m.add(m.add(value, m.number(0.5 * std::log(2 * kPi))), m("Log", {series}));
}

// lgamma(x) = log |Γ(x)|; below 1/2 by reflection: log(π / |sin(π x)|) - lgamma(1 - x).
void convert_lgamma(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  ir::Value* low = m("Less", {x, m.number(0.5)});
  ir::Value* lifted = m.where(low, m("Sub", {m.number(1), x}), x);
  ir::Value* lanczos = lanczos_lgamma(m, lifted);
  ir::Value* sine = m("Abs", {m("Sin", {m.mul(x, m.number(kPi))})});
  ir::Value* reflected = m("Sub", {m("Log", {m.div(m.number(kPi), sine)}), lanczos});
  ir::Value* result = m.where(low, reflected, lanczos);
  // Γ has poles at 0, -1, -2, ...: +inf there (sin(π x) rounds to a tiny non-zero value).
  ir::Value* pole =
      m("And", {m("Not", {m("Greater", {x, m.number(0)})}), m("Equal", {x, m("Floor", {x})})});
  node.set_output(0, m.where(pole, m.number(kInfinity), result));
}

// The asymptotic series of ψ^(n) at y >= 6 (n = 0: digamma) and the recurrence's sum for
// x >= 0: ψ^(n)(x) = ψ^(n)(x + 6) - (-1)^n n! Σ_{k<6} (x + k)^-(n+1).
ir::Value* polygamma_positive(ScalarMath& m, ir::Value* x, int64_t n) {
  constexpr int kShift = 6;
  ir::Value* y = m.add(x, m.number(kShift));
  double factorial = std::tgamma(static_cast<double>(n) + 1);
  ir::Value* series;
  if (n == 0) {
    ir::Value* inverse_square = m("Reciprocal", {m.mul(y, y)});
    ir::Value* tail = m.mul(
        inverse_square,
        m.polynomial(inverse_square, {1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132}));
    series = m("Sub", {m("Sub", {m("Log", {y}), m.div(m.number(0.5), y)}), tail});
  } else {
    // (-1)^(n+1) [(n-1)!/y^n + n!/(2 y^(n+1)) + Σ_k B_2k (2k+n-1)!/(2k)! / y^(2k+n)].
    static const double bernoulli[] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66};
    ir::Value* inverse = m("Reciprocal", {y});
    double sign = n % 2 == 1 ? 1.0 : -1.0;
    std::vector<double> coefficients(static_cast<size_t>(n + 11), 0.0);
    coefficients[static_cast<size_t>(n)] = std::tgamma(static_cast<double>(n));
    coefficients[static_cast<size_t>(n + 1)] = factorial / 2;
    for (int k = 1; k <= 5; ++k) {
      coefficients[static_cast<size_t>(2 * k + n)] =
          bernoulli[k - 1] * std::tgamma(2.0 * k + n) / std::tgamma(2.0 * k + 1);
    }
    for (double& c : coefficients) c *= sign;
    series = m.polynomial(inverse, coefficients);
  }
  ir::Value* sum = nullptr;
  for (int k = 0; k < kShift; ++k) {
    ir::Value* term = m("Pow", {m.add(x, m.number(k)), m.number(-(static_cast<double>(n) + 1))});
    sum = sum ? m.add(sum, term) : term;
  }
  double scale = (n % 2 == 0 ? 1.0 : -1.0) * factorial;  // (-1)^n n!
  return m("Sub", {series, m.mul(sum, m.number(scale))});
}

// digamma(x) = ψ(x); negative x by ψ(x) = ψ(1 - x) - π / tan(π x); ψ(±0) = ∓inf and the
// negative integers give NaN, as PyTorch.
void convert_digamma(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  ir::Value* negative = m("Less", {x, m.number(0)});
  ir::Value* lifted = m.where(negative, m("Sub", {m.number(1), x}), x);
  ir::Value* positive = polygamma_positive(m, lifted, 0);
  ir::Value* cotangent = m.div(m.number(kPi), m("Tan", {m.mul(x, m.number(kPi))}));
  ir::Value* result = m.where(negative, m("Sub", {positive, cotangent}), positive);
  ir::Value* integer = m("Equal", {x, m("Floor", {x})});
  result = m.where(m("And", {negative, integer}), m.number(kNan), result);
  ir::Value* zero = m("Equal", {x, m.number(0)});
  ir::Value* pole = m.where(sign_bit_of(node, x), m.number(kInfinity), m.number(-kInfinity));
  node.set_output(0, m.where(zero, pole, result));
}

// polygamma(n, self): digamma for n = 0; for n >= 1 the series above (x > 0; PyTorch's
// Hurwitz zeta is NaN or inf elsewhere, as here by the Pow terms).
void convert_polygamma(AtenNode& node) {
  int64_t n = node.int_arg("n");
  if (n < 0) node.invalid("polygamma order ", n, " is negative");
  if (n == 0) return convert_digamma(node);
  if (n > 20) node.unsupported("polygamma of order ", n, " (at most 20)");
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  node.set_output(0, polygamma_positive(m, x, n));
}

// erfinv(y): Giles' single-precision approximation, then one Newton step on erf; ±1 give
// ±inf, |y| > 1 NaN.
void convert_erfinv(AtenNode& node) {
  ir::Value* y = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, y));
  ir::Value* one = m.number(1);
  ir::Value* w = m("Neg", {m("Log", {m.mul(m("Sub", {one, y}), m.add(one, y))})});
  ir::Value* central =
      m.polynomial(m("Sub", {w, m.number(2.5)}),
                   {1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
                    -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08});
  ir::Value* tail =
      m.polynomial(m("Sub", {m("Sqrt", {w}), m.number(3)}),
                   {2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
                    -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257});
  ir::Value* guess = m.mul(m.where(m("Less", {w, m.number(5)}), central, tail), y);
  ir::Value* slope =
      m.mul(m.number(2 / std::sqrt(kPi)), m("Exp", {m("Neg", {m.mul(guess, guess)})}));
  ir::Value* refined = m("Sub", {guess, m.div(m("Sub", {m("Erf", {guess}), y}), slope)});
  ir::Value* magnitude = m("Abs", {y});
  ir::Value* edge = m.where(m("Less", {y, m.number(0)}), m.number(-kInfinity), m.number(kInfinity));
  ir::Value* result = m.where(m("Equal", {magnitude, one}), edge, refined);
  node.set_output(0, m.where(m("Greater", {magnitude, one}), m.number(kNan), result));
}

// Modified Bessel functions of the first kind, orders 0 and 1, and their exponentially scaled
// forms (e^-|x| I(x)), by Abramowitz and Stegun's polynomials (relative error below 2.2e-7).
AtenConverter bessel(int order, bool scaled) {
  return [order, scaled](AtenNode& node) {
    ir::Value* x = as_float(node, node.tensor("self"));
    ScalarMath m(node, dtype_of(node, x));
    ir::Value* magnitude = m("Abs", {x});
    ir::Value* ratio = m.div(x, m.number(3.75));
    ir::Value* t = m.mul(ratio, ratio);
    ir::Value* near =
        order == 0 ? m.polynomial(
                         t, {1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813})
                   : m.mul(x, m.polynomial(t, {0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733,
                                               0.00301532, 0.00032411}));
    if (scaled) near = m.mul(near, m("Exp", {m("Neg", {magnitude})}));
    ir::Value* u = m.div(m.number(3.75), magnitude);
    ir::Value* far =
        order == 0 ? m.polynomial(u, {0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281,
                                      -0.02057706, 0.02635537, -0.01647633, 0.00392377})
                   : m.polynomial(u, {0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555,
                                      0.02282967, -0.02895312, 0.01787654, -0.00420059});
    far = m.div(far, m("Sqrt", {magnitude}));
    if (!scaled) far = m.mul(far, m("Exp", {magnitude}));
    if (order == 1) far = m.mul(far, m("Sign", {x}));
    node.set_output(0, m.where(m("Greater", {magnitude, m.number(3.75)}), far, near));
  };
}

}  // namespace

void add_special_function_ops(AtenTable& table) {
  table["aten.lgamma.default"] = convert_lgamma;
  table["aten.digamma.default"] = convert_digamma;
  table["aten.special_digamma.default"] = convert_digamma;
  table["aten.polygamma.default"] = convert_polygamma;
  table["aten.erfinv.default"] = convert_erfinv;
  table["aten.special_erfinv.default"] = convert_erfinv;
  table["aten.i0.default"] = bessel(0, false);
  table["aten.special_i0.default"] = bessel(0, false);
  table["aten.special_i0e.default"] = bessel(0, true);
  table["aten.special_i1.default"] = bessel(1, false);
  table["aten.special_i1e.default"] = bessel(1, true);
}

}  // namespace kiln::torch
