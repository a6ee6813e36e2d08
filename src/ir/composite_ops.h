// Ops that frontends write as several core ops (LogSoftmax, LessOrEqual, Elu, ...), shared by
// the ONNX and ATen frontends so both expand them the same way, into ops every backend has.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

using CompositeAttrs = std::map<std::string, AttrValue>;

// Where a composite puts its nodes: each frontend adds them under the node being imported.
class CoreOpBuilder {
 public:
  virtual ~CoreOpBuilder() = default;
  // An intermediate node; returns its one output (types inferred).
  virtual Value* add(const std::string& op, std::vector<Value*> inputs,
                     CompositeAttrs attrs = {}) = 0;
  // The node whose output is the composite's result (the ONNX frontend gives it the
  // model's output name). Defaults to `add`.
  virtual Value* finish(const std::string& op, std::vector<Value*> inputs,
                        CompositeAttrs attrs = {}) {
    return add(op, std::move(inputs), std::move(attrs));
  }
  virtual Value* constant(Tensor tensor) = 0;
  // A 0-D constant of `dtype`.
  Value* scalar(double value, DType dtype);
};

// x[from:to] along `axis` (step 1): a Slice with constant bounds.
Value* slice_range(CoreOpBuilder& b, Value* x, int64_t axis, int64_t from, int64_t to);
// x[index] along axis 0, without that axis.
Value* element_of(CoreOpBuilder& b, Value* x, int64_t index);

// Comparisons false for NaN, as IEEE and ONNX define them: Or(Less, Equal), not Not(Greater).
Value* less_or_equal(CoreOpBuilder& b, Value* a, Value* c);
Value* greater_or_equal(CoreOpBuilder& b, Value* a, Value* c);
// Bool logic: Kiln's core ops have And and Not only.
Value* logical_or(CoreOpBuilder& b, Value* a, Value* c, bool finish = true);
Value* logical_xor(CoreOpBuilder& b, Value* a, Value* c);
// Variadic numpy-broadcasting sum (at least two inputs).
Value* sum_of(CoreOpBuilder& b, const std::vector<Value*>& inputs);

// Activations. elu: scale * (x > 0 ? x : alpha * (exp(x * input_scale) - 1)); Selu and Celu
// are forms of it.
Value* elu(CoreOpBuilder& b, Value* x, double alpha, double scale = 1.0, double input_scale = 1.0);
// (1/beta) log(1 + exp(beta x)) computed as max(x,0) + log(1 + exp(-|x|)) (no overflow);
// x where beta x > threshold (PyTorch's linear region; infinity: never).
Value* softplus(CoreOpBuilder& b, Value* x, double beta, double threshold, bool finish = true);
Value* softsign(CoreOpBuilder& b, Value* x);
Value* mish(CoreOpBuilder& b, Value* x);
// x < 0 ? slope * x : x (slope broadcasts).
Value* leaky_relu(CoreOpBuilder& b, Value* x, Value* slope);
// x > threshold ? x : value.
Value* threshold(CoreOpBuilder& b, Value* x, double threshold, double value);
// x < -lambd ? x + bias : x > lambd ? x - bias : 0.
Value* shrink(CoreOpBuilder& b, Value* x, double bias, double lambd);

// Softmax-like, numerically stable: x - m - log(sum(exp(x - m))) with m the axis's maximum
// (taken as 0 where it is not finite, so rows of -inf give -inf, not NaN).
Value* log_softmax(CoreOpBuilder& b, Value* x, int64_t axis);
// ReduceSum of |x| (p=1), sqrt of ReduceSum of x² (p=2), ReduceSum of x²; `attrs` are the
// ReduceSum attributes (axes, keepdims, noop_with_empty_axes).
Value* reduce_l1(CoreOpBuilder& b, Value* x, CompositeAttrs attrs, bool finish = true);
Value* reduce_l2(CoreOpBuilder& b, Value* x, CompositeAttrs attrs, bool finish = true);
Value* reduce_sum_square(CoreOpBuilder& b, Value* x, CompositeAttrs attrs);
// max + log(sum(exp(x - max))), the max taken as 0 where it is not finite.
Value* reduce_log_sum_exp(CoreOpBuilder& b, Value* x, CompositeAttrs attrs);
// x / ||x||_p along `axis` (p 1 or 2); a zero norm divides by 1, as ONNX's reference.
Value* lp_normalize(CoreOpBuilder& b, Value* x, int64_t axis, int64_t p);
// One-hot of argmax along `axis` (first index on ties), in x's dtype; the axis's size must be
// known at import.
Value* hardmax(CoreOpBuilder& b, Value* x, int64_t axis);
// ONNX OneHot: `values`[1] where the (wrapped) index equals the position along the new axis
// `axis` (in the output's rank), else `values`[0]; indices outside [-depth, depth) give
// all off. `depth` is a known constant.
Value* one_hot(CoreOpBuilder& b, Value* indices, int64_t depth, Value* values, int64_t axis);

}  // namespace kiln::ir
