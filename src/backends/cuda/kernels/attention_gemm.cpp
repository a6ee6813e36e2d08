// The tensor-core attention path (see attention_gemm.h). Kiln's tensors are row-major and
// cuBLASLt's column-major, so each row-major product D = A·B is issued as Dᵀ = Bᵀ·Aᵀ:
// scoresᵀ (kv_seq × rows) = K·Qᵀ and Yᵀ (v_head_size × rows) = Vᵀ·Pᵀ.
#include "backends/cuda/kernels/attention_gemm.h"

#include <algorithm>
#include <vector>

#include "backends/cuda/kernels/attention.h"
#include "core/precision.h"

namespace kiln::cuda {
namespace {

constexpr int64_t kMaxGemmBatch = 65535;  // problems per strided batch, kept within grid limits

// `count` attention problems of `rows` query rows each, as one strided batch: element
// offsets of the first problem's Q, K, V and Y and the steps to the next problem, and the
// chunk's score row where the first problem's scores start, with the step in rows.
struct ProblemBatch {
  int64_t count = 1, rows = 0;
  int64_t q = 0, k = 0, v = 0, y = 0;
  int64_t q_step = 0, k_step = 0, v_step = 0, y_step = 0;
  int64_t score_row = 0, score_step = 0;
};

// 4-D (B, H, S, D) layouts: the query heads of one KV head stack into one matrix of rows,
// and (batch, KV head) pairs are evenly spaced, so a whole chunk is one strided batch.
bool kv_heads_evenly_spaced(const AttentionParams& p) {
  return p.q.head == p.q_seq * p.q.seq && p.y.head == p.q_seq * p.y.seq &&
         p.q.batch == p.q_heads * p.q.head && p.y.batch == p.q_heads * p.y.head &&
         p.k.batch == p.kv_heads * p.k.head && p.v.batch == p.kv_heads * p.v.head;
}

// Scores live in the workspace after cuBLASLt's share, which the products get to themselves.
class AttentionGemms {
 public:
  AttentionGemms(const GemmResources& resources, cublasComputeType_t compute,
                 const AttentionParams& p, DType storage, const void* q, const void* k,
                 const void* v, void* y)
      : stream_(resources.stream),
        gemm_resources_(resources),
        p_(p),
        storage_(storage),
        q_(static_cast<const char*>(q)),
        k_(static_cast<const char*>(k)),
        v_(static_cast<const char*>(v)),
        y_(static_cast<char*>(y)),
        compute_(compute),
        pitch_(attention_score_pitch(p.kv_seq)) {
    size_t gemm_bytes = attention_gemm_workspace(resources.workspace_size);
    gemm_resources_.workspace_size = gemm_bytes;
    scores_ = reinterpret_cast<float*>(static_cast<char*>(resources.workspace) + gemm_bytes);
  }

  // KV heads [first, first + count) in (batch, KV head) order, with all their query heads:
  // their rows are the contiguous global rows from first · group · q_seq.
  void run_kv_heads(int64_t first, int64_t count) {
    std::vector<ProblemBatch> batches = kv_head_batches(first, count);
    for (const ProblemBatch& batch : batches) scores_product(batch);
    int64_t unit_rows = p_.group * p_.q_seq;
    launch_attention_softmax(p_, storage_, scores_, pitch_, first * unit_rows, count * unit_rows,
                             stream_);
    for (const ProblemBatch& batch : batches) output_product(batch);
  }

  // Query rows [row, row + rows) of query head bh = b · q_heads + h alone.
  void run_rows(int64_t bh, int64_t row, int64_t rows) {
    int64_t b = bh / p_.q_heads, h = bh % p_.q_heads, kv_h = h / p_.group;
    ProblemBatch batch;
    batch.rows = rows;
    batch.q = b * p_.q.batch + h * p_.q.head + row * p_.q.seq;
    batch.k = b * p_.k.batch + kv_h * p_.k.head;
    batch.v = b * p_.v.batch + kv_h * p_.v.head;
    batch.y = b * p_.y.batch + h * p_.y.head + row * p_.y.seq;
    scores_product(batch);
    launch_attention_softmax(p_, storage_, scores_, pitch_, bh * p_.q_seq + row, rows, stream_);
    output_product(batch);
  }

 private:
  std::vector<ProblemBatch> kv_head_batches(int64_t first, int64_t count) const {
    const AttentionParams& p = p_;
    if (kv_heads_evenly_spaced(p)) {
      ProblemBatch batch;
      batch.count = count;
      batch.rows = p.group * p.q_seq;
      batch.q_step = p.group * p.q.head;
      batch.k_step = p.k.head;
      batch.v_step = p.v.head;
      batch.y_step = p.group * p.y.head;
      batch.q = first * batch.q_step;
      batch.k = first * batch.k_step;
      batch.v = first * batch.v_step;
      batch.y = first * batch.y_step;
      batch.score_step = batch.rows;
      return {batch};
    }
    // 3-D (B, S, H·D): heads interleave within rows, so strides stay even only along the KV
    // heads of one batch entry, for one query head of each group at a time.
    std::vector<ProblemBatch> batches;
    for (int64_t b = first / p.kv_heads; b * p.kv_heads < first + count; ++b) {
      int64_t begin = std::max(first, b * p.kv_heads) - b * p.kv_heads;
      int64_t end = std::min(first + count, (b + 1) * p.kv_heads) - b * p.kv_heads;
      for (int64_t g = 0; g < p.group; ++g) {
        ProblemBatch batch;
        batch.count = end - begin;
        batch.rows = p.q_seq;
        batch.q = b * p.q.batch + (begin * p.group + g) * p.q.head;
        batch.k = b * p.k.batch + begin * p.k.head;
        batch.v = b * p.v.batch + begin * p.v.head;
        batch.y = b * p.y.batch + (begin * p.group + g) * p.y.head;
        batch.q_step = p.group * p.q.head;
        batch.k_step = p.k.head;
        batch.v_step = p.v.head;
        batch.y_step = p.group * p.y.head;
        batch.score_row = ((b * p.kv_heads + begin - first) * p.group + g) * p.q_seq;
        batch.score_step = p.group * p.q_seq;
        batches.push_back(batch);
      }
    }
    return batches;
  }

  template <typename Byte>
  Byte* at(Byte* base, int64_t elements) const {
    return base + elements * int64_t(dtype_size(storage_));
  }

  // scores (rows × kv_seq, FP32, scaled) = Q·Kᵀ · scale.
  void scores_product(const ProblemBatch& batch) {
    GemmProblem g;
    g.m = p_.kv_seq;
    g.n = batch.rows;
    g.k = p_.head_size;
    g.batch = batch.count;
    g.trans_a = true;  // K's rows are its keys
    g.lda = p_.k.seq;
    g.ldb = p_.q.seq;
    g.ldd = pitch_;
    g.stride_a = batch.k_step;
    g.stride_b = batch.q_step;
    g.stride_d = batch.score_step * pitch_;
    g.ab_dtype = storage_;
    g.d_dtype = DType::Float32;
    g.compute = compute_;
    float* scores = scores_ + batch.score_row * pitch_;
    run_gemm(
        gemm_resources_, g,
        GemmOperands{at(k_, batch.k), at(q_, batch.q), nullptr, scores, nullptr, p_.scale, 0.f});
  }

  // Y (rows × v_head_size, written in place in the output layout) = P·V, P being the weights
  // the softmax wrote over the start of each score row.
  void output_product(const ProblemBatch& batch) {
    int64_t weight_pitch = pitch_ * int64_t(sizeof(float) / dtype_size(storage_));
    GemmProblem g;
    g.m = p_.v_head_size;
    g.n = batch.rows;
    g.k = p_.kv_seq;
    g.batch = batch.count;
    g.lda = p_.v.seq;
    g.ldb = weight_pitch;
    g.ldd = p_.y.seq;
    g.stride_a = batch.v_step;
    g.stride_b = batch.score_step * weight_pitch;
    g.stride_d = batch.y_step;
    g.ab_dtype = storage_;
    g.d_dtype = storage_;
    g.compute = compute_;
    const void* weights = scores_ + batch.score_row * pitch_;
    run_gemm(gemm_resources_, g,
             GemmOperands{at(v_, batch.v), weights, nullptr, at(y_, batch.y), nullptr, 1.f, 0.f});
  }

  cudaStream_t stream_;
  GemmResources gemm_resources_;  // the caller's, with only cuBLASLt's share of the workspace
  const AttentionParams& p_;
  DType storage_;
  const char *q_, *k_, *v_;
  char* y_;
  cublasComputeType_t compute_;
  int64_t pitch_;
  float* scores_ = nullptr;
};

}  // namespace

bool attention_by_gemms(const GemmResources& resources, cublasComputeType_t compute,
                        const AttentionParams& p, DType storage, const void* q, const void* k,
                        const void* v, void* y) {
  if (!is_float_storage(storage) || resources.cublaslt == nullptr || p.kv_seq <= 0 ||
      p.head_size <= 0)
    return false;
  int64_t fitting = attention_rows_fitting(resources.workspace_size, p.kv_seq);
  if (fitting < 1) return false;
  AttentionGemms gemms(resources, compute, p, storage, q, k, v, y);
  int64_t kv_head_rows = p.group * p.q_seq, kv_heads = p.batch * p.kv_heads;
  if (fitting >= kv_head_rows) {
    int64_t per_chunk = std::min({fitting / kv_head_rows, kv_heads, kMaxGemmBatch});
    for (int64_t first = 0; first < kv_heads; first += per_chunk) {
      gemms.run_kv_heads(first, std::min(per_chunk, kv_heads - first));
    }
    return true;
  }
  // Not even the query heads of one KV head fit: one query head at a time, in row blocks.
  for (int64_t bh = 0; bh < p.batch * p.q_heads; ++bh) {
    for (int64_t row = 0; row < p.q_seq; row += fitting) {
      gemms.run_rows(bh, row, std::min(fitting, p.q_seq - row));
    }
  }
  return true;
}

}  // namespace kiln::cuda
