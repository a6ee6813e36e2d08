// Launchers of Kiln's own attention kernels, over AttentionParams (attention_params.h): the
// fused tensor-core kernel (attention_mma.cu), the fused SIMT kernel (attention.cu) and the row
// softmax between the two tensor-core products (attention_softmax.cu). `storage` is Q/K/V/Y's type
// (has_float_kernel); each launcher checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/attention_params.h"
#include "core/dtype.h"

namespace kiln::cuda {

// Y = softmax(softcap(Q·Kᵀ·scale) + mask)·V in one kernel with a streaming (online) softmax,
// whose memory is O(tile), never O(kv_seq). Head sizes up to kMaxHeadSize.
void launch_fused_attention(const AttentionParams& p, DType storage, const void* q, const void* k,
                            const void* v, void* y, cudaStream_t stream);

// The same on tensor cores (mma.sync, FlashAttention-2's scheme) where mma_attention_fits:
// bf16 or fp16 storage, head sizes 64 or 128 (Q's and V's equal), every row and pointer
// 16-byte aligned, any mask, causal or not, grouped KV heads.
bool mma_attention_fits(const AttentionParams& p, DType storage, const void* q, const void* k,
                        const void* v, const void* y);
void launch_mma_attention(const AttentionParams& p, DType storage, const void* q, const void* k,
                          const void* v, void* y, cudaStream_t stream);

// Turns `rows` rows of scores (scale already applied; row r of the chunk, `pitch` floats
// apart, is global row first_row + r = (b·q_heads + h)·q_seq + i) into softmax weights of
// `storage` written over the start of each row: softcap, causal and attn_mask first. A row
// with every key masked gets zeros.
void launch_attention_softmax(const AttentionParams& p, DType storage, float* scores, int64_t pitch,
                              int64_t first_row, int64_t rows, cudaStream_t stream);

}  // namespace kiln::cuda
