// torch.einsum / ONNX Einsum written as core ops (Transpose, Reshape, MatMul, ReduceSum), so
// every backend runs it without an Einsum op of its own. Shared by the ONNX and ATen frontends.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/composite_ops.h"

namespace kiln::ir {

// An equation with one label per operand dim. Letters are labels 0..51 in ASCII order (A-Z,
// then a-z: the order torch and numpy sort an implicit output in); the dims "..." stands for
// are labels kEllipsisLabel + k, k counted from the right, so they line up across operands
// as broadcasting does.
struct EinsumEquation {
  static constexpr int kEllipsisLabel = 52;
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
};

// Parses `equation` (spaces ignored; "->" and the output optional) for operands of `ranks`
// (-1 where unknown; a rank is needed only for a term with "..."). InvalidModel naming the
// equation when it is malformed or does not fit the operands. A letter may repeat within one
// operand (a diagonal: "ii->i", "bii->b").
EinsumEquation parse_einsum(const std::string& equation, const std::vector<int64_t>& ranks);

// The einsum of `operands` (one or more): an operand whose letter repeats first becomes its
// diagonal over those dims (their sizes must be known and equal), then, contracted pairwise
// from the left: letters found in
// one operand only and not kept are summed first (ReduceSum), then each pair becomes one
// batched MatMul over [batch..., M, K] x [batch..., K, N] (MatMul broadcasts size-1 batch
// dims), reshaped and transposed to the output's order.
Value* einsum(CoreOpBuilder& b, const std::string& equation, const std::vector<Value*>& operands);

}  // namespace kiln::ir
