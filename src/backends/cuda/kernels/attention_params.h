// The sizes, strides, mask and attributes of one CUDA Attention launch, shared by the host
// code (ops/attention.cpp, attention_gemm.cpp) and the kernels (attention_kernel.cuh,
// attention_softmax.cu).
#pragma once

#include <cstdint>

namespace kiln::cuda {

constexpr int64_t kMaxHeadSize = 256;  // the SIMT kernel's limit; the GEMM path has none

enum MaskKind { kMaskNone = 0, kMaskBool, kMaskFloat32, kMaskFloat16, kMaskBFloat16 };

struct AttentionStrides {
  int64_t batch = 0, head = 0, seq = 0;  // in elements; the head dim is contiguous
};

struct AttentionParams {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, group = 1, q_seq = 0, kv_seq = 0;
  int64_t head_size = 0, v_head_size = 0;
  AttentionStrides q, k, v, y;
  const void* mask = nullptr;
  int mask_kind = kMaskNone;
  int64_t mask_strides[4] = {};  // over (B, Hq, Sq, columns); 0 on broadcast axes
  int64_t mask_columns = 0;      // keys at or beyond this are masked (ONNX pads with -inf)
  bool causal = false;
  float scale = 1.f;
  float softcap = 0.f;
};

}  // namespace kiln::cuda
