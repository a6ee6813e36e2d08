// Concrete input dims against a graph's inputs (input_dims.h).
#include "ir/input_dims.h"

#include "core/error.h"

namespace kiln::ir {

std::map<std::string, int64_t> check_input_dims(const Graph& graph,
                                                const std::map<std::string, Dims>& input_dims) {
  std::map<std::string, int64_t> sizes;
  std::map<std::string, std::string> first_seen;  // symbol → the input that sized it
  for (const Value* input : graph.inputs()) {
    auto given = input_dims.find(input->name);
    if (given == input_dims.end() || !input->shape.rank_known()) continue;
    const Dims& dims = given->second;
    check(input->shape.rank() == int64_t(dims.size()), ErrorKind::InvalidArgument, "input '",
          input->name, "' has rank ", input->shape.rank(), " ", input->shape.to_string(),
          ", given dims ", dims_to_string(dims));
    for (size_t axis = 0; axis < dims.size(); ++axis) {
      const Dim& dim = input->shape.dims()[axis];
      if (dim.is_static()) {
        check(dim.value == dims[axis], ErrorKind::InvalidArgument, "input '", input->name,
              "' axis ", axis, " is fixed at ", dim.value, ", given ", dims[axis], " (shape ",
              input->shape.to_string(), ")");
        continue;
      }
      if (!dim.is_symbolic()) continue;
      auto [found, inserted] = sizes.emplace(dim.symbol, dims[axis]);
      if (inserted) first_seen[dim.symbol] = input->name;
      check(inserted || found->second == dims[axis], ErrorKind::InvalidArgument,
            "inputs disagree on dim '", dim.symbol, "': ", found->second, " in '",
            first_seen[dim.symbol], "', ", dims[axis], " in '", input->name, "'");
      auto range = graph.dim_ranges.find(dim.symbol);
      check(range == graph.dim_ranges.end() || range->second.contains(dims[axis]),
            ErrorKind::InvalidArgument, "input '", input->name, "' axis ", axis, ": dim '",
            dim.symbol, "' is ", dims[axis], ", outside its range ",
            range == graph.dim_ranges.end() ? std::string() : range->second.to_string(),
            " (rebuild the engine with --dim ", dim.symbol, "=MIN:OPT:MAX to cover it)");
    }
  }
  return sizes;
}

}  // namespace kiln::ir
