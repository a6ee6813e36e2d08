// Shared building blocks for the op schemas: broadcasting, dtype checks, constant inputs.
#include "ir/schema_rules.h"

#include <algorithm>

#include "core/error.h"
#include "ir/dim_products.h"

namespace kiln::ir {

const Value& required_input(const Node& node, size_t index) {
  const Value* value = node.input(index);
  check(value != nullptr, ErrorKind::InvalidModel, node.describe(), ": input ", index,
        " is required but absent");
  return *value;
}

const Tensor* constant_input(const Node& node, size_t index) {
  const Value* value = node.input(index);
  if (value == nullptr || !value->is_constant()) return nullptr;
  return &*value->constant;
}

std::optional<std::vector<int64_t>> constant_ints(const Node& node, size_t index) {
  const Tensor* tensor = constant_input(node, index);
  if (tensor == nullptr) return std::nullopt;
  check(is_integral(tensor->dtype()), ErrorKind::InvalidModel, node.describe(), ": input '",
        node.inputs[index]->name, "' must be an integer tensor, got ", dtype_name(tensor->dtype()));
  return tensor->to_int64_vector();
}

void set_output(Node& node, size_t index, DType dtype, Shape shape) {
  check(index < node.outputs.size(), ErrorKind::InvalidModel, node.describe(), " has ",
        node.outputs.size(), " outputs, but its op defines output ", index);
  node.outputs[index]->dtype = dtype;
  node.outputs[index]->shape = std::move(shape);
}

Dim broadcast_dim(const Dim& a, const Dim& b, const Node& node) {
  if (a == b) return a;
  if (a.is_static() && a.value == 1) return b;
  if (b.is_static() && b.value == 1) return a;
  if (a.is_static() && b.is_static()) {
    fail(ErrorKind::InvalidModel, node.describe(), ": cannot broadcast dims ", a.value, " and ",
         b.value, " (sizes must match or one must be 1)");
  }
  if (a.is_static()) return a;  // the other is symbolic or unknown; it must equal a at run time
  if (b.is_static()) return b;
  return Dim::unknown();
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
  if (!a.rank_known() || !b.rank_known()) return Shape();
  const auto& longer = a.rank() >= b.rank() ? a.dims() : b.dims();
  const auto& shorter = a.rank() >= b.rank() ? b.dims() : a.dims();
  std::vector<Dim> result = longer;
  size_t offset = longer.size() - shorter.size();
  for (size_t i = 0; i < shorter.size(); ++i) {
    result[offset + i] = broadcast_dim(longer[offset + i], shorter[i], node);
  }
  return Shape(std::move(result));
}

Dim product_of(const std::vector<Dim>& dims) {
  std::optional<DimProduct> product = dim_product(dims);
  return product ? dim_of(*product) : Dim::unknown();
}

void require_same_dtype(const Node& node, const Value& a, const Value& b) {
  check(a.dtype == b.dtype, ErrorKind::InvalidModel, node.describe(), ": inputs '", a.name, "' (",
        dtype_name(a.dtype), ") and '", b.name, "' (", dtype_name(b.dtype),
        ") must have the same dtype; insert a Cast");
}

void require_floating(const Node& node, const Value& value) {
  // Some ONNX ops also accept integer tensors (MaxPool on uint8, Relu on int32); that is a
  // valid model Kiln does not run, not a broken one.
  ErrorKind kind = is_integral(value.dtype) ? ErrorKind::Unsupported : ErrorKind::InvalidModel;
  check(is_floating(value.dtype), kind, node.describe(), ": input '", value.name,
        "' must be a floating tensor, got ", dtype_name(value.dtype));
}

void require_dtype(const Node& node, const Value& value, DType expected) {
  check(value.dtype == expected, ErrorKind::InvalidModel, node.describe(), ": input '", value.name,
        "' must be ", dtype_name(expected), ", got ", dtype_name(value.dtype));
}

void require_index_dtype(const Node& node, const Value& value) {
  check(value.dtype == DType::Int64 || value.dtype == DType::Int32, ErrorKind::InvalidModel,
        node.describe(), ": input '", value.name, "' must be int64 or int32, got ",
        dtype_name(value.dtype));
}

void require_numeric(const Node& node, const Value& value) {
  check(value.dtype != DType::Bool, ErrorKind::InvalidModel, node.describe(), ": input '",
        value.name, "' must be numeric, got bool");
}

Shape unknown_dims(int64_t rank) {
  return Shape(std::vector<Dim>(static_cast<size_t>(std::max<int64_t>(rank, 0)), Dim::unknown()));
}

int64_t known_rank(const Node& node, const Value& value) {
  check(value.shape.rank_known(), ErrorKind::InvalidModel, node.describe(), ": the rank of '",
        value.name, "' is unknown; give the model input a shape");
  return value.shape.rank();
}

}  // namespace kiln::ir
