// Replaces constant attention masks that only say "causal" or "nothing" by what they mean:
// Hugging Face's decoders pass a materialized lower-triangular mask (bool, or float with 0 and
// a large negative), which shape specialization folds to a constant; as is_causal=1 instead,
// fused attention kernels skip the masked half of the scores instead of reading a mask, and an
// all-visible mask disappears. The result is the same function.
// A mask too large to fold (batch 8 at 2048 tokens: 33M elements) but computed from constants
// alone, the same for every batch, is decided on its first batch slice, computed here.
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "backends/cpu/kernel.h"
#include "core/error.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// A float mask entry at or below this is "masked": added to a score, exp() of it is 0 in
// every float type, whatever the score was.
constexpr double kMaskedAtOrBelow = -1e4;

enum class Entry { Keep, Masked, Other };

Entry entry_of(const std::vector<double>& values, DType dtype, size_t index) {
  double value = values[index];
  if (dtype == DType::Bool) return value != 0 ? Entry::Keep : Entry::Masked;
  if (value == 0) return Entry::Keep;
  return value <= kMaskedAtOrBelow ? Entry::Masked : Entry::Other;
}

// The sequence length of attention input `value` (Q or K): dim 2 of a 4-D (B, H, S, D), dim 1
// of a 3-D (B, S, H·D); -1 if not static.
int64_t sequence_length(const ir::Value* value) {
  if (value == nullptr || !value->shape.rank_known()) return -1;
  int64_t rank = value->shape.rank();
  if (rank != 3 && rank != 4) return -1;
  const ir::Dim& dim = value->shape[rank == 4 ? 2 : 1];
  return dim.is_static() ? dim.value : -1;
}

enum class MaskMeaning { Nothing, Causal, Other };

// What a constant mask says for (q_seq, kv_seq) when every leading slice is the same.
MaskMeaning meaning_of(const Tensor& mask, int64_t q_seq, int64_t kv_seq) {
  const Dims& dims = mask.dims();
  if (dims.size() < 2 || dims.back() != kv_seq) return MaskMeaning::Other;
  int64_t rows = dims[dims.size() - 2];
  if (rows != 1 && rows != q_seq) return MaskMeaning::Other;
  std::vector<double> values = mask.to_double_vector();
  size_t plane = size_t(rows * kv_seq);
  bool all_keep = true, causal = rows == q_seq;
  for (size_t index = 0; index < values.size(); ++index) {
    Entry entry = entry_of(values, mask.dtype(), index);
    if (entry == Entry::Other) return MaskMeaning::Other;
    size_t at = index % plane;
    if (index >= plane && entry != entry_of(values, mask.dtype(), at)) return MaskMeaning::Other;
    int64_t row = int64_t(at) / kv_seq, column = int64_t(at) % kv_seq;
    all_keep &= entry == Entry::Keep;
    causal &= (entry == Entry::Keep) == (column <= row);
  }
  if (all_keep) return MaskMeaning::Nothing;
  return causal ? MaskMeaning::Causal : MaskMeaning::Other;
}

// Elementwise ops with numpy broadcasting: computed on every input's first batch slice they
// give the output's first batch slice.
bool is_broadcasting_elementwise(const std::string& op) {
  static const std::set<std::string, std::less<>> ops = {"Equal", "Less", "Greater", "Not", "And",
                                                         "Where", "Cast", "Add",     "Sub", "Mul",
                                                         "Div",   "Neg",  "Max",     "Min", "Abs"};
  return ops.contains(op);
}

// Slice `b` of `constant` along the batch axis of a rank-`rank` result: its axis 0 when it has
// that rank and more than one slice; the whole constant where it broadcasts over batch.
Tensor batch_slice(const Tensor& constant, size_t rank, int64_t b) {
  const Dims& dims = constant.dims();
  if (dims.size() < rank || dims.empty() || dims[0] <= 1) return constant;
  size_t slice = constant.nbytes() / size_t(dims[0]);
  Dims one = dims;
  one[0] = 1;
  Tensor result(constant.dtype(), one);
  std::memcpy(result.raw_mutable(),
              static_cast<const std::byte*>(constant.raw()) + size_t(b) * slice, slice);
  return result;
}

// The elementwise producers of `mask` back to constants, producers first; empty if another
// kind of node or a graph input feeds it.
std::vector<const ir::Node*> constant_cone(const ir::Value* mask) {
  constexpr size_t kMaxNodes = 64;
  std::vector<const ir::Node*> order;
  std::set<const ir::Node*> seen;
  std::vector<std::pair<const ir::Node*, bool>> stack = {{mask->producer, false}};
  while (!stack.empty()) {
    auto [node, expanded] = stack.back();
    stack.pop_back();
    if (expanded) {
      order.push_back(node);
      continue;
    }
    if (!seen.insert(node).second) continue;
    if (seen.size() > kMaxNodes || !is_broadcasting_elementwise(node->op) ||
        node->outputs.size() != 1 || cpu::find_kernel(node->op) == nullptr)
      return {};
    stack.push_back({node, true});
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr || input->is_constant()) continue;
      if (input->producer == nullptr) return {};  // a graph input
      stack.push_back({input->producer, false});
    }
  }
  return order;
}

// Batch `b`'s slice of the mask `cone` computes, with the CPU kernels; nullopt where a kernel
// lacks a case.
std::optional<Tensor> evaluate_slice(const std::vector<const ir::Node*>& cone,
                                     const ir::Value* mask, size_t rank, int64_t b) {
  std::map<const ir::Value*, Tensor> values;
  for (const ir::Node* node : cone) {
    std::vector<Tensor> inputs;
    for (const ir::Value* input : node->inputs) {
      if (input == nullptr)
        inputs.emplace_back();
      else if (input->is_constant())
        inputs.push_back(batch_slice(*input->constant, rank, b));
      else
        inputs.push_back(values.at(input));
    }
    try {
      values[node->outputs[0]] = cpu::run_node(*node, inputs)[0];
    } catch (const Error& error) {
      if (error.kind() != ErrorKind::Unsupported) throw;
      return std::nullopt;
    }
  }
  return values.at(mask);
}

// The first batch slice of `mask` (rank 3 or more) when it is computed from constants alone by
// broadcasting elementwise ops and every batch's slice is the same (batch indices compared
// with themselves, say), evaluated slice by slice; nullopt otherwise.
std::optional<Tensor> batch_invariant_mask(const ir::Value* mask) {
  constexpr int64_t kMaxElements = int64_t(64) << 20;  // evaluated in all, over every batch
  if (mask->producer == nullptr || !mask->shape.is_static() || mask->shape.rank() < 3 ||
      element_count(mask->shape.static_dims()) > kMaxElements) {
    return std::nullopt;
  }
  const size_t rank = size_t(mask->shape.rank());
  std::vector<const ir::Node*> cone = constant_cone(mask);
  if (cone.empty()) return std::nullopt;
  std::optional<Tensor> first = evaluate_slice(cone, mask, rank, 0);
  if (!first || first->dims().empty() || first->dims()[0] != 1) return std::nullopt;
  for (int64_t b = 1; b < mask->shape.static_dims()[0]; ++b) {
    std::optional<Tensor> slice = evaluate_slice(cone, mask, rank, b);
    if (!slice || slice->dims() != first->dims() ||
        std::memcmp(slice->raw(), first->raw(), first->nbytes()) != 0)
      return std::nullopt;
  }
  return first;
}

bool has_cache_inputs(const ir::Node& node) {
  for (size_t i = 4; i < node.inputs.size(); ++i) {
    if (node.inputs[i] != nullptr) return true;
  }
  return false;
}

// What `mask` says for (q_seq, kv_seq) if it is a constant, or computed from constants alike in
// every batch (evaluated once per value, in `decided`); Other when it cannot be known.
MaskMeaning known_meaning(const ir::Value* mask, int64_t q_seq, int64_t kv_seq,
                          std::map<const ir::Value*, std::optional<Tensor>>& decided) {
  if (mask->is_constant()) return meaning_of(*mask->constant, q_seq, kv_seq);
  auto cached = decided.find(mask);
  if (cached == decided.end()) cached = decided.emplace(mask, batch_invariant_mask(mask)).first;
  return cached->second ? meaning_of(*cached->second, q_seq, kv_seq) : MaskMeaning::Other;
}

// The run-time part of a mask that is And(causal, other), where `other` spans the keys (a
// padding mask [B, 1, 1, K]: a decoder's prompt batch): the attention then takes is_causal=1
// and `other` alone, which the fused kernels read broadcast. Null where the mask is not so.
ir::Value* beside_causal(const ir::Value* mask, int64_t q_seq, int64_t kv_seq,
                         std::map<const ir::Value*, std::optional<Tensor>>& decided) {
  const ir::Node* both = mask->producer;
  if (both == nullptr || both->op != "And" || both->inputs.size() != 2) return nullptr;
  for (size_t i = 0; i < 2; ++i) {
    ir::Value* other = both->inputs[1 - i];
    if (other == nullptr || both->inputs[i] == nullptr || !other->shape.is_static() ||
        other->shape.rank() == 0 || other->shape.static_dims().back() != kv_seq)
      continue;
    if (known_meaning(both->inputs[i], q_seq, kv_seq, decided) == MaskMeaning::Causal) return other;
  }
  return nullptr;
}

}  // namespace

int simplify_attention_masks(ir::Graph& graph) {
  int changed = 0;
  std::map<const ir::Value*, std::optional<Tensor>> decided;  // computed masks, evaluated once
  for (ir::Node* node : graph.nodes()) {
    const ir::Value* mask = node->input(3);
    // With a KV cache the query rows sit at the end of the keys: top-left causal differs.
    if (node->op != "Attention" || mask == nullptr || has_cache_inputs(*node) ||
        node->outputs.size() > 1) {
      continue;
    }
    int64_t q_seq = sequence_length(node->input(0));
    int64_t kv_seq = sequence_length(node->input(1));
    if (q_seq < 0 || kv_seq < 0) continue;
    MaskMeaning meaning = known_meaning(mask, q_seq, kv_seq, decided);
    if (meaning == MaskMeaning::Other) {
      if (ir::Value* rest = beside_causal(mask, q_seq, kv_seq, decided)) {
        node->attrs["is_causal"] = int64_t(1);
        node->inputs[3] = rest;
        ++changed;
      }
      continue;
    }
    if (meaning == MaskMeaning::Causal) node->attrs["is_causal"] = int64_t(1);
    node->inputs[3] = nullptr;
    while (!node->inputs.empty() && node->inputs.back() == nullptr) node->inputs.pop_back();
    ++changed;
  }
  if (changed > 0) {
    eliminate_dead_code(graph);
    graph.remove_unused_values();
  }
  return changed;
}

}  // namespace kiln::passes
