// Host half of the shared CUDA kernel helpers: building strided views.
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {

StridedView strided_view(const Dims& dims, const Dims& strides, int64_t offset) {
  launch_check(dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, "rank ", dims.size(),
               " exceeds the CUDA kernels' limit of ", kMaxRank);
  StridedView view;
  view.rank = int(dims.size());
  view.offset = offset;
  for (size_t axis = 0; axis < dims.size(); ++axis) {
    view.dims[axis] = dims[axis] > 0 ? dims[axis] : 1;
    view.strides[axis] = strides[axis];
  }
  return view;
}

}  // namespace kiln::cuda
