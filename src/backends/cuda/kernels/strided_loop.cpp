// Strides, broadcast strides, merging contiguous axes and the 32-bit check (strided_loop.h).
#include "backends/cuda/kernels/strided_loop.h"

#include "backends/cuda/kernels/launch_error.h"
#include "core/strides.h"

namespace kiln::cuda {

Dims contiguous_strides(const Dims& dims) { return row_major_strides(dims); }

Dims broadcast_strides(const Dims& input, const Dims& output) {
  launch_check(input.size() <= output.size(), ErrorKind::Runtime, "cannot broadcast ",
               dims_to_string(input), " to ", dims_to_string(output));
  Dims input_strides = contiguous_strides(input);
  Dims strides(output.size(), 0);
  size_t lead = output.size() - input.size();
  for (size_t axis = 0; axis < input.size(); ++axis) {
    int64_t size = input[axis];
    launch_check(size == 1 || size == output[lead + axis], ErrorKind::Runtime, "cannot broadcast ",
                 dims_to_string(input), " to ", dims_to_string(output));
    strides[lead + axis] = size == 1 ? 0 : input_strides[axis];
  }
  return strides;
}

StridedLoop collapse_axes(const StridedLoop& loop) {
  size_t operands = loop.strides.size();
  StridedLoop result{{}, std::vector<Dims>(operands), loop.offsets};
  for (size_t axis = 0; axis < loop.dims.size(); ++axis) {
    int64_t size = loop.dims[axis];
    if (size == 1) continue;  // walks nothing: its strides do not matter
    bool merges = !result.dims.empty();
    for (size_t k = 0; k < operands && merges; ++k) {
      merges = result.strides[k].back() == loop.strides[k][axis] * size;
    }
    if (merges) {  // the previous axis steps exactly over this one in every operand
      result.dims.back() *= size;
      for (size_t k = 0; k < operands; ++k) result.strides[k].back() = loop.strides[k][axis];
      continue;
    }
    result.dims.push_back(size);
    for (size_t k = 0; k < operands; ++k) result.strides[k].push_back(loop.strides[k][axis]);
  }
  if (result.dims.empty()) {  // a single element
    result.dims.push_back(1);
    for (Dims& strides : result.strides) strides.push_back(0);
  }
  return result;
}

bool fits_index32(const StridedLoop& loop, const std::vector<int64_t>& extents) {
  constexpr int64_t kLimit = int64_t(1) << 31;
  if (element_count(loop.dims) >= kLimit) return false;
  for (int64_t extent : extents) {
    if (extent >= kLimit) return false;
  }
  return true;
}

}  // namespace kiln::cuda
