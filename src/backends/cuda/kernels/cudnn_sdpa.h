// Fused attention through cuDNN's scaled-dot-product attention (a flash-attention kernel,
// built with the cudnn-frontend graph API): softmax(Q·Kᵀ·scale + bias)·V in one launch that
// never writes the score matrix, reading Q, K, V and writing Y at whatever strides the model
// produced them (the head dim contiguous), grouped-query heads, top-left causal masking and an
// additive bias. BF16 and FP16 storage, FP32 softmax and accumulation.
#pragma once

#include <cuda_runtime.h>
#include <cudnn.h>

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backends/cuda/kernels/attention_params.h"
#include "core/dtype.h"

namespace kiln::cuda {

// One SDPA problem as cuDNN sees it: every size and stride (in elements; batch, head, seq —
// the head dim is contiguous), and the additive bias's broadcast, if there is one.
struct SdpaProblem {
  DType dtype = DType::BFloat16;  // of Q, K, V, Y and the bias
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0;
  int64_t head_size = 0, v_head_size = 0;
  std::array<int64_t, 3> q{}, k{}, v{}, y{};
  bool causal = false;  // top-left aligned, as ONNX Attention's is_causal
  float scale = 1.f;
  bool has_bias = false;
  int64_t bias_batch = 1, bias_heads = 1;  // 1 or batch, 1 or q_heads; then (q_seq, kv_seq)

  auto operator<=>(const SdpaProblem&) const = default;
  std::string to_string() const;  // for messages
};

// The problem for `params` (sizes, strides, causal, scale; not the mask, which the caller
// turns into a bias of `bias_batch` × `bias_heads` first).
SdpaProblem sdpa_problem(const AttentionParams& params, DType dtype, bool has_bias,
                         int64_t bias_batch, int64_t bias_heads);

// Built cuDNN graphs per problem, owned with the other launch resources (like GemmPlanCache),
// so a problem is built once — its support too: a problem cuDNN refuses is remembered with why.
class SdpaPlanCache {
 public:
  SdpaPlanCache();
  ~SdpaPlanCache();
  SdpaPlanCache(const SdpaPlanCache&) = delete;
  SdpaPlanCache& operator=(const SdpaPlanCache&) = delete;

  struct Plan;
  // The plan for `problem`, built on first use with `handle`.
  const Plan& plan(cudnnHandle_t handle, const SdpaProblem& problem);

 private:
  std::map<SdpaProblem, std::unique_ptr<Plan>> plans_;
};

// Whether cuDNN runs `problem` on this GPU: empty if it does, else cuDNN's reason.
// `workspace_bytes` is then what run_cudnn_sdpa needs.
std::string cudnn_sdpa_refusal(SdpaPlanCache& cache, cudnnHandle_t handle,
                               const SdpaProblem& problem, size_t& workspace_bytes);

// Launches the problem on the handle's stream. `bias` is [bias_batch, bias_heads, q_seq,
// kv_seq] contiguous in the problem's dtype, or null without one; `workspace` holds at least
// the bytes cudnn_sdpa_refusal gave. Throws LaunchError (Cuda) if cuDNN fails to launch.
void run_cudnn_sdpa(SdpaPlanCache& cache, cudnnHandle_t handle, const SdpaProblem& problem,
                    const void* q, const void* k, const void* v, const void* bias, void* y,
                    void* workspace);

// Writes the additive bias cuDNN reads for an ONNX attention mask: [bias_batch, bias_heads,
// q_seq, kv_seq] in `dtype` (BF16 or FP16), from the mask at `params.mask` with its kind and
// broadcast strides; a boolean false, and every key at or beyond the mask's last column,
// becomes the dtype's most negative finite value (cuDNN then makes no NaN). Also sets
// row_has_key[bias row] to whether the row keeps any key (causal masking counted).
// Asynchronous on `stream`.
void write_attention_bias(const AttentionParams& params, int64_t bias_batch, int64_t bias_heads,
                          DType dtype, void* bias, int* row_has_key, cudaStream_t stream);
// Zeroes every row of y (Y of `params`, in `dtype`) whose bias row kept no key: Kiln's
// attention gives such a row zeros, where a softmax over nothing would give NaN or an average.
void zero_keyless_rows(const AttentionParams& params, int64_t bias_batch, int64_t bias_heads,
                       const int* row_has_key, DType dtype, void* y, cudaStream_t stream);

}  // namespace kiln::cuda
