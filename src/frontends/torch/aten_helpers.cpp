// Type promotion, constants, axes and run-time sizes for the ATen converters.
#include "frontends/torch/aten_helpers.h"

#include <algorithm>
#include <utility>

namespace kiln::torch {
namespace {

int category(DType dtype) {
  if (dtype == DType::Bool) return 0;
  return is_floating(dtype) ? 2 : 1;
}

bool is_unsigned(DType dtype) { return dtype == DType::UInt8; }

// Two dtypes of one category, as PyTorch promotes them.
DType promote_within(DType a, DType b) {
  if (a == b) return a;
  if (is_floating(a)) {
    if (dtype_size(a) == dtype_size(b)) return DType::Float32;  // bfloat16 with float16
    return dtype_size(a) > dtype_size(b) ? a : b;
  }
  if (is_unsigned(a) != is_unsigned(b)) {
    DType signed_type = is_unsigned(a) ? b : a;
    return dtype_size(signed_type) > 1 ? signed_type : DType::Int16;
  }
  return dtype_size(a) >= dtype_size(b) ? a : b;
}

struct Participant {
  DType dtype;
  int priority;  // 2: tensor with dims, 1: 0-D tensor, 0: Python number
};

}  // namespace

DType promote_types(DType a, DType b) {
  if (category(a) != category(b)) return category(a) > category(b) ? a : b;
  return promote_within(a, b);
}

DType dtype_of(AtenNode& node, const ir::Value* value) {
  if (value->dtype == DType::Undefined) {
    node.unsupported("the dtype of input '", value->name, "' is unknown");
  }
  return value->dtype;
}

DType result_type(AtenNode& node, const std::vector<std::string_view>& names) {
  std::vector<Participant> participants;
  for (std::string_view name : names) {
    const Argument* argument = node.find(name);
    if (argument == nullptr || std::holds_alternative<NoneArg>(*argument)) continue;
    if (auto* value = std::get_if<ir::Value*>(argument)) {
      bool zero_dim = (*value)->shape.rank_known() && (*value)->shape.rank() == 0;
      participants.push_back({dtype_of(node, *value), zero_dim ? 1 : 2});
    } else if (std::holds_alternative<double>(*argument)) {
      participants.push_back({DType::Float64, 0});
    } else if (std::holds_alternative<bool>(*argument)) {
      participants.push_back({DType::Bool, 0});
    } else if (node.is_number(name)) {
      participants.push_back({DType::Int64, 0});
    } else {
      node.invalid("argument '", name, "' should be a tensor or a number");
    }
  }
  if (participants.empty()) node.invalid("no tensor or number operands");
  int top_category = 0;
  for (const Participant& p : participants)
    top_category = std::max(top_category, category(p.dtype));
  int top_priority = 0;
  for (const Participant& p : participants) {
    if (category(p.dtype) == top_category) top_priority = std::max(top_priority, p.priority);
  }
  std::optional<DType> result;
  for (const Participant& p : participants) {
    if (category(p.dtype) != top_category || p.priority != top_priority) continue;
    result = result ? promote_within(*result, p.dtype) : p.dtype;
  }
  // A Python float decides only when no tensor of its category does: the default dtype.
  if (top_priority == 0 && *result == DType::Float64) return DType::Float32;
  return *result;
}

ir::Value* cast_to(AtenNode& node, ir::Value* value, DType dtype) {
  if (dtype_of(node, value) == dtype) return value;
  if (value->is_constant()) return node.constant(value->constant->to(dtype));
  return node.add("Cast", {value}, {{"to", static_cast<int64_t>(dtype)}});
}

ir::Value* scalar_constant(AtenNode& node, double number, DType dtype) {
  return node.constant(Tensor::scalar<double>(number).to(dtype));
}

ir::Value* int64_constant(AtenNode& node, std::vector<int64_t> values) {
  int64_t count = static_cast<int64_t>(values.size());
  return node.constant(Tensor::from_vector<int64_t>({count}, values));
}

ir::Value* operand(AtenNode& node, std::string_view name, DType dtype) {
  const Argument* argument = node.find(name);
  if (argument == nullptr) node.invalid("the required argument '", name, "' is missing");
  if (std::holds_alternative<ir::Value*>(*argument)) return cast_to(node, node.tensor(name), dtype);
  if (auto* size = std::get_if<SymInt>(argument); size != nullptr && !size->is_static()) {
    ir::Value* scalar = node.add("Squeeze", {size->dynamic}, {{"axes", std::vector<int64_t>{0}}});
    return cast_to(node, scalar, dtype);
  }
  if (std::holds_alternative<double>(*argument)) {
    return scalar_constant(node, node.float_arg(name, 0.0), dtype);
  }
  if (node.is_number(name)) {
    // Integers go through int64 so that large values stay exact.
    return node.constant(Tensor::scalar<int64_t>(node.int_arg(name)).to(dtype));
  }
  node.invalid("argument '", name, "' should be a tensor or a number");
}

int64_t folded_count(AtenNode& node, const Dims& dims) {
  int64_t count = 1;
  for (int64_t size : dims) {
    if (size < 0) node.invalid("negative size ", size, " in ", dims_to_string(dims));
    if (__builtin_mul_overflow(count, size, &count))
      node.invalid("sizes ", dims_to_string(dims), " overflow");
  }
  return count;
}

int64_t rank_of(AtenNode& node, const ir::Value* value) {
  if (!value->shape.rank_known()) node.unsupported("the rank of '", value->name, "' is unknown");
  return value->shape.rank();
}

int64_t normalize_dim(AtenNode& node, int64_t dim, int64_t rank) {
  int64_t normalized = dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
  if (normalized < 0 || normalized >= std::max<int64_t>(rank, 1)) {
    node.invalid("dim ", dim, " is out of range for rank ", rank);
  }
  return normalized;
}

std::vector<SymInt> sizes_of(AtenNode& node, ir::Value* value) {
  int64_t rank = rank_of(node, value);
  std::vector<SymInt> sizes;
  for (int64_t axis = 0; axis < rank; ++axis) {
    const ir::Dim& dim = value->shape[axis];
    if (dim.is_static()) {
      sizes.push_back(SymInt::fixed(dim.value));
    } else {
      ir::Value* size = node.add("Shape", {value}, {{"start", axis}, {"end", axis + 1}});
      sizes.push_back(SymInt{0, size, dim.symbol});
    }
  }
  return sizes;
}

ir::Value* size_tensor(AtenNode& node, const SymInt& size) {
  return size.is_static() ? int64_constant(node, {size.value}) : size.dynamic;
}

ir::Value* size_scalar(AtenNode& node, const SymInt& size) {
  if (size.is_static()) return node.constant(Tensor::scalar<int64_t>(size.value));
  return node.add("Squeeze", {size.dynamic}, {{"axes", std::vector<int64_t>{0}}});
}

ir::Value* shape_tensor(AtenNode& node, const std::vector<SymInt>& sizes) {
  std::vector<ir::Value*> pieces;
  std::vector<int64_t> fixed_run;  // consecutive fixed sizes become one constant
  for (const SymInt& size : sizes) {
    if (size.is_static()) {
      fixed_run.push_back(size.value);
      continue;
    }
    if (!fixed_run.empty()) pieces.push_back(int64_constant(node, std::exchange(fixed_run, {})));
    pieces.push_back(size.dynamic);
  }
  if (!fixed_run.empty() || pieces.empty()) pieces.push_back(int64_constant(node, fixed_run));
  if (pieces.size() == 1) return pieces.front();
  return node.add("Concat", pieces, {{"axis", int64_t{0}}});
}

ir::Value* linear(AtenNode& node, ir::Value* input, ir::Value* weight, ir::Value* bias) {
  if (rank_of(node, weight) != 2) node.unsupported("weight of rank ", rank_of(node, weight));
  if (rank_of(node, input) == 2) {
    return node.add("Gemm", {input, weight, bias}, {{"transB", int64_t{1}}});
  }
  ir::Value* transposed = node.add("Transpose", {weight}, {{"perm", std::vector<int64_t>{1, 0}}});
  ir::Value* result = node.add("MatMul", {input, transposed});
  return bias != nullptr ? node.add("Add", {result, bias}) : result;
}

ir::Value* slice_axis(AtenNode& node, ir::Value* x, int64_t axis, int64_t from, int64_t to) {
  return node.add("Slice", {x, int64_constant(node, {from}), int64_constant(node, {to}),
                            int64_constant(node, {axis}), int64_constant(node, {1})});
}

ir::Value* reshape_to(AtenNode& node, ir::Value* input, std::vector<SymInt> sizes) {
  bool has_zero = std::any_of(sizes.begin(), sizes.end(),
                              [](const SymInt& s) { return s.is_static() && s.value == 0; });
  if (!has_zero && input->shape.rank_known()) {
    for (size_t axis = 0; axis < sizes.size() && axis < input->shape.dims().size(); ++axis) {
      const ir::Dim& dim = input->shape.dims()[axis];
      if (!sizes[axis].is_static() && dim.is_symbolic() && dim.symbol == sizes[axis].symbol) {
        sizes[axis] = SymInt::fixed(0);  // Reshape's 0 copies the input's dim
      }
    }
  }
  // One run-time size left over can be inferred (-1) from the element count instead.
  bool has_inferred = std::any_of(sizes.begin(), sizes.end(),
                                  [](const SymInt& s) { return s.is_static() && s.value == -1; });
  auto first_dynamic =
      std::find_if(sizes.begin(), sizes.end(), [](const SymInt& s) { return !s.is_static(); });
  if (!has_zero && !has_inferred && first_dynamic != sizes.end()) {
    *first_dynamic = SymInt::fixed(-1);
  }
  std::map<std::string, ir::AttrValue> attrs;
  if (has_zero) attrs["allowzero"] = int64_t{1};
  return node.add("Reshape", {input, shape_tensor(node, sizes)}, std::move(attrs));
}

size_t list_length(AtenNode& node) {
  if (node.output_count() != 1 || node.output(0).kind != OutputSlot::Kind::TensorList) {
    node.invalid("expected one tensor-list output");
  }
  return node.output(0).names.size();
}

std::vector<int64_t> per_spatial_dim(AtenNode& node, std::vector<int64_t> values, size_t spatial,
                                     std::string_view what) {
  if (values.size() == 1 && spatial > 1) values.assign(spatial, values[0]);
  if (values.size() != spatial) {
    node.invalid(what, " has ", values.size(), " values for ", spatial, " spatial dims");
  }
  return values;
}

}  // namespace kiln::torch
