// Arena planning: a greedy best-fit placement of lifetime intervals in one arena (largest
// first, so big buffers claim space before it splinters).
#include "backends/cuda/runtime/plan/arena_plan.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace kiln::cuda {
namespace {

size_t align_up(size_t bytes, size_t alignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

bool lifetimes_overlap(const LiveRange& a, const LiveRange& b) {
  return a.first <= b.last && b.first <= a.last;
}

struct Block {
  size_t offset;
  size_t end;
};

// The best-fitting aligned offset for `size` bytes among `taken` blocks: the smallest gap
// between them that holds it, else just past the last block.
size_t best_fit(std::vector<Block> taken, size_t size, size_t alignment) {
  std::sort(taken.begin(), taken.end(),
            [](const Block& a, const Block& b) { return a.offset < b.offset; });
  size_t cursor = 0;
  size_t best_offset = 0;
  size_t best_gap = 0;
  bool found = false;
  for (const Block& block : taken) {
    if (block.offset > cursor) {
      size_t gap = block.offset - cursor;
      if (gap >= size && (!found || gap < best_gap)) {
        best_offset = cursor;
        best_gap = gap;
        found = true;
      }
    }
    cursor = std::max(cursor, align_up(block.end, alignment));
  }
  return found ? best_offset : cursor;
}

}  // namespace

ArenaLayout plan_arena(const std::vector<LiveRange>& ranges, size_t alignment) {
  check(alignment > 0, ErrorKind::InvalidArgument, "plan_arena: alignment must be positive");
  ArenaLayout layout;
  layout.offsets.assign(ranges.size(), 0);
  std::vector<size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ranges[a].bytes != ranges[b].bytes) return ranges[a].bytes > ranges[b].bytes;
    return ranges[a].first < ranges[b].first;
  });
  std::vector<size_t> placed;
  for (size_t index : order) {
    const LiveRange& range = ranges[index];
    check(range.first <= range.last, ErrorKind::InvalidArgument, "plan_arena: range ", index,
          " ends (step ", range.last, ") before it starts (step ", range.first, ")");
    size_t size = align_up(range.bytes, alignment);
    layout.naive_bytes += size;
    if (size == 0) continue;  // an empty buffer needs no bytes and clashes with nothing
    std::vector<Block> taken;
    for (size_t other : placed) {
      if (lifetimes_overlap(range, ranges[other])) {
        taken.push_back({layout.offsets[other], layout.offsets[other] + ranges[other].bytes});
      }
    }
    size_t offset = best_fit(std::move(taken), size, alignment);
    layout.offsets[index] = offset;
    layout.arena_bytes = std::max(layout.arena_bytes, offset + size);
    placed.push_back(index);
  }
  return layout;
}

}  // namespace kiln::cuda
