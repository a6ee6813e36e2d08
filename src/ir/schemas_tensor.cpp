// Schemas of the ops that rearrange a tensor without arithmetic: Reshape, Flatten,
// Transpose, Squeeze, Unsqueeze, Expand, Trilu, Pad.
#include <algorithm>
#include <set>

#include "core/error.h"
#include "ir/dim_products.h"
#include "ir/schema_rules.h"
#include "ir/shape_values.h"

namespace kiln::ir {
namespace {

// Solves a reshape's -1 from the element count of the input and of the other output dims,
// symbols included (ir/dim_products.h): [batch, 4, 8] → [batch, -1] gives 32, [batch, 8, 32]
// → [-1, 32] gives "8*batch" and back. Unknown when the count cannot be matched.
Dim solve_inferred_dim(const Node& node, const std::vector<Dim>& input,
                       const std::vector<Dim>& output) {
  std::optional<DimProduct> whole = dim_product(input);
  std::optional<DimProduct> others = dim_product(output);
  if (!whole || !others || others->coefficient == 0) return Dim::unknown();
  if (whole->symbols.empty() && others->symbols.empty()) {
    check(whole->coefficient % others->coefficient == 0, ErrorKind::InvalidModel, node.describe(),
          ": cannot reshape ", whole->coefficient, " elements into a multiple of ",
          others->coefficient);
  }
  std::optional<DimProduct> solved = divide(*whole, *others);
  return solved ? dim_of(*solved) : Dim::unknown();
}

// Reshape's output for target entries (ir/shape_values.h): 0 copies the input dim (unless
// allowzero), a literal -1 is solved from the element count, any other entry is the dim.
Shape reshape_to_entries(const Node& node, const Shape& input,
                         const std::vector<ShapeEntry>& target) {
  bool allow_zero = node.attr_int("allowzero", 0) != 0;
  std::vector<Dim> result;
  int inferred_slot = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    const Dim& size = target[i].dim;
    if (size.is_static() && size.value == 0 && !allow_zero) {
      bool has_dim = input.rank_known() && static_cast<int64_t>(i) < input.rank();
      check(!input.rank_known() || has_dim, ErrorKind::InvalidModel, node.describe(),
            ": shape entry ", i, " is 0 (copy the input dim) but the input has rank ",
            input.rank_known() ? input.rank() : -1);
      result.push_back(has_dim ? input[static_cast<int64_t>(i)] : Dim::unknown());
    } else if (target[i].inferred) {
      check(inferred_slot < 0, ErrorKind::InvalidModel, node.describe(),
            ": the target shape has more than one -1");
      inferred_slot = static_cast<int>(i);
      result.push_back(Dim::unknown());  // solved below, once every other entry is known
    } else {
      result.push_back(size);
    }
  }
  if (inferred_slot >= 0) {
    std::vector<Dim> others = result;
    others.erase(others.begin() + inferred_slot);
    result[static_cast<size_t>(inferred_slot)] =
        input.rank_known() ? solve_inferred_dim(node, input.dims(), others) : Dim::unknown();
  } else if (input.is_static() && Shape(result).is_static()) {
    check(element_count(input.static_dims()) == element_count(Shape(result).static_dims()),
          ErrorKind::InvalidModel, node.describe(), ": cannot reshape ", input.to_string(), " to ",
          Shape(result).to_string(), " (element counts differ)");
  }
  return Shape(std::move(result));
}

void infer_reshape(Node& node) {
  const Value& data = required_input(node, 0);
  const Value& shape = required_input(node, 1);
  require_dtype(node, shape, DType::Int64);
  if (auto target = constant_ints(node, 1)) {
    for (int64_t size : *target) {
      check(size >= -1, ErrorKind::InvalidModel, node.describe(), ": invalid shape entry ", size);
    }
  }
  if (auto entries = shape_entries(&shape)) {
    set_output(node, 0, data.dtype, reshape_to_entries(node, data.shape, *entries));
  } else if (shape.shape.rank_known() && shape.shape.rank() == 1 && shape.shape[0].is_static()) {
    set_output(node, 0, data.dtype, unknown_dims(shape.shape[0].value));
  } else {
    set_output(node, 0, data.dtype, Shape());
  }
}

void infer_flatten(Node& node) {
  const Value& x = required_input(node, 0);
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, unknown_dims(2));
    return;
  }
  const auto& dims = x.shape.dims();
  // Flatten's axis ranges over [-rank, rank]: a negative axis counts from rank, not rank + 1.
  int64_t rank = x.shape.rank();
  int64_t axis = node.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  check(axis >= 0 && axis <= rank, ErrorKind::InvalidModel, node.describe(), ": axis ",
        node.attr_int("axis", 1), " is out of range for rank ", rank);
  Dim outer = product_of({dims.begin(), dims.begin() + axis});
  Dim inner = product_of({dims.begin() + axis, dims.end()});
  set_output(node, 0, x.dtype, Shape({outer, inner}));
}

void infer_transpose(Node& node) {
  const Value& x = required_input(node, 0);
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, Shape());
    return;
  }
  int64_t rank = x.shape.rank();
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (perm.empty()) {
    for (int64_t axis = rank - 1; axis >= 0; --axis) perm.push_back(axis);
  }
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool is_permutation = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t i = 0; is_permutation && i < rank; ++i) is_permutation = sorted[i] == i;
  check(is_permutation, ErrorKind::InvalidModel, node.describe(),
        ": perm is not a permutation of the ", rank, " axes");
  std::vector<Dim> result;
  for (int64_t axis : perm) result.push_back(x.shape[axis]);
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

void infer_unsqueeze(Node& node) {
  const Value& x = required_input(node, 0);
  std::vector<int64_t> axes = node.attr_ints("axes");
  check(!axes.empty(), ErrorKind::InvalidModel, node.describe(), ": attribute axes is required");
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, Shape());
    return;
  }
  int64_t rank = x.shape.rank() + static_cast<int64_t>(axes.size());
  std::set<int64_t> inserted;
  for (int64_t axis : axes) {
    check(inserted.insert(normalize_axis(axis, rank, node.describe())).second,
          ErrorKind::InvalidModel, node.describe(), ": axis ", axis, " is listed twice");
  }
  std::vector<Dim> result;
  size_t next_input = 0;
  for (int64_t axis = 0; axis < rank; ++axis) {
    result.push_back(inserted.count(axis) ? Dim::fixed(1) : x.shape.dims()[next_input++]);
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

void infer_squeeze(Node& node) {
  const Value& x = required_input(node, 0);
  std::vector<int64_t> axes = node.attr_ints("axes");
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, Shape());
    return;
  }
  const auto& dims = x.shape.dims();
  std::set<int64_t> removed;
  if (axes.empty()) {
    // Squeeze-all needs to know which dims are 1; a symbolic dim might be 1 at run time.
    for (size_t axis = 0; axis < dims.size(); ++axis) {
      if (!dims[axis].is_static()) {
        set_output(node, 0, x.dtype, Shape());
        return;
      }
      if (dims[axis].value == 1) removed.insert(static_cast<int64_t>(axis));
    }
  }
  for (int64_t axis : axes) {
    int64_t normalized = normalize_axis(axis, x.shape.rank(), node.describe());
    check(!dims[normalized].is_static() || dims[normalized].value == 1, ErrorKind::InvalidModel,
          node.describe(), ": cannot squeeze axis ", axis, " of size ", dims[normalized].value);
    removed.insert(normalized);
  }
  std::vector<Dim> result;
  for (size_t axis = 0; axis < dims.size(); ++axis) {
    if (!removed.count(static_cast<int64_t>(axis))) result.push_back(dims[axis]);
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

void infer_expand(Node& node) {
  const Value& x = required_input(node, 0);
  const Value& shape = required_input(node, 1);
  require_dtype(node, shape, DType::Int64);
  if (auto target = constant_ints(node, 1)) {
    set_output(node, 0, x.dtype, broadcast_shapes(x.shape, Shape::from_dims(*target), node));
    return;
  }
  if (auto entries = shape_entries(&shape)) {
    // Sizes from the graph's own dims (Concat of Shape slices and constants): broadcast as
    // if constant, a -1 entry (torch's "keep this dim") being unknown.
    std::vector<Dim> target;
    for (const ShapeEntry& entry : *entries) target.push_back(entry.dim);
    set_output(node, 0, x.dtype, broadcast_shapes(x.shape, Shape(std::move(target)), node));
    return;
  }
  if (!x.shape.rank_known() || !shape.shape.rank_known() || shape.shape.rank() != 1 ||
      !shape.shape[0].is_static()) {
    set_output(node, 0, x.dtype, Shape());
    return;
  }
  // Unknown target sizes: an input dim other than 1 survives broadcasting unchanged.
  int64_t rank = std::max(x.shape.rank(), shape.shape[0].value);
  std::vector<Dim> result(static_cast<size_t>(rank), Dim::unknown());
  int64_t offset = rank - x.shape.rank();
  for (int64_t axis = 0; axis < x.shape.rank(); ++axis) {
    const Dim& dim = x.shape[axis];
    if (dim.is_static() && dim.value != 1) result[static_cast<size_t>(offset + axis)] = dim;
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

void infer_trilu(Node& node) {
  const Value& x = required_input(node, 0);
  if (const Value* k = node.input(1)) require_dtype(node, *k, DType::Int64);
  check(!x.shape.rank_known() || x.shape.rank() >= 2, ErrorKind::InvalidModel, node.describe(),
        ": input must have rank >= 2, got ", x.shape.to_string());
  set_output(node, 0, x.dtype, x.shape);
}

// Pad: pads holds the begins then the ends of every axis (negative crops), so each dim grows
// by begin + end. A symbolic dim stays itself only when its two pads cancel.
void infer_pad(Node& node) {
  const Value& x = required_input(node, 0);
  const std::string mode = node.attr_string("mode", "constant");
  check(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap",
        ErrorKind::InvalidModel, node.describe(), ": mode '", mode,
        "' is not one of constant, reflect, edge, wrap");
  const std::vector<int64_t> pads = node.attr_ints("pads");
  check(pads.size() % 2 == 0, ErrorKind::InvalidModel, node.describe(), ": pads ",
        dims_to_string(pads), " must hold a begin and an end per axis");
  const int64_t rank = static_cast<int64_t>(pads.size() / 2);
  if (!x.shape.rank_known()) {
    set_output(node, 0, x.dtype, unknown_dims(rank));
    return;
  }
  check(x.shape.rank() == rank, ErrorKind::InvalidModel, node.describe(), ": pads ",
        dims_to_string(pads), " has ", pads.size(), " values; an input of rank ", x.shape.rank(),
        " needs ", 2 * x.shape.rank());
  std::vector<Dim> result;
  for (int64_t axis = 0; axis < rank; ++axis) {
    const Dim& dim = x.shape[axis];
    const int64_t begin = pads[static_cast<size_t>(axis)];
    const int64_t end = pads[static_cast<size_t>(axis + rank)];
    if (!dim.is_static()) {
      result.push_back(begin + end == 0 ? dim : Dim::unknown());
      continue;
    }
    check(dim.value + begin + end >= 0, ErrorKind::InvalidModel, node.describe(), ": pads ", begin,
          " and ", end, " crop more than the ", dim.value, " elements of axis ", axis);
    check(mode == "constant" || dim.value > 0 || (begin <= 0 && end <= 0), ErrorKind::InvalidModel,
          node.describe(), ": ", mode, " padding of axis ", axis, " has no elements to copy");
    check(mode != "reflect" || (begin < dim.value && end < dim.value), ErrorKind::InvalidModel,
          node.describe(), ": reflect pads ", begin, " and ", end, " of axis ", axis,
          " must each be less than its size ", dim.value);
    result.push_back(Dim::fixed(dim.value + begin + end));
  }
  set_output(node, 0, x.dtype, Shape(std::move(result)));
}

}  // namespace

void add_tensor_schemas(std::vector<OpSchema>& table) {
  table.push_back({"Reshape", 2, 2, 1, 1, false, infer_reshape});
  table.push_back({"Flatten", 1, 1, 1, 1, false, infer_flatten});
  table.push_back({"Transpose", 1, 1, 1, 1, false, infer_transpose});
  table.push_back({"Unsqueeze", 1, 1, 1, 1, false, infer_unsqueeze});
  table.push_back({"Squeeze", 1, 1, 1, 1, false, infer_squeeze});
  table.push_back({"Expand", 2, 2, 1, 1, false, infer_expand});
  table.push_back({"Trilu", 1, 2, 1, 1, false, infer_trilu});
  table.push_back({"Pad", 1, 1, 1, 1, false, infer_pad});
}

}  // namespace kiln::ir
