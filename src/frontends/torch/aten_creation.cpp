// ATen ops that make tensors (arange, full, ones, scalar_tensor), overwrite them (fill, copy,
// zero), change dtypes (_to_copy, to), compute sizes (sym_size, operator.mul), or do nothing
// at inference (clone, dropout).
#include <algorithm>
#include <cmath>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// The dtype a number literal gives a new tensor: bool, int64 or float32.
DType number_dtype(AtenNode& node, std::string_view name) {
  const Argument* argument = node.find(name);
  if (argument == nullptr) node.invalid("the required argument '", name, "' is missing");
  if (std::holds_alternative<bool>(*argument)) return DType::Bool;
  if (std::holds_alternative<double>(*argument)) return DType::Float32;
  return DType::Int64;
}

// Output `output`: a tensor of `sizes` filled with `fill`, a constant when the sizes are fixed,
// else ConstantOfShape.
void emit_filled(AtenNode& node, const std::vector<SymInt>& sizes, DType dtype, double fill,
                 size_t output = 0) {
  Tensor one_value = Tensor::from_vector<double>({1}, {fill}).to(dtype);
  bool fixed =
      std::all_of(sizes.begin(), sizes.end(), [](const SymInt& s) { return s.is_static(); });
  Dims dims;
  for (const SymInt& size : sizes) dims.push_back(fixed ? size.value : 0);
  // Large fills are left to ConstantOfShape at run time rather than stored in the graph.
  if (!fixed || folded_count(node, dims) > kMaxFoldedElements) {
    ir::Value* shape = shape_tensor(node, sizes);
    return node.set_output(output, node.add("ConstantOfShape", {shape}, {{"value", one_value}}));
  }
  std::vector<double> values(static_cast<size_t>(element_count(dims)), fill);
  node.set_output(output, node.constant(Tensor::from_vector<double>(dims, values).to(dtype)));
}

// full(size, fill_value, dtype) and its relatives with a fixed fill.
void convert_full(AtenNode& node) {
  DType dtype = node.scalar_type("dtype").value_or(number_dtype(node, "fill_value"));
  emit_filled(node, node.sym_ints("size"), dtype, node.float_arg("fill_value", 0.0));
}

AtenConverter filled(double fill) {
  return [fill](AtenNode& node) {
    emit_filled(node, node.sym_ints("size"), node.scalar_type("dtype").value_or(DType::Float32),
                fill);
  };
}

// new_ones / new_zeros / new_full(self, size, [fill_value,] dtype): dtype defaults to self's.
AtenConverter new_filled(std::optional<double> fill) {
  return [fill](AtenNode& node) {
    DType dtype = node.scalar_type("dtype").value_or(dtype_of(node, node.tensor("self")));
    emit_filled(node, node.sym_ints("size"), dtype,
                fill.value_or(node.float_arg("fill_value", 0.0)));
  };
}

// full_like / ones_like / zeros_like(self, [fill_value,] dtype): self's shape.
AtenConverter like_filled(std::optional<double> fill) {
  return [fill](AtenNode& node) {
    ir::Value* self = node.tensor("self");
    DType dtype = node.scalar_type("dtype").value_or(dtype_of(node, self));
    emit_filled(node, sizes_of(node, self), dtype,
                fill.value_or(node.float_arg("fill_value", 0.0)));
  };
}

// fill(self, value) and copy(self, src): self's shape and dtype holding `source`'s values
// (broadcast); with their in-place forms and views they are `x[...] = v` in a model.
AtenConverter overwritten(const char* source) {
  return [source](AtenNode& node) {
    ir::Value* self = node.tensor("self");
    ir::Value* values = operand(node, source, dtype_of(node, self));
    node.set_output(0, node.add("Expand", {values, shape_tensor(node, sizes_of(node, self))}));
  };
}

void convert_scalar_tensor(AtenNode& node) {
  DType dtype = node.scalar_type("dtype").value_or(DType::Float32);
  node.set_output(0, scalar_constant(node, node.float_arg("s", 0.0), dtype));
}

// arange(start, end, step): a constant when the bounds are fixed, else Range.
void convert_arange(AtenNode& node) {
  bool any_float = false;
  for (const char* name : {"start", "end", "step"}) {
    const Argument* argument = node.find(name);
    any_float = any_float || (argument != nullptr && std::holds_alternative<double>(*argument));
  }
  DType dtype = node.scalar_type("dtype").value_or(any_float ? DType::Float32 : DType::Int64);
  SymInt end = node.sym_int("end");
  if (end.is_static() && !node.optional_sym_int("start").value_or(SymInt{}).dynamic) {
    double start = node.float_arg("start", 0.0);
    double stop = node.float_arg("end", 0.0);
    double step = node.float_arg("step", 1.0);
    if (step == 0.0) node.invalid("step must not be 0");
    double steps = std::ceil((stop - start) / step);
    if (!(steps <= static_cast<double>(kMaxFoldedElements))) {
      ir::Value* range = node.add(
          "Range", {scalar_constant(node, start, dtype), scalar_constant(node, stop, dtype),
                    scalar_constant(node, step, dtype)});
      return node.set_output(0, range);
    }
    int64_t count = std::max<int64_t>(0, static_cast<int64_t>(steps));
    std::vector<double> values;
    for (int64_t i = 0; i < count; ++i) values.push_back(start + static_cast<double>(i) * step);
    return node.set_output(0,
                           node.constant(Tensor::from_vector<double>({count}, values).to(dtype)));
  }
  if (any_float) node.unsupported("float arange with a bound known only at run time");
  ir::Value* start = size_scalar(node, node.optional_sym_int("start").value_or(SymInt::fixed(0)));
  ir::Value* step = size_scalar(node, SymInt::fixed(node.int_arg("step", 1)));
  ir::Value* range = node.add("Range", {start, size_scalar(node, end), step});
  node.set_output(0, cast_to(node, range, dtype));
}

// _to_copy / to.*: a Cast when the dtype changes, else the input itself.
void convert_to(AtenNode& node) {
  if (converts_to_complex(node)) return;  // FNet's cast before its FFT (aten_fft.cpp)
  ir::Value* x = node.tensor("self");
  std::optional<DType> dtype = node.scalar_type("dtype");
  node.set_output(0, dtype ? cast_to(node, x, *dtype) : x);
}

// Ops that are the identity at inference: output 0 is argument `name`.
AtenConverter identity(std::string name) {
  return [name](AtenNode& node) { node.set_output(0, node.tensor(name)); };
}

void convert_dropout(AtenNode& node) {
  if (node.bool_arg("train", false)) node.unsupported("dropout in training mode");
  node.set_output(0, node.tensor(node.find("input") != nullptr ? "input" : "self"));
}

// native_dropout(input, p, train) → (output, mask): at inference the input and an all-true
// mask (built only if read).
void convert_native_dropout(AtenNode& node) {
  if (node.bool_arg("train", false) && node.float_arg("p", 0.0) != 0.0) {
    node.unsupported("dropout in training mode");
  }
  ir::Value* input = node.tensor("input");
  node.set_output(0, input);
  if (node.output_used(1)) {
    emit_filled(node, sizes_of(node, input), DType::Bool, 1.0, 1);
  }
}

void drop(AtenNode&) {}  // run-time assertions about metadata

// sym_size(self, dim): the size of a dim, read at run time when it is symbolic.
void convert_sym_size(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
  node.set_sym_output(0, sizes_of(node, x)[static_cast<size_t>(axis)]);
}

// numel(self): the element count, fixed when every dim is, else read at run time (Size).
void convert_numel(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  if (x->shape.is_static()) {
    return node.set_sym_output(0, SymInt::fixed(element_count(x->shape.static_dims())));
  }
  ir::Value* count = node.add("Reshape", {node.add("Size", {x}), int64_constant(node, {1})});
  node.set_sym_output(0, SymInt{0, count, {}});
}

// Python arithmetic on sizes: folded when both are fixed, else int64 ops on [1] tensors.
AtenConverter size_arithmetic(std::string op) {
  return [op](AtenNode& node) {
    SymInt a = node.sym_int("a");
    SymInt b = node.sym_int("b");
    if (a.is_static() && b.is_static()) {
      int64_t value = op == "Mul"   ? a.value * b.value
                      : op == "Add" ? a.value + b.value
                      : op == "Sub" ? a.value - b.value
                                    : 0;
      if (op == "Div") {
        if (b.value == 0) node.invalid("division of sizes by zero");
        value = a.value / b.value - ((a.value % b.value != 0) && ((a.value < 0) != (b.value < 0)));
      }
      return node.set_sym_output(0, SymInt::fixed(value));
    }
    // Sizes are non-negative, so truncating division equals floor division here.
    ir::Value* result = node.add(op, {size_tensor(node, a), size_tensor(node, b)});
    node.set_sym_output(0, SymInt{0, result, {}});
  };
}

}  // namespace

void add_creation_ops(AtenTable& table) {
  table["aten.full.default"] = convert_full;
  table["aten.zeros.default"] = filled(0.0);
  table["aten.empty.memory_format"] = filled(0.0);     // any values will do: zeros
  table["aten.empty_permuted.default"] = filled(0.0);  // its physical layout is not observable
  table["aten.ones.default"] = filled(1.0);
  table["aten.new_ones.default"] = new_filled(1.0);
  table["aten.new_zeros.default"] = new_filled(0.0);
  table["aten.new_full.default"] = new_filled(std::nullopt);
  table["aten.full_like.default"] = like_filled(std::nullopt);
  table["aten.ones_like.default"] = like_filled(1.0);
  table["aten.zeros_like.default"] = like_filled(0.0);
  table["aten.empty_like.default"] = like_filled(0.0);  // any values will do: zeros
  table["aten.fill.Scalar"] = overwritten("value");
  table["aten.fill.Tensor"] = overwritten("value");
  table["aten.copy.default"] = overwritten("src");
  table["aten.zero.default"] = like_filled(0.0);
  table["aten.scalar_tensor.default"] = convert_scalar_tensor;
  table["aten.arange.default"] = convert_arange;
  table["aten.arange.start"] = convert_arange;
  table["aten.arange.start_step"] = convert_arange;
  table["aten._to_copy.default"] = convert_to;
  table["aten.to.dtype"] = convert_to;
  table["aten.to.dtype_layout"] = convert_to;
  table["aten.to.device"] = convert_to;
  table["aten.type_as.default"] = [](AtenNode& node) {
    node.set_output(0, cast_to(node, node.tensor("self"), dtype_of(node, node.tensor("other"))));
  };
  for (const char* name :
       {"contiguous", "clone", "alias", "detach", "detach_", "lift_fresh_copy"}) {
    table[std::string("aten.") + name + ".default"] = identity("self");
  }
  table["aten.dropout.default"] = convert_dropout;
  table["aten.feature_dropout.default"] = convert_dropout;
  table["aten.native_dropout.default"] = convert_native_dropout;
  table["aten._assert_tensor_metadata.default"] = drop;
  table["aten._assert_scalar.default"] = drop;
  table["aten.sym_constrain_range_for_size.default"] = drop;
  table["aten.sym_size.int"] = convert_sym_size;
  table["aten.numel.default"] = convert_numel;
  table["aten.sym_numel.default"] = convert_numel;
  table["operator.mul"] = size_arithmetic("Mul");
  table["operator.add"] = size_arithmetic("Add");
  table["operator.sub"] = size_arithmetic("Sub");
  table["operator.floordiv"] = size_arithmetic("Div");
}

}  // namespace kiln::torch
