// ATen statistics and scans written as core ops: var / std (and their _mean forms), all,
// aminmax, count_nonzero, nansum / nanmean, kthvalue / median / nanmedian (by a TopK sort),
// and the running scans cummax / cummin / logcumsumexp (a masked [n, n] reduction per row).
#include <algorithm>
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/composite_ops.h"

namespace kiln::torch {
namespace {

// The running scans build an [n, n] matrix per row; longer dims are refused.
constexpr int64_t kMaxScanLength = 4096;

// How many elements each output of a reduction over `axes` (empty: all) of x averages: a
// constant for fixed dims, else |x| / |mean| at run time (`mean` kept its dims).
ir::Value* reduced_count(AtenNode& node, ir::Value* x, ir::Value* mean,
                         const std::vector<int64_t>& axes) {
  DType type = dtype_of(node, x);
  double count = 1;
  for (int64_t axis = 0; axis < rank_of(node, x); ++axis) {
    if (!axes.empty() && std::find(axes.begin(), axes.end(), axis) == axes.end()) continue;
    const ir::Dim& size = x->shape[axis];
    if (!size.is_static()) {
      ir::Value* ratio = node.add("Div", {node.add("Size", {x}), node.add("Size", {mean})});
      return cast_to(node, ratio, type);
    }
    count *= static_cast<double>(size.value);
  }
  return scalar_constant(node, count, type);
}

// var / std (self, dim, correction | unbiased, keepdim), and var_mean / std_mean, which also
// give the mean: the mean of the squared deviations times N / (N - correction) for N elements
// reduced (correction 1 unless given; unbiased=False is 0). N <= correction gives inf or NaN,
// as PyTorch's division by 0.
AtenConverter variance(bool root, bool with_mean) {
  return [root, with_mean](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    DType type = dtype_of(node, x);
    if (!is_floating(type))
      node.unsupported("var/std of ", dtype_name(type), " (PyTorch takes floats)");
    double correction = node.has("unbiased") ? (node.bool_arg("unbiased", true) ? 1.0 : 0.0)
                                             : node.float_arg("correction", 1.0);
    std::vector<int64_t> axes = reduced_axes(node, x);
    bool keepdims = node.bool_arg("keepdim", false);
    ir::Value* mean = node.add("ReduceMean", {x}, reduction_attrs(axes, true));
    ir::Value* deviation = node.add("Sub", {x, mean});
    ir::Value* result = node.add("ReduceMean", {node.add("Mul", {deviation, deviation})},
                                 reduction_attrs(axes, keepdims));
    if (correction != 0.0) {
      ir::Value* count = reduced_count(node, x, mean, axes);
      ir::Value* zero = scalar_constant(node, 0.0, type);
      ir::Value* divisor = node.add(
          "Max", {node.add("Sub", {count, scalar_constant(node, correction, type)}), zero});
      result = node.add("Mul", {result, node.add("Div", {count, divisor})});
    }
    node.set_output(0, root ? node.add("Sqrt", {result}) : result);
    if (with_mean && node.output_used(1)) {
      node.set_output(1,
                      keepdims ? mean : node.add("ReduceMean", {x}, reduction_attrs(axes, false)));
    }
  };
}

// all(dim): the minimum of the values as 0/1 floats, back to bool.
void convert_all(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* as_float = cast_to(node, cast_to(node, x, DType::Bool), DType::Float32);
  ir::Value* min =
      node.add("ReduceMin", {as_float},
               reduction_attrs(reduced_axes(node, x), node.bool_arg("keepdim", false)));
  node.set_output(0, cast_to(node, min, DType::Bool));
}

// aminmax(self, *, dim=None, keepdim) → (min, max).
void convert_aminmax(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::CompositeAttrs attrs =
      reduction_attrs(reduced_axes(node, x), node.bool_arg("keepdim", false));
  if (node.output_used(0)) node.set_output(0, node.add("ReduceMin", {x}, attrs));
  if (node.output_used(1)) node.set_output(1, node.add("ReduceMax", {x}, attrs));
}

void convert_count_nonzero(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* zero = scalar_constant(node, 0, dtype_of(node, x));
  ir::Value* nonzero = cast_to(node, node.add("Not", {node.add("Equal", {x, zero})}), DType::Int64);
  node.set_output(0,
                  node.add("ReduceSum", {nonzero}, reduction_attrs(reduced_axes(node, x), false)));
}

// nansum / nanmean: NaN counts as 0 in the sum and not at all in the mean's count.
AtenConverter nan_ignoring_sum(bool mean) {
  return [mean](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    if (auto dtype = node.scalar_type("dtype")) x = cast_to(node, x, *dtype);
    DType type = dtype_of(node, x);
    ir::CompositeAttrs attrs =
        reduction_attrs(reduced_axes(node, x), node.bool_arg("keepdim", false));
    if (!is_floating(type)) {
      if (mean) node.unsupported("nanmean of ", dtype_name(type), " (PyTorch takes floats)");
      return node.set_output(0, node.add("ReduceSum", {cast_to(node, x, DType::Int64)}, attrs));
    }
    ir::Value* is_nan = node.add("IsNaN", {x});
    ir::Value* zero = scalar_constant(node, 0, type);
    ir::Value* sum = node.add("ReduceSum", {node.add("Where", {is_nan, zero, x})}, attrs);
    if (!mean) return node.set_output(0, sum);
    ir::Value* count =
        node.add("ReduceSum", {cast_to(node, node.add("Not", {is_nan}), type)}, attrs);
    node.set_output(0, node.add("Div", {sum, count}));
  };
}

// x's `axis` as a static size, for ops that sort or scan it.
int64_t static_length(AtenNode& node, ir::Value* x, int64_t axis, const char* what) {
  if (x->shape.rank() == 0) return 1;
  const ir::Dim& dim = x->shape[axis];
  if (!dim.is_static()) node.unsupported(what, " along dim ", axis, ", known only at run time");
  return dim.value;
}

// The k-th smallest (1-based) along `dim` (self, k, dim=-1, keepdim=False) → (values, indices).
void convert_kthvalue(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  int64_t axis = rank == 0 ? 0 : normalize_dim(node, node.int_arg("dim", -1), rank);
  if (rank == 0) x = node.add("Reshape", {x, int64_constant(node, {1})});
  int64_t k = node.int_arg("k");
  int64_t length = static_length(node, x, axis, "kthvalue");
  if (k < 1 || k > length) node.invalid("k=", k, " is outside [1, ", length, "]");
  std::vector<ir::Value*> sorted =
      node.add_multi("TopK", {x}, {{"k", k}, {"axis", axis}, {"largest", int64_t{0}}}, 2);
  bool keep = node.bool_arg("keepdim", false) && rank > 0;
  for (size_t i = 0; i < 2; ++i) {
    if (!node.output_used(i)) continue;
    ir::Value* picked = slice_axis(node, sorted[i], axis, k - 1, k);
    if (!keep) picked = squeezed(node, picked, {axis});
    node.set_output(i, picked);
  }
}

// median / nanmedian (self[, dim, keepdim]): the lower middle of the sorted values. median is
// NaN (at the first NaN's index) where a row holds NaN; nanmedian ignores NaN, NaN only for
// rows of NaN alone.
AtenConverter median(bool ignore_nan) {
  return [ignore_nan](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    DType type = dtype_of(node, x);
    bool whole = !node.has("dim");
    if (whole) x = node.add("Reshape", {x, int64_constant(node, {-1})});
    int64_t rank = rank_of(node, x);
    if (rank == 0) x = node.add("Reshape", {x, int64_constant(node, {1})});
    int64_t axis = whole || rank == 0 ? 0 : normalize_dim(node, node.int_arg("dim"), rank);
    int64_t length = static_length(node, x, axis, "median");
    bool floating = is_floating(type);
    ir::Value* is_nan = floating ? node.add("IsNaN", {x}) : nullptr;
    ir::Value* keys = ignore_nan && floating
                          ? node.add("Where", {is_nan, scalar_constant(node, kInfinity, type), x})
                          : x;
    std::vector<ir::Value*> sorted =
        node.add_multi("TopK", {keys}, {{"k", length}, {"axis", axis}, {"largest", int64_t{0}}}, 2);
    ir::Value* position;
    if (ignore_nan && floating) {
      ir::Value* count =
          node.add("ReduceSum", {cast_to(node, node.add("Not", {is_nan}), DType::Int64)},
                   reduction_attrs({axis}, true));
      ir::Value* one = int64_constant(node, {1});
      ir::Value* two = int64_constant(node, {2});
      position = node.add("Max", {node.add("Div", {node.add("Sub", {count, one}), two}),
                                  int64_constant(node, {0})});
    } else {
      position = nullptr;
    }
    std::vector<ir::Value*> picked(2);
    for (size_t i = 0; i < 2; ++i) {
      picked[i] = position ? node.add("GatherElements", {sorted[i], position}, {{"axis", axis}})
                           : slice_axis(node, sorted[i], axis, (length - 1) / 2, (length + 1) / 2);
    }
    if (floating) {
      ir::Value* nan_as_float = cast_to(node, is_nan, DType::Float32);
      ir::Value* any_nan = cast_to(
          node, node.add("ReduceMax", {nan_as_float}, reduction_attrs({axis}, true)), DType::Bool);
      ir::Value* all_nan = cast_to(
          node, node.add("ReduceMin", {nan_as_float}, reduction_attrs({axis}, true)), DType::Bool);
      ir::Value* nan_row = ignore_nan ? all_nan : any_nan;
      ir::Value* nan = scalar_constant(node, kNan, type);
      picked[0] = node.add("Where", {nan_row, nan, picked[0]});
      if (!ignore_nan) {
        ir::Value* first_nan =
            node.add("ArgMax", {nan_as_float}, {{"axis", axis}, {"keepdims", int64_t{1}}});
        picked[1] = node.add("Where", {nan_row, first_nan, picked[1]});
      }
    }
    bool keep = !whole && rank > 0 && node.bool_arg("keepdim", false);
    for (size_t i = 0; i < node.output_count() && i < 2; ++i) {
      if (!node.output_used(i)) continue;
      ir::Value* value = picked[i];
      if (whole) {
        value = node.add("Reshape", {value, int64_constant(node, {})});
      } else if (!keep) {
        value = squeezed(node, value, {axis});
      }
      node.set_output(i, value);
    }
  };
}

// x with `axis` moved last (a swap), and the [n, n] mask of (j <= i): a running scan of x
// along the axis reduces Where(mask, x[..., None, :], fill) over its last axis.
struct ScanRows {
  ir::Value* rows = nullptr;  // [..., 1, n]
  ir::Value* mask = nullptr;  // [n, n] bool
  std::vector<int64_t> swap;  // the permutation to the last axis and back
  int64_t length = 0;
};

ScanRows scan_rows(AtenNode& node, ir::Value* x, int64_t axis) {
  ScanRows scan;
  int64_t rank = rank_of(node, x);
  scan.length = static_length(node, x, axis, "a running scan");
  if (scan.length > kMaxScanLength) {
    node.unsupported("a running scan over ", scan.length, " elements (at most ", kMaxScanLength,
                     ")");
  }
  for (int64_t i = 0; i < rank; ++i) scan.swap.push_back(i);
  std::swap(scan.swap[static_cast<size_t>(axis)], scan.swap.back());
  ir::Value* last = node.add("Transpose", {x}, {{"perm", scan.swap}});
  scan.rows = unsqueezed(node, last, {rank - 1});
  int64_t n = scan.length;
  Tensor mask(DType::Bool, Dims{n, n});
  bool* cells = mask.data_mutable<bool>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) cells[i * n + j] = j <= i;
  }
  scan.mask = node.constant(std::move(mask));
  return scan;
}

// cummax / cummin (self, dim) → (values, indices): the running extreme, with the index of its
// latest occurrence (NaN, once seen, wins), as PyTorch.
AtenConverter running_extreme(bool maximum) {
  return [maximum](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    int64_t rank = rank_of(node, x);
    if (rank == 0) {
      node.set_output(0, x);
      if (node.output_used(1)) node.set_output(1, scalar_constant(node, 0, DType::Int64));
      return;
    }
    int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
    ScanRows scan = scan_rows(node, x, axis);
    DType type = dtype_of(node, x);
    if (type == DType::Bool) node.unsupported("cummax/cummin of bool");
    // Masked-out entries must never win: infinity for floats, x's opposite extreme for ints.
    ir::Value* fill =
        is_floating(type)
            ? scalar_constant(node, maximum ? -kInfinity : kInfinity, type)
            : node.add(maximum ? "ReduceMin" : "ReduceMax", {x}, reduction_attrs({}, false));
    ir::Value* masked = node.add("Where", {scan.mask, scan.rows, fill});
    ir::Value* values =
        node.add(maximum ? "ReduceMax" : "ReduceMin", {masked}, reduction_attrs({rank}, false));
    node.set_output(0, node.add("Transpose", {values}, {{"perm", scan.swap}}));
    if (!node.output_used(1)) return;
    ir::Value* current = unsqueezed(node, values, {rank});
    ir::Value* same = node.add("Equal", {scan.rows, current});
    if (is_floating(type)) {
      ir::Value* both_nan =
          node.add("And", {node.add("IsNaN", {scan.rows}), node.add("IsNaN", {current})});
      same = node.add("Not",
                      {node.add("And", {node.add("Not", {same}), node.add("Not", {both_nan})})});
    }
    std::vector<int64_t> indices;
    for (int64_t i = 0; i < scan.length; ++i) indices.push_back(i);
    Tensor positions = Tensor::from_vector<int64_t>(Dims{scan.length}, indices);
    ir::Value* hits =
        node.add("Where", {node.add("And", {scan.mask, same}), node.constant(std::move(positions)),
                           int64_constant(node, {-1})});
    ir::Value* latest = node.add("ReduceMax", {hits}, reduction_attrs({rank}, false));
    node.set_output(1, node.add("Transpose", {latest}, {{"perm", scan.swap}}));
  };
}

// logcumsumexp(self, dim): the log-sum-exp of each prefix, stable for any spread of values.
void convert_logcumsumexp(AtenNode& node) {
  ir::Value* x = as_float(node, node.tensor("self"));
  int64_t rank = rank_of(node, x);
  if (rank == 0) return node.set_output(0, x);
  int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
  ScanRows scan = scan_rows(node, x, axis);
  ir::Value* fill = scalar_constant(node, -kInfinity, dtype_of(node, x));
  ir::Value* masked = node.add("Where", {scan.mask, scan.rows, fill});
  AtenOpBuilder builder(node);
  ir::Value* sums = ir::reduce_log_sum_exp(builder, masked, reduction_attrs({rank}, false));
  node.set_output(0, node.add("Transpose", {sums}, {{"perm", scan.swap}}));
}

}  // namespace

void add_statistics_ops(AtenTable& table) {
  for (const char* overload : {"dim", "correction", "default"}) {
    std::string suffix = std::string(".") + overload;
    table["aten.var" + suffix] = variance(false, false);
    table["aten.std" + suffix] = variance(true, false);
    table["aten.var_mean" + suffix] = variance(false, true);
    table["aten.std_mean" + suffix] = variance(true, true);
  }
  table["aten.all.dim"] = convert_all;
  table["aten.all.dims"] = convert_all;
  table["aten.all.default"] = convert_all;
  table["aten.aminmax.default"] = convert_aminmax;
  table["aten.count_nonzero.default"] = convert_count_nonzero;
  table["aten.count_nonzero.dim_IntList"] = convert_count_nonzero;
  table["aten.nansum.default"] = nan_ignoring_sum(false);
  table["aten.nanmean.default"] = nan_ignoring_sum(true);
  table["aten.kthvalue.default"] = convert_kthvalue;
  table["aten.median.dim"] = median(false);
  table["aten.median.default"] = median(false);
  table["aten.nanmedian.dim"] = median(true);
  table["aten.nanmedian.default"] = median(true);
  table["aten.cummax.default"] = running_extreme(true);
  table["aten.cummin.default"] = running_extreme(false);
  table["aten.logcumsumexp.default"] = convert_logcumsumexp;
}

}  // namespace kiln::torch
