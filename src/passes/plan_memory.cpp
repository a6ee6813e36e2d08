// Memory planning: lifetimes of intermediate values, then a greedy best-fit placement of
// those intervals in one arena (largest first, so big buffers claim space before it splinters).
#include "passes/plan_memory.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace kiln::passes {
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

MemoryPlan plan_memory(const ir::Graph& graph,
                       const std::function<size_t(const ir::Value&)>& bytes_of, size_t alignment) {
  std::vector<ir::Node*> nodes = graph.nodes();
  std::vector<const ir::Value*> planned;
  std::vector<LiveRange> ranges;
  std::map<const ir::Value*, size_t> range_of;
  for (size_t step = 0; step < nodes.size(); ++step) {
    for (const ir::Value* input : nodes[step]->inputs) {
      auto found = range_of.find(input);
      if (found != range_of.end()) ranges[found->second].last = step;  // steps only grow
    }
    for (const ir::Value* output : nodes[step]->outputs) {
      if (output == nullptr || output->is_constant() || output->is_graph_input) continue;
      range_of[output] = ranges.size();
      planned.push_back(output);
      ranges.push_back({bytes_of(*output), step, step});
    }
  }
  for (const ir::Value* output : graph.outputs()) {
    auto found = range_of.find(output);
    if (found != range_of.end()) ranges[found->second].last = nodes.size();  // past every node
  }
  ArenaLayout layout = plan_arena(ranges, alignment);
  MemoryPlan plan;
  plan.arena_bytes = layout.arena_bytes;
  plan.naive_bytes = layout.naive_bytes;
  for (size_t i = 0; i < planned.size(); ++i) plan.offsets[planned[i]] = layout.offsets[i];
  return plan;
}

}  // namespace kiln::passes
