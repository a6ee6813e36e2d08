// Host-side index plans for the elementwise and data-movement launchers: row-major strides,
// numpy broadcast strides, and one iteration space walked by several operands with contiguous
// axes merged. Plain C++ so that the op adapters can build the walks they launch.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace kiln::cuda {

// The most axes a kernel's index math takes (passed to kernels by value).
constexpr int kMaxRank = 8;

// One iteration space (row-major over `dims`) walked by several operands, each with its own
// element strides (0 on broadcast axes, negative for reversed slices) and start offset.
struct StridedLoop {
  Dims dims;
  std::vector<Dims> strides;  // [operand][axis]
  std::vector<int64_t> offsets;
};

// Row-major strides of `dims`.
Dims contiguous_strides(const Dims& dims);
// Strides of `input` broadcast (numpy rules, aligned right) to `output`: 0 on broadcast axes.
// Throws LaunchError (Runtime) where it does not broadcast.
Dims broadcast_strides(const Dims& input, const Dims& output);
// The same walk over fewer axes: size-1 axes dropped, neighbours that every operand walks
// contiguously merged. At least one axis remains.
StridedLoop collapse_axes(const StridedLoop& loop);
// True when the loop's element count and every offset it reaches (inside tensors of
// `extents` elements) stay below 2^31, so that 32-bit index math is exact.
bool fits_index32(const StridedLoop& loop, const std::vector<int64_t>& extents);

}  // namespace kiln::cuda
