// Turns CUDA, cuBLAS(Lt) and cuDNN failure codes into kiln::Error(ErrorKind::Cuda).
#include "backends/cuda/kernels/cuda_check.h"

#include "core/error.h"

namespace kiln::cuda {

void check_status(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  fail(ErrorKind::Cuda, call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")");
}

void check_status(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  fail(ErrorKind::Cuda, call, " failed at ", file, ":", line, ": ", cublasLtGetStatusName(status),
       " (", cublasLtGetStatusString(status), ")");
}

void check_status(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  fail(ErrorKind::Cuda, call, " failed at ", file, ":", line, ": ", cudnnGetErrorString(status));
}

}  // namespace kiln::cuda
