// ATen ops that write or look up by index, as core ops: index_add / index_copy (ScatterElements
// of an expanded index), index_fill, masked_scatter (a running count of the mask picks source
// elements), scatter_reduce in all its forms, isin, bucketize / searchsorted (counts of
// boundaries passed) and embedding_bag (a bag-membership matrix times the gathered rows).
#include <cmath>
#include <limits>
#include <map>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"
#include "ir/composite_ops.h"

namespace kiln::torch {
namespace {

// `index` (1-D, one entry per slice of `source` along axis) as ScatterElements wants it: the
// shape of source, each slice holding its index.
ir::Value* expanded_index(AtenNode& node, ir::Value* index, ir::Value* source, int64_t axis) {
  int64_t rank = rank_of(node, source);
  if (rank_of(node, index) > 1) node.invalid("index must be 0-D or 1-D");
  std::vector<int64_t> dims(static_cast<size_t>(std::max<int64_t>(rank, 1)), 1);
  dims[static_cast<size_t>(axis)] = -1;
  ir::Value* shaped =
      node.add("Reshape", {cast_to(node, index, DType::Int64), int64_constant(node, dims)});
  return node.add("Expand", {shaped, node.add("Shape", {source})});
}

// index_add(self, dim, index, source, alpha) and index_copy(self, dim, index, source).
AtenConverter index_scatter(const std::string& reduction) {
  return [reduction](AtenNode& node) {
    ir::Value* x = node.tensor("self");
    DType type = dtype_of(node, x);
    int64_t axis = normalize_dim(node, node.int_arg("dim"), std::max<int64_t>(rank_of(node, x), 1));
    ir::Value* source = cast_to(node, node.tensor("source"), type);
    double alpha = node.float_arg("alpha", 1.0);
    if (alpha != 1.0) source = node.add("Mul", {source, scalar_constant(node, alpha, type)});
    ir::Value* index = expanded_index(node, node.tensor("index"), source, axis);
    node.set_output(0, node.add("ScatterElements", {x, index, source},
                                {{"axis", axis}, {"reduction", reduction}}));
  };
}

// index_fill(self, dim, index, value): value in every slice along dim that index names (a
// negative index counts from the end).
void convert_index_fill(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  int64_t rank = rank_of(node, x);
  int64_t axis = normalize_dim(node, node.int_arg("dim"), std::max<int64_t>(rank, 1));
  SymInt length = rank == 0 ? SymInt::fixed(1) : sizes_of(node, x)[static_cast<size_t>(axis)];
  ir::Value* size = size_scalar(node, length);
  ir::Value* index = node.add(
      "Reshape", {cast_to(node, node.tensor("index"), DType::Int64), int64_constant(node, {-1})});
  ir::Value* zero = scalar_constant(node, 0, DType::Int64);
  index =
      node.add("Where", {node.add("Less", {index, zero}), node.add("Add", {index, size}), index});
  ir::Value* positions = node.add("Range", {zero, size, scalar_constant(node, 1, DType::Int64)});
  ir::Value* hits = node.add("Equal", {unsqueezed(node, positions, {1}), index});
  ir::Value* named = cast_to(
      node,
      node.add("ReduceMax", {cast_to(node, hits, DType::Float32)}, reduction_attrs({1}, false)),
      DType::Bool);
  if (rank > 0) {
    std::vector<int64_t> dims(static_cast<size_t>(rank), 1);
    dims[static_cast<size_t>(axis)] = -1;
    named = node.add("Reshape", {named, int64_constant(node, dims)});
  } else {
    named = node.add("Reshape", {named, int64_constant(node, {})});
  }
  ir::Value* value = operand(node, "value", dtype_of(node, x));
  node.set_output(0, node.add("Where", {named, value, x}));
}

// masked_scatter(self, mask, source): where mask holds, source's elements in order. The k-th
// true position (row-major) takes source's k-th element: a running count of the mask.
void convert_masked_scatter(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* shape = node.add("Shape", {x});
  ir::Value* mask = node.add("Expand", {cast_to(node, node.tensor("mask"), DType::Bool), shape});
  ir::Value* flat_mask = node.add("Reshape", {mask, int64_constant(node, {-1})});
  ir::Value* count =
      node.add("CumSum", {cast_to(node, flat_mask, DType::Int64)}, {{"axis", int64_t{0}}});
  ir::Value* position = node.add(
      "Max", {node.add("Sub", {count, int64_constant(node, {1})}), int64_constant(node, {0})});
  ir::Value* source = node.add("Reshape", {cast_to(node, node.tensor("source"), dtype_of(node, x)),
                                           int64_constant(node, {-1})});
  ir::Value* taken = node.add("Gather", {source, position}, {{"axis", int64_t{0}}});
  ir::Value* flat_x = node.add("Reshape", {x, int64_constant(node, {-1})});
  ir::Value* merged = node.add("Where", {flat_mask, taken, flat_x});
  node.set_output(0, node.add("Reshape", {merged, shape}));
}

// The value every reduction leaves unchanged: the start of an include_self=False scatter.
double reduction_identity(const std::string& reduce) {
  if (reduce == "prod") return 1.0;
  if (reduce == "amax") return -kInfinity;
  if (reduce == "amin") return kInfinity;
  return 0.0;  // sum, mean
}

// scatter_reduce.two (self, dim, index, src, reduce, include_self): sum / prod / amax / amin as
// ScatterElements reductions; mean as a scattered sum over a scattered count. With
// include_self=False the scattered positions start from the reduction's identity and the
// others keep self.
void convert_scatter_reduce(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  ir::Value* index = node.tensor("index");
  ir::Value* src = node.tensor("src");
  if (!(src->shape == index->shape)) {
    node.unsupported("src ", src->shape.to_string(), " differs from index ",
                     index->shape.to_string(), " (only equal shapes map to ScatterElements)");
  }
  DType type = dtype_of(node, x);
  std::string reduce = node.string_arg("reduce", "");
  static const std::map<std::string, std::string> kReductions = {
      {"sum", "add"}, {"prod", "mul"}, {"amax", "max"}, {"amin", "min"}, {"mean", "add"}};
  auto found = kReductions.find(reduce);
  if (found == kReductions.end()) node.unsupported("reduce='", reduce, "'");
  int64_t axis = normalize_dim(node, node.int_arg("dim"), std::max<int64_t>(rank_of(node, x), 1));
  bool include_self = node.bool_arg("include_self", true);
  ir::CompositeAttrs attrs = {{"axis", axis}, {"reduction", found->second}};
  ir::Value* shape = node.add("Shape", {x});
  auto filled = [&](double value) {
    double bounded = is_floating(type) || std::isfinite(value)
                         ? value
                         : (value > 0 ? 9.2233720368547758e18 : -9.2233720368547758e18);
    return node.add("Expand", {scalar_constant(node, bounded, type), shape});
  };
  ir::Value* start = include_self ? x : filled(reduction_identity(reduce));
  ir::Value* reduced = node.add("ScatterElements", {start, index, src}, attrs);
  ir::Value* ones = node.add("Expand", {scalar_constant(node, 1, type), node.add("Shape", {src})});
  ir::Value* hits = node.add("ScatterElements", {filled(0), index, ones},
                             {{"axis", axis}, {"reduction", std::string("add")}});
  if (reduce == "mean") {
    ir::Value* count =
        include_self ? node.add("Add", {hits, scalar_constant(node, 1, type)}) : hits;
    ir::Value* safe = node.add("Max", {count, scalar_constant(node, 1, type)});
    reduced = node.add("Div", {reduced, safe});
    if (!is_floating(type)) reduced = node.add("Floor", {reduced});
  }
  if (include_self) return node.set_output(0, reduced);
  ir::Value* touched = node.add("Greater", {hits, scalar_constant(node, 0, type)});
  node.set_output(0, node.add("Where", {touched, reduced, x}));
}

// isin(elements, test_elements, assume_unique, invert): whether each element equals any test
// element.
void convert_isin(AtenNode& node) {
  const char* test_name = node.find("test_element") ? "test_element" : "test_elements";
  const char* element_name = node.find("element") ? "element" : "elements";
  DType type = result_type(node, {element_name, test_name});
  ir::Value* elements = operand(node, element_name, type);
  ir::Value* tests =
      node.add("Reshape", {operand(node, test_name, type), int64_constant(node, {-1})});
  int64_t rank = rank_of(node, elements);
  ir::Value* column = unsqueezed(node, elements, {rank});
  ir::Value* equal = cast_to(node, node.add("Equal", {column, tests}), DType::Float32);
  ir::Value* any =
      cast_to(node, node.add("ReduceMax", {equal}, reduction_attrs({rank}, false)), DType::Bool);
  node.set_output(0, node.bool_arg("invert", false) ? node.add("Not", {any}) : any);
}

// How many boundaries lie before each value, as PyTorch's binary search counts them:
// boundaries b with !(b >= v) (right=False) or !(b > v) (right=True); NaN passes them all.
// `boundaries` and `values` broadcast against each other over all but their last dims.
ir::Value* boundaries_passed(AtenNode& node, ir::Value* boundaries, ir::Value* values, bool right,
                             bool out_int32) {
  int64_t rank = rank_of(node, values);
  ir::Value* column = unsqueezed(node, values, {rank});
  ir::Value* row =
      rank_of(node, boundaries) == 1 ? boundaries : unsqueezed(node, boundaries, {rank - 1});
  AtenOpBuilder builder(node);
  ir::Value* stops =
      right ? node.add("Greater", {row, column}) : ir::greater_or_equal(builder, row, column);
  ir::Value* passed = cast_to(node, node.add("Not", {stops}), DType::Int64);
  ir::Value* count = node.add("ReduceSum", {passed}, reduction_attrs({rank}, false));
  return out_int32 ? cast_to(node, count, DType::Int32) : count;
}

void convert_bucketize(AtenNode& node) {
  DType type = result_type(node, {"self", "boundaries"});
  ir::Value* boundaries = operand(node, "boundaries", type);
  if (rank_of(node, boundaries) != 1) node.invalid("boundaries must be 1-D");
  node.set_output(
      0, boundaries_passed(node, boundaries, operand(node, "self", type),
                           node.bool_arg("right", false), node.bool_arg("out_int32", false)));
}

// searchsorted(sorted_sequence, self, out_int32, right, side, sorter): a 1-D sequence for all
// values, or one sequence per row of self's leading dims; `sorter` orders the sequence first.
void convert_searchsorted(AtenNode& node) {
  DType type = result_type(node, {"sorted_sequence", "self"});
  ir::Value* sequence = operand(node, "sorted_sequence", type);
  if (ir::Value* sorter = node.optional_tensor("sorter")) {
    sequence = node.add("GatherElements", {sequence, cast_to(node, sorter, DType::Int64)},
                        {{"axis", rank_of(node, sequence) - 1}});
  }
  ir::Value* values = operand(node, "self", type);
  if (rank_of(node, sequence) > 1 && rank_of(node, values) != rank_of(node, sequence)) {
    node.invalid("a sorted_sequence of several dims needs values of the same rank");
  }
  std::string side = node.string_arg("side", "");
  bool right = node.bool_arg("right", false) || side == "right";
  node.set_output(
      0, boundaries_passed(node, sequence, values, right, node.bool_arg("out_int32", false)));
}

}  // namespace

// embedding_bag (aten_embedding_bag.cpp).
void add_embedding_bag_ops(AtenTable& table);

void add_index_update_ops(AtenTable& table) {
  table["aten.index_add.default"] = index_scatter("add");
  table["aten.index_copy.default"] = index_scatter("none");
  table["aten.index_fill.int_Scalar"] = convert_index_fill;
  table["aten.index_fill.int_Tensor"] = convert_index_fill;
  table["aten.masked_scatter.default"] = convert_masked_scatter;
  table["aten.scatter_reduce.two"] = convert_scatter_reduce;
  table["aten.isin.Tensor_Tensor"] = convert_isin;
  table["aten.isin.Tensor_Scalar"] = convert_isin;
  table["aten.isin.Scalar_Tensor"] = convert_isin;
  table["aten.bucketize.Tensor"] = convert_bucketize;
  table["aten.searchsorted.Tensor"] = convert_searchsorted;
  table["aten.searchsorted.Scalar"] = convert_searchsorted;
  add_embedding_bag_ops(table);
}

}  // namespace kiln::torch
