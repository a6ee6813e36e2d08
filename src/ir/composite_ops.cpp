// Ops written as several core ops, shared by the frontends (see composite_ops.h).
#include "ir/composite_ops.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace kiln::ir {
namespace {

Value* finish_or_add(CoreOpBuilder& b, bool finish, const std::string& op,
                     std::vector<Value*> inputs, CompositeAttrs attrs = {}) {
  return finish ? b.finish(op, std::move(inputs), std::move(attrs))
                : b.add(op, std::move(inputs), std::move(attrs));
}

// m where it is finite, else 0: shifting by it keeps exp() in range without turning rows of
// -inf (or +inf) into NaN.
Value* finite_or_zero(CoreOpBuilder& b, Value* m) {
  double infinity = std::numeric_limits<double>::infinity();
  Value* below = b.add("Less", {m, b.scalar(infinity, m->dtype)});
  Value* above = b.add("Greater", {m, b.scalar(-infinity, m->dtype)});
  return b.add("Where", {b.add("And", {below, above}), m, b.scalar(0.0, m->dtype)});
}

// |x| as Max(x, -x): the CUDA backend runs Abs only inside generated fusion kernels, Max
// and Neg everywhere.
Value* absolute(CoreOpBuilder& b, Value* x) { return b.add("Max", {x, b.add("Neg", {x})}); }

int64_t known_rank(const Value* x, const char* what) {
  check(x->shape.rank_known(), ErrorKind::Unsupported, what, " of '", x->name,
        "' needs its rank at import");
  return x->shape.rank();
}

int64_t normalized_axis(const Value* x, int64_t axis, const char* what) {
  int64_t rank = known_rank(x, what);
  int64_t normalized = axis < 0 ? axis + rank : axis;
  check(normalized >= 0 && normalized < rank, ErrorKind::InvalidModel, what, ": axis ", axis,
        " is out of range for rank ", rank, " of '", x->name, "'");
  return normalized;
}

}  // namespace

Value* CoreOpBuilder::scalar(double value, DType dtype) {
  return constant(Tensor::from_vector<double>({}, {value}).to(dtype));
}

Value* slice_range(CoreOpBuilder& b, Value* x, int64_t axis, int64_t from, int64_t to) {
  auto ints = [&](int64_t value) { return b.constant(Tensor::from_vector<int64_t>({1}, {value})); };
  return b.add("Slice", {x, ints(from), ints(to), ints(axis)});
}

Value* element_of(CoreOpBuilder& b, Value* x, int64_t index) {
  return b.add("Squeeze", {slice_range(b, x, 0, index, index + 1)},
               {{"axes", std::vector<int64_t>{0}}});
}

Value* less_or_equal(CoreOpBuilder& b, Value* a, Value* c) {
  return logical_or(b, b.add("Less", {a, c}), b.add("Equal", {a, c}));
}

Value* greater_or_equal(CoreOpBuilder& b, Value* a, Value* c) {
  return logical_or(b, b.add("Greater", {a, c}), b.add("Equal", {a, c}));
}

Value* logical_or(CoreOpBuilder& b, Value* a, Value* c, bool finish) {
  Value* neither = b.add("And", {b.add("Not", {a}), b.add("Not", {c})});
  return finish_or_add(b, finish, "Not", {neither});
}

Value* logical_xor(CoreOpBuilder& b, Value* a, Value* c) {
  return b.finish("Not", {b.add("Equal", {a, c})});
}

Value* sum_of(CoreOpBuilder& b, const std::vector<Value*>& inputs) {
  check(inputs.size() >= 2, ErrorKind::InvalidArgument, "sum_of needs two inputs or more");
  Value* total = inputs[0];
  for (size_t i = 1; i + 1 < inputs.size(); ++i) total = b.add("Add", {total, inputs[i]});
  return b.finish("Add", {total, inputs.back()});
}

Value* elu(CoreOpBuilder& b, Value* x, double alpha, double scale, double input_scale) {
  DType type = x->dtype;
  Value* scaled_x = input_scale == 1.0 ? x : b.add("Mul", {x, b.scalar(input_scale, type)});
  Value* expm1 = b.add("Sub", {b.add("Exp", {scaled_x}), b.scalar(1.0, type)});
  Value* negative = b.add("Mul", {expm1, b.scalar(alpha, type)});
  Value* positive = b.add("Greater", {x, b.scalar(0.0, type)});
  if (scale == 1.0) return b.finish("Where", {positive, x, negative});
  return b.finish("Mul", {b.add("Where", {positive, x, negative}), b.scalar(scale, type)});
}

Value* softplus(CoreOpBuilder& b, Value* x, double beta, double threshold, bool finish) {
  DType type = x->dtype;
  Value* scaled = beta == 1.0 ? x : b.add("Mul", {x, b.scalar(beta, type)});
  Value* tail = b.add("Exp", {b.add("Min", {scaled, b.add("Neg", {scaled})})});
  Value* log_term = b.add("Log", {b.add("Add", {tail, b.scalar(1.0, type)})});
  bool linear_region = !std::isinf(threshold);
  bool last = finish && !linear_region;
  Value* result = finish_or_add(b, last && beta == 1.0, "Add", {b.add("Relu", {scaled}), log_term});
  if (beta != 1.0) result = finish_or_add(b, last, "Div", {result, b.scalar(beta, type)});
  if (!linear_region) return result;
  Value* linear = b.add("Greater", {scaled, b.scalar(threshold, type)});
  return finish_or_add(b, finish, "Where", {linear, x, result});
}

Value* softsign(CoreOpBuilder& b, Value* x) {
  Value* denominator = b.add("Add", {absolute(b, x), b.scalar(1.0, x->dtype)});
  return b.finish("Div", {x, denominator});
}

Value* mish(CoreOpBuilder& b, Value* x) {
  Value* soft = softplus(b, x, 1.0, std::numeric_limits<double>::infinity(), false);
  return b.finish("Mul", {x, b.add("Tanh", {soft})});
}

Value* leaky_relu(CoreOpBuilder& b, Value* x, Value* slope) {
  Value* negative = b.add("Less", {x, b.scalar(0.0, x->dtype)});
  return b.finish("Where", {negative, b.add("Mul", {x, slope}), x});
}

Value* threshold(CoreOpBuilder& b, Value* x, double threshold, double value) {
  Value* above = b.add("Greater", {x, b.scalar(threshold, x->dtype)});
  return b.finish("Where", {above, x, b.scalar(value, x->dtype)});
}

Value* shrink(CoreOpBuilder& b, Value* x, double bias, double lambd) {
  DType type = x->dtype;
  Value* below = b.add("Less", {x, b.scalar(-lambd, type)});
  Value* above = b.add("Greater", {x, b.scalar(lambd, type)});
  Value* upper =
      b.add("Where", {above, b.add("Sub", {x, b.scalar(bias, type)}), b.scalar(0.0, type)});
  return b.finish("Where", {below, b.add("Add", {x, b.scalar(bias, type)}), upper});
}

Value* log_softmax(CoreOpBuilder& b, Value* x, int64_t axis) {
  axis = normalized_axis(x, axis, "log_softmax");
  CompositeAttrs keep = {{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t{1}}};
  Value* shift = finite_or_zero(b, b.add("ReduceMax", {x}, keep));
  Value* shifted = b.add("Sub", {x, shift});
  Value* log_sum = b.add("Log", {b.add("ReduceSum", {b.add("Exp", {shifted})}, keep)});
  return b.finish("Sub", {shifted, log_sum});
}

Value* reduce_log_sum_exp(CoreOpBuilder& b, Value* x, CompositeAttrs attrs) {
  CompositeAttrs kept = attrs;
  kept["keepdims"] = int64_t{1};
  Value* shift = finite_or_zero(b, b.add("ReduceMax", {x}, kept));
  Value* sum_exp = b.add("ReduceSum", {b.add("Exp", {b.add("Sub", {x, shift})})}, attrs);
  auto keepdims = attrs.find("keepdims");
  if (keepdims != attrs.end() && std::get<int64_t>(keepdims->second) == 0) {
    shift = finite_or_zero(b, b.add("ReduceMax", {x}, attrs));
  }
  return b.finish("Add", {b.add("Log", {sum_exp}), shift});
}

Value* reduce_l1(CoreOpBuilder& b, Value* x, CompositeAttrs attrs, bool finish) {
  return finish_or_add(b, finish, "ReduceSum", {absolute(b, x)}, std::move(attrs));
}

Value* reduce_l2(CoreOpBuilder& b, Value* x, CompositeAttrs attrs, bool finish) {
  Value* sum = b.add("ReduceSum", {b.add("Mul", {x, x})}, std::move(attrs));
  return finish_or_add(b, finish, "Sqrt", {sum});
}

Value* reduce_sum_square(CoreOpBuilder& b, Value* x, CompositeAttrs attrs) {
  return b.finish("ReduceSum", {b.add("Mul", {x, x})}, std::move(attrs));
}

Value* lp_normalize(CoreOpBuilder& b, Value* x, int64_t axis, int64_t p) {
  check(p == 1 || p == 2, ErrorKind::Unsupported, "Lp normalization of '", x->name, "' with p=", p,
        ": only p=1 and p=2 are supported");
  axis = normalized_axis(x, axis, "Lp normalization");
  CompositeAttrs keep = {{"axes", std::vector<int64_t>{axis}}, {"keepdims", int64_t{1}}};
  Value* norm = p == 1 ? reduce_l1(b, x, keep, false) : reduce_l2(b, x, keep, false);
  // A zero norm divides by 1 (ONNX's reference), so zero vectors stay zero.
  Value* zero = b.add("Equal", {norm, b.scalar(0.0, x->dtype)});
  Value* divisor = b.add("Where", {zero, b.scalar(1.0, x->dtype), norm});
  return b.finish("Div", {x, divisor});
}

// [n, 1, ..., 1] (`trailing` ones) holding 0..n-1: positions along an axis, to compare with
// indices that broadcast over the other dims.
Value* positions_along(CoreOpBuilder& b, int64_t n, int64_t trailing, DType dtype) {
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = double(i);
  Dims dims = {n};
  dims.insert(dims.end(), static_cast<size_t>(trailing), 1);
  return b.constant(Tensor::from_vector<double>(dims, values).to(dtype));
}

Value* hardmax(CoreOpBuilder& b, Value* x, int64_t axis) {
  axis = normalized_axis(x, axis, "Hardmax");
  int64_t rank = x->shape.rank();
  const Dim& dim = x->shape.dims()[static_cast<size_t>(axis)];
  check(dim.is_static(), ErrorKind::Unsupported, "Hardmax of '", x->name,
        "' needs the size of axis ", axis, " at import");
  Value* winner = b.add("ArgMax", {x}, {{"axis", axis}, {"keepdims", int64_t{1}}});
  Value* positions = positions_along(b, dim.value, rank - axis - 1, DType::Int64);
  Value* hit = b.add("Equal", {winner, positions});
  return b.finish("Cast", {hit}, {{"to", static_cast<int64_t>(x->dtype)}});
}

Value* one_hot(CoreOpBuilder& b, Value* indices, int64_t depth, Value* values, int64_t axis) {
  int64_t rank = known_rank(indices, "OneHot") + 1;
  if (axis < 0) axis += rank;
  check(axis >= 0 && axis < rank, ErrorKind::InvalidModel, "OneHot of '", indices->name,
        "': axis out of range for output rank ", rank);
  check(depth > 0, ErrorKind::InvalidModel, "OneHot of '", indices->name, "': depth ", depth,
        " is not positive");
  if (indices->dtype != DType::Int64) {
    indices = b.add("Cast", {indices}, {{"to", static_cast<int64_t>(DType::Int64)}});
  }
  DType type = DType::Int64;
  Value* negative = b.add("Less", {indices, b.scalar(0.0, type)});
  Value* wrapped =
      b.add("Where", {negative, b.add("Add", {indices, b.scalar(double(depth), type)}), indices});
  Value* expanded = b.add("Unsqueeze", {wrapped}, {{"axes", std::vector<int64_t>{axis}}});
  Value* hit = b.add("Equal", {expanded, positions_along(b, depth, rank - axis - 1, type)});
  Value* off = b.add("Gather", {values, b.constant(Tensor::scalar<int64_t>(0))});
  Value* on = b.add("Gather", {values, b.constant(Tensor::scalar<int64_t>(1))});
  return b.finish("Where", {hit, on, off});
}

}  // namespace kiln::ir
