// One way to check every CUDA runtime, cuBLAS(Lt) and cuDNN return code: KILN_CUDA_CHECK(call)
// throws kiln::Error(ErrorKind::Cuda) naming the call, where it is, and the library's message.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace kiln::cuda {

void check_status(cudaError_t status, const char* call, const char* file, int line);
void check_status(cublasStatus_t status, const char* call, const char* file, int line);
void check_status(cudnnStatus_t status, const char* call, const char* file, int line);

}  // namespace kiln::cuda

#define KILN_CUDA_CHECK(call) ::kiln::cuda::check_status((call), #call, __FILE__, __LINE__)
