// Stores a MatMul's constant 2-D weight as [N, K] (attribute transB) where its row length N
// is not a multiple of 8 but K is: cuBLASLt's fast (TMA) kernels need 16-byte-aligned
// leading dimensions, and a [K, N] weight with N = 50257 (GPT-2's vocabulary) forces its
// slow ones. PyTorch's linear layers keep weights as [N, K] for the same reason.
#include <cstring>

#include "passes/passes.h"

namespace kiln::passes {
namespace {

Tensor transposed(const Tensor& matrix) {
  int64_t rows = matrix.dim(0), cols = matrix.dim(1);
  size_t size = dtype_size(matrix.dtype());
  Tensor result(matrix.dtype(), {cols, rows});
  const auto* in = static_cast<const char*>(matrix.raw());
  auto* out = static_cast<char*>(result.raw_mutable());
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      std::memcpy(out + size_t(col * rows + row) * size, in + size_t(row * cols + col) * size,
                  size);
    }
  }
  return result;
}

// W when `value` is Transpose(W, perm [1, 0]) of a 2-D constant W, else null. Reading W with
// transB saves copying the whole weight every inference.
ir::Value* transposed_constant(const ir::Value& value) {
  const ir::Node* transpose = value.producer;
  if (transpose == nullptr || transpose->op != "Transpose" || transpose->inputs.size() != 1)
    return nullptr;
  ir::Value* weight = transpose->inputs[0];
  if (weight == nullptr || !weight->is_constant() || weight->constant->rank() != 2) return nullptr;
  std::vector<int64_t> perm = transpose->attr_ints("perm", {1, 0});
  if (perm != std::vector<int64_t>{1, 0}) return nullptr;
  return weight;
}

}  // namespace

int orient_matmul_weights(ir::Graph& graph) {
  int changed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "MatMul" || node->attr_int("transB", 0) != 0 || node->inputs.size() < 2)
      continue;
    // A weight transposed at run time (too large for constant folding, like GPT-2's tied
    // 50257×768 embedding) is read as it is stored instead.
    if (ir::Value* stored = transposed_constant(*node->inputs[1])) {
      node->inputs[1] = stored;
      node->attrs["transB"] = int64_t(1);
      ++changed;
      continue;
    }
    ir::Value* weight = node->inputs[1];
    if (weight == nullptr || !weight->is_constant() || weight->constant->rank() != 2) continue;
    int64_t k = weight->constant->dim(0), n = weight->constant->dim(1);
    if (n % 8 == 0 || k % 8 != 0) continue;
    ir::Value* oriented =
        graph.add_constant(graph.unique_name(weight->name + ".nk"), transposed(*weight->constant));
    node->inputs[1] = oriented;
    node->attrs["transB"] = int64_t(1);
    ++changed;
  }
  if (changed > 0) {
    eliminate_dead_code(graph);  // the run-time Transposes nobody reads now
    graph.remove_unused_values();
  }
  return changed;
}

}  // namespace kiln::passes
