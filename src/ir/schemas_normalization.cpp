// Schemas of normalization and reduction ops: BatchNormalization, LayerNormalization,
// Softmax, ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ArgMax, ArgMin, TopK.
#include <algorithm>
#include <set>

#include "core/error.h"
#include "ir/schema_rules.h"

namespace kiln::ir {
namespace {

void infer_batch_norm(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  for (size_t i = 1; i < 5; ++i) require_floating(node, required_input(node, i));
  if (x.shape.rank_known()) {
    check(x.shape.rank() >= 2, ErrorKind::InvalidModel, node.describe(),
          ": input must be (N, C, ...), got ", x.shape.to_string());
  }
  set_output(node, 0, x.dtype, x.shape);
}

// Y has X's shape; Mean and InvStdDev keep the dims before `axis` and are 1 after it, in
// the stash type (float32 for stash_type=1, the only value ONNX defines).
void infer_layer_norm(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  require_same_dtype(node, x, required_input(node, 1));
  if (const Value* bias = node.input(2)) require_same_dtype(node, x, *bias);
  set_output(node, 0, x.dtype, x.shape);
  if (node.outputs.size() == 1) return;
  DType stash = node.attr_int("stash_type", 1) == 1 ? DType::Float32 : x.dtype;
  Shape stats;
  if (x.shape.rank_known()) {
    int64_t axis = normalize_axis(node.attr_int("axis", -1), x.shape.rank(), node.describe());
    std::vector<Dim> dims = x.shape.dims();
    std::fill(dims.begin() + axis, dims.end(), Dim::fixed(1));
    stats = Shape(std::move(dims));
  }
  for (size_t i = 1; i < node.outputs.size(); ++i) set_output(node, i, stash, stats);
}

void infer_softmax(Node& node) {
  const Value& x = required_input(node, 0);
  require_floating(node, x);
  if (x.shape.rank_known() && x.shape.rank() > 0) {
    normalize_axis(node.attr_int("axis", -1), x.shape.rank(), node.describe());
  }
  set_output(node, 0, x.dtype, x.shape);
}

void infer_reduce(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  std::vector<int64_t> axes = node.attr_ints("axes");
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  if (axes.empty() && node.attr_int("noop_with_empty_axes", 0) != 0) {
    set_output(node, 0, x.dtype, x.shape);
    return;
  }
  if (!x.shape.rank_known()) {
    // Reducing everything without keepdims gives a scalar whatever the rank.
    set_output(node, 0, x.dtype, axes.empty() && !keepdims ? Shape(std::vector<Dim>{}) : Shape());
    return;
  }
  int64_t rank = x.shape.rank();
  std::set<int64_t> reduced;
  for (int64_t axis : axes) {
    check(reduced.insert(normalize_axis(axis, rank, node.describe())).second,
          ErrorKind::InvalidModel, node.describe(), ": axis ", axis, " is listed twice");
  }
  std::vector<Dim> result;
  for (int64_t axis = 0; axis < rank; ++axis) {
    bool reduce = axes.empty() || reduced.count(axis);
    if (!reduce) {
      result.push_back(x.shape[axis]);
    } else if (keepdims) {
      result.push_back(Dim::fixed(1));
    }
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

// ArgMax/ArgMin: int64 indices along one axis, which stays as 1 with keepdims or goes.
void infer_arg_reduce(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  int64_t last = node.attr_int("select_last_index", 0);
  check(last == 0 || last == 1, ErrorKind::InvalidModel, node.describe(),
        ": select_last_index must be 0 or 1, got ", last);
  if (!x.shape.rank_known()) {
    set_output(node, 0, DType::Int64, Shape());
    return;
  }
  int64_t rank = x.shape.rank();
  check(rank > 0, ErrorKind::InvalidModel, node.describe(),
        ": needs an input of rank 1 or more, got a scalar");
  int64_t axis = normalize_axis(node.attr_int("axis", 0), rank, node.describe());
  const Dim& length = x.shape[axis];
  check(!length.is_static() || length.value > 0, ErrorKind::InvalidModel, node.describe(),
        ": axis ", axis, " of input ", x.shape.to_string(), " is empty; there is no ", node.op,
        " of nothing");
  std::vector<Dim> result = x.shape.dims();
  if (node.attr_int("keepdims", 1) != 0) {
    result[static_cast<size_t>(axis)] = Dim::fixed(1);
  } else {
    result.erase(result.begin() + axis);
  }
  set_output(node, 0, DType::Int64, Shape(std::move(result)));
}

// TopK: values (X's dtype) and int64 indices, X's dims with `axis` cut to the constant k.
void infer_top_k(Node& node) {
  const Value& x = required_input(node, 0);
  require_numeric(node, x);
  check(node.has_attr("k"), ErrorKind::InvalidModel, node.describe(), ": attribute k is required");
  int64_t k = node.attr_int("k", 0);
  check(k >= 0, ErrorKind::InvalidModel, node.describe(), ": k must not be negative, got ", k);
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, Shape());
    set_output(node, 1, DType::Int64, Shape());
    return;
  }
  check(x.shape.rank() > 0, ErrorKind::InvalidModel, node.describe(),
        ": needs an input of rank 1 or more, got a scalar");
  int64_t axis = normalize_axis(node.attr_int("axis", -1), x.shape.rank(), node.describe());
  const Dim& length = x.shape[axis];
  check(!length.is_static() || k <= length.value, ErrorKind::InvalidModel, node.describe(), ": k ",
        k, " exceeds axis ", axis, " of input ", x.shape.to_string());
  std::vector<Dim> result = x.shape.dims();
  result[static_cast<size_t>(axis)] = Dim::fixed(k);
  set_output(node, 0, x.dtype, Shape(result));
  set_output(node, 1, DType::Int64, Shape(std::move(result)));
}

}  // namespace

void add_normalization_schemas(std::vector<OpSchema>& table) {
  table.push_back({"BatchNormalization", 5, 5, 1, 1, true, infer_batch_norm});
  table.push_back({"LayerNormalization", 2, 3, 1, 3, true, infer_layer_norm});
  table.push_back({"Softmax", 1, 1, 1, 1, true, infer_softmax});
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"}) {
    table.push_back({op, 1, 1, 1, 1, true, infer_reduce});
  }
  // Comparisons only: no precision applies, and rounding could change which index wins.
  for (const char* op : {"ArgMax", "ArgMin"}) {
    table.push_back({op, 1, 1, 1, 1, false, infer_arg_reduce});
  }
  table.push_back({"TopK", 1, 1, 2, 2, false, infer_top_k});
}

}  // namespace kiln::ir
