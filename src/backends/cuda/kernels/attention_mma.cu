// Kiln's tensor-core attention kernel (FlashAttention-2's scheme on mma.sync m16n8k16): a block
// of 4 warps owns 64 query rows of one (batch, head), 16 per warp, its Q fragments held in
// registers; tiles of 64 keys pass through shared memory (K as it is, V transposed, both padded
// by 8 elements so the fragment loads of a warp hit 32 different banks); each warp's scores stay
// in registers, an online softmax in the log2 domain rescales the running output, and the
// probabilities are re-packed in place as the A operand of P·V. Nothing of size kv_seq is ever
// stored. 16-bit Q, K, V and Y (bf16 or fp16), fp32 accumulation, head sizes 64 and 128.
// Semantics as the SIMT kernel (attention_kernel.cuh): scale, softcap before the mask, causal
// keys j > i masked, a row with every key masked gives zeros.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/attention.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/launch_error.h"

namespace kiln::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 16 * kWarps;  // query rows per block
constexpr int kKeys = 64;           // keys per tile
constexpr int kPad = 8;             // elements after each shared row
constexpr float kLog2e = 1.4426950408889634f;

template <typename T>
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                    uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two floats as a pair of T in one register, `low` in the low half (the lower column).
template <typename T>
__device__ __forceinline__ uint32_t pack(float low, float high) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);
    return *reinterpret_cast<uint32_t*>(&pair);
  } else {
    __half2 pair = __floats2half2_rn(low, high);
    return *reinterpret_cast<uint32_t*>(&pair);
  }
}

__device__ __forceinline__ uint32_t pair_at(const void* base, int element) {
  return *reinterpret_cast<const uint32_t*>(static_cast<const uint16_t*>(base) + element);
}

// `rows` rows of kD elements (row r at src + r * stride) into shared memory with row pitch
// kD + kPad, 16 bytes per thread and step; rows from `valid` on become zeros.
template <int kD, typename T>
__device__ __forceinline__ void load_rows(T* dst, const T* src, int64_t stride, int rows,
                                          int64_t valid) {
  constexpr int kVectors = kD / 8;
  for (int index = threadIdx.x; index < rows * kVectors; index += kThreads) {
    const int r = index / kVectors, c = (index % kVectors) * 8;
    uint4 value = make_uint4(0, 0, 0, 0);
    if (r < valid) value = *reinterpret_cast<const uint4*>(src + r * stride + c);
    *reinterpret_cast<uint4*>(dst + r * (kD + kPad) + c) = value;
  }
}

// The same for V, stored transposed: dst[d][key], row pitch kKeys + kPad.
template <int kD, typename T>
__device__ __forceinline__ void load_transposed(T* dst, const T* src, int64_t stride,
                                                int64_t valid) {
  constexpr int kVectors = kD / 8;
  for (int index = threadIdx.x; index < kKeys * kVectors; index += kThreads) {
    const int key = index % kKeys, c = (index / kKeys) * 8;
    uint4 value = make_uint4(0, 0, 0, 0);
    if (key < valid) value = *reinterpret_cast<const uint4*>(src + key * stride + c);
    const T* parts = reinterpret_cast<const T*>(&value);
#pragma unroll
    for (int e = 0; e < 8; ++e) dst[(c + e) * (kKeys + kPad) + key] = parts[e];
  }
}

// The additive term of key j for row i (natural-log units): -inf outside the keys, after the
// diagonal when causal, and the mask's bias.
__device__ __forceinline__ float key_bias(const AttentionParams& p, int64_t b, int64_t h, int64_t i,
                                          int64_t j) {
  if (j >= p.kv_seq || (p.causal && j > i)) return -INFINITY;
  if (p.mask_kind == kMaskNone || i >= p.q_seq) return 0.f;
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

// One tile's scores (row pair rows[0], rows[1] of this lane, keys key0 + 8n + 2t + {0, 1}) turned
// into probabilities in place against the running max of each row (log2 units), the running
// sums and the output accumulators rescaled to it.
template <int kD>
__device__ __forceinline__ void online_softmax(const AttentionParams& p, int64_t b, int64_t h,
                                               const int64_t (&rows)[2], int64_t key0, int t,
                                               float (&s)[kKeys / 8][4], float (&running_max)[2],
                                               float (&running_sum)[2], float (&o)[kD / 8][4]) {
  float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int n = 0; n < kKeys / 8; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float logit = s[n][e] * p.scale;
      if (p.softcap > 0.f) logit = p.softcap * tanhf(logit / p.softcap);  // before the mask
      const float bias = key_bias(p, b, h, rows[e / 2], key0 + n * 8 + 2 * t + (e % 2));
      s[n][e] = bias == -INFINITY ? -INFINITY : (logit + bias) * kLog2e;
      tile_max[e / 2] = fmaxf(tile_max[e / 2], s[n][e]);
    }
  }
  float correction[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
    const float new_max = fmaxf(running_max[r], tile_max[r]);
    // A row with no key yet keeps max -inf: its weights and correction are 0, not NaN.
    correction[r] = running_max[r] == -INFINITY ? 0.f : exp2f(running_max[r] - new_max);
    running_max[r] = new_max;
    running_sum[r] *= correction[r];
  }
#pragma unroll
  for (int n = 0; n < kKeys / 8; ++n) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float top = running_max[e / 2];
      s[n][e] = top == -INFINITY ? 0.f : exp2f(s[n][e] - top);
      running_sum[e / 2] += s[n][e];
    }
  }
#pragma unroll
  for (int d = 0; d < kD / 8; ++d) {
    o[d][0] *= correction[0];
    o[d][1] *= correction[0];
    o[d][2] *= correction[1];
    o[d][3] *= correction[1];
  }
}

// Grid: x = query-row blocks, y = batch · q_heads. Lane l of a warp holds, in each m16n8
// accumulator, rows g = l / 4 and g + 8 and columns 2t, 2t + 1 (t = l % 4).
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads)
    mma_attention_kernel(AttentionParams p, const T* q_data, const T* k_data, const T* v_data,
                         T* y_data) {
  extern __shared__ uint4 shared_words[];
  T* q_tile = reinterpret_cast<T*>(shared_words);
  T* k_tile = q_tile + kRows * (kD + kPad);
  T* v_tile = k_tile + kKeys * (kD + kPad);
  const int64_t b = blockIdx.y / p.q_heads, h = blockIdx.y % p.q_heads, kv_h = h / p.group;
  const int64_t row0 = int64_t(blockIdx.x) * kRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const T* keys = k_data + b * p.k.batch + kv_h * p.k.head;
  const T* values = v_data + b * p.v.batch + kv_h * p.v.head;

  load_rows<kD>(q_tile, q_data + b * p.q.batch + h * p.q.head + row0 * p.q.seq, p.q.seq, kRows,
                p.q_seq - row0);
  __syncthreads();
  uint32_t qa[kD / 16][4];
  const int my_row = warp * 16 + g;
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    qa[kk][0] = pair_at(q_tile, my_row * (kD + kPad) + kk * 16 + 2 * t);
    qa[kk][1] = pair_at(q_tile, (my_row + 8) * (kD + kPad) + kk * 16 + 2 * t);
    qa[kk][2] = pair_at(q_tile, my_row * (kD + kPad) + kk * 16 + 2 * t + 8);
    qa[kk][3] = pair_at(q_tile, (my_row + 8) * (kD + kPad) + kk * 16 + 2 * t + 8);
  }
  float o[kD / 8][4] = {};
  float running_max[2] = {-INFINITY, -INFINITY}, running_sum[2] = {0.f, 0.f};
  const int64_t rows[2] = {row0 + my_row, row0 + my_row + 8};
  const int64_t last_row = min(row0 + kRows, p.q_seq) - 1;
  const int64_t key_end = p.causal ? min(p.kv_seq, last_row + 1) : p.kv_seq;

  for (int64_t key0 = 0; key0 < key_end; key0 += kKeys) {
    __syncthreads();  // the previous tile is consumed
    load_rows<kD>(k_tile, keys + key0 * p.k.seq, p.k.seq, kKeys, p.kv_seq - key0);
    load_transposed<kD>(v_tile, values + key0 * p.v.seq, p.v.seq, p.kv_seq - key0);
    __syncthreads();
    float s[kKeys / 8][4] = {};
#pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        const int at = (n * 8 + g) * (kD + kPad) + kk * 16 + 2 * t;
        mma<T>(s[n], qa[kk], pair_at(k_tile, at), pair_at(k_tile, at + 8));
      }
    }
    online_softmax<kD>(p, b, h, rows, key0, t, s, running_max, running_sum, o);
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const uint32_t pa[4] = {
          pack<T>(s[2 * kk][0], s[2 * kk][1]), pack<T>(s[2 * kk][2], s[2 * kk][3]),
          pack<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int d = 0; d < kD / 8; ++d) {
        const int at = (d * 8 + g) * (kKeys + kPad) + kk * 16 + 2 * t;
        mma<T>(o[d], pa, pair_at(v_tile, at), pair_at(v_tile, at + 8));
      }
    }
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    running_sum[r] += __shfl_xor_sync(0xffffffffu, running_sum[r], 1);
    running_sum[r] += __shfl_xor_sync(0xffffffffu, running_sum[r], 2);
    if (rows[r] >= p.q_seq) continue;
    // Every key masked (sum 0): ONNX gives zeros.
    const float inverse = running_sum[r] > 0.f ? 1.f / running_sum[r] : 0.f;
    T* out = y_data + b * p.y.batch + h * p.y.head + rows[r] * p.y.seq;
#pragma unroll
    for (int d = 0; d < kD / 8; ++d) {
      *reinterpret_cast<uint32_t*>(out + d * 8 + 2 * t) =
          pack<T>(o[d][2 * r] * inverse, o[d][2 * r + 1] * inverse);
    }
  }
}

size_t shared_bytes(int64_t head_size) {
  return sizeof(uint16_t) * size_t(kRows * (head_size + kPad) + kKeys * (head_size + kPad) +
                                   head_size * (kKeys + kPad));
}

bool aligned(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

bool multiple_of_8(const AttentionStrides& s) {
  return s.batch % 8 == 0 && s.head % 8 == 0 && s.seq % 8 == 0;
}

template <typename T, int kD>
void launch_typed(const AttentionParams& p, const void* q, const void* k, const void* v, void* y,
                  cudaStream_t stream) {
  const size_t shared = shared_bytes(kD);
  auto kernel = mma_attention_kernel<T, kD>;
  KILN_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared)));
  dim3 grid(unsigned((p.q_seq + kRows - 1) / kRows), unsigned(p.batch * p.q_heads));
  kernel<<<grid, kThreads, shared, stream>>>(p, static_cast<const T*>(q), static_cast<const T*>(k),
                                             static_cast<const T*>(v), static_cast<T*>(y));
  check_last_launch();
}

}  // namespace

bool mma_attention_fits(const AttentionParams& p, DType storage, const void* q, const void* k,
                        const void* v, const void* y) {
  const bool sixteen_bit = storage == DType::BFloat16 || storage == DType::Float16;
  const bool head = p.head_size == p.v_head_size && (p.head_size == 64 || p.head_size == 128);
  return sixteen_bit && head && p.q_seq > 0 && p.kv_seq > 0 && p.batch * p.q_heads <= 65535 &&
         multiple_of_8(p.q) && multiple_of_8(p.k) && multiple_of_8(p.v) && multiple_of_8(p.y) &&
         aligned(q) && aligned(k) && aligned(v) && aligned(y);
}

void launch_mma_attention(const AttentionParams& p, DType storage, const void* q, const void* k,
                          const void* v, void* y, cudaStream_t stream) {
  launch_check(mma_attention_fits(p, storage, q, k, v, y), ErrorKind::Unsupported,
               "the tensor-core attention kernel takes 16-bit Q, K, V of head size 64 or 128 with "
               "16-byte-aligned rows; got head sizes ",
               p.head_size, "/", p.v_head_size, " in ", dtype_name(storage));
  const bool bf16 = storage == DType::BFloat16;
  if (p.head_size == 64) {
    return bf16 ? launch_typed<__nv_bfloat16, 64>(p, q, k, v, y, stream)
                : launch_typed<__half, 64>(p, q, k, v, y, stream);
  }
  return bf16 ? launch_typed<__nv_bfloat16, 128>(p, q, k, v, y, stream)
              : launch_typed<__half, 128>(p, q, k, v, y, stream);
}

}  // namespace kiln::cuda
