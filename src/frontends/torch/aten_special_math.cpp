// Pointwise ATen functions Kiln writes as several core ops: relu6, erfc, exp2, logaddexp(2),
// nan_to_num, isfinite / isposinf / isneginf, signbit, sgn, heaviside, fmin / fmax, frac,
// copysign, hypot, lerp, float_power, xlogy, sinc, deg2rad / rad2deg, logit, log_sigmoid,
// tensor-bounded clamps, and the inference forms of rrelu and alpha dropout. Each fuses into
// one elementwise kernel on the GPU.
#include <cmath>
#include <limits>
#include <numbers>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// The promoted dtype of two arguments, float32 where both are integers or bools.
DType float_result(AtenNode& node, std::string_view a, std::string_view b) {
  DType type = result_type(node, {a, b});
  return is_floating(type) ? type : DType::Float32;
}

void convert_relu6(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  node.set_output(
      0, node.add("Clip", {x, scalar_constant(node, 0, type), scalar_constant(node, 6, type)}));
}

// erfc(x) by the Chebyshev fit of Numerical Recipes' erfcc (relative error below 1.2e-7 for
// every x): 1 - erf(x) would lose every digit of the tail (erfc(5) = 1.5e-12).
void convert_erfc(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  ir::Value* z = m("Abs", {x});
  ir::Value* t = m("Reciprocal", {m("Add", {m.number(1), m("Mul", {z, m.number(0.5)})})});
  const double coefficients[] = {-1.26551223, 1.00002368,  0.37409196, 0.09678418,  -0.18628806,
                                 0.27886807,  -1.13520398, 1.48851587, -0.82215223, 0.17087277};
  ir::Value* poly = m.number(coefficients[9]);
  for (int i = 8; i >= 0; --i) poly = m("Add", {m.number(coefficients[i]), m("Mul", {t, poly})});
  ir::Value* exponent = m("Sub", {poly, m("Mul", {z, z})});
  ir::Value* tail = m("Mul", {t, m("Exp", {exponent})});
  ir::Value* negative = m("Less", {x, m.number(0)});
  node.set_output(0, m("Where", {negative, m("Sub", {m.number(2), tail}), tail}));
}

void convert_exp2(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  node.set_output(0, node.add("Pow", {scalar_constant(node, 2, dtype_of(node, x)), x}));
}

// logaddexp(a, b) = max + log1p(exp(-|a - b|)); equal infinities give themselves (their
// difference is NaN). logaddexp2 is the same in base 2.
AtenConverter log_add_exp(bool base2) {
  return [base2](AtenNode& node) {
    ScalarMath m(node, float_result(node, "self", "other"));
    ir::Value* a = operand(node, "self", m.type());
    ir::Value* b = operand(node, "other", m.type());
    ir::Value* high = m("Max", {a, b});
    ir::Value* gap = m("Neg", {m("Abs", {m("Sub", {a, b})})});
    ir::Value* sum =
        base2
            ? m("Div", {log1p_of(node, m("Pow", {m.number(2), gap})), m.number(std::numbers::ln2)})
            : log1p_of(node, m("Exp", {gap}));
    ir::Value* same_infinity = m("And", {m("IsInf", {a}), m("Equal", {a, b})});
    node.set_output(0, m("Where", {same_infinity, a, m("Add", {high, sum})}));
  };
}

// nan_to_num(self, nan=0, posinf=dtype max, neginf=dtype lowest); integers are unchanged.
void convert_nan_to_num(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  if (!is_floating(type)) return node.set_output(0, x);
  double largest = type == DType::Float64   ? std::numeric_limits<double>::max()
                   : type == DType::Float16 ? 65504.0
                   : type == DType::BFloat16
                       ? 3.3895313892515355e38
                       : static_cast<double>(std::numeric_limits<float>::max());
  ScalarMath m(node, type);
  ir::Value* result = m("Where", {m("IsNaN", {x}), m.number(node.float_arg("nan", 0.0)), x});
  result = m("Where", {m("Equal", {x, m.number(kInfinity)}),
                       m.number(node.float_arg("posinf", largest)), result});
  result = m("Where", {m("Equal", {x, m.number(-kInfinity)}),
                       m.number(node.float_arg("neginf", -largest)), result});
  node.set_output(0, result);
}

// isfinite / isposinf / isneginf: integers and bools are always finite.
AtenConverter infinity_test(int direction) {
  return [direction](AtenNode& node) {
    ir::Value* x = as_float(node, node.tensor("self"));
    ScalarMath m(node, dtype_of(node, x));
    if (direction != 0) return node.set_output(0, m("Equal", {x, m.number(direction * kInfinity)}));
    ir::Value* infinite_or_nan = m("Not", {m("Equal", {m("Sub", {x, x}), m.number(0)})});
    node.set_output(0, m("Not", {infinite_or_nan}));
  };
}

void convert_signbit(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  if (is_floating(type)) return node.set_output(0, sign_bit_of(node, x));
  if (type == DType::Bool) x = cast_to(node, x, DType::Int64);
  node.set_output(0, node.add("Less", {x, scalar_constant(node, 0, dtype_of(node, x))}));
}

// heaviside(self, values): values where self is 0, else 0 or 1 by self's sign (NaN gives 0).
void convert_heaviside(AtenNode& node) {
  DType type = result_type(node, {"self", "values"});
  ScalarMath m(node, type);
  ir::Value* x = operand(node, "self", type);
  ir::Value* step = cast_to(node, m("Greater", {x, m.number(0)}), type);
  node.set_output(0,
                  m("Where", {m("Equal", {x, m.number(0)}), operand(node, "values", type), step}));
}

// fmin / fmax: like minimum / maximum, but a NaN loses to a number.
AtenConverter nan_ignoring(const std::string& op) {
  return [op](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    ScalarMath m(node, type);
    ir::Value* a = operand(node, "self", type);
    ir::Value* b = operand(node, "other", type);
    ir::Value* result = m(op, {a, b});
    if (!is_floating(type)) return node.set_output(0, result);
    result = m("Where", {m("IsNaN", {b}), a, result});
    node.set_output(0, m("Where", {m("IsNaN", {a}), b, result}));
  };
}

void convert_frac(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (!is_floating(dtype_of(node, x))) node.unsupported("frac of an integer tensor");
  node.set_output(0, node.add("Sub", {x, trunc_of(node, x)}));
}

// copysign(self, other): |self| with other's sign bit (-0 and negative NaN included).
void convert_copysign(AtenNode& node) {
  ScalarMath m(node, float_result(node, "self", "other"));
  ir::Value* magnitude = m("Abs", {operand(node, "self", m.type())});
  ir::Value* negative = sign_bit_of(node, operand(node, "other", m.type()));
  node.set_output(0, m("Where", {negative, m("Neg", {magnitude}), magnitude}));
}

void convert_hypot(AtenNode& node) {
  ScalarMath m(node, float_result(node, "self", "other"));
  ir::Value* a = operand(node, "self", m.type());
  ir::Value* b = operand(node, "other", m.type());
  node.set_output(0, m("Sqrt", {m("Add", {m("Mul", {a, a}), m("Mul", {b, b})})}));
}

// lerp(self, end, weight) as PyTorch computes it: self + w (end - self) for |w| < 0.5, else
// end - (end - self)(1 - w), so that w = 1 gives end exactly.
void convert_lerp(AtenNode& node) {
  DType type = result_type(node, {"self", "end", "weight"});
  ScalarMath m(node, type);
  ir::Value* start = operand(node, "self", type);
  ir::Value* end = operand(node, "end", type);
  ir::Value* weight = operand(node, "weight", type);
  ir::Value* span = m("Sub", {end, start});
  ir::Value* from_start = m("Add", {start, m("Mul", {weight, span})});
  ir::Value* from_end = m("Sub", {end, m("Mul", {span, m("Sub", {m.number(1), weight})})});
  ir::Value* near_start = m("Less", {m("Abs", {weight}), m.number(0.5)});
  node.set_output(0, m("Where", {near_start, from_start, from_end}));
}

// float_power: both operands as float64, as PyTorch computes it.
void convert_float_power(AtenNode& node) {
  ir::Value* base = operand(node, "self", DType::Float64);
  node.set_output(0, node.add("Pow", {base, operand(node, "exponent", DType::Float64)}));
}

// xlogy(self, other) = self * log(other), 0 where self is 0, NaN where other is NaN.
void convert_xlogy(AtenNode& node) {
  ScalarMath m(node, float_result(node, "self", "other"));
  ir::Value* x = operand(node, "self", m.type());
  ir::Value* y = operand(node, "other", m.type());
  ir::Value* product = m("Mul", {x, m("Log", {y})});
  ir::Value* result = m("Where", {m("Equal", {x, m.number(0)}), m.number(0), product});
  node.set_output(0, m("Where", {m("IsNaN", {y}), y, result}));
}

// sinc(x) = sin(pi x) / (pi x), 1 at 0.
void convert_sinc(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  ir::Value* angle = m("Mul", {x, m.number(std::numbers::pi)});
  ir::Value* ratio = m("Div", {m("Sin", {angle}), angle});
  node.set_output(0, m("Where", {m("Equal", {x, m.number(0)}), m.number(1), ratio}));
}

AtenConverter scaled_by(double factor) {
  return [factor](AtenNode& node) {
    ir::Value* x = as_float(node, node.tensor("self"));
    node.set_output(0, node.add("Mul", {x, scalar_constant(node, factor, dtype_of(node, x))}));
  };
}

// logit(self, eps=None) = log(z / (1 - z)), z = self clamped to [eps, 1 - eps] when eps is given.
void convert_logit(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  if (node.has("eps")) {
    double eps = node.float_arg("eps", 0.0);
    x = m("Clip", {x, m.number(eps), m.number(1.0 - eps)});
  }
  node.set_output(0, m("Log", {m("Div", {x, m("Sub", {m.number(1), x})})}));
}

// log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), which neither overflows nor cancels.
void convert_log_sigmoid(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  ScalarMath m(node, dtype_of(node, x));
  ir::Value* tail = log1p_of(node, m("Exp", {m("Neg", {m("Abs", {x})})}));
  node.set_output(0, m("Sub", {m("Min", {x, m.number(0)}), tail}));
  if (node.output_count() > 1 && node.output_needed(1)) {
    node.unsupported("log_sigmoid_forward's buffer output (only training reads it)");
  }
}

// rrelu in evaluation: a leaky relu of slope (lower + upper) / 2; training draws random slopes.
void convert_rrelu(AtenNode& node) {
  if (node.bool_arg("training", false)) node.unsupported("rrelu with training=True (random)");
  ir::Value* x = node.tensor("self");
  ScalarMath m(node, dtype_of(node, x));
  double slope = (node.float_arg("lower", 0.125) + node.float_arg("upper", 1.0 / 3.0)) / 2;
  node.set_output(0, m("Where", {m("Less", {x, m.number(0)}), m("Mul", {x, m.number(slope)}), x}));
}

// rrelu_with_noise_functional (the core dialect's rrelu) → (out, noise): in evaluation the
// noise is untouched.
void convert_rrelu_with_noise(AtenNode& node) {
  convert_rrelu(node);
  if (node.output_count() > 1) node.set_output(1, node.tensor("noise"));
}

// alpha_dropout / feature_alpha_dropout (input, p, train): the identity in evaluation.
void convert_alpha_dropout(AtenNode& node) {
  if (node.bool_arg("train", false) && node.float_arg("p", 0.0) > 0) {
    node.unsupported("alpha dropout with train=True (random)");
  }
  node.set_output(0, node.tensor("input"));
}

// clamp_min.Tensor / clamp_max.Tensor: Max / Min with a broadcast bound (NaN propagates).
AtenConverter bounded(const std::string& op, const std::string& bound) {
  return [op, bound](AtenNode& node) {
    DType type = result_type(node, {"self", bound});
    node.set_output(0, node.add(op, {operand(node, "self", type), operand(node, bound, type)}));
  };
}

}  // namespace

void add_special_math_ops(AtenTable& table) {
  table["aten.relu6.default"] = convert_relu6;
  table["aten.erfc.default"] = convert_erfc;
  table["aten.exp2.default"] = convert_exp2;
  table["aten.logaddexp.default"] = log_add_exp(false);
  table["aten.logaddexp2.default"] = log_add_exp(true);
  table["aten.nan_to_num.default"] = convert_nan_to_num;
  table["aten.isfinite.default"] = infinity_test(0);
  table["aten.isposinf.default"] = infinity_test(1);
  table["aten.isneginf.default"] = infinity_test(-1);
  table["aten.signbit.default"] = convert_signbit;
  table["aten.heaviside.default"] = convert_heaviside;
  table["aten.fmin.default"] = nan_ignoring("Min");
  table["aten.fmax.default"] = nan_ignoring("Max");
  table["aten.frac.default"] = convert_frac;
  table["aten.copysign.Tensor"] = convert_copysign;
  table["aten.copysign.Scalar"] = convert_copysign;
  table["aten.hypot.default"] = convert_hypot;
  table["aten.lerp.Scalar"] = convert_lerp;
  table["aten.lerp.Tensor"] = convert_lerp;
  table["aten.float_power.Tensor_Scalar"] = convert_float_power;
  table["aten.float_power.Tensor_Tensor"] = convert_float_power;
  table["aten.float_power.Scalar"] = convert_float_power;
  table["aten.xlogy.Tensor"] = convert_xlogy;
  table["aten.xlogy.Scalar_Self"] = convert_xlogy;
  table["aten.xlogy.Scalar_Other"] = convert_xlogy;
  table["aten.sinc.default"] = convert_sinc;
  table["aten.deg2rad.default"] = scaled_by(std::numbers::pi / 180.0);
  table["aten.rad2deg.default"] = scaled_by(180.0 / std::numbers::pi);
  table["aten.logit.default"] = convert_logit;
  table["aten.log_sigmoid.default"] = convert_log_sigmoid;
  table["aten.log_sigmoid_forward.default"] = convert_log_sigmoid;
  table["aten.rrelu.default"] = convert_rrelu;
  table["aten.rrelu_with_noise_functional.default"] = convert_rrelu_with_noise;
  table["aten.alpha_dropout.default"] = convert_alpha_dropout;
  table["aten.feature_alpha_dropout.default"] = convert_alpha_dropout;
  table["aten.clamp_min.Tensor"] = bounded("Max", "min");
  table["aten.clamp_max.Tensor"] = bounded("Min", "max");
}

}  // namespace kiln::torch
