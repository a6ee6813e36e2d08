// ATen reductions (mean, sum, amax, amin, max, min, argmax, argmin, any, topk), scans
// (cumsum, cumprod, diff) and matrix products (mm, bmm, matmul, addmm).
#include <algorithm>
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {

std::vector<int64_t> reduced_axes(AtenNode& node, ir::Value* x) {
  std::vector<int64_t> axes = node.ints("dim", {});
  int64_t rank = rank_of(node, x);
  for (int64_t& axis : axes) axis = normalize_dim(node, axis, rank);
  return axes;
}

namespace {

// mean / sum / amax / amin over `dim` (None or [] = all), with keepdim and an optional dtype;
// max / min without a dim reduce everything.
AtenConverter reduction(std::string op, bool integers_to_int64) {
  return [op, integers_to_int64](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    if (auto dtype = node.scalar_type("dtype")) {
      x = cast_to(node, x, *dtype);
    } else if (integers_to_int64 && !is_floating(dtype_of(node, x))) {
      x = cast_to(node, x, DType::Int64);  // sum of ints and bools is int64 in PyTorch
    }
    std::vector<int64_t> axes = reduced_axes(node, x);
    int64_t keepdims = node.bool_arg("keepdim", false) ? 1 : 0;
    node.set_output(0, node.add(op, {x}, {{"axes", axes}, {"keepdims", keepdims}}));
  };
}

// A 0-D tensor as a 1-D one of one element, so that reducing its dim 0 (or -1) gives it back
// as 0-D, as PyTorch does; other tensors as they are.
ir::Value* at_least_1d(AtenNode& node, ir::Value* x) {
  return rank_of(node, x) == 0 ? node.add("Reshape", {x, int64_constant(node, {1})}) : x;
}

// argmax / argmin (self, dim=None, keepdim=False): ArgMax/ArgMin along dim, or over the
// flattened tensor when dim is None (keepdim then keeps every dim as 1). Ties give the first
// index and NaN counts as the extreme, as in PyTorch.
AtenConverter arg_reduction(std::string op) {
  return [op](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    int64_t rank = rank_of(node, x);
    int64_t keepdims = node.bool_arg("keepdim", false) ? 1 : 0;
    if (node.has("dim")) {
      int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
      ir::Value* input = at_least_1d(node, x);
      int64_t keep = rank == 0 ? 0 : keepdims;
      node.set_output(0, node.add(op, {input}, {{"axis", axis}, {"keepdims", keep}}));
      return;
    }
    ir::Value* flat = node.add("Reshape", {x, int64_constant(node, {-1})});
    ir::Value* index = node.add(op, {flat}, {{"axis", int64_t{0}}, {"keepdims", int64_t{0}}});
    if (keepdims != 0 && rank > 0) {
      index = node.add("Reshape", {index, int64_constant(node, std::vector<int64_t>(rank, 1))});
    }
    node.set_output(0, index);
  };
}

// max.dim / min.dim (self, dim, keepdim=False) → (values, indices): a ReduceMax/ReduceMin
// and an ArgMax/ArgMin over the same axis, each built only when the model reads it.
AtenConverter reduction_with_indices(std::string reduce_op, std::string arg_op) {
  return [reduce_op, arg_op](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    int64_t rank = rank_of(node, x);
    int64_t axis = normalize_dim(node, node.int_arg("dim"), rank);
    int64_t keepdims = rank > 0 && node.bool_arg("keepdim", false) ? 1 : 0;
    ir::Value* input = at_least_1d(node, x);
    if (node.output_used(0)) {
      node.set_output(0, node.add(reduce_op, {input},
                                  {{"axes", std::vector<int64_t>{axis}}, {"keepdims", keepdims}}));
    }
    if (node.output_used(1)) {
      node.set_output(1, node.add(arg_op, {input}, {{"axis", axis}, {"keepdims", keepdims}}));
    }
  };
}

// topk(self, k, dim=-1, largest=True, sorted=True) → (values, indices); unsorted results
// come sorted, which torch allows.
void convert_topk(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", -1), rank_of(node, x));
  int64_t largest = node.bool_arg("largest", true) ? 1 : 0;
  std::vector<ir::Value*> outputs = node.add_multi(
      "TopK", {x}, {{"k", node.int_arg("k")}, {"axis", axis}, {"largest", largest}}, 2);
  node.set_output(0, outputs[0]);
  node.set_output(1, outputs[1]);
}

// sort(self, dim, descending[, stable]) and argsort: a TopK over the whole dim, sorted. Equal
// values may come in another order than PyTorch's unstable sort puts them.
void emit_sort(AtenNode& node, bool indices_only) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", -1), rank_of(node, x));
  if (!x->shape[axis].is_static()) node.unsupported("sorting a dim known only at run time");
  int64_t largest = node.bool_arg("descending", false) ? 1 : 0;
  std::vector<ir::Value*> outputs = node.add_multi(
      "TopK", {x}, {{"k", x->shape[axis].value}, {"axis", axis}, {"largest", largest}}, 2);
  if (indices_only) return node.set_output(0, outputs[1]);
  node.set_output(0, outputs[0]);
  node.set_output(1, outputs[1]);
}

// any(dim): the maximum of the values as 0/1 floats, back to bool.
void convert_any(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* as_bool = cast_to(node, x, DType::Bool);
  ir::Value* as_float = cast_to(node, as_bool, DType::Float32);
  std::vector<int64_t> axes = reduced_axes(node, x);
  int64_t keepdims = node.bool_arg("keepdim", false) ? 1 : 0;
  ir::Value* max = node.add("ReduceMax", {as_float}, {{"axes", axes}, {"keepdims", keepdims}});
  node.set_output(0, cast_to(node, max, DType::Bool));
}

// cumsum and cumprod: bools and integers accumulate in int64, as PyTorch does.
AtenConverter scan(std::string op) {
  return [op](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    if (auto dtype = node.scalar_type("dtype")) {
      x = cast_to(node, x, *dtype);
    } else if (!is_floating(dtype_of(node, x))) {
      x = cast_to(node, x, DType::Int64);
    }
    int64_t axis = normalize_dim(node, node.int_arg("dim"), rank_of(node, x));
    node.set_output(0, node.add(op, {x}, {{"axis", axis}}));
  };
}

// diff(self, n, dim, prepend, append): x[1:] - x[:-1] along dim, n times (bools: x[1:] != x[:-1]).
void convert_diff(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t axis = normalize_dim(node, node.int_arg("dim", -1), rank_of(node, x));
  std::vector<ir::Value*> pieces;
  for (const char* name : {"prepend", "self", "append"}) {
    if (ir::Value* piece = node.optional_tensor(name)) pieces.push_back(piece);
  }
  if (pieces.size() > 1) x = node.add("Concat", pieces, {{"axis", axis}});
  int64_t count = node.int_arg("n", 1);
  if (count < 0) node.invalid("n must be non-negative, got ", count);
  ir::Value* axes = int64_constant(node, {axis});
  ir::Value* one = int64_constant(node, {1});
  for (int64_t step = 0; step < count; ++step) {
    ir::Value* later = node.add(
        "Slice", {x, one, int64_constant(node, {std::numeric_limits<int64_t>::max()}), axes});
    ir::Value* earlier =
        node.add("Slice", {x, int64_constant(node, {0}), int64_constant(node, {-1}), axes});
    if (dtype_of(node, x) == DType::Bool) {
      x = node.add("Not", {node.add("Equal", {later, earlier})});
    } else {
      x = node.add("Sub", {later, earlier});
    }
  }
  node.set_output(0, x);
}

// mm, bmm and matmul share numpy matmul rules; the operands must share a dtype.
void convert_matmul(AtenNode& node) {
  const char* right_name = node.find("mat2") != nullptr ? "mat2" : "other";
  node.set_output(0, node.add("MatMul", {node.tensor("self"), node.tensor(right_name)}));
}

// addmm(self, mat1, mat2, beta, alpha) = beta * self + alpha * (mat1 @ mat2): one Gemm.
void convert_addmm(AtenNode& node) {
  double beta = node.float_arg("beta", 1.0);
  double alpha = node.float_arg("alpha", 1.0);
  node.set_output(0,
                  node.add("Gemm", {node.tensor("mat1"), node.tensor("mat2"), node.tensor("self")},
                           {{"alpha", alpha}, {"beta", beta}}));
}

// baddbmm(self, batch1, batch2, beta, alpha) = beta * self + alpha * (batch1 @ batch2); with
// beta 0, self is ignored (NaN in it does not propagate), as in PyTorch. BLOOM's ALiBi scores.
void convert_baddbmm(AtenNode& node) {
  ir::Value* product = node.add("MatMul", {node.tensor("batch1"), node.tensor("batch2")});
  DType type = dtype_of(node, product);
  double alpha = node.float_arg("alpha", 1.0);
  double beta = node.float_arg("beta", 1.0);
  if (alpha != 1.0) product = node.add("Mul", {product, scalar_constant(node, alpha, type)});
  if (beta == 0.0) return node.set_output(0, product);
  ir::Value* self = cast_to(node, node.tensor("self"), type);
  if (beta != 1.0) self = node.add("Mul", {self, scalar_constant(node, beta, type)});
  node.set_output(0, node.add("Add", {self, product}));
}

}  // namespace

void add_reduce_ops(AtenTable& table) {
  table["aten.mean.dim"] = reduction("ReduceMean", false);
  table["aten.mean.default"] = reduction("ReduceMean", false);
  table["aten.sum.dim_IntList"] = reduction("ReduceSum", true);
  table["aten.sum.default"] = reduction("ReduceSum", true);
  table["aten.prod.dim_int"] = reduction("ReduceProd", true);
  table["aten.prod.default"] = reduction("ReduceProd", true);
  table["aten.amax.default"] = reduction("ReduceMax", false);
  table["aten.amin.default"] = reduction("ReduceMin", false);
  table["aten.max.default"] = reduction("ReduceMax", false);
  table["aten.min.default"] = reduction("ReduceMin", false);
  table["aten.max.dim"] = reduction_with_indices("ReduceMax", "ArgMax");
  table["aten.min.dim"] = reduction_with_indices("ReduceMin", "ArgMin");
  table["aten.argmax.default"] = arg_reduction("ArgMax");
  table["aten.argmin.default"] = arg_reduction("ArgMin");
  table["aten.topk.default"] = convert_topk;
  table["aten.any.dim"] = convert_any;
  table["aten.any.dims"] = convert_any;
  table["aten.any.default"] = convert_any;
  table["aten.cumsum.default"] = scan("CumSum");
  table["aten.cumprod.default"] = scan("CumProd");
  table["aten.diff.default"] = convert_diff;
  table["aten.mm.default"] = convert_matmul;
  table["aten.bmm.default"] = convert_matmul;
  table["aten.matmul.default"] = convert_matmul;
  table["aten.addmm.default"] = convert_addmm;
  table["aten.baddbmm.default"] = convert_baddbmm;
  table["aten.sort.default"] = [](AtenNode& node) { emit_sort(node, false); };
  table["aten.sort.stable"] = [](AtenNode& node) { emit_sort(node, false); };
  table["aten.argsort.default"] = [](AtenNode& node) { emit_sort(node, true); };
  table["aten.argsort.stable"] = [](AtenNode& node) { emit_sort(node, true); };
}

}  // namespace kiln::torch
