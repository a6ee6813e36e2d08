// Choosing each layer's precision for an engine: the automatic choice, then the user's
// per-layer constraints (by node name or op kind) on top.
#pragma once

#include "engine/engine_file.h"

namespace kiln::engine {

// Runs passes::assign_precisions with the config's precisions, then applies its
// layer_precisions. Throws InvalidArgument for a constraint that matches no layer that has
// a precision (a float-computing node).
void assign_engine_precisions(ir::Graph& graph, const BuildConfig& config);

}  // namespace kiln::engine
