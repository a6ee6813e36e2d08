// The softmax between the two attention products: one warp per score row applies softcap,
// the causal limit and attn_mask, then writes the weights P (FP32 math, stored as the
// inputs' type) over the first bytes of the same row, ready for the P·V product.
#include "backends/cuda/kernels/attention.h"
#include "backends/cuda/kernels/attention_kernel.cuh"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {
namespace {

constexpr int kSoftmaxWarps = 8;  // rows per block

// Where a warp's score row sits: batch b, query head h, query position i.
struct ScoreRow {
  int64_t b, h, i;
  int64_t visible;  // keys before the causal limit (all keys without one)
};

__device__ ScoreRow score_row(const AttentionParams& p, int64_t row) {
  const int64_t bh = row / p.q_seq, i = row % p.q_seq;
  const int64_t visible = p.causal ? min(p.kv_seq, i + 1) : p.kv_seq;  // upper-left causal
  return {bh / p.q_heads, bh % p.q_heads, i, visible};
}

// Key j's logit: the score, softcapped, then masked (causal limit and attn_mask); -inf
// where masked. Scores past the causal limit are not read.
__device__ float masked_logit(const AttentionParams& p, const ScoreRow& r, const float* scores,
                              int64_t j) {
  if (j >= r.visible) return -INFINITY;
  float score = scores[j];
  if (p.softcap > 0.f) score = p.softcap * tanhf(score / p.softcap);  // before the mask
  float bias = p.mask_kind == kMaskNone ? 0.f : mask_bias(p, r.b, r.h, r.i, j);
  return bias == -INFINITY ? -INFINITY : score + bias;
}

template <typename T>
__global__ void __launch_bounds__(kSoftmaxWarps * 32)
    attention_softmax_kernel(AttentionParams p, float* scores, int64_t pitch, int64_t first_row,
                             int64_t rows) {
  const int64_t local = int64_t(blockIdx.x) * kSoftmaxWarps + threadIdx.x / 32;
  if (local >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const ScoreRow r = score_row(p, first_row + local);
  const int64_t keys = p.kv_seq;
  float* logits = scores + local * pitch;

  // Logits (each lane rewrites only its own elements), then their max.
  float max = -INFINITY;
  for (int64_t j = lane; j < keys; j += 32) {
    const float logit = masked_logit(p, r, logits, j);
    logits[j] = logit;
    max = fmaxf(max, logit);
  }
  max = warp_max(max);
  // Every key masked (max -inf): ONNX gives zeros; exp(-inf - -inf) would give NaN.
  float sum = 0.f;
  if (max != -INFINITY) {
    for (int64_t j = lane; j < keys; j += 32) {
      float e = expf(logits[j] - max);
      logits[j] = e;
      sum += e;
    }
  }
  sum = warp_sum(sum);
  const float inverse = sum > 0.f ? 1.f / sum : 0.f;

  // P element j lies within float j·sizeof(T)/4 ≤ j: each step of 32 keys reads all of its
  // floats before any lane writes, and later steps read only floats beyond those written.
  T* weights = reinterpret_cast<T*>(logits);
  for (int64_t j0 = 0; j0 < keys; j0 += 32) {
    const int64_t j = j0 + lane;
    float w = j < keys && inverse > 0.f ? logits[j] * inverse : 0.f;
    __syncwarp();
    if (j < keys) weights[j] = from_float<T>(w);
  }
}

// The same for rows of at most 32·kPerLane keys, held in registers: the scores are read once
// and the weights written once (the loop above passes over the row five times).
template <typename T, int kPerLane>
__global__ void __launch_bounds__(kSoftmaxWarps * 32)
    attention_softmax_registers_kernel(AttentionParams p, float* scores, int64_t pitch,
                                       int64_t first_row, int64_t rows) {
  const int64_t local = int64_t(blockIdx.x) * kSoftmaxWarps + threadIdx.x / 32;
  if (local >= rows) return;
  const int lane = threadIdx.x % 32;
  const ScoreRow r = score_row(p, first_row + local);
  const int keys = int(p.kv_seq);
  float* logits = scores + local * pitch;
  float values[kPerLane];
  float max = -INFINITY;
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const int j = lane + 32 * t;
    const float logit = masked_logit(p, r, logits, j);  // -inf past the row's keys
    values[t] = logit;
    max = fmaxf(max, logit);
  }
  max = warp_max(max);
  float sum = 0.f;
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    values[t] = max == -INFINITY ? 0.f : expf(values[t] - max);  // exp(-inf) = 0
    sum += values[t];
  }
  sum = warp_sum(sum);
  const float inverse = sum > 0.f ? 1.f / sum : 0.f;
  __syncwarp();  // every lane has read its scores before any weight overwrites them
  T* weights = reinterpret_cast<T*>(logits);
#pragma unroll
  for (int t = 0; t < kPerLane; ++t) {
    const int j = lane + 32 * t;
    if (j < keys) weights[j] = from_float<T>(values[t] * inverse);
  }
}

template <typename T, int kPerLane>
bool launch_in_registers(const AttentionParams& p, float* scores, int64_t pitch, int64_t first_row,
                         int64_t rows, unsigned blocks, cudaStream_t stream) {
  if (p.kv_seq > 32 * kPerLane) return false;
  attention_softmax_registers_kernel<T, kPerLane>
      <<<blocks, kSoftmaxWarps * 32, 0, stream>>>(p, scores, pitch, first_row, rows);
  return true;
}

}  // namespace

void launch_attention_softmax(const AttentionParams& p, DType storage, float* scores, int64_t pitch,
                              int64_t first_row, int64_t rows, cudaStream_t stream) {
  if (rows <= 0) return;
  unsigned blocks = unsigned((rows + kSoftmaxWarps - 1) / kSoftmaxWarps);
  visit_float_storage(storage, [&](auto tag) {
    using T = decltype(tag);
    bool done = launch_in_registers<T, 4>(p, scores, pitch, first_row, rows, blocks, stream) ||
                launch_in_registers<T, 8>(p, scores, pitch, first_row, rows, blocks, stream) ||
                launch_in_registers<T, 16>(p, scores, pitch, first_row, rows, blocks, stream) ||
                launch_in_registers<T, 32>(p, scores, pitch, first_row, rows, blocks, stream);
    if (!done) {
      attention_softmax_kernel<T>
          <<<blocks, kSoftmaxWarps * 32, 0, stream>>>(p, scores, pitch, first_row, rows);
    }
  });
  check_last_launch();
}

}  // namespace kiln::cuda
