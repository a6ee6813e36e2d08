// Fusion groups: chains and trees of pointwise ops (with broadcasts and casts) and the index
// ops between them (Slice, Concat: a rotary embedding's rotate-half) that a backend may run as
// one generated kernel, reading each outside value once and writing only the values read
// outside the group. An analysis, not a rewrite: the graph is unchanged, so
// the CPU reference runs every group unfused and is the reference for the fused kernel.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace kiln::passes {

struct FusionGroup {
  std::vector<const ir::Node*> nodes;  // in graph order; the group runs where its last one is
  // The dims the group's outputs have. A group without a reduction may also have members over
  // other dims (a slice, a concatenated piece, a value a later member broadcasts): only the
  // group reads those, each at the element its reader needs.
  Dims domain;
  const ir::Node* reduction = nullptr;  // at most one row reduction (is_fusible_row_reduction)
  // What a kernel for it reads from memory: values from outside the group, scalar constants
  // excepted (is_inlined_scalar), in the order the members first read them ...
  std::vector<const ir::Value*> inputs;
  // ... and writes: members' values that a node outside reads or the graph delivers.
  std::vector<const ir::Value*> outputs;
};

// The longest row a row reduction is fused for: a generated row kernel keeps the row in the
// registers of one warp, or of a block of four warps for long rows (at most 64 floats per
// thread either way).
inline constexpr int64_t kMaxFusedRowLength = 8192;

// What one generated kernel reads and writes at most (its launch arguments' slots): a node
// joins no group it would take over kMaxGroupInputs values from outside; a group that would
// write more than kMaxGroupOutputs values stays unfused.
inline constexpr int kMaxGroupInputs = 16;
inline constexpr int kMaxGroupOutputs = 8;

// The node attribute the builder sets to "off" on the nodes of a group it measured slower
// fused than node by node; such nodes join no group. The engine keeps it.
inline constexpr const char* kFusionAttribute = "fusion";

// True if `node` can be a member: a pointwise op the generator expresses, on float (float32,
// bfloat16, float16) and bool values, with static output dims, whose every input broadcasts
// onto them (numpy rules).
bool is_fusible_pointwise(const ir::Node& node);

// True if `node` can be an index member: a Concat, or a Slice with constant starts, axes and
// positive steps, of static float or bool values of one dtype.
bool is_fusible_index_op(const ir::Node& node);

// A Slice's window per axis of its input: element k of an axis reads start + k * step there.
struct SliceWindow {
  Dims starts;
  Dims steps;
};
// The window of a Slice with constant starts, axes and steps (all positive) over static
// input dims; nullopt otherwise.
std::optional<SliceWindow> slice_window(const ir::Node& node);

// The inputs whose elements a member reads: a Slice's data (its starts, ends, axes and steps
// are the kernel's constants), every input of other ops.
std::vector<const ir::Value*> data_operands(const ir::Node& node);

// True if `node` of `graph` can be a group's row reduction: Softmax, LayerNormalization (its
// Mean and InvStdDev outputs unread), or ReduceMean/ReduceSum/ReduceMax (keepdims) over the
// last axis of static float dims, rows of at most kMaxFusedRowLength elements, LayerNorm's
// scale and bias over that axis. A ReduceMean/Sum/Max's group also takes pointwise math on
// its per-row result (an RMSNorm's epsilon, square root, reciprocal).
bool is_fusible_row_reduction(const ir::Node& node, const ir::Graph& graph);

// True for the reductions that give one value per row (ReduceMean, ReduceSum, ReduceMax), as
// opposed to LayerNormalization and Softmax, whose output has the input's dims.
bool is_row_sum(const ir::Node& node);

// Partitions the fusible nodes of `graph` into groups with one domain each: pointwise nodes
// around at most one row reduction, at least two nodes or a reduction. A group never needs a
// value that a node outside it computes from one of its members, so running it at its last
// member's place keeps the graph's order valid.
// `without_kernel` (optional) names the nodes a backend has no hand-written kernel for: such
// a fusible node is a group even alone, so that its generated kernel is its kernel (Abs needs
// no CUDA kernel of its own).
using NodePredicate = std::function<bool(const ir::Node&)>;
std::vector<FusionGroup> find_fusion_groups(const ir::Graph& graph,
                                            const NodePredicate& without_kernel = {});

// True if `input` dims broadcast onto `domain` (numpy rules).
bool broadcasts_onto(const Dims& input, const Dims& domain);

// True if `input` dims broadcast onto `domain` as one contiguous block: after dropping
// leading ones, the input's non-one dims equal a run of consecutive domain dims and every
// other input dim is one (or the input is a scalar).
bool is_block_broadcast(const Dims& input, const Dims& domain);

// True for a constant of one float or bool element: a generated kernel writes it into its
// source as a literal instead of reading it from memory.
bool is_inlined_scalar(const ir::Value& value);

}  // namespace kiln::passes
