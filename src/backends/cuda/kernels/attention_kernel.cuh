// The fused attention kernel (SIMT, FP32 math): a block owns kBlockRows query rows of one
// (batch, head); K/V tiles of kKeyTile keys pass through shared memory and an online softmax
// rescales the running output, so nothing of size kv_seq is ever stored.
#pragma once

#include <cstdint>

#include "backends/cuda/kernels/attention_params.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {

constexpr int kAttentionWarps = 8;
constexpr int kAttentionThreads = kAttentionWarps * 32;
constexpr int kRowsPerWarp = 4;  // rows a warp carries at once, reusing each K/V read
constexpr int kBlockRows = kAttentionWarps * kRowsPerWarp;
constexpr int kKeyTile = 32;  // one key per lane while scoring

// Q tile, K tile (rows padded by one float so lanes reading different keys avoid bank
// conflicts) and V tile, all FP32.
inline size_t attention_shared_bytes(int64_t head_size, int64_t v_head_size) {
  return sizeof(float) *
         size_t(kBlockRows * head_size + kKeyTile * (head_size + 1) + kKeyTile * v_head_size);
}

// The additive bias attn_mask gives key `j` of row (b, h, i): 0 / -inf for bool, the value
// for float.
__device__ __forceinline__ float mask_bias(const AttentionParams& p, int64_t b, int64_t h,
                                           int64_t i, int64_t j) {
  if (j >= p.mask_columns) return -INFINITY;
  int64_t at =
      b * p.mask_strides[0] + h * p.mask_strides[1] + i * p.mask_strides[2] + j * p.mask_strides[3];
  switch (p.mask_kind) {
    case kMaskBool:
      return static_cast<const bool*>(p.mask)[at] ? 0.f : -INFINITY;
    case kMaskFloat32:
      return static_cast<const float*>(p.mask)[at];
    case kMaskFloat16:
      return __half2float(static_cast<const __half*>(p.mask)[at]);
    default:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p.mask)[at]);
  }
}

__device__ __forceinline__ float warp_max(float x) {
  for (int offset = 16; offset > 0; offset /= 2)
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Copies `rows` rows of `width` elements (row r at src + r * row_stride) into FP32 shared
// memory with row pitch `pitch`; rows past `valid` become zeros (0·garbage could be NaN).
template <typename T>
__device__ __forceinline__ void load_tile(float* dst, int pitch, const T* src, int64_t row_stride,
                                          int rows, int64_t valid, int width) {
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int r = warp; r < rows; r += kAttentionWarps) {
    const T* row = src + r * row_stride;
    for (int d = lane; d < width; d += 32) dst[r * pitch + d] = r < valid ? to_float(row[d]) : 0.f;
  }
}

// Grid: x = batch · q_heads, y = query-row blocks. kChunks · 32 ≥ max(head sizes).
template <typename T, int kChunks>
__global__ void __launch_bounds__(kAttentionThreads)
    fused_attention_kernel(AttentionParams p, const T* q_data, const T* k_data, const T* v_data,
                           T* y_data) {
  extern __shared__ float shared[];
  const int head_size = int(p.head_size), v_head_size = int(p.v_head_size), k_pitch = head_size + 1;
  float* q_tile = shared;
  float* k_tile = q_tile + kBlockRows * head_size;
  float* v_tile = k_tile + kKeyTile * k_pitch;
  const int64_t b = blockIdx.x / p.q_heads, h = blockIdx.x % p.q_heads, kv_h = h / p.group;
  const int64_t row0 = int64_t(blockIdx.y) * kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* keys = k_data + b * p.k.batch + kv_h * p.k.head;
  const T* values = v_data + b * p.v.batch + kv_h * p.v.head;

  load_tile(q_tile, head_size, q_data + b * p.q.batch + h * p.q.head + row0 * p.q.seq, p.q.seq,
            kBlockRows, p.q_seq - row0, head_size);

  float running_max[kRowsPerWarp], running_sum[kRowsPerWarp], acc[kRowsPerWarp][kChunks];
  for (int r = 0; r < kRowsPerWarp; ++r) {
    running_max[r] = -INFINITY;
    running_sum[r] = 0.f;
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0.f;
  }
  const float* my_q = q_tile + warp * kRowsPerWarp * head_size;
  int64_t last_row = min(row0 + kBlockRows, p.q_seq) - 1;
  int64_t key_end = p.causal ? min(p.kv_seq, last_row + 1) : p.kv_seq;  // later keys are all masked

  for (int64_t key0 = 0; key0 < key_end; key0 += kKeyTile) {
    __syncthreads();  // the previous tile is consumed (and, the first time, Q is loaded)
    load_tile(k_tile, k_pitch, keys + key0 * p.k.seq, p.k.seq, kKeyTile, p.kv_seq - key0,
              head_size);
    load_tile(v_tile, v_head_size, values + key0 * p.v.seq, p.v.seq, kKeyTile, p.kv_seq - key0,
              v_head_size);
    __syncthreads();

    // Scores: lane = key, one dot product per row this warp carries.
    float score[kRowsPerWarp] = {};
    const float* my_key = k_tile + lane * k_pitch;
#pragma unroll 4
    for (int d = 0; d < head_size; ++d) {
      float kd = my_key[d];
      for (int r = 0; r < kRowsPerWarp; ++r) score[r] += my_q[r * head_size + d] * kd;
    }
    const int64_t j = key0 + lane;
    float weight[kRowsPerWarp];
    for (int r = 0; r < kRowsPerWarp; ++r) {
      int64_t i = row0 + warp * kRowsPerWarp + r;
      float bias = 0.f;
      if (j >= p.kv_seq || (p.causal && j > i)) {
        bias = -INFINITY;
      } else if (p.mask_kind != kMaskNone && i < p.q_seq) {
        bias = mask_bias(p, b, h, i, j);
      }
      float logit = score[r] * p.scale;
      if (p.softcap > 0.f) logit = p.softcap * tanhf(logit / p.softcap);  // before the mask
      float s = bias == -INFINITY ? -INFINITY : logit + bias;
      float new_max = fmaxf(running_max[r], warp_max(s));
      // A row with no key yet keeps max -inf: its weights and correction are 0, not NaN.
      weight[r] = new_max == -INFINITY ? 0.f : expf(s - new_max);
      float correction = running_max[r] == -INFINITY ? 0.f : expf(running_max[r] - new_max);
      running_sum[r] = running_sum[r] * correction + warp_sum(weight[r]);
      running_max[r] = new_max;
      for (int c = 0; c < kChunks; ++c) acc[r][c] *= correction;
    }
    // Output: lane = output column (lane + 32·c), weights broadcast from the key's lane.
    int keys_here = int(min(int64_t(kKeyTile), key_end - key0));
    for (int jj = 0; jj < keys_here; ++jj) {
      float w[kRowsPerWarp];
      for (int r = 0; r < kRowsPerWarp; ++r) w[r] = __shfl_sync(0xffffffffu, weight[r], jj);
      for (int c = 0; c < kChunks; ++c) {
        int d = lane + 32 * c;
        float vd = d < v_head_size ? v_tile[jj * v_head_size + d] : 0.f;
        for (int r = 0; r < kRowsPerWarp; ++r) acc[r][c] += w[r] * vd;
      }
    }
  }

  for (int r = 0; r < kRowsPerWarp; ++r) {
    int64_t i = row0 + warp * kRowsPerWarp + r;
    if (i >= p.q_seq) break;
    // Every key masked (sum 0): ONNX gives zeros.
    float inverse = running_sum[r] > 0.f ? 1.f / running_sum[r] : 0.f;
    T* out = y_data + b * p.y.batch + h * p.y.head + i * p.y.seq;
    for (int c = 0; c < kChunks; ++c) {
      int d = lane + 32 * c;
      if (d < v_head_size) out[d] = from_float<T>(acc[r][c] * inverse);
    }
  }
}

}  // namespace kiln::cuda
