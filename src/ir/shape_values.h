// The sizes an int64 shape tensor holds where the graph states them without running it: a
// Reshape or Expand target built at run time from the input's own dims, as torch.export and
// the ONNX exporter write `x.view(x.size(0), -1, heads, head_dim)` (Concat of Shape slices and
// constants), still has a known result: [batch, 128, 12, 64], not four unknown dims. Shape
// passes that compare shapes (the residual epilogue fusion, attention layouts) need those.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// One entry of a shape tensor: a dim (static, symbolic, or unknown) or a literal -1, the
// entry Reshape solves from the element count.
struct ShapeEntry {
  Dim dim;
  bool inferred = false;  // a literal -1
};

// The dims a Shape node reports ({start, end} clamped to its input's rank as ONNX does);
// nullopt where that rank is unknown.
std::optional<std::vector<Dim>> shape_node_dims(const Node& shape_node);

// The entries of a 1-D (or scalar) int64 `value` where its producers state them: a constant;
// Shape of a value of known rank (start/end honoured); Concat along axis 0, Cast to an
// integer, Unsqueeze / Squeeze / Reshape of a single entry, Gather at constant indices and
// Slice with constant bounds (a positive step) of those. Nullopt where any entry's origin is
// something else (a computed size).
std::optional<std::vector<ShapeEntry>> shape_entries(const Value* value);

}  // namespace kiln::ir
