// ATen ops written as several core ops through ir/composite_ops.h, as the ONNX frontend writes
// them: le/ge (false for NaN), xor, log_softmax and logsumexp (numerically stable), the
// elu family, softplus, mish, shrinks, threshold, vector norms, one_hot and einsum.
#include <cmath>
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/composite_ops.h"
#include "ir/einsum.h"

namespace kiln::torch {
namespace {

using Comparison = ir::Value* (*)(ir::CoreOpBuilder&, ir::Value*, ir::Value*);

// le / ge in their Tensor and Scalar forms, operands promoted as PyTorch does.
AtenConverter or_equal(Comparison compare) {
  return [compare](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    AtenOpBuilder builder(node);
    node.set_output(0, compare(builder, operand(node, "self", type), operand(node, "other", type)));
  };
}

// logical_xor takes any dtype (nonzero is true); bitwise_xor only bools here.
AtenConverter exclusive_or(bool any_dtype) {
  return [any_dtype](AtenNode& node) {
    DType type = result_type(node, {"self", "other"});
    if (type != DType::Bool && !any_dtype) {
      node.unsupported("bitwise_xor on ", dtype_name(type), " (only bool is supported)");
    }
    AtenOpBuilder builder(node);
    node.set_output(0, ir::logical_xor(builder, operand(node, "self", DType::Bool),
                                       operand(node, "other", DType::Bool)));
  };
}

// log_softmax / _log_softmax (self, dim, dtype | half_to_float).
void convert_log_softmax(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (auto dtype = node.scalar_type("dtype")) x = cast_to(node, x, *dtype);
  if (node.bool_arg("half_to_float", false)) x = cast_to(node, x, DType::Float32);
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  AtenOpBuilder builder(node);
  node.set_output(0, ir::log_softmax(builder, x, axis));
}

// The normalized `dim` list (None or []: every axis) with keepdim, as ReduceSum attributes.
ir::CompositeAttrs reduce_attrs(AtenNode& node, ir::Value* x) {
  std::vector<int64_t> axes = node.ints("dim", {});
  int64_t rank = rank_of(node, x);
  for (int64_t& axis : axes) axis = normalize_dim(node, axis, rank);
  return {{"axes", axes}, {"keepdims", int64_t{node.bool_arg("keepdim", false) ? 1 : 0}}};
}

void convert_logsumexp(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (!is_floating(dtype_of(node, x))) x = cast_to(node, x, DType::Float32);
  AtenOpBuilder builder(node);
  node.set_output(0, ir::reduce_log_sum_exp(builder, x, reduce_attrs(node, x)));
}

// linalg_vector_norm (self, ord=2, dim, keepdim, dtype) and norm (self, p, dim, keepdim): any
// p-norm (vector_norm_of).
AtenConverter vector_norm(const char* order_name) {
  return [order_name](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    if (auto dtype = node.scalar_type("dtype")) x = cast_to(node, x, *dtype);
    if (!is_floating(dtype_of(node, x))) x = cast_to(node, x, DType::Float32);
    node.set_output(0, vector_norm_of(node, x, node.float_arg(order_name, 2.0),
                                      reduced_axes(node, x), node.bool_arg("keepdim", false)));
  };
}

void convert_elu(AtenNode& node) {
  AtenOpBuilder builder(node);
  node.set_output(0, ir::elu(builder, node.tensor("self"), node.float_arg("alpha", 1.0),
                             node.float_arg("scale", 1.0), node.float_arg("input_scale", 1.0)));
}

void convert_celu(AtenNode& node) {
  double alpha = node.float_arg("alpha", 1.0);
  AtenOpBuilder builder(node);
  node.set_output(0, ir::elu(builder, node.tensor("self"), alpha, 1.0, 1.0 / alpha));
}

void convert_selu(AtenNode& node) {
  AtenOpBuilder builder(node);
  node.set_output(0, ir::elu(builder, node.tensor("self"), 1.6732632423543772848170429916717,
                             1.0507009873554804934193349852946));
}

void convert_leaky_relu(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  AtenOpBuilder builder(node);
  ir::Value* slope = builder.scalar(node.float_arg("negative_slope", 0.01), dtype_of(node, x));
  node.set_output(0, ir::leaky_relu(builder, x, slope));
}

// prelu: weight holds one slope, or one per channel (dim 1).
void convert_prelu(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* weight = node.tensor("weight");
  int64_t rank = rank_of(node, x);
  if (rank_of(node, weight) != 1) node.unsupported("a weight that is not 1-D");
  if (rank >= 2) {
    std::vector<int64_t> dims(static_cast<size_t>(rank - 1), 1);
    dims[0] = -1;
    weight = node.add("Reshape", {weight, int64_constant(node, dims)});
  }
  AtenOpBuilder builder(node);
  node.set_output(0, ir::leaky_relu(builder, x, weight));
}

void convert_softplus(AtenNode& node) {
  AtenOpBuilder builder(node);
  node.set_output(0, ir::softplus(builder, node.tensor("self"), node.float_arg("beta", 1.0),
                                  node.float_arg("threshold", 20.0)));
}

void convert_mish(AtenNode& node) {
  AtenOpBuilder builder(node);
  node.set_output(0, ir::mish(builder, node.tensor("self")));
}

// glu(self, dim): the first half of `dim` gated by the sigmoid of the second (Speech2Text's
// convolutional subsampler).
void convert_glu(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", -1), rank_of(node, x));
  const ir::Dim& along = x->shape[axis];
  if (!along.is_static()) node.unsupported("halving dim ", axis, ", known only at run time");
  if (along.value % 2 != 0) node.invalid("dim ", axis, " has odd size ", along.value);
  int64_t half = along.value / 2;
  ir::Value* gate = node.add("Sigmoid", {slice_axis(node, x, axis, half, along.value)});
  node.set_output(0, node.add("Mul", {slice_axis(node, x, axis, 0, half), gate}));
}

// hardshrink: x where |x| > lambd; softshrink also moves x toward 0 by lambd.
AtenConverter shrink(bool soft) {
  return [soft](AtenNode& node) {
    double lambd = node.float_arg("lambd", 0.5);
    AtenOpBuilder builder(node);
    node.set_output(0, ir::shrink(builder, node.tensor("self"), soft ? lambd : 0.0, lambd));
  };
}

void convert_threshold(AtenNode& node) {
  AtenOpBuilder builder(node);
  node.set_output(0, ir::threshold(builder, node.tensor("self"), node.float_arg("threshold", 0.0),
                                   node.float_arg("value", 0.0)));
}

// one_hot (self, num_classes): int64 output; num_classes=-1 (the largest index + 1, read from
// the data) would make the shape depend on values, which Kiln does not support.
void convert_one_hot(AtenNode& node) {
  int64_t classes = node.int_arg("num_classes", -1);
  if (classes < 0) {
    node.unsupported("num_classes=-1 takes the class count from the data; pass num_classes");
  }
  AtenOpBuilder builder(node);
  ir::Value* values = int64_constant(node, {0, 1});
  ir::Value* indices = node.tensor("self");
  node.set_output(0, ir::one_hot(builder, indices, classes, values, -1));
}

// einsum (equation, tensors, path): `path` (opt_einsum's contraction order) only changes the
// order of the pairwise products, so it is ignored; Kiln contracts from the left.
void convert_einsum(AtenNode& node) {
  std::string equation = node.string_arg("equation", "");
  TensorList operands = node.tensors("tensors");
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i]) node.invalid("operand ", i, " is None");
  }
  AtenOpBuilder builder(node);
  try {
    node.set_output(0, ir::einsum(builder, equation, operands));
  } catch (const Error& error) {
    fail(error.kind(), node.context().label(), ": ", node.describe(), ": ", error.what());
  }
}

}  // namespace

void add_composite_ops(AtenTable& table) {
  for (const std::string suffix : {".Tensor", ".Scalar"}) {
    table["aten.le" + suffix] = or_equal(ir::less_or_equal);
    table["aten.ge" + suffix] = or_equal(ir::greater_or_equal);
  }
  table["aten.logical_xor.default"] = exclusive_or(true);
  table["aten.bitwise_xor.Tensor"] = exclusive_or(false);
  table["aten.bitwise_xor.Scalar"] = exclusive_or(false);
  table["aten.__xor__.Tensor"] = exclusive_or(false);
  table["aten.__xor__.Scalar"] = exclusive_or(false);
  table["aten.log_softmax.int"] = convert_log_softmax;
  table["aten._log_softmax.default"] = convert_log_softmax;
  table["aten.logsumexp.default"] = convert_logsumexp;
  table["aten.linalg_vector_norm.default"] = vector_norm("ord");
  table["aten.norm.ScalarOpt_dim"] = vector_norm("p");
  table["aten.elu.default"] = convert_elu;
  table["aten.celu.default"] = convert_celu;
  table["aten.selu.default"] = convert_selu;
  table["aten.leaky_relu.default"] = convert_leaky_relu;
  table["aten.prelu.default"] = convert_prelu;
  table["aten.softplus.default"] = convert_softplus;
  table["aten.mish.default"] = convert_mish;
  table["aten.glu.default"] = convert_glu;
  table["aten.hardshrink.default"] = shrink(false);
  table["aten.softshrink.default"] = shrink(true);
  table["aten.threshold.default"] = convert_threshold;
  table["aten.one_hot.default"] = convert_one_hot;
  table["aten.einsum.default"] = convert_einsum;
}

}  // namespace kiln::torch
