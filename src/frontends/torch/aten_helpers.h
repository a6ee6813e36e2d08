// Building blocks the ATen converters share: PyTorch's type promotion, scalar constants,
// axis handling, and shapes that mix fixed and run-time sizes.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontends/torch/aten_node.h"
#include "ir/composite_ops.h"

namespace kiln::torch {

// ---- dtypes ----
// The dtype of a value whose dtype inference has set it; Unsupported otherwise.
DType dtype_of(AtenNode& node, const ir::Value* value);
// PyTorch's result type for an op over the named arguments (tensors and numbers): the
// highest category (bool < integer < float) wins; within it, tensors with dims beat 0-D
// tensors, which beat Python numbers (a float number alone gives float32).
DType result_type(AtenNode& node, const std::vector<std::string_view>& names);
// Two tensors' common dtype under PyTorch's rules (both with dims).
DType promote_types(DType a, DType b);
// `value` converted to `dtype` (no node when it already has it).
ir::Value* cast_to(AtenNode& node, ir::Value* value, DType dtype);
// The argument `name` (tensor or number) as a value of `dtype`.
ir::Value* operand(AtenNode& node, std::string_view name, DType dtype);
// A 0-D constant of `dtype` holding `number`.
ir::Value* scalar_constant(AtenNode& node, double number, DType dtype);
ir::Value* int64_constant(AtenNode& node, std::vector<int64_t> values);  // 1-D

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();
inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Constants a converter builds itself (fills, aranges, default norm weights) stay this
// small; larger ones are computed at run time or refused.
inline constexpr int64_t kMaxFoldedElements = int64_t{1} << 20;
// The element count of `dims`; InvalidModel for negative sizes or overflow.
int64_t folded_count(AtenNode& node, const Dims& dims);

// The length of the node's one tensor-list output, which the model states by naming each
// element (split, unbind, meshgrid); InvalidModel for another kind of output.
size_t list_length(AtenNode& node);

// ---- axes ----
int64_t rank_of(AtenNode& node, const ir::Value* value);  // Unsupported if unknown
int64_t normalize_dim(AtenNode& node, int64_t dim, int64_t rank);
// The argument "dim" (an int, a list, or None) normalized against x's rank; empty means every
// axis, as both PyTorch and ONNX reductions read it.
std::vector<int64_t> reduced_axes(AtenNode& node, ir::Value* x);

// A per-dim list (stride, padding, output_size, ...) given once or per spatial dim.
std::vector<int64_t> per_spatial_dim(AtenNode& node, std::vector<int64_t> values, size_t spatial,
                                     std::string_view what);

// ---- sizes ----
// Each dim of `value`: fixed sizes as they are, symbolic ones read at run time (Shape).
std::vector<SymInt> sizes_of(AtenNode& node, ir::Value* value);
// A size as an int64 tensor of shape [1] (constant when fixed).
ir::Value* size_tensor(AtenNode& node, const SymInt& size);
// A 0-D int64 tensor holding the size (for Range).
ir::Value* size_scalar(AtenNode& node, const SymInt& size);
// A 1-D int64 shape tensor: a constant when all sizes are fixed, else a Concat.
ir::Value* shape_tensor(AtenNode& node, const std::vector<SymInt>& sizes);
// x[from:to] along `axis` (step 1; bounds as Slice takes them, negative from the end).
ir::Value* slice_axis(AtenNode& node, ir::Value* x, int64_t axis, int64_t from, int64_t to);
// input @ weight^T + bias (bias may be null), as aten.linear: a Gemm for a 2-D input, else a
// Transpose of the 2-D weight, a MatMul and an Add.
ir::Value* linear(AtenNode& node, ir::Value* input, ir::Value* weight, ir::Value* bias);
// Reshape to torch-style sizes (one -1 allowed). Sizes equal to the input's symbolic dim at
// the same position become 0 (copy), and one other run-time size becomes -1, so most
// dynamic reshapes keep a constant shape.
ir::Value* reshape_to(AtenNode& node, ir::Value* input, std::vector<SymInt> sizes);

// x with new unit dims at `axes` (in the result's rank) / without its unit dims `axes`.
inline ir::Value* unsqueezed(AtenNode& node, ir::Value* x, std::vector<int64_t> axes) {
  return node.add("Unsqueeze", {x}, {{"axes", std::move(axes)}});
}
inline ir::Value* squeezed(AtenNode& node, ir::Value* x, std::vector<int64_t> axes) {
  return node.add("Squeeze", {x}, {{"axes", std::move(axes)}});
}
// x reversed along each of `axes` (normalized; none: x itself; aten_shape.cpp).
ir::Value* flipped(AtenNode& node, ir::Value* x, const std::vector<int64_t>& axes);
// x repeated along each dim as torch's repeat (repeats may add leading dims; aten_shape.cpp).
ir::Value* repeated(AtenNode& node, ir::Value* x, const std::vector<int64_t>& repeats);

// The p-norm of x over `axes` (empty: all) for any p, inf and 0 included (aten_matrix.cpp).
ir::Value* vector_norm_of(AtenNode& node, ir::Value* x, double p, const std::vector<int64_t>& axes,
                          bool keepdims);

// ---- float math (aten_pointwise.cpp) ----
// x, with integers and bools as float32 (PyTorch's result type for float math).
ir::Value* as_float(AtenNode& node, ir::Value* x);
// ReduceX attributes: `axes` (empty: all) and keepdims.
inline ir::CompositeAttrs reduction_attrs(std::vector<int64_t> axes, bool keepdims) {
  return {{"axes", std::move(axes)}, {"keepdims", int64_t{keepdims ? 1 : 0}}};
}
// log(1 + x) without cancellation near 0; x is floating.
ir::Value* log1p_of(AtenNode& node, ir::Value* x);
// x rounded toward zero (-0 and NaN kept); x is floating.
ir::Value* trunc_of(AtenNode& node, ir::Value* x);
// Whether x is negative, -0 included (NaN is not): PyTorch's signbit; x is floating.
ir::Value* sign_bit_of(AtenNode& node, ir::Value* x);

// Adds core ops under an ATen call whose numbers share one dtype: the emitter of the
// elementwise composites (aten_pointwise, aten_special_math, aten_special_functions).
class ScalarMath {
 public:
  ScalarMath(AtenNode& node, DType type) : node_(node), type_(type) {}
  ir::Value* operator()(const std::string& op, std::vector<ir::Value*> inputs,
                        std::map<std::string, ir::AttrValue> attrs = {}) {
    return node_.add(op, std::move(inputs), std::move(attrs));
  }
  ir::Value* number(double value) { return scalar_constant(node_, value, type_); }
  DType type() const { return type_; }
  ir::Value* add(ir::Value* a, ir::Value* b) { return (*this)("Add", {a, b}); }
  ir::Value* mul(ir::Value* a, ir::Value* b) { return (*this)("Mul", {a, b}); }
  ir::Value* div(ir::Value* a, ir::Value* b) { return (*this)("Div", {a, b}); }
  ir::Value* where(ir::Value* c, ir::Value* a, ir::Value* b) { return (*this)("Where", {c, a, b}); }
  // c[0] + c[1] t + c[2] t² + ... by Horner's rule.
  ir::Value* polynomial(ir::Value* t, const std::vector<double>& c) {
    ir::Value* sum = number(c.back());
    for (size_t i = c.size() - 1; i-- > 0;) sum = add(number(c[i]), mul(t, sum));
    return sum;
  }
  // Whether v is negative, -0 included (as signbit; NaN is not): 1/v carries a zero's sign.
  // `is_zero` is v == 0.
  ir::Value* sign_bit(ir::Value* v, ir::Value* is_zero) {
    ir::Value* negative_zero = (*this)("Less", {(*this)("Reciprocal", {v}), number(0)});
    return where(is_zero, negative_zero, (*this)("Less", {v, number(0)}));
  }

 private:
  AtenNode& node_;
  DType type_;
};

// Where the shared composites of ir/ (composite_ops.h, recurrent.h) put their nodes: under the
// ATen call being converted.
class AtenOpBuilder final : public ir::CoreOpBuilder {
 public:
  explicit AtenOpBuilder(AtenNode& node) : node_(node) {}
  ir::Value* add(const std::string& op, std::vector<ir::Value*> inputs,
                 ir::CompositeAttrs attrs) override {
    return node_.add(op, std::move(inputs), std::move(attrs));
  }
  ir::Value* constant(Tensor tensor) override { return node_.constant(std::move(tensor)); }

 private:
  AtenNode& node_;
};

}  // namespace kiln::torch
