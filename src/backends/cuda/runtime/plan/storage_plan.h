// The storage plan of a GPU execution context: for a graph with static shapes and assigned
// precisions, which buffer holds each value in which dtype (each float value in its
// producer's precision, passes::storage_dtype), which cast steps convert between
// neighbours that store differently (or which copy writes the cast's dtype itself, and which
// padded product writes its crop's tensor), which nodes are views (aliases, no step), and where
// each intermediate lies in the one arena. Host-only and deterministic, so CPU tests check it; the
// execution context turns it into device pointers and launches.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "ir/graph.h"

namespace kiln::cuda {

// Where a planned tensor's bytes are.
enum class Placement {
  Arena,     // at arena_offset in the context's arena, shared by lifetime
  Own,       // in a buffer of its own: graph inputs, delivered outputs (callers may bind them)
  Constant,  // a constant value's bytes in `dtype`: the engine's shared weight, or uploaded
  Alias,     // a view: alias_of's bytes from alias_offset on
};

// One buffer's worth of one value in one dtype.
struct PlannedTensor {
  const ir::Value* value = nullptr;  // the value it holds
  DType dtype = DType::Undefined;
  Dims dims;
  Placement placement = Placement::Arena;
  size_t arena_offset = 0;  // Placement::Arena
  int alias_of = -1;        // Placement::Alias: the viewed tensor ...
  size_t alias_offset = 0;  // ... and where in its bytes the view starts
  int64_t row_pitch = 0;    // a column block's elements from row to row (0: contiguous rows)

  size_t nbytes() const { return size_t(element_count(dims)) * dtype_size(dtype); }
};

struct PlannedStep {
  enum class Kind { Launch, Cast, Fused } kind = Kind::Launch;
  const ir::Node* node = nullptr;  // Kind::Launch; Kind::Fused: the group's last node
  std::string label;               // Kind::Cast: "cast VALUE to DTYPE"; Kind::Fused: "Add+Gelu"
  int group = -1;                  // Kind::Fused: index in StoragePlan::groups
  std::vector<int> inputs;         // tensor per node input, -1 where absent; Fused: per group input
  std::vector<int> outputs;        // tensor per node output, -1 for an unread optional one
};

// A fusion group (passes/fusion_groups.h) as one step: the values it reads from memory, each
// in the dtype it is already stored in (no cast steps: the generated kernel converts), and
// the values it writes, those read outside the group. The others never reach memory.
struct PlannedGroup {
  std::vector<const ir::Node*> nodes;
  Dims domain;
  std::vector<const ir::Value*> inputs;   // the step's inputs, in order
  std::vector<const ir::Value*> outputs;  // the step's outputs, in order
  const ir::Node* reduction = nullptr;    // the row reduction among `nodes`, if any
};

struct PlanOptions {
  // Run fusion groups as generated kernels (one step each) instead of node by node.
  bool fuse_groups = true;
  // Nodes without a hand-written kernel; a fusible one becomes a group alone
  // (passes::find_fusion_groups). The CUDA runtime passes its kernel table's answer.
  std::function<bool(const ir::Node&)> without_kernel;
};

struct StoragePlan {
  std::vector<PlannedTensor> tensors;
  std::vector<PlannedStep> steps;                    // in launch order
  std::vector<PlannedGroup> groups;                  // what Kind::Fused steps run
  std::map<std::string, int> inputs;                 // graph inputs by name (not constants)
  std::vector<std::pair<std::string, int>> outputs;  // graph outputs, in order, declared dtypes
  std::vector<int> computed;  // every tensor a step writes (what poisoning fills)
  std::vector<int> aliases;   // views, each after the tensor it views
  size_t arena_bytes = 0;
  size_t naive_arena_bytes = 0;  // every arena tensor in its own buffer, for comparison
};

// Views start where kernels and cuBLASLt expect any tensor to: 256-byte aligned, as
// cudaMalloc and the arena place them. The one exception is a column block read only by the
// attention (a Slice of the last axis of a packed Q/K/V projection, passes::pack_projections):
// an alias at the block's first column, 16-byte aligned, with its source's row pitch.
constexpr size_t kTensorAlignment = 256;
constexpr size_t kColumnBlockAlignment = 16;

// Plans `graph` (static shapes; node precisions set where the builder chose them). Throws
// Runtime naming the value if a non-constant value has no producer.
StoragePlan plan_storage(const ir::Graph& graph, const PlanOptions& options = {});

}  // namespace kiln::cuda
