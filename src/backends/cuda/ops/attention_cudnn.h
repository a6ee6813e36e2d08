// The cuDNN route of the Attention op (kernels/cudnn_sdpa.h): when a node may take it (its
// "tactic" attribute, chosen by timing at build time) and cuDNN runs its shapes, one fused
// flash-attention launch; otherwise the caller's own paths (tensor-core GEMMs, SIMT kernel).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/kernels/attention_params.h"
#include "backends/cuda/ops/cuda_kernel.h"

namespace kiln::cuda {

// The Attention tactics the builder times (node attribute "tactic"): cuDNN's fused SDPA, Kiln's
// fused tensor-core kernel (kernels/attention_mma.cu), or Kiln's other kernels (tensor-core
// products around a softmax, or the SIMT kernel). A node without the attribute takes cuDNN
// where it runs.
inline constexpr const char* kTacticCudnnSdpa = "cudnn_sdpa";
inline constexpr const char* kTacticMma = "kiln_mma";
inline constexpr const char* kTacticKiln = "kiln";

// Runs attention `p` (Q, K, V, Y of `dtype` at q, k, v, y) through cuDNN if the node's tactic
// allows it and cuDNN runs the problem with the context's workspace; returns false, having
// launched nothing, otherwise (and says why in the debug log).
bool attention_by_cudnn(LaunchContext& context, const ir::Node& node, const AttentionParams& p,
                        DType dtype, const void* q, const void* k, const void* v, void* y);

// The dense bias (and flags of the rows left without a key) that an attention mask becomes
// for cuDNN, kept for the next layer that reads the same mask value the same way: BERT's 12
// layers convert their one padding mask once an inference instead of 12 times. The execution
// context owns the buffer, sizes it over its plan (attention_bias_bytes) and calls forget()
// before every inference, so nothing is reused across inferences; within one, a mask value
// never changes while layers read it.
struct AttentionBiasMemo {
  void* data = nullptr;
  size_t capacity = 0;
  const ir::Value* mask = nullptr;  // whose bias `data` holds now (null: none)
  std::vector<int64_t> key;         // and for which problem: sizes, mask layout, dtype
  void forget() {
    mask = nullptr;
    key.clear();
  }
};

// The bytes the bias and row flags of attention `p` in `dtype` take (0 without a mask).
size_t cudnn_bias_bytes(const AttentionParams& p, DType dtype);

// The tactics to time for `p`: both where cuDNN runs it, none (one implementation) otherwise.
std::vector<std::string> attention_tactics(LaunchContext& context, const ir::Node& node,
                                           const AttentionParams& p, DType dtype);

}  // namespace kiln::cuda
