// Moving 4-D tensors between channels-first [N, C, H, W] and channels-last [N, H, W, C]
// layouts, for the CPU reference of channels_last nodes and for passes::convert_to_channels_last,
// and the general 4-D permutation under them (also the passes' weight transposes).
#pragma once

#include <array>

#include "core/tensor.h"
#include "ir/graph.h"

namespace kiln::cpu {

// out[i0, i1, i2, i3] = in at the index where out axis k is in axis perm[k]. Any dtype; the
// tensor must be 4-D.
Tensor permute_4d(const Tensor& tensor, const std::array<size_t, 4>& perm);
// [a, b, c, d] → [a, c, d, b] (NCHW → NHWC, KCRS → KRSC). Any dtype; the tensor must be 4-D.
Tensor to_channels_last(const Tensor& tensor);
// [a, b, c, d] → [a, d, b, c] (NHWC → NCHW, KRSC → KCRS). Any dtype; the tensor must be 4-D.
Tensor to_channels_first(const Tensor& tensor);

// Whether `node` (Conv or a pool) carries channels_last=1: its data input and output are NHWC.
inline bool is_channels_last(const ir::Node& node) {
  return node.attr_int("channels_last", 0) != 0;
}

}  // namespace kiln::cpu
