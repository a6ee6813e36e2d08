// The routing ops of mixture-of-experts layers as torch.export records them (Hugging Face's
// Mixtral, Qwen-MoE and similar): histc (tokens per expert), and grouped matrix products over
// rows sorted by expert (aten._grouped_mm, and transformers' opaque grouped_mm_fallback where
// PyTorch has no grouped kernel for the device or dtype).
//
// A grouped product is one product per expert over every row, each kept where its group's
// rows are: correct on every backend, and E times the FLOPs of a grouped kernel (E experts),
// which Kiln does not have yet (docs/operators.md).
#include <cmath>
#include <limits>

#include "frontends/torch/aten_helpers.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

// The lower and upper edge of histc's range: min and max, or where they are equal the data's
// extremes, and where those are equal too, one either side (as PyTorch does).
std::pair<ir::Value*, ir::Value*> histogram_edges(AtenNode& node, ir::Value* flat, DType dtype) {
  double low = node.float_arg("min", 0.0), high = node.float_arg("max", 0.0);
  if (low > high) node.invalid("min ", low, " is greater than max ", high);
  if (!std::isfinite(low) || !std::isfinite(high)) {
    node.invalid("range [", low, ", ", high, "] is not finite");
  }
  if (low != high) return {scalar_constant(node, low, dtype), scalar_constant(node, high, dtype)};
  const std::map<std::string, ir::AttrValue> all = {{"axes", std::vector<int64_t>{0}},
                                                    {"keepdims", int64_t{0}}};
  ir::Value* lower = node.add("ReduceMin", {flat}, all);
  ir::Value* upper = node.add("ReduceMax", {flat}, all);
  ir::Value* same = node.add("Equal", {lower, upper});
  ir::Value* one = scalar_constant(node, 1.0, dtype);
  return {node.add("Where", {same, node.add("Sub", {lower, one}), lower}),
          node.add("Where", {same, node.add("Add", {upper, one}), upper})};
}

// histc(self, bins=100, min=0, max=0): counts of the elements in bins of equal width over
// [min, max] (max itself in the last bin, elements outside and NaN in none), in self's dtype.
// The bin is (x - min) * bins / (max - min) rounded down; the counts are a ScatterElements
// add of ones into bins + 1 slots, the last for the elements outside, counted in float32
// (int64 for integer inputs) and cast at the end, so that bf16 counts are only rounded once.
void convert_histc(AtenNode& node) {
  ir::Value* x = node.tensor("self");
  const DType dtype = dtype_of(node, x);
  const int64_t bins = node.int_arg("bins", 100);
  if (bins <= 0) node.invalid("bins must be positive, got ", bins);
  const DType math = dtype == DType::Float64 ? DType::Float64 : DType::Float32;
  const DType count_type = is_floating(dtype) ? math : DType::Int64;
  ir::Value* flat = node.add("Reshape", {cast_to(node, x, math), int64_constant(node, {-1})});
  auto [low, high] = histogram_edges(node, flat, math);
  ir::Value* scaled =
      node.add("Div", {node.add("Mul", {node.add("Sub", {flat, low}),
                                        scalar_constant(node, static_cast<double>(bins), math)}),
                       node.add("Sub", {high, low})});
  ir::Value* bin = cast_to(node, node.add("Floor", {scaled}), DType::Int64);
  ir::Value* last = scalar_constant(node, static_cast<double>(bins - 1), DType::Int64);
  bin = node.add("Min", {bin, last});
  ir::Value* inside = node.add("And", {node.add("Not", {node.add("Less", {flat, low})}),
                                       node.add("Not", {node.add("Greater", {flat, high})})});
  inside = node.add("And", {inside, node.add("Equal", {flat, flat})});  // NaN: no bin
  ir::Value* outside = scalar_constant(node, static_cast<double>(bins), DType::Int64);
  ir::Value* slot = node.add("Where", {inside, bin, outside});
  ir::Value* slots = node.add(
      "Expand", {scalar_constant(node, 0.0, count_type), int64_constant(node, {bins + 1})});
  ir::Value* ones =
      node.add("Expand", {scalar_constant(node, 1.0, count_type), node.add("Shape", {flat})});
  ir::Value* counts = node.add("ScatterElements", {slots, slot, ones},
                               {{"axis", int64_t{0}}, {"reduction", std::string("add")}});
  counts = slice_axis(node, counts, 0, 0, bins);
  node.set_output(0, cast_to(node, counts, dtype));
}

// Rows [start, end) of `rows` as a [S, 1] mask.
ir::Value* rows_between(AtenNode& node, ir::Value* rows, ir::Value* start, ir::Value* end) {
  ir::Value* after_start = node.add("Not", {node.add("Less", {rows, start})});
  ir::Value* inside = node.add("And", {after_start, node.add("Less", {rows, end})});
  return node.add("Unsqueeze", {inside}, {{"axes", std::vector<int64_t>{1}}});
}

// input [S, K] times weight [E, K, N] by groups of rows: rows offs[e-1] .. offs[e] (from 0
// for e = 0) times weight[e], plus bias[e] when given; rows from offs[E-1] on are zeros.
ir::Value* grouped_rows_product(AtenNode& node, ir::Value* input, ir::Value* weight,
                                ir::Value* offs, ir::Value* bias) {
  const ir::Dim experts_dim = weight->shape.rank_known() ? weight->shape[0] : ir::Dim();
  if (!experts_dim.is_static()) {
    node.unsupported("grouped product over a number of groups known only at run time ('",
                     weight->name, "' ", weight->shape.to_string(), ")");
  }
  const int64_t experts = experts_dim.value;
  if (rank_of(node, offs) != 1) node.invalid("offs '", offs->name, "' must have one dim");
  offs = cast_to(node, offs, DType::Int64);
  ir::Value* rows = node.add(
      "Range", {size_scalar(node, SymInt::fixed(0)), size_scalar(node, sizes_of(node, input)[0]),
                size_scalar(node, SymInt::fixed(1))});
  auto per_expert = [&](ir::Value* stacked) {  // [E, ...] as E pieces [1, ...]
    return node.add_multi("Split", {stacked},
                          {{"axis", int64_t{0}}, {"split", std::vector<int64_t>(experts, 1)}},
                          static_cast<size_t>(experts));
  };
  std::vector<ir::Value*> weights = per_expert(weight);
  std::vector<ir::Value*> biases = bias != nullptr ? per_expert(bias) : std::vector<ir::Value*>{};
  const DType dtype = dtype_of(node, input);
  ir::Value* result = scalar_constant(node, 0.0, dtype);
  ir::Value* start = size_scalar(node, SymInt::fixed(0));
  for (int64_t e = 0; e < experts; ++e) {
    ir::Value* matrix = node.add("Squeeze", {weights[e]}, {{"axes", std::vector<int64_t>{0}}});
    ir::Value* product = node.add("MatMul", {input, matrix});
    if (bias != nullptr) product = node.add("Add", {product, cast_to(node, biases[e], dtype)});
    ir::Value* end =
        node.add("Gather", {offs, size_scalar(node, SymInt::fixed(e))}, {{"axis", int64_t{0}}});
    result = node.add("Where", {rows_between(node, rows, start, end), product, result});
    start = end;
  }
  return result;
}

void require_ranks(AtenNode& node, ir::Value* input, ir::Value* weight, int64_t input_rank,
                   int64_t weight_rank, const char* form) {
  if (rank_of(node, input) != input_rank || rank_of(node, weight) != weight_rank) {
    node.unsupported("a grouped product of ", rank_of(node, input), "-D '", input->name, "' and ",
                     rank_of(node, weight), "-D '", weight->name, "'; Kiln converts ", form);
  }
}

// transformers::grouped_mm_fallback(input [S, K], weight [E, K, N], offs [E]).
void convert_grouped_mm_fallback(AtenNode& node) {
  ir::Value* input = node.tensor("input");
  ir::Value* weight = node.tensor("weight");
  require_ranks(node, input, weight, 2, 3, "2-D rows by 3-D expert weights");
  ir::Value* product = grouped_rows_product(
      node, input, cast_to(node, weight, dtype_of(node, input)), node.tensor("offs"), nullptr);
  node.set_output(0, product);
}

// aten._grouped_mm(self, mat2, offs=None, bias=None, out_dtype=None): 2-D self by 3-D mat2 in
// groups of rows (mixture-of-experts), or 3-D by 3-D without offs (a batched product). The
// forms that group the inner dim (2-D by 2-D, weight gradients) are refused by name.
void convert_grouped_mm(AtenNode& node) {
  ir::Value* input = node.tensor("self");
  ir::Value* weight = node.tensor("mat2");
  ir::Value* offs = node.optional_tensor("offs");
  ir::Value* bias = node.optional_tensor("bias");
  DType dtype = node.scalar_type("out_dtype").value_or(dtype_of(node, input));
  ir::Value* product = nullptr;
  if (offs == nullptr) {
    require_ranks(node, input, weight, 3, 3, "3-D by 3-D without offs, and 2-D by 3-D with offs");
    product = node.add("MatMul", {input, weight});
    if (bias != nullptr) {
      ir::Value* rows = node.add("Unsqueeze", {bias}, {{"axes", std::vector<int64_t>{1}}});
      product = node.add("Add", {product, cast_to(node, rows, dtype_of(node, input))});
    }
  } else {
    require_ranks(node, input, weight, 2, 3, "2-D by 3-D with offs, and 3-D by 3-D without");
    product = grouped_rows_product(node, input, weight, offs, bias);
  }
  node.set_output(0, cast_to(node, product, dtype));
}

}  // namespace

void add_expert_ops(AtenTable& table) {
  table["aten.histc.default"] = convert_histc;
  table["aten._grouped_mm.default"] = convert_grouped_mm;
  table["transformers.grouped_mm_fallback.default"] = convert_grouped_mm_fallback;
}

}  // namespace kiln::torch
