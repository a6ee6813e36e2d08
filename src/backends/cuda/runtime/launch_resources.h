// Everything a kernel launch needs beside its tensors, owned together: the cuBLASLt and
// cuDNN handles, one workspace, the timed-algorithm caches and the built cuDNN graphs. The
// execution context, the builder's layer timer and the GPU tests each hold one, so they
// launch kernels alike.
#pragma once

#include <cstddef>

#include "backends/cuda/kernels/conv_plan.h"
#include "backends/cuda/kernels/cudnn_conv.h"
#include "backends/cuda/kernels/cudnn_sdpa.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"

namespace kiln::cuda {

class LaunchResources {
 public:
  // Launches go to `stream` until bind_stream() names another. The timed GEMM and convolution
  // choices go to the caches given (an engine's, shared by its contexts), else to its own.
  LaunchResources(size_t workspace_bytes, cudaStream_t stream,
                  GemmPlanCache* shared_gemm_plans = nullptr,
                  ConvPlanCache* shared_conv_plans = nullptr);
  // `context()` points into this object: it is neither copied nor moved.
  LaunchResources(const LaunchResources&) = delete;
  LaunchResources& operator=(const LaunchResources&) = delete;

  LaunchContext& context() { return context_; }
  // Points the context and the cuDNN handle at `stream`.
  void bind_stream(cudaStream_t stream);

 private:
  CublasLtHandle cublaslt_;
  CudnnHandle cudnn_;
  DeviceBuffer workspace_;
  GemmPlanCache gemm_plans_;
  ConvPlanCache conv_plans_;
  SdpaPlanCache sdpa_plans_;
  ConvGraphCache conv_graphs_;
  LaunchContext context_;
};

}  // namespace kiln::cuda
