// A matrix product with constant weights whose output is only ever read in column blocks (a
// fused QKV projection split into q, k and v: GPT-2's Split, torchvision's unflatten and
// select) becomes one product per block, each writing its block contiguously: the strided
// copies that cut the blocks out disappear, for a few more (still large) products. The block
// weights and biases are Slices of the constants, which fold_constants folds.
//
// Shapes recognized, P being MatMul(A, B) [+ bias] or Gemm(A, B[, bias]) with B constant 2-D
// and the bias a constant vector, optionally followed by a Reshape R that keeps the last dim:
//   Split(P or R, last axis)                      every output a block
//   Slice(P or R, last axis, step 1)              the block sliced
//   Reshape(P or R → [..., G, N/G], dims of 1 anywhere) read only by Slice/Gather of one
//   index on the G axis
// The engine builder runs it once (build_engine.cpp), so that the block weights are the
// engine's own constants; the blocks may have one dynamic dim (a batch the engine leaves open).
#include <optional>

#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

struct Product {
  ir::Node* product = nullptr;   // MatMul or Gemm
  ir::Node* bias_add = nullptr;  // an Add of a constant vector after a MatMul
  ir::Value* out = nullptr;      // what the blocks are cut from (after the bias)
  int64_t columns = 0;
};

// A block of columns [begin, end) of the product and the value it stands for, with the dims
// that value has (the product's leading dims, then whatever the reader made of the block).
struct Block {
  int64_t begin = 0, end = 0;
  ir::Value* value = nullptr;
};

std::optional<std::vector<int64_t>> constant_ints(const ir::Value* value) {
  if (value == nullptr || !value->is_constant() || !is_integral(value->constant->dtype()))
    return std::nullopt;
  return value->constant->to_int64_vector();
}

bool is_constant_of_rank(const ir::Value* value, int64_t rank) {
  return value != nullptr && value->is_constant() && value->constant->rank() == rank;
}

std::optional<Product> product_at(const ir::Graph& graph, ir::Node* node) {
  Product p;
  p.product = node;
  const ir::Value* b = node->input(1);
  // Weights small enough that fold_constants folds their slices (else each inference would
  // copy them).
  constexpr int64_t kMaxWeightElements = int64_t{16} << 20;
  if (node->outputs.size() != 1 || !is_constant_of_rank(b, 2) ||
      b->constant->numel() > kMaxWeightElements) {
    return std::nullopt;
  }
  if (node->op == "MatMul") {
    if (node->input(2) != nullptr) return std::nullopt;
    p.columns = b->constant->dims()[1];
    p.out = node->outputs[0];
    ir::Node* next = sole_reader(graph, p.out);
    if (next != nullptr && next->op == "Add" && next->inputs.size() == 2 &&
        next->inputs[0] == p.out && is_constant_of_rank(next->inputs[1], 1) &&
        next->inputs[1]->constant->dims()[0] == p.columns) {
      p.bias_add = next;
      p.out = next->outputs[0];
    }
  } else if (node->op == "Gemm") {
    const ir::Value* c = node->input(2);
    if (node->attr_int("transA", 0) != 0 || node->attr_float("alpha", 1.0) != 1.0 ||
        node->attr_float("beta", 1.0) != 1.0 || (c != nullptr && !is_constant_of_rank(c, 1))) {
      return std::nullopt;
    }
    p.columns = b->constant->dims()[node->attr_int("transB", 0) != 0 ? 0 : 1];
    if (c != nullptr && c->constant->dims()[0] != p.columns) return std::nullopt;
    p.out = node->outputs[0];
  } else {
    return std::nullopt;
  }
  if (!p.out->shape.rank_known() || p.out->shape.rank() < 2) return std::nullopt;
  return p;
}

// A Slice of one axis with constant inputs: its start, end and step as written, and its axis
// made non-negative for a `rank`-D input. Empty for other Slices.
struct OneAxisSlice {
  int64_t start = 0, end = 0, axis = 0, step = 1;
};
std::optional<OneAxisSlice> one_axis_slice(const ir::Node& slice, int64_t rank) {
  auto starts = constant_ints(slice.input(1)), ends = constant_ints(slice.input(2));
  auto axes = slice.input(3) ? constant_ints(slice.input(3)) : std::vector<int64_t>{0};
  auto steps = slice.input(4) ? constant_ints(slice.input(4)) : std::vector<int64_t>{1};
  if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 ||
      axes->size() != 1 || steps->size() != 1) {
    return std::nullopt;
  }
  int64_t axis = (*axes)[0] < 0 ? (*axes)[0] + rank : (*axes)[0];
  return OneAxisSlice{(*starts)[0], (*ends)[0], axis, (*steps)[0]};
}

int64_t last_axis_of(const ir::Node& node, int64_t rank, const std::string& key) {
  int64_t axis = node.attr_int(key, 0);
  return axis < 0 ? axis + rank : axis;
}

// Whether axis `axis` of `grouped`, a reshape of `value` (whose last dim is the product's
// `columns`), splits the columns into `groups` blocks of `width`: the dims from the axis on
// static, groups · width = columns, and the dims before it `value`'s leading dims (dims of 1
// aside), so that each index on the axis is one contiguous block of every row.
bool group_axis(const ir::Shape& value, const ir::Shape& grouped, int64_t axis, int64_t columns,
                int64_t& groups, int64_t& width) {
  if (axis < 0 || axis >= grouped.rank()) return false;
  width = 1;
  for (int64_t i = axis + 1; i < grouped.rank(); ++i) {
    if (!grouped[i].is_static()) return false;
    width *= grouped[i].value;
  }
  if (!grouped[axis].is_static()) return false;
  groups = grouped[axis].value;
  if (groups * width != columns || groups < 2) return false;
  auto leading = [](const ir::Shape& shape, int64_t end) {
    std::vector<ir::Dim> dims;
    for (int64_t i = 0; i < end; ++i) {
      if (!(shape[i].is_static() && shape[i].value == 1)) dims.push_back(shape[i]);
    }
    return dims;
  };
  std::vector<ir::Dim> rows = leading(value, value.rank() - 1), before = leading(grouped, axis);
  if (rows.size() != before.size()) return false;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!(rows[i] == before[i])) return false;
  }
  return true;
}

// The blocks `reader` (of `value`, whose last dim is the product's `columns`) cuts; false where
// it reads otherwise.
bool blocks_of(const ir::Graph& graph, ir::Node* reader, const ir::Value* value, int64_t columns,
               std::vector<Block>& blocks) {
  int64_t rank = value->shape.rank();
  if (reader->inputs.empty() || reader->inputs[0] != value) return false;
  if (reader->op == "Split") {
    if (last_axis_of(*reader, rank, "axis") != rank - 1) return false;
    int64_t begin = 0;
    for (ir::Value* output : reader->outputs) {
      if (output == nullptr || !output->shape.rank_known()) return false;
      const ir::Dim& size = output->shape[rank - 1];
      if (!size.is_static()) return false;
      blocks.push_back({begin, begin + size.value, output});
      begin += size.value;
    }
    return begin == columns;
  }
  if (reader->op == "Slice") {
    std::optional<OneAxisSlice> slice = one_axis_slice(*reader, rank);
    if (!slice || slice->step != 1 || slice->axis != rank - 1) return false;
    int64_t begin =
        std::clamp<int64_t>(slice->start < 0 ? slice->start + columns : slice->start, 0, columns);
    int64_t end =
        std::clamp<int64_t>(slice->end < 0 ? slice->end + columns : slice->end, 0, columns);
    if (begin >= end) return false;
    blocks.push_back({begin, end, reader->outputs[0]});
    return true;
  }
  if (reader->op == "Reshape") {
    // [..., N] → [..., G, N / G] (dims of 1 anywhere), each of its readers picking one of the
    // G groups: a Gather of one index or a Slice of one, on the G axis.
    const ir::Value* grouped = reader->outputs[0];
    if (!grouped->shape.rank_known() || graph.is_graph_output(grouped)) return false;
    const int64_t grouped_rank = grouped->shape.rank();
    for (ir::Node* pick : graph.users(grouped)) {
      std::optional<int64_t> group, axis;
      if (pick->op == "Gather" && pick->inputs[0] == grouped) {
        auto index = constant_ints(pick->input(1));
        if (index && index->size() == 1 && pick->inputs[1]->constant->rank() == 0) {
          axis = last_axis_of(*pick, grouped_rank, "axis");
          group = (*index)[0];
        }
      } else if (pick->op == "Slice" && pick->inputs[0] == grouped) {
        std::optional<OneAxisSlice> slice = one_axis_slice(*pick, grouped_rank);
        if (slice && slice->step == 1 && slice->end == slice->start + 1 && slice->start >= 0) {
          axis = slice->axis;
          group = slice->start;
        }
      }
      int64_t groups = 0, width = 0;
      if (!axis || !group_axis(value->shape, grouped->shape, *axis, columns, groups, width))
        return false;
      if (*group < 0) *group += groups;
      if (*group < 0 || *group >= groups) return false;
      blocks.push_back({*group * width, (*group + 1) * width, pick->outputs[0]});
    }
    return !blocks.empty();
  }
  return false;
}

// `constant` cut to [begin, end) along `axis`: a Slice that fold_constants folds.
ir::Value* cut(ir::Graph& graph, const ir::Node* before, const std::string& name,
               ir::Value* constant, int64_t axis, int64_t begin, int64_t end) {
  return graph
      .insert_node_before(before, "Slice", graph.unique_name(name),
                          {constant, int64s_constant(graph, name + ".begin", {begin}),
                           int64s_constant(graph, name + ".end", {end}),
                           int64s_constant(graph, name + ".axis", {axis})},
                          {graph.unique_name(name)})
      ->outputs[0];
}

// The dims a block's view reshapes to: the value's own, -1 for its one unknown dim (a dynamic
// batch); empty where more than one is unknown.
std::optional<std::vector<int64_t>> view_dims(const ir::Shape& shape) {
  if (!shape.rank_known()) return std::nullopt;
  std::vector<int64_t> dims;
  int unknown = 0;
  for (int64_t i = 0; i < shape.rank(); ++i) {
    unknown += shape[i].is_static() ? 0 : 1;
    dims.push_back(shape[i].is_static() ? shape[i].value : -1);
  }
  if (unknown > 1) return std::nullopt;
  return dims;
}

// One product per block; each block's value is then written by its own product (through a
// Reshape to the value's dims where the reader had reshaped).
void split(ir::Graph& graph, const Product& p, const std::vector<Block>& blocks) {
  ir::Node* product = p.product;
  const ir::Node* anchor = p.bias_add != nullptr ? p.bias_add : product;
  bool trans_b = product->op == "Gemm" && product->attr_int("transB", 0) != 0;
  for (const Block& block : blocks) {
    std::string name = product->name + "." + std::to_string(block.begin);
    ir::Value* b = cut(graph, anchor, name + ".w", product->inputs[1], trans_b ? 0 : 1, block.begin,
                       block.end);
    std::vector<ir::Value*> inputs{product->inputs[0], b};
    if (product->op == "Gemm" && product->input(2) != nullptr)
      inputs.push_back(
          cut(graph, anchor, name + ".b", product->inputs[2], 0, block.begin, block.end));
    ir::Node* part = graph.insert_node_before(anchor, product->op, graph.unique_name(name), inputs,
                                              {graph.unique_name(name + ".out")});
    part->attrs = product->attrs;
    part->precision = product->precision;
    ir::Value* result = part->outputs[0];
    if (p.bias_add != nullptr) {
      ir::Value* bias =
          cut(graph, anchor, name + ".bias", p.bias_add->inputs[1], 0, block.begin, block.end);
      result = graph
                   .insert_node_before(anchor, "Add", graph.unique_name(name + ".add"),
                                       {result, bias}, {graph.unique_name(name + ".biased")})
                   ->outputs[0];
    }
    // The block's value keeps its readers: a Reshape to its dims (a view) writes it.
    ir::Node* view = graph.insert_node_before(
        anchor, "Reshape", graph.unique_name(name + ".view"),
        {result, int64s_constant(graph, name + ".dims", *view_dims(block.value->shape))},
        {graph.unique_name(name + ".view")});
    graph.replace_all_uses(block.value, view->outputs[0]);
  }
}

}  // namespace

int split_sliced_products(ir::Graph& graph) {
  int rewritten = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "MatMul" && node->op != "Gemm") continue;
    std::optional<Product> p = product_at(graph, node);
    if (!p || graph.is_graph_output(p->out)) continue;
    // Through a Reshape that keeps the last dim (GPT-2's [B·S, 3E] → [B, S, 3E]).
    const ir::Value* cut_from = p->out;
    std::vector<ir::Node*> readers = graph.users(cut_from);
    if (readers.size() == 1 && readers[0]->op == "Reshape" && readers[0]->outputs.size() == 1) {
      const ir::Value* rows = readers[0]->outputs[0];
      if (rows->shape.rank_known() && rows->shape.rank() >= 2 &&
          rows->shape[rows->shape.rank() - 1].value == p->columns && !graph.is_graph_output(rows)) {
        cut_from = rows;
        readers = graph.users(cut_from);
      }
    }
    if (!cut_from->shape.rank_known() || readers.empty()) continue;
    std::vector<Block> blocks;
    bool all = true;
    for (ir::Node* reader : readers) {
      all = all && blocks_of(graph, reader, cut_from, p->columns, blocks);
    }
    if (!all || blocks.size() < 2) continue;
    bool usable = true;
    for (const Block& block : blocks) {
      usable = usable && !graph.is_graph_output(block.value) && view_dims(block.value->shape);
    }
    if (!usable) continue;
    split(graph, *p, blocks);
    ++rewritten;
  }
  if (rewritten > 0) {
    eliminate_dead_code(graph);
    graph.remove_unused_values();
    ir::infer_graph(graph);
  }
  return rewritten;
}

}  // namespace kiln::passes
