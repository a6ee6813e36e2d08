#include "backends/cuda/runtime/launch_resources.h"

#include "backends/cuda/kernels/cuda_check.h"

namespace kiln::cuda {

LaunchResources::LaunchResources(size_t workspace_bytes, cudaStream_t stream,
                                 GemmPlanCache* shared_gemm_plans, ConvPlanCache* shared_conv_plans)
    : cublaslt_(create_cublaslt()), cudnn_(create_cudnn(stream)), workspace_(workspace_bytes) {
  context_.stream = stream;
  context_.cublaslt = cublaslt_.get();
  context_.cudnn = cudnn_.get();
  context_.workspace = workspace_.data();
  context_.workspace_size = workspace_.size();
  context_.compute_capability = compute_capability();
  context_.gemm_plans = shared_gemm_plans != nullptr ? shared_gemm_plans : &gemm_plans_;
  context_.conv_plans = shared_conv_plans != nullptr ? shared_conv_plans : &conv_plans_;
  context_.sdpa_plans = &sdpa_plans_;
  context_.conv_graphs = &conv_graphs_;
}

void LaunchResources::bind_stream(cudaStream_t stream) {
  if (context_.stream == stream) return;
  context_.stream = stream;
  KILN_CUDA_CHECK(cudnnSetStream(context_.cudnn, stream));
}

}  // namespace kiln::cuda
