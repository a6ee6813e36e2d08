// Replaces constant attention masks that only say "causal" or "nothing" by what they mean:
// Hugging Face's decoders pass a materialized lower-triangular mask (bool, or float with 0 and
// a large negative), which shape specialization folds to a constant; as is_causal=1 instead,
// fused attention kernels skip the masked half of the scores instead of reading a mask, and an
// all-visible mask disappears. The result is the same function.
#include <algorithm>

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

bool has_cache_inputs(const ir::Node& node) {
  for (size_t i = 4; i < node.inputs.size(); ++i) {
    if (node.inputs[i] != nullptr) return true;
  }
  return false;
}

}  // namespace

int simplify_attention_masks(ir::Graph& graph) {
  int changed = 0;
  for (ir::Node* node : graph.nodes()) {
    const ir::Value* mask = node->input(3);
    // With a KV cache the query rows sit at the end of the keys: top-left causal differs.
    if (node->op != "Attention" || mask == nullptr || !mask->is_constant() ||
        has_cache_inputs(*node) || node->outputs.size() > 1) {
      continue;
    }
    int64_t q_seq = sequence_length(node->input(0));
    int64_t kv_seq = sequence_length(node->input(1));
    if (q_seq < 0 || kv_seq < 0) continue;
    MaskMeaning meaning = meaning_of(*mask->constant, q_seq, kv_seq);
    if (meaning == MaskMeaning::Other) continue;
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
