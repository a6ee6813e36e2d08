// The one check of concrete input dims against a graph's inputs, shared by every backend: the
// rank, the static dims, one size per symbolic dim across inputs, and each symbol's declared
// range (Graph::dim_ranges), so that a size outside an engine's range is an error naming the
// dim, its range and the size given, never a resize or a crash.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"

namespace kiln::ir {

// Throws InvalidArgument naming the input, axis and dim for the first mismatch. Inputs that
// `input_dims` does not name are not checked (the caller reports missing inputs). Returns the
// size of each symbolic dim.
std::map<std::string, int64_t> check_input_dims(const Graph& graph,
                                                const std::map<std::string, Dims>& input_dims);

}  // namespace kiln::ir
