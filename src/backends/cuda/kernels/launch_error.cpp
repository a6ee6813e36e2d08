// The launch check behind launch_error.h.
#include "backends/cuda/kernels/launch_error.h"

#include <cuda_runtime.h>

namespace kiln::cuda {

void check_last_launch() {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    launch_fail(ErrorKind::Cuda, "kernel launch failed: ", cudaGetErrorName(status), " (",
                cudaGetErrorString(status), ")");
  }
}

}  // namespace kiln::cuda
