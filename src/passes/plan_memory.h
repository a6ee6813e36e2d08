// Memory planning: one arena for every intermediate value, where values whose lifetimes do
// not overlap share bytes (greedy best-fit over lifetime intervals, largest first).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

// A buffer needed from step `first` through step `last`, both inclusive.
struct LiveRange {
  size_t bytes = 0;
  size_t first = 0;
  size_t last = 0;
};

struct ArenaLayout {
  size_t arena_bytes = 0;
  std::vector<size_t> offsets;  // one per range, aligned
  size_t naive_bytes = 0;       // every range in its own aligned buffer, summed
};

// Places each range in one arena; two ranges share bytes only if their steps are disjoint.
// For executors whose buffers are not graph values one-to-one (e.g. cast copies).
ArenaLayout plan_arena(const std::vector<LiveRange>& ranges, size_t alignment = 256);

struct MemoryPlan {
  size_t arena_bytes = 0;
  std::map<const ir::Value*, size_t> offsets;
  size_t naive_bytes = 0;
};

// Plans every value a node produces, except constants and graph inputs. A value lives from
// its producer's index to its last reader's; graph outputs live to the end of the graph.
MemoryPlan plan_memory(const ir::Graph& graph,
                       const std::function<size_t(const ir::Value&)>& bytes_of,
                       size_t alignment = 256);

}  // namespace kiln::passes
