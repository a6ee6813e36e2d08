// Host halves of the shared CUDA kernel helpers: strides, broadcast views, launch checks.
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {

Dims contiguous_strides(const Dims& dims) {
  Dims strides(dims.size(), 1);
  for (int64_t axis = int64_t(dims.size()) - 2; axis >= 0; --axis) {
    strides[size_t(axis)] = strides[size_t(axis) + 1] * dims[size_t(axis) + 1];
  }
  return strides;
}

StridedView strided_view(const Dims& dims, const Dims& strides, int64_t offset,
                         const std::string& what) {
  check(dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, what, ": rank ", dims.size(),
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

StridedView broadcast_view(const Dims& input_dims, const Dims& output_dims,
                           const std::string& what) {
  check(input_dims.size() <= output_dims.size(), ErrorKind::Runtime, what, ": cannot broadcast ",
        dims_to_string(input_dims), " to ", dims_to_string(output_dims));
  Dims input_strides = contiguous_strides(input_dims);
  Dims strides(output_dims.size(), 0);
  size_t lead = output_dims.size() - input_dims.size();
  for (size_t axis = 0; axis < input_dims.size(); ++axis) {
    int64_t size = input_dims[axis];
    check(size == 1 || size == output_dims[lead + axis], ErrorKind::Runtime, what,
          ": cannot broadcast ", dims_to_string(input_dims), " to ", dims_to_string(output_dims));
    strides[lead + axis] = size == 1 ? 0 : input_strides[axis];
  }
  return strided_view(output_dims, strides, 0, what);
}

void copy_tensor(LaunchContext& context, DeviceTensor& dst, const DeviceTensor& src) {
  check(dst.nbytes() == src.nbytes(), ErrorKind::Runtime, "copy of ", src.nbytes(), " bytes into ",
        dst.nbytes());
  if (dst.data == src.data || src.nbytes() == 0) return;
  KILN_CUDA_CHECK(
      cudaMemcpyAsync(dst.data, src.data, src.nbytes(), cudaMemcpyDeviceToDevice, context.stream));
}

void check_launch(const ir::Node& node) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    fail(ErrorKind::Cuda, node.describe(), ": kernel launch failed: ", cudaGetErrorName(status),
         " (", cudaGetErrorString(status), ")");
  }
}

}  // namespace kiln::cuda
