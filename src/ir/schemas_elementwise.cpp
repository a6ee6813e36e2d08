// Schemas of the elementwise ops: unary math, binary arithmetic, Max/Min, comparisons,
// logic, IsNaN/IsInf, Where, Clip, Cast, CumSum and CumProd. Outputs broadcast their inputs (numpy
// rules).
#include "core/error.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

// Relu, Neg, Abs and Sign also run on integers; the rest of the unary math needs floats.
void infer_unary_numeric(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  set_output(node, 0, x.dtype, x.shape);
}

void infer_unary_float(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  set_output(node, 0, x.dtype, x.shape);
}

void infer_clip(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  for (size_t bound = 1; bound <= 2; ++bound) {
    const Value* limit = node.input(bound);
    if (limit == nullptr) continue;
    require_same_dtype(node, x, *limit);
    check(!limit->shape.is_static() || element_count(limit->shape.static_dims()) == 1,
          ErrorKind::InvalidModel, node.describe(), ": bound '", limit->name,
          "' must be a scalar, got shape ", limit->shape.to_string());
  }
  set_output(node, 0, x.dtype, x.shape);
}

void infer_arithmetic(Node& node) {
  const Value& a = required_input(node, 0);
  const Value& b = required_input(node, 1);
  require_same_dtype(node, a, b);
  require_numeric(node, a);
  set_output(node, 0, a.dtype, broadcast_shapes(a.shape, b.shape, node));
}

// Mod: fmod=0 gives the divisor's sign (Python's %, floored), fmod=1 the dividend's (C's).
void infer_mod(Node& node) {
  int64_t fmod = node.attr_int("fmod", 0);
  check(fmod == 0 || fmod == 1, ErrorKind::InvalidModel, node.describe(),
        ": fmod must be 0 or 1, got ", fmod);
  infer_arithmetic(node);
}

// Pow's exponent may have another numeric type; the result has the base's type.
void infer_pow(Node& node) {
  const Value& base = required_input(node, 0);
  const Value& exponent = required_input(node, 1);
  require_numeric(node, base);
  require_numeric(node, exponent);
  set_output(node, 0, base.dtype, broadcast_shapes(base.shape, exponent.shape, node));
}

// Max and Min take any number of inputs of one dtype and broadcast them all.
void infer_variadic_extremum(Node& node) {
  const Value& first = required_input(node, 0);
  require_numeric(node, first);
  Shape shape = first.shape;
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    const Value& other = required_input(node, i);
    require_same_dtype(node, first, other);
    shape = broadcast_shapes(shape, other.shape, node);
  }
  set_output(node, 0, first.dtype, std::move(shape));
}

// IsNaN and IsInf: a float input, a bool output of its shape.
void infer_float_test(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  set_output(node, 0, DType::Bool, x.shape);
}

void infer_scan(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  check(node.has_attr("axis"), ErrorKind::InvalidModel, node.describe(),
        ": attribute axis is required");
  if (x.shape.rank_known())
    normalize_axis(node.attr_int("axis", 0), x.shape.rank(), node.describe());
  set_output(node, 0, x.dtype, x.shape);
}

void infer_comparison(Node& node) {
  const Value& a = required_input(node, 0);
  const Value& b = required_input(node, 1);
  require_same_dtype(node, a, b);
  set_output(node, 0, DType::Bool, broadcast_shapes(a.shape, b.shape, node));
}

void infer_and(Node& node) {
  const Value& a = required_input(node, 0);
  const Value& b = required_input(node, 1);
  require_dtype(node, a, DType::Bool);
  require_dtype(node, b, DType::Bool);
  set_output(node, 0, DType::Bool, broadcast_shapes(a.shape, b.shape, node));
}

void infer_not(Node& node) {
  const Value& x = required_input(node, 0);
  require_dtype(node, x, DType::Bool);
  set_output(node, 0, DType::Bool, x.shape);
}

void infer_where(Node& node) {
  const Value& condition = required_input(node, 0);
  const Value& x = required_input(node, 1);
  const Value& y = required_input(node, 2);
  require_dtype(node, condition, DType::Bool);
  require_same_dtype(node, x, y);
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape, x.shape, node), y.shape, node);
  set_output(node, 0, x.dtype, std::move(shape));
}

void infer_cast(Node& node) {
  const Value& x = required_input(node, 0);
  check(node.has_attr("to"), ErrorKind::InvalidModel, node.describe(),
        ": attribute 'to' (the target dtype) is missing");
  int64_t code = node.attr_int("to", 0);
  check(code > static_cast<int64_t>(DType::Undefined) && code <= static_cast<int64_t>(DType::Bool),
        ErrorKind::InvalidModel, node.describe(), ": attribute 'to' = ", code,
        " is not a Kiln dtype code");
  set_output(node, 0, static_cast<DType>(code), x.shape);
}

}  // namespace

void add_elementwise_schemas(std::vector<OpSchema>& table) {
  for (const char* op : {"Relu", "Neg", "Abs", "Sign"})
    table.push_back({op, 1, 1, 1, 1, true, infer_unary_numeric});
  for (const char* op :
       {"Erf",  "Tanh",        "Sigmoid", "Exp",   "Log",   "Sqrt",  "Reciprocal", "HardSwish",
        "Gelu", "HardSigmoid", "Sin",     "Cos",   "Tan",   "Asin",  "Acos",       "Atan",
        "Sinh", "Cosh",        "Asinh",   "Acosh", "Atanh", "Floor", "Ceil",       "Round"}) {
    table.push_back({op, 1, 1, 1, 1, true, infer_unary_float});
  }
  table.push_back({"Clip", 1, 3, 1, 1, true, infer_clip});
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    table.push_back({op, 2, 2, 1, 1, true, infer_arithmetic});
  }
  table.push_back({"Pow", 2, 2, 1, 1, true, infer_pow});
  table.push_back({"Mod", 2, 2, 1, 1, true, infer_mod});
  for (const char* op : {"Max", "Min"}) {
    table.push_back({op, 1, -1, 1, 1, true, infer_variadic_extremum});
  }
  table.push_back({"CumSum", 1, 1, 1, 1, true, infer_scan});
  table.push_back({"CumProd", 1, 1, 1, 1, true, infer_scan});
  table.push_back({"IsNaN", 1, 1, 1, 1, false, infer_float_test});
  table.push_back({"IsInf", 1, 1, 1, 1, false, infer_float_test});
  for (const char* op : {"Equal", "Less", "Greater"}) {
    table.push_back({op, 2, 2, 1, 1, false, infer_comparison});
  }
  table.push_back({"And", 2, 2, 1, 1, false, infer_and});
  table.push_back({"Not", 1, 1, 1, 1, false, infer_not});
  table.push_back({"Where", 3, 3, 1, 1, false, infer_where});
  table.push_back({"Cast", 1, 1, 1, 1, false, infer_cast});
}

}  // namespace kiln::ir
