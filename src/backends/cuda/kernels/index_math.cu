// Host halves of index_math.cuh: broadcast strides, merging contiguous axes, the 32-bit check.
#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {

Dims broadcast_strides(const Dims& input, const Dims& output, const std::string& what) {
  check(input.size() <= output.size(), ErrorKind::Runtime, what, ": cannot broadcast ",
        dims_to_string(input), " to ", dims_to_string(output));
  Dims input_strides = contiguous_strides(input);
  Dims strides(output.size(), 0);
  size_t lead = output.size() - input.size();
  for (size_t axis = 0; axis < input.size(); ++axis) {
    int64_t size = input[axis];
    check(size == 1 || size == output[lead + axis], ErrorKind::Runtime, what, ": cannot broadcast ",
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

StridedView operand_view(const StridedLoop& loop, size_t operand, const std::string& what) {
  return strided_view(loop.dims, loop.strides[operand], loop.offsets[operand], what);
}

}  // namespace kiln::cuda
