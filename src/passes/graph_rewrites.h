// Rewrites shared by the passes that replace or remove nodes while keeping the names of
// graph outputs (callers of an engine find outputs by name), and the conditions under which
// the epilogue fusions (fuse_epilogues, fuse_conv_residual) fold a node into its producer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::passes {

// Turns each output of `node` into a constant holding the matching tensor (converted to the
// value's dtype if one is set), then removes the node. Names and users stay as they were.
void replace_by_constants(ir::Graph& graph, ir::Node* node, std::vector<Tensor> results);

// Removes a node whose output equals its first input (a no-op Reshape, Cast, ...), pointing
// readers at that input. When the output is a graph output, the input's producer takes over
// the output's name instead. Returns false (and changes nothing) where that is impossible:
// the input is a graph input or itself a graph output.
bool bypass_node(ir::Graph& graph, ir::Node* node);

// What a pass that added nodes out of order and left some unread does once it is done:
// restores topological order, removes dead nodes and unused values, infers shapes again.
void tidy_after_rewrite(ir::Graph& graph);

// The node that alone reads `value`, unless it has other readers or is a graph output.
ir::Node* sole_reader(const ir::Graph& graph, const ir::Value* value);

// `value`'s dims where its shape is known and static; empty otherwise.
Dims static_dims_or_empty(const ir::Value* value);

// The ops that only rearrange a tensor's dims: Transpose and the Reshape family.
bool is_layout_op(const std::string& op);

// A new int64 vector constant (shape, starts, axes inputs) named after `name`.
ir::Value* int64s_constant(ir::Graph& graph, const std::string& name,
                           const std::vector<int64_t>& values);

// The node that alone reads `producer`'s output, which may therefore disappear into it:
// exactly one reader, and not a graph output (the engine must still write that value). Null
// otherwise.
ir::Node* sole_user(const ir::Graph& graph, const ir::Node& producer);

// Whether `follower` (a reader of `producer`'s output) may run inside `producer`'s epilogue
// without changing what it computes: it writes one value of that output's floating dtype, and
// has no precision of its own or the producer's (TF32 counting as FP32: it rounds only the
// inputs of matrix products).
bool fusable_follower(const ir::Node& producer, const ir::Node& follower);

// `follower` (one output, reading `producer`'s output) is folded away: the producer takes over
// the follower's output value, so readers and graph outputs keep their names and the
// producer keeps its own node name.
void absorb(ir::Graph& graph, ir::Node* producer, ir::Node* follower);

// absorb's inverse: a new `op` node named `name` after `producer` takes over its output
// value (readers, graph outputs and the value's name stay), reading as its input 0 the new
// value `produced_name` that the producer writes instead, then `other_inputs`. Returns the new
// node, not yet inferred.
ir::Node* insert_follower(ir::Graph& graph, ir::Node* producer, const std::string& op,
                          const std::string& name, const std::vector<ir::Value*>& other_inputs,
                          const std::string& produced_name);

// An inference BatchNormalization's per-channel parameters in float64, with its affine scale
// s = scale / sqrt(var + epsilon): y = (x − mean)·s + bias. Empty unless its four parameters
// are float constants of `channels` elements each.
struct BatchNormAffine {
  std::vector<double> s, mean, bias;
};
std::optional<BatchNormAffine> batch_norm_affine(const ir::Node& batch_norm, int64_t channels);

}  // namespace kiln::passes
