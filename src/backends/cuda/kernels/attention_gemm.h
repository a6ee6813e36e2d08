// Attention on tensor cores: scores = Q·Kᵀ and Y = P·V as strided-batched cuBLASLt products,
// with a row-softmax kernel between them, over chunks of query rows whose FP32 scores fit the
// context workspace. The Attention op (ops/attention.cpp) falls back to the fused SIMT kernel
// where this cannot run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cuda/kernels/attention_params.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "core/dtype.h"

namespace kiln::cuda {

// cuBLASLt's share of a large context workspace (the rest holds scores); a workspace smaller
// than kAttentionGemmWorkspaceMin gives cuBLASLt none, so all of it holds scores.
constexpr size_t kAttentionGemmWorkspace = size_t(4) << 20;
constexpr size_t kAttentionGemmWorkspaceMin = size_t(16) << 20;

inline size_t attention_gemm_workspace(size_t workspace_size) {
  return workspace_size >= kAttentionGemmWorkspaceMin ? kAttentionGemmWorkspace : 0;
}

// Floats from one score row to the next: a multiple of 8 so that rows of scores (and of
// the 16-bit weights written over them) start 32-byte aligned, as fast GEMM kernels want.
inline int64_t attention_score_pitch(int64_t kv_seq) { return (kv_seq + 7) / 8 * 8; }

// Query rows whose scores fit at once: each row is one pitch of FP32 scores, and its softmax
// weights P overwrite the same bytes, so nothing else is stored per row.
inline int64_t attention_rows_fitting(size_t workspace_size, int64_t kv_seq) {
  if (kv_seq <= 0) return 0;
  size_t bytes = workspace_size - attention_gemm_workspace(workspace_size);
  return int64_t(bytes / (size_t(attention_score_pitch(kv_seq)) * sizeof(float)));
}

// Runs the attention through the products when at least one query row fits the workspace,
// resources has a cuBLASLt handle and the problem has keys and a head size; returns false,
// having launched nothing, otherwise. q, k, v and y hold `storage` (float32, float16 or
// bfloat16); `compute` is the products' cuBLASLt compute type. Throws LaunchError where a
// product or the softmax cannot run.
bool attention_by_gemms(const GemmResources& resources, cublasComputeType_t compute,
                        const AttentionParams& p, DType storage, const void* q, const void* k,
                        const void* v, void* y);

}  // namespace kiln::cuda
