// The CUDA backend's kernel interface: one launcher per core op, found through a table, like
// the CPU backend. Launchers are asynchronous on the context's stream and allocate nothing:
// the executor (later: the engine's memory plan) owns every buffer, including workspace.
#pragma once

#include <cuda_runtime.h>

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

typedef struct cublasLtContext* cublasLtHandle_t;
typedef struct cudnnContext* cudnnHandle_t;

namespace kiln::cuda {

class GemmPlanCache;       // gemm_plan.h
class ConvPlanCache;       // conv_plan.h
class SdpaPlanCache;       // kernels/cudnn_sdpa.h
class ConvGraphCache;      // kernels/cudnn_conv.h
struct AttentionBiasMemo;  // ops/attention_cudnn.h

// A non-owning view of a dense, row-major tensor in device memory.
struct DeviceTensor {
  DType dtype = DType::Undefined;
  Dims dims;
  void* data = nullptr;
  // Elements from one row (run of the last dim) to the next; 0 where rows are contiguous, as
  // every tensor is but a column block of a wider one that the storage plan lets the attention
  // read in place (Q, K and V of one packed projection; storage_plan.h).
  int64_t row_pitch = 0;

  int64_t numel() const { return element_count(dims); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  bool defined() const { return dtype != DType::Undefined; }
};

// What a launcher may use; owned by the executor / execution context.
struct LaunchContext {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;  // scratch for cuBLASLt / cuDNN / reductions
  size_t workspace_size = 0;
  int compute_capability = 0;  // major * 10 + minor
  // Timed algorithm choices per problem, owned with this context; null means "take the
  // library heuristic's first choice, time nothing" (e.g. while capturing a CUDA graph).
  GemmPlanCache* gemm_plans = nullptr;
  ConvPlanCache* conv_plans = nullptr;
  SdpaPlanCache* sdpa_plans = nullptr;    // built cuDNN attention graphs; null: no cuDNN SDPA
  ConvGraphCache* conv_graphs = nullptr;  // built cuDNN conv graphs; null: legacy API only
  // Where cuDNN attention keeps a mask's dense bias for the next layer reading that mask in
  // the same inference; null: each layer writes its own into the workspace.
  AttentionBiasMemo* attention_bias = nullptr;
};

// inputs[i] is undefined where an optional input is absent. outputs are allocated by the
// caller with the dims and dtypes shape inference gave (all static on the GPU path). The
// node's precision (ir::Node::precision) says what the math runs in: FP32, TF32 (matrix
// products only), FP16 or BF16; tensors arrive in their storage dtypes.
using CudaKernel = void (*)(LaunchContext& context, const ir::Node& node,
                            std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs);
using CudaKernelMap = std::map<std::string, CudaKernel, std::less<>>;

CudaKernel find_cuda_kernel(std::string_view op);  // null if none
std::vector<std::string> cuda_kernel_ops();        // every op in the table, sorted

// The implementations `node` can run through, by name, for the builder to time and choose
// among (node attribute "tactic"); empty where its op has one for these inputs. `inputs`
// carry dims and dtypes (their data may be null).
using CudaTactics = std::vector<std::string> (*)(LaunchContext& context, const ir::Node& node,
                                                 std::span<const DeviceTensor> inputs);
std::vector<std::string> cuda_tactics(LaunchContext& context, const ir::Node& node,
                                      std::span<const DeviceTensor> inputs);

// Registration hooks, one per op family file.
void register_elementwise_cuda_kernels(CudaKernelMap& map);
void register_normalization_cuda_kernels(CudaKernelMap& map);  // Softmax, LayerNorm, BatchNorm
void register_reduction_cuda_kernels(CudaKernelMap& map);      // Reduce*, ArgMax, ArgMin
void register_data_movement_cuda_kernels(
    CudaKernelMap& map);                                   // Transpose, Concat, Slice, Gather, ...
void register_matmul_cuda_kernels(CudaKernelMap& map);     // MatMul, Gemm (cuBLASLt)
void register_conv_pool_cuda_kernels(CudaKernelMap& map);  // Conv (cuDNN), pools
void register_attention_cuda_kernels(CudaKernelMap& map);

}  // namespace kiln::cuda
