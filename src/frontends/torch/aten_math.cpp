// Elementwise ATen ops: arithmetic with PyTorch's type promotion, comparisons, logic, where,
// clamps and the activations that are one or two core ops each.
#include <cmath>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

using Attrs = std::map<std::string, ir::AttrValue>;

// add, sub, mul, div in their Tensor and Scalar forms; `alpha` scales `other` (add, sub).
AtenConverter arithmetic(std::string op, bool true_division = false) {
  return [op, true_division](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    if (true_division && !is_floating(type)) type = DType::Float32;  // int / int is float
    ir::Value* left = operand(node, "self", type);
    ir::Value* right = operand(node, "other", type);
    if (type == DType::Bool && (op == "Mul" || op == "Add")) {
      // bool * bool is and, bool + bool is or (PyTorch's core decompositions write both).
      if (op == "Mul") return node.set_output(0, node.add("And", {left, right}));
      ir::Value* neither = node.add("And", {node.add("Not", {left}), node.add("Not", {right})});
      return node.set_output(0, node.add("Not", {neither}));
    }
    double alpha = node.float_arg("alpha", 1.0);
    if (alpha != 1.0) right = node.add("Mul", {right, scalar_constant(node, alpha, type)});
    node.set_output(0, node.add(op, {left, right}));
  };
}

// remainder (Python's %: the result takes the divisor's sign) and fmod (C's: the dividend's).
AtenConverter modulo(bool c_style) {
  return [c_style](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    node.set_output(0, node.add("Mod", {operand(node, "self", type), operand(node, "other", type)},
                                {{"fmod", int64_t{c_style}}}));
  };
}

// rsub(self, other, alpha) = other - alpha * self.
void convert_rsub(AtenNode& node) {
  DType type = result_type(node, {"self", "other"});
  ir::Value* self = operand(node, "self", type);
  double alpha = node.float_arg("alpha", 1.0);
  if (alpha != 1.0) self = node.add("Mul", {self, scalar_constant(node, alpha, type)});
  node.set_output(0, node.add("Sub", {operand(node, "other", type), self}));
}

void convert_pow(AtenNode& node) {
  DType type = result_type(node, {"self", "exponent"});
  node.set_output(0,
                  node.add("Pow", {operand(node, "self", type), operand(node, "exponent", type)}));
}

// eq, lt, gt directly; ne as the negation of eq (le and ge: aten_composite.cpp).
AtenConverter comparison(std::string op, bool negate) {
  return [op, negate](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    ir::Value* result = node.add(op, {operand(node, "self", type), operand(node, "other", type)});
    if (negate) result = node.add("Not", {result});
    node.set_output(0, result);
  };
}

// and/or on bool tensors (logical_* accept any dtype: nonzero is true).
AtenConverter logical(bool is_or, bool any_dtype) {
  return [is_or, any_dtype](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    if (type != DType::Bool && !any_dtype) {
      node.unsupported("bitwise operations on ", dtype_name(type), " (only bool is supported)");
    }
    ir::Value* left = operand(node, "self", DType::Bool);
    ir::Value* right = operand(node, "other", DType::Bool);
    if (!is_or) return node.set_output(0, node.add("And", {left, right}));
    // a or b = not (not a and not b): Kiln has no Or op.
    ir::Value* neither = node.add("And", {node.add("Not", {left}), node.add("Not", {right})});
    node.set_output(0, node.add("Not", {neither}));
  };
}

void convert_logical_not(AtenNode& node) {
  node.set_output(0, node.add("Not", {cast_to(node, node.tensor("self"), DType::Bool)}));
}

void convert_bitwise_not(AtenNode& node) {
  if (dtype_of(node, node.tensor("self")) != DType::Bool) {
    node.unsupported("bitwise_not on ", dtype_name(node.tensor("self")->dtype),
                     " (only bool is supported)");
  }
  convert_logical_not(node);
}

void convert_where(AtenNode& node) {
  DType type = result_type(node, {"self", "other"});
  ir::Value* condition = cast_to(node, node.tensor("condition"), DType::Bool);
  node.set_output(
      0, node.add("Where", {condition, operand(node, "self", type), operand(node, "other", type)}));
}

// masked_fill(self, mask, value): where(mask, value, self), in self's dtype.
void convert_masked_fill(AtenNode& node) {
  ir::Value* self = node.tensor("self");
  ir::Value* value = operand(node, "value", dtype_of(node, self));
  ir::Value* mask = cast_to(node, node.tensor("mask"), DType::Bool);
  node.set_output(0, node.add("Where", {mask, value, self}));
}

// maximum / minimum and max.other / min.other: Max / Min of both in PyTorch's promoted dtype
// (NaN wins, as in PyTorch); on bool the maximum is or, the minimum and.
AtenConverter extremum(std::string op) {
  return [op](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    ir::Value* left = operand(node, "self", type);
    ir::Value* right = operand(node, "other", type);
    if (type != DType::Bool) return node.set_output(0, node.add(op, {left, right}));
    if (op == "Min") return node.set_output(0, node.add("And", {left, right}));
    ir::Value* neither = node.add("And", {node.add("Not", {left}), node.add("Not", {right})});
    node.set_output(0, node.add("Not", {neither}));
  };
}

// Ops of one core op on `self`; `float_only` ops compute integers in float32, as PyTorch.
AtenConverter unary(std::string op, bool float_only, Attrs attrs = {}) {
  return [op, float_only, attrs](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    if (float_only && !is_floating(dtype_of(node, x))) x = cast_to(node, x, DType::Float32);
    node.set_output(0, node.add(op, {x}, attrs));
  };
}

void convert_rsqrt(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (!is_floating(dtype_of(node, x))) x = cast_to(node, x, DType::Float32);
  node.set_output(0, node.add("Reciprocal", {node.add("Sqrt", {x})}));
}

// square(self) = self * self (integers stay integers; bool becomes int64, as in PyTorch).
void convert_square(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (dtype_of(node, x) == DType::Bool) x = cast_to(node, x, DType::Int64);
  node.set_output(0, node.add("Mul", {x, x}));
}

void convert_silu(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  node.set_output(0, node.add("Mul", {x, node.add("Sigmoid", {x})}));
}

void convert_gelu(AtenNode& node) {
  std::string approximate = node.string_arg("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    node.invalid("gelu approximate='", approximate, "' (expected 'none' or 'tanh')");
  }
  node.set_output(0, node.add("Gelu", {node.tensor("self")}, {{"approximate", approximate}}));
}

// Clip with bounds named `low` and `high` (numbers or tensors; either may be None).
AtenConverter clip(std::string low, std::string high, std::optional<double> low_default = {},
                   std::optional<double> high_default = {}) {
  return [low, high, low_default, high_default](AtenNode& node) {
    DType type = result_type(node, {"self", low, high});
    auto bound = [&](const std::string& name, std::optional<double> fallback) -> ir::Value* {
      if (node.has(name)) return operand(node, name, type);
      return fallback ? scalar_constant(node, *fallback, type) : nullptr;
    };
    ir::Value* min = bound(low, low_default);
    ir::Value* max = bound(high, high_default);
    bool scalars = true;
    for (const ir::Value* limit : {min, max}) {
      scalars = scalars && (limit == nullptr || (limit->shape.is_static() &&
                                                 element_count(limit->shape.static_dims()) == 1));
    }
    ir::Value* x = operand(node, "self", type);
    if (scalars) return node.set_output(0, node.add("Clip", {x, min, max}));
    // Bounds per element broadcast: max(x, min), then min(., max), as torch.clamp does.
    if (min) x = node.add("Max", {x, min});
    if (max) x = node.add("Min", {x, max});
    node.set_output(0, x);
  };
}

}  // namespace

void add_math_ops(AtenTable& table) {
  for (const char* overload : {"Tensor", "Scalar"}) {
    std::string suffix = std::string(".") + overload;
    table["aten.add" + suffix] = arithmetic("Add");
    table["aten.sub" + suffix] = arithmetic("Sub");
    table["aten.mul" + suffix] = arithmetic("Mul");
    table["aten.div" + suffix] = arithmetic("Div", true);
    table["aten.rsub" + suffix] = convert_rsub;
    table["aten.remainder" + suffix] = modulo(false);
    table["aten.fmod" + suffix] = modulo(true);
    table["aten.eq" + suffix] = comparison("Equal", false);
    table["aten.ne" + suffix] = comparison("Equal", true);
    table["aten.lt" + suffix] = comparison("Less", false);
    table["aten.gt" + suffix] = comparison("Greater", false);
    table["aten.bitwise_and" + suffix] = logical(false, false);
    table["aten.bitwise_or" + suffix] = logical(true, false);
    table["aten.__and__" + suffix] = logical(false, false);
    table["aten.__or__" + suffix] = logical(true, false);
    table["aten.masked_fill" + suffix] = convert_masked_fill;
  }
  table["aten.pow.Tensor_Scalar"] = convert_pow;
  table["aten.pow.Tensor_Tensor"] = convert_pow;
  table["aten.pow.Scalar"] = convert_pow;
  table["aten.logical_and.default"] = logical(false, true);
  table["aten.logical_or.default"] = logical(true, true);
  table["aten.logical_not.default"] = convert_logical_not;
  table["aten.bitwise_not.default"] = convert_bitwise_not;
  table["aten.where.self"] = convert_where;
  table["aten.where.ScalarSelf"] = convert_where;
  table["aten.where.ScalarOther"] = convert_where;
  table["aten.where.Scalar"] = convert_where;
  table["aten.maximum.default"] = extremum("Max");
  table["aten.minimum.default"] = extremum("Min");
  table["aten.max.other"] = extremum("Max");
  table["aten.min.other"] = extremum("Min");

  table["aten.relu.default"] = unary("Relu", false);
  table["aten.neg.default"] = unary("Neg", false);
  table["aten.abs.default"] = unary("Abs", false);
  for (const auto& [name, op] : std::map<std::string, std::string>{{"tanh", "Tanh"},
                                                                   {"sigmoid", "Sigmoid"},
                                                                   {"exp", "Exp"},
                                                                   {"log", "Log"},
                                                                   {"sqrt", "Sqrt"},
                                                                   {"erf", "Erf"},
                                                                   {"reciprocal", "Reciprocal"},
                                                                   {"sin", "Sin"},
                                                                   {"cos", "Cos"},
                                                                   {"tan", "Tan"},
                                                                   {"asin", "Asin"},
                                                                   {"acos", "Acos"},
                                                                   {"atan", "Atan"},
                                                                   {"sinh", "Sinh"},
                                                                   {"cosh", "Cosh"},
                                                                   {"asinh", "Asinh"},
                                                                   {"acosh", "Acosh"},
                                                                   {"atanh", "Atanh"},
                                                                   {"hardswish", "HardSwish"}}) {
    table["aten." + name + ".default"] = unary(op, true);
  }
  table["aten.hardsigmoid.default"] =
      unary("HardSigmoid", true, {{"alpha", 1.0 / 6.0}, {"beta", 0.5}});
  table["aten.rsqrt.default"] = convert_rsqrt;
  table["aten.square.default"] = convert_square;
  table["aten.silu.default"] = convert_silu;
  table["aten.gelu.default"] = convert_gelu;
  table["aten.clamp.default"] = clip("min", "max");
  table["aten.clamp.Tensor"] = clip("min", "max");
  table["aten.clip.default"] = clip("min", "max");
  table["aten.clip.Tensor"] = clip("min", "max");
  table["aten.clamp_min.default"] = clip("min", "");
  table["aten.clamp_max.default"] = clip("", "max");
  table["aten.hardtanh.default"] = clip("min_val", "max_val", -1.0, 1.0);
}

}  // namespace kiln::torch
