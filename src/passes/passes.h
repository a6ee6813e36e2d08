// Graph passes; each lives in its own file and leaves a verified graph.
#pragma once

#include <map>
#include <set>
#include <string>

#include "core/precision.h"
#include "ir/graph.h"

namespace kiln::passes {

// Replaces nodes whose inputs are all constants (and whose outputs are not huge) by
// constants computed with the CPU reference kernels. Returns the number of nodes folded.
int fold_constants(ir::Graph& graph);
// Removes nodes whose outputs nothing uses, and unused values. Returns nodes removed.
int eliminate_dead_code(ir::Graph& graph);
// Folds Shape → Gather/Slice → Concat → Reshape/Expand chains where shapes are static,
// and removes no-op Reshape/Identity-like nodes. Returns the number of rewrites.
int simplify_shape_ops(ir::Graph& graph);
// Removes nodes a constant operand makes trivial (simplify_constant_operands.cpp): GatherND
// reading its data in order becomes a Reshape, And with an all-true constant an Expand, and an
// Expand read only as attention masks goes. Returns the number of rewrites.
int simplify_constant_operands(ir::Graph& graph);
// Replaces attention spelled out as MatMul → scale → (+ float mask) → Softmax(last axis) →
// (NaN guard) → MatMul, with K transposed by a Transpose or the ONNX exporter's Reshape →
// Transpose → Reshape, by one 4-D Attention node (scale attribute: the product of the
// scalar factors). Returns the number of attentions recognized.
int recognize_attention(ir::Graph& graph);
// Drops a constant attention mask that masks nothing, and replaces one that is exactly the
// top-left causal pattern (bool, or float 0 / <= -1e4, the same for every batch and head) by
// is_causal=1, on Attention nodes with static sequence lengths and no KV cache. Returns the
// number of masks removed.
int simplify_attention_masks(ir::Graph& graph);
// Rewrites 4-D Attention whose Q, K and V are Transpose(X, [0, 2, 1, 3]) of [B, S, H, D]
// tensors and whose output is read only by the same Transpose into ONNX's 3-D form over
// reshapes (views) of the X's: the head split and merge copies disappear. Returns the number
// of attention nodes rewritten.
int fold_attention_transposes(ir::Graph& graph);
// Grouped-query attention whose K and V are repeated per query head (Hugging Face's repeat_kv:
// Reshape(Expand([B, KV, 1, S, D] → [B, KV, G, S, D]) → [B, KV·G, S, D])) reads the KV heads
// themselves, query head h using KV head h / G: the Expand copies go. Static shapes only.
// Returns the number of attention nodes rewritten.
int fold_repeated_kv_heads(ir::Graph& graph);
// Moves Transposes that keep the last axis through row-wise ops (MatMul with a 2-D B, a bias
// over the last axis, elementwise math, LayerNorm over the last axis, a Gemm between two
// views) and a Gather of one slice, where that lands them next to a layout chain holding
// another Transpose. Returns the number of Transposes moved.
int move_transposes(ir::Graph& graph);
// Moves a Transpose below the region of elementwise ops, Slices and Concats that reads it (a
// rotary embedding between the head split and the attention), where its one result then meets
// the attention or another layout chain; outside operands (cos, sin) are transposed back only
// where that is a view or a constant. Returns the number of Transposes moved.
int sink_transposes_below_regions(ir::Graph& graph);
// Collapses each chain of Transpose/Reshape/Flatten/Squeeze/Unsqueeze over static shapes with
// two Transposes or more (or one that the chain undoes) into at most one Transpose between
// two Reshapes. Returns the number of chains collapsed.
int collapse_layout_chains(ir::Graph& graph);
// Replaces a product with constant 2-D weights (MatMul [+ bias Add], Gemm) whose output is only
// read in column blocks (Split or Slice of the last axis, or a Reshape into groups read one
// group at a time) by one product per block. Not part of optimize() (an execution context
// re-optimizes with the engine's weights, which must not be sliced there); the engine builder
// runs it, then fold_constants. Returns the number of products split.
int split_sliced_products(ir::Graph& graph);
// Packs the Q, K and V products of a 3-D attention (one input, constant weights, biases as
// fuse_epilogues fuses them, views alone between them and the attention) into one product,
// which the attention reads as three last-axis Slices: on the GPU, aliases at the packed row
// pitch. Like split_sliced_products, a builder pass (the weights are concatenated into the
// engine), run after fuse_epilogues. Returns the attentions packed.
int pack_projections(ir::Graph& graph);
// Sets node.precision for every float_compute node: in strongly typed mode the node's own
// dtype decides; otherwise the documented no-GPU heuristic picks the lowest enabled
// precision (bf16 before fp16 before tf32 before fp32), except that in mixed precision (fp32
// enabled beside a narrower one) the rounding-sensitive layers keep fp32. Float64 nodes are
// left alone.
void assign_precisions(ir::Graph& graph, const std::set<Precision>& enabled, bool strongly_typed);
// The names of the layers that keep fp32 in mixed precision, never re-chosen by timing: Sin
// and Cos with the nodes computing their argument, and the statistics of normalizations
// spelled out in core ops (docs/precision.md). Empty unless `enabled` mixes fp32 with a
// narrower precision and the build is not strongly typed.
std::set<std::string> rounding_sensitive_layers(const ir::Graph& graph,
                                                const std::set<Precision>& enabled,
                                                bool strongly_typed);

// Folds epilogues into the layers that GPU libraries can finish them in: MatMul (constant
// 2-D B) or Gemm (no C) + Add(constant bias vector over the last dim) → the product with a
// bias input; MatMul/Gemm + Relu or Gelu(approximate="tanh"), and Conv + Relu → the producer
// with attribute fused_activation; with `conv_silu`, Conv + SiLU (Sigmoid and Mul of the same
// value) → Conv with fused_activation "Silu" too. Only where the intermediate value has one
// reader (SiLU: those two), is no graph output, and the nodes share dtype and precision.
// Keeps the producer's node name and the follower's output name. Not part of optimize(); the
// engine builder runs it. Returns the number of nodes folded away.
int fuse_epilogues(ir::Graph& graph, bool conv_silu = true);
// Folds a residual add into a 2-D Conv (4-D data, either layout) that has no input 3 and no
// fused_activation yet: Conv → Add(·, Z), the Conv's output read by that Add alone and no
// graph output, Z (either operand; not the Conv's output) of the Add's dtype and exactly its
// static shape, which the Conv's output also has (no broadcasting), becomes the Conv with
// input 3 = Z; a Relu that then alone reads the sum (no graph output) becomes its
// fused_activation. The Add and Relu must carry no precision or the Conv's (as in
// fuse_epilogues). Keeps the Conv's node name and the last folded node's output name; sorts
// the nodes again where Z came after the Conv. Not part of optimize(); the engine builder
// runs it (after convert_to_channels_last). Returns the number of Convs that took a residual.
int fuse_conv_residual(ir::Graph& graph);
// Folds a residual add into a linear layer: MatMul (constant 2-D B, optional bias, no
// fused_activation) → Add(·, Z), the product read by that Add alone and no graph output, Z
// (either operand) of the sum's dtype and exactly its known shape, which the product's output
// also has, becomes the MatMul with input 3 = Z (added before any activation). The Add must
// carry no precision or the MatMul's (fusable_follower). Keeps the MatMul's node name and the
// Add's output name. Not part of optimize(); the engine builder runs it after the other
// product rewrites (pack_projections, pad_matmul_columns). Returns the number fused.
int fuse_product_residual(ir::Graph& graph);
// The tactic (node attribute "tactic") under which the builder timed a fused residual as a
// separate Add after the product (the CUDA MatMul runs it so) and found that faster than
// cuBLASLt's beta·C: BERT's attention output projection at batch 32 loses most of its speed
// to the C term, GPT-2's MLP does not.
inline constexpr const char* kResidualAfterTactic = "residual_after";
// Gives every MatMul whose tactic is kResidualAfterTactic its residual (input 3) back as an
// Add after it, which writes the MatMul's old output value (names and graph outputs stay), so
// the fusion groups can join it to what follows (a LayerNorm). Drops the tactic. Returns the
// number separated.
int separate_timed_residuals(ir::Graph& graph);
// Folds each inference BatchNormalization that alone reads a Conv's output into that Conv's
// weights and bias (constants only). Returns the number folded.
int fold_batch_norm(ir::Graph& graph);
// Replaces GELU's tanh approximation written out in elementwise ops (0.5·x·(1 + tanh(√(2/π)·
// (x + 0.044715·x³)))) by Gelu(approximate="tanh"). Returns the number replaced.
int recognize_gelu(ir::Graph& graph);
// Pads MatMul weights [K, N] (constant, or a constant [N, K] transposed at run time) whose N
// is at least `min_columns` and not a multiple of 8 with zero columns (a bias too) up to one,
// and crops the product back to N with a Slice that keeps the output's name: GPU matrix
// kernels then read and write only aligned rows. Returns the number of MatMuls padded.
int pad_matmul_columns(ir::Graph& graph, int64_t min_columns = 256);
// NHWC regions around 2-D Convs (attribute channels_last; channels_last.cpp). Returns nodes
// converted.
int convert_to_channels_last(ir::Graph& graph);

// A copy of `graph` with symbolic input dims fixed to `input_dims` (by input name) and
// optimize() re-run, so every shape is static. Node precisions are kept.
ir::Graph specialize_shapes(const ir::Graph& graph, const std::map<std::string, Dims>& input_dims);

// The standard pipeline: infer, then {simplify, fold, DCE, infer} until nothing changes,
// then verify. Throws Unsupported listing every op without a schema.
void optimize(ir::Graph& graph);

}  // namespace kiln::passes
