// How MatMul weights are laid out for GPU matrix kernels. cuBLASLt's fast (TMA) kernels need
// 16-byte-aligned leading dimensions; a product N = 50257 wide (GPT-2's vocabulary) forces
// its slow ones, through both the weight's rows and the output's.
// pad_matmul_columns pads such a weight (and bias) with zero columns to a multiple of 8 and
// crops the wider product with a Slice: every leading dimension is then aligned. The CUDA
// storage plan folds that crop into the product, which then writes its kept columns block by
// block through L2 (backends/cuda/ops/cropped_product.h). (Storing the
// weight as [N, K] instead, as PyTorch's linear layers do, was measured slower on an H200 —
// 12.4 against 10.0 ms for GPT-2's LM head at batch 32 — and was removed: the output rows
// stay misaligned that way.)
#include <cstring>
#include <optional>

#include "backends/cpu/channels_last.h"
#include "ir/op_schema.h"
#include "passes/graph_rewrites.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// A 2-D matrix transposed, through the CPU backend's byte-level permutation.
Tensor transposed(const Tensor& matrix) {
  int64_t rows = matrix.dim(0), cols = matrix.dim(1);
  return cpu::permute_4d(matrix.reshaped({1, rows, cols, 1}), {0, 2, 1, 3}).reshaped({cols, rows});
}

// W when `value` is Transpose(W, perm [1, 0]) of a 2-D constant W, else null: a tied
// embedding read as a [K, N] weight, too large for constant folding.
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

// `matrix` [rows, cols] with zero columns appended up to `padded_cols`; a vector [cols]
// likewise up to [padded_cols].
Tensor with_zero_columns(const Tensor& matrix, int64_t padded_cols) {
  int64_t cols = matrix.dims().back();
  int64_t rows = matrix.numel() / cols;
  size_t size = dtype_size(matrix.dtype());
  Dims dims = matrix.dims();
  dims.back() = padded_cols;
  Tensor result(matrix.dtype(), dims);  // zero-filled
  const auto* in = static_cast<const char*>(matrix.raw());
  auto* out = static_cast<char*>(result.raw_mutable());
  for (int64_t row = 0; row < rows; ++row) {
    std::memcpy(out + size_t(row * padded_cols) * size, in + size_t(row * cols) * size,
                size_t(cols) * size);
  }
  return result;
}

// The [K, N] weight `node` multiplies by, as a tensor: a constant, or a constant [N, K] that a
// Transpose turns around at run time. Empty where the weight is not constant.
std::optional<Tensor> constant_weight(const ir::Node& node) {
  const ir::Value* weight = node.inputs[1];
  if (weight == nullptr) return std::nullopt;
  if (weight->is_constant() && weight->constant->rank() == 2) return *weight->constant;
  if (const ir::Value* stored = transposed_constant(*weight)) return transposed(*stored->constant);
  return std::nullopt;
}

}  // namespace

int pad_matmul_columns(ir::Graph& graph, int64_t min_columns) {
  int changed = 0;
  for (ir::Node* node : graph.nodes()) {
    if (node->op != "MatMul" || node->inputs.size() < 2 || node->outputs.size() != 1 ||
        !node->outputs[0]->shape.rank_known())
      continue;
    std::optional<Tensor> weight = constant_weight(*node);
    if (!weight) continue;
    int64_t n = weight->dim(1);
    if (n % 8 == 0 || n < min_columns) continue;
    const ir::Value* bias = node->input(2);
    if (bias != nullptr && !(bias->is_constant() && bias->constant->dims() == Dims{n})) continue;
    int64_t padded = (n + 7) / 8 * 8;
    node->inputs[1] = graph.add_constant(graph.unique_name(node->inputs[1]->name + ".padded"),
                                         with_zero_columns(*weight, padded));
    if (bias != nullptr) {
      node->inputs[2] = graph.add_constant(graph.unique_name(bias->name + ".padded"),
                                           with_zero_columns(*bias->constant, padded));
    }
    // The product keeps its name, readers and graph-output place, now made by the crop.
    ir::Value* product = node->outputs[0];
    int64_t last_axis = product->shape.rank() - 1;
    auto ints = [&](const std::string& name, int64_t value) {
      return graph.add_constant(graph.unique_name(node->name + name),
                                Tensor::from_vector<int64_t>({1}, {value}));
    };
    insert_follower(graph, node, "Slice", graph.unique_name(node->name + ".crop"),
                    {ints(".crop_starts", 0), ints(".crop_ends", n), ints(".crop_axes", last_axis)},
                    graph.unique_name(product->name + ".padded"));
    ++changed;
  }
  if (changed > 0) {
    eliminate_dead_code(graph);  // run-time Transposes of weights now padded at build time
    graph.remove_unused_values();
    graph.sort_topologically();
    ir::infer_graph(graph);
  }
  return changed;
}

}  // namespace kiln::passes
