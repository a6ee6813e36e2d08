// Host half of index_math.cuh: a merged loop as 64-bit views.
#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {

StridedView operand_view(const StridedLoop& loop, size_t operand) {
  return strided_view(loop.dims, loop.strides[operand], loop.offsets[operand]);
}

}  // namespace kiln::cuda
