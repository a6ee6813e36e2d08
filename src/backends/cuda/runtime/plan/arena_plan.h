// Arena planning: one allocation for every intermediate buffer of an execution context, where
// buffers whose lifetimes (in steps) do not overlap share bytes (greedy best-fit, largest
// first). Host-only: the storage plan (storage_plan.h) calls it, CPU tests check it.
#pragma once

#include <cstddef>
#include <vector>

namespace kiln::cuda {

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
// Ranges are buffers, not graph values: a value may have several (cast copies).
ArenaLayout plan_arena(const std::vector<LiveRange>& ranges, size_t alignment = 256);

}  // namespace kiln::cuda
