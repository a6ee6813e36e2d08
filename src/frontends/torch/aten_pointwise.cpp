// ATen rounding (floor, ceil, round with decimals, trunc, div's rounding modes), sign,
// isinf/isnan, and the math Kiln writes as several core ops: atan2, expm1, log1p, log2, log10,
// addcmul, addcdiv.
#include <cmath>
#include <numbers>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// `self`, with integers and bools as float32 (PyTorch's result type for float math).
ir::Value* float_self(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  return is_floating(dtype_of(node, x)) ? x : cast_to(node, x, DType::Float32);
}

// trunc(x) = x < 0 ? ceil(x) : floor(x), exact with -0 and NaN kept. ONNX has no Trunc, and
// Kiln's core ops are ONNX's; the four ops fuse into one kernel on the GPU.
ir::Value* truncated(ScalarMath& emit, ir::Value* x) {
  ir::Value* negative = emit("Less", {x, emit.number(0)});
  return emit("Where", {negative, emit("Ceil", {x}), emit("Floor", {x})});
}

// floor / ceil / round / trunc; integers and bools are their own result, as in PyTorch.
AtenConverter rounding(std::string op) {
  return [op](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    DType type = dtype_of(node, x);
    if (!is_floating(type)) return node.set_output(0, x);
    ScalarMath emit(node, type);
    node.set_output(0, op == "Trunc" ? truncated(emit, x) : emit(op, {x}));
  };
}

// round(self, decimals) as PyTorch computes it: x * 10^d rounded (halves to even) / 10^d, or
// for d < 0, x / 10^-d rounded * 10^-d.
void convert_round_decimals(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  if (!is_floating(type)) node.unsupported("round with decimals on ", dtype_name(type));
  int64_t decimals = node.int_arg("decimals", 0);
  ScalarMath emit(node, type);
  if (decimals == 0) return node.set_output(0, emit("Round", {x}));
  ir::Value* scale = emit.number(std::pow(10.0, static_cast<double>(std::abs(decimals))));
  const char* into = decimals > 0 ? "Mul" : "Div";
  const char* back = decimals > 0 ? "Div" : "Mul";
  node.set_output(0, emit(back, {emit("Round", {emit(into, {x, scale})}), scale}));
}

// sign: Kiln's Sign keeps NaN (numpy's, ONNX's reference); PyTorch gives 0 for it.
void convert_sign(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  DType type = dtype_of(node, x);
  if (type == DType::Bool) return node.set_output(0, x);
  ScalarMath emit(node, type);
  ir::Value* sign = emit("Sign", {x});
  if (is_floating(type)) sign = emit("Where", {emit("IsNaN", {x}), emit.number(0), sign});
  node.set_output(0, sign);
}

// isnan / isinf: integers and bools are never NaN or infinite, as float32 too.
AtenConverter float_test(std::string op) {
  return [op](AtenNode& node) { node.set_output(0, node.add(op, {float_self(node)})); };
}

// Where a // b is one below the truncated quotient: the remainder (C's fmod, `remainder`) is
// non-zero and its sign differs from b's.
ir::Value* steps_down(ScalarMath& emit, ir::Value* remainder, ir::Value* b) {
  ir::Value* zero = emit.number(0);
  ir::Value* signs_differ =
      emit("Not", {emit("Equal", {emit("Less", {remainder, zero}), emit("Less", {b, zero})})});
  return emit("And", {emit("Not", {emit("Equal", {remainder, zero})}), signs_differ});
}

// a // b for integers: the truncated quotient, lowered by steps_down. Division by zero is an
// error, as in PyTorch.
ir::Value* integer_floor_division(ScalarMath& emit, ir::Value* a, ir::Value* b) {
  ir::Value* remainder = emit("Mod", {a, b}, {{"fmod", int64_t{1}}});
  ir::Value* quotient = emit("Div", {a, b});
  return emit("Where",
              {steps_down(emit, remainder, b), emit("Sub", {quotient, emit.number(1)}), quotient});
}

// a // b for floats, PyTorch's div_floor_floating: (a - fmod(a, b)) / b, lowered by
// steps_down, rounded to the nearest integer (floor(1 / 0.1) would be
// 10; PyTorch and Python give 9); a zero quotient takes a / b's sign; b = 0 gives a / b.
ir::Value* float_floor_division(ScalarMath& emit, ir::Value* a, ir::Value* b) {
  ir::Value* zero = emit.number(0);
  ir::Value* one = emit.number(1);
  ir::Value* remainder = emit("Mod", {a, b}, {{"fmod", int64_t{1}}});
  ir::Value* exact = emit("Div", {emit("Sub", {a, remainder}), b});
  ir::Value* quotient =
      emit("Where", {steps_down(emit, remainder, b), emit("Sub", {exact, one}), exact});
  ir::Value* floor = emit("Floor", {quotient});
  ir::Value* above_half = emit("Greater", {emit("Sub", {quotient, floor}), emit.number(0.5)});
  ir::Value* nearest = emit("Where", {above_half, emit("Add", {floor, one}), floor});
  ir::Value* true_quotient = emit("Div", {a, b});
  ir::Value* signed_zero = emit("Mul", {true_quotient, zero});
  ir::Value* result = emit("Where", {emit("Equal", {quotient, zero}), signed_zero, nearest});
  return emit("Where", {emit("Equal", {b, zero}), true_quotient, result});
}

// div(self, other, rounding_mode): None divides (integers as float32), "trunc" truncates the
// quotient, "floor" floors it (Python's //).
void emit_division(AtenNode& node, const std::string& mode) {
  DType type = result_type(node, {"self", "other"});
  if (mode.empty() && !is_floating(type)) type = DType::Float32;  // int / int is float
  ir::Value* a = operand(node, "self", type);
  ir::Value* b = operand(node, "other", type);
  ScalarMath emit(node, type);
  if (mode.empty()) return node.set_output(0, emit("Div", {a, b}));
  if (mode == "trunc") {
    ir::Value* quotient = emit("Div", {a, b});  // integer Div truncates already
    return node.set_output(0, is_floating(type) ? truncated(emit, quotient) : quotient);
  }
  if (mode != "floor") node.invalid("rounding_mode '", mode, "' (expected 'trunc' or 'floor')");
  node.set_output(
      0, is_floating(type) ? float_floor_division(emit, a, b) : integer_floor_division(emit, a, b));
}

void convert_div_mode(AtenNode& node) { emit_division(node, node.string_arg("rounding_mode", "")); }

// floor_divide(self, other): Python's //, div with rounding_mode "floor".
void convert_floor_divide(AtenNode& node) { emit_division(node, "floor"); }

// atan2(y, x) = atan(y / x), turned into the right half plane: + pi where x is negative or -0
// (- pi where y is too). Where |y| = |x| the quotient is taken of the operands' signs (±1; y
// itself where it is ±0): the same angle, and atan2(±0, ±0) and atan2(±inf, ±inf) come out as
// in PyTorch rather than NaN. Within a few float32 ulps of PyTorch's atan2.
void convert_atan2(AtenNode& node) {
  DType type = result_type(node, {"self", "other"});
  if (!is_floating(type)) type = DType::Float32;
  ir::Value* y = operand(node, "self", type);
  ir::Value* x = operand(node, "other", type);
  ScalarMath emit(node, type);
  ir::Value* y_zero = emit("Equal", {y, emit.number(0)});
  ir::Value* y_negative = emit.sign_bit(y, y_zero);
  ir::Value* x_negative = emit.sign_bit(x, emit("Equal", {x, emit.number(0)}));
  auto unit = [&](ir::Value* negative) {
    return emit("Where", {negative, emit.number(-1), emit.number(1)});
  };
  ir::Value* same = emit("Equal", {emit("Abs", {y}), emit("Abs", {x})});
  ir::Value* numerator = emit("Where", {y_zero, y, unit(y_negative)});
  ir::Value* ratio = emit(
      "Div", {emit("Where", {same, numerator, y}), emit("Where", {same, unit(x_negative), x})});
  ir::Value* angle = emit("Atan", {ratio});
  const double pi = std::numbers::pi;
  ir::Value* turn = emit("Where", {y_negative, emit.number(-pi), emit.number(pi)});
  node.set_output(0, emit("Where", {x_negative, emit("Add", {angle, turn}), angle}));
}

// expm1(x): exp(x) - 1 loses x's digits near 0, so there (|x| < 0.5) 2t / (1 - t) with
// t = tanh(x / 2), the same quantity ((e^x - 1) / (e^x + 1) = t) without the cancellation.
// Within a few float32 ulps of PyTorch's expm1 (one rounding more than a library expm1).
void convert_expm1(AtenNode& node) {
  ir::Value* x = float_self(node);
  ScalarMath emit(node, dtype_of(node, x));
  ir::Value* t = emit("Tanh", {emit("Mul", {x, emit.number(0.5)})});
  ir::Value* near_zero = emit("Div", {emit("Add", {t, t}), emit("Sub", {emit.number(1), t})});
  ir::Value* elsewhere = emit("Sub", {emit("Exp", {x}), emit.number(1)});
  ir::Value* small = emit("Less", {emit("Abs", {x}), emit.number(0.5)});
  node.set_output(0, emit("Where", {small, near_zero, elsewhere}));
}

// log1p(x): log(1 + x) loses x's digits near 0, so there (|x| < 0.5) 2 atanh(x / (2 + x)),
// the same quantity without the cancellation. Within a few float32 ulps of PyTorch's log1p.
void convert_log1p(AtenNode& node) { node.set_output(0, log1p_of(node, float_self(node))); }

}  // namespace

ir::Value* log1p_of(AtenNode& node, ir::Value* x) {
  ScalarMath emit(node, dtype_of(node, x));
  ir::Value* ratio = emit("Div", {x, emit("Add", {x, emit.number(2)})});
  ir::Value* near_zero = emit("Mul", {emit("Atanh", {ratio}), emit.number(2)});
  ir::Value* elsewhere = emit("Log", {emit("Add", {x, emit.number(1)})});
  ir::Value* small = emit("Less", {emit("Abs", {x}), emit.number(0.5)});
  return emit("Where", {small, near_zero, elsewhere});
}

ir::Value* as_float(AtenNode& node, ir::Value* x) {
  return is_floating(dtype_of(node, x)) ? x : cast_to(node, x, DType::Float32);
}

ir::Value* trunc_of(AtenNode& node, ir::Value* x) {
  ScalarMath emit(node, dtype_of(node, x));
  return truncated(emit, x);
}

ir::Value* sign_bit_of(AtenNode& node, ir::Value* x) {
  ScalarMath emit(node, dtype_of(node, x));
  return emit.sign_bit(x, emit("Equal", {x, emit.number(0)}));
}

namespace {

// log2 / log10: log(x) / log(base), within 2 float32 ulps of PyTorch's; a power of the base
// gives its exponent exactly (log(8) / log(2) rounds to 3.0000002 in float32, and
// ceil(log2(n)) must not be 4), by keeping round(r) where base^round(r) is x.
AtenConverter log_base(double base) {
  return [base](AtenNode& node) {
    ir::Value* x = float_self(node);
    ScalarMath emit(node, dtype_of(node, x));
    ir::Value* scaled = emit("Mul", {emit("Log", {x}), emit.number(1.0 / std::log(base))});
    ir::Value* exponent = emit("Round", {scaled});
    ir::Value* power = emit("Equal", {emit("Pow", {emit.number(base), exponent}), x});
    node.set_output(0, emit("Where", {power, exponent, scaled}));
  };
}

// addcmul / addcdiv(self, tensor1, tensor2, value): self + value * (tensor1 * or / tensor2),
// in the three tensors' promoted dtype (ConvNeXt-V2's global response norm, optimizers' math).
AtenConverter add_scaled(const std::string& op) {
  return [op](AtenNode& node) {
    DType dtype = result_type(node, {"self", "tensor1", "tensor2"});
    ScalarMath emit(node, dtype);
    ir::Value* term = emit(op, {operand(node, "tensor1", dtype), operand(node, "tensor2", dtype)});
    double value = node.float_arg("value", 1.0);
    if (value != 1.0) term = emit("Mul", {term, emit.number(value)});
    node.set_output(0, emit("Add", {operand(node, "self", dtype), term}));
  };
}

}  // namespace

void add_pointwise_ops(AtenTable& table) {
  table["aten.addcmul.default"] = add_scaled("Mul");
  table["aten.addcdiv.default"] = add_scaled("Div");
  table["aten.floor.default"] = rounding("Floor");
  table["aten.ceil.default"] = rounding("Ceil");
  table["aten.round.default"] = rounding("Round");
  table["aten.trunc.default"] = rounding("Trunc");
  table["aten.round.decimals"] = convert_round_decimals;
  table["aten.sign.default"] = convert_sign;
  table["aten.sgn.default"] = convert_sign;  // complex tensors are refused before, so as sign
  table["aten.isnan.default"] = float_test("IsNaN");
  table["aten.isinf.default"] = float_test("IsInf");
  table["aten.div.Tensor_mode"] = convert_div_mode;
  table["aten.div.Scalar_mode"] = convert_div_mode;
  table["aten.floor_divide.default"] = convert_floor_divide;
  table["aten.floor_divide.Scalar"] = convert_floor_divide;
  table["aten.atan2.default"] = convert_atan2;
  table["aten.expm1.default"] = convert_expm1;
  table["aten.log1p.default"] = convert_log1p;
  table["aten.log2.default"] = log_base(2.0);
  table["aten.log10.default"] = log_base(10.0);
}

}  // namespace kiln::torch
