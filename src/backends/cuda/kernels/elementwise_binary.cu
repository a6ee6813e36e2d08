// Elementwise binary kernels with numpy broadcasting (arithmetic, Mod, Max/Min, comparisons, And)
// and Where. Floats compute in FP32; int32/int64 natively. One kernel per (type, result type).
#include <cmath>
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"
#include "backends/cuda/kernels/elementwise_binary.h"
#include "backends/cuda/kernels/packed_operands.cuh"

namespace kiln::cuda {
namespace {

// powf costs tens of instructions; GELU's x^3, squares and square roots need one or two.
// The branch is uniform when the exponent is a scalar. sqrtf differs from powf(x, 0.5) only at
// -0 (fabsf gives +0) and -inf (+inf).
__device__ __forceinline__ float power(float x, float y) {
  if (y == 2.f) return x * x;
  if (y == 3.f) return x * x * x;
  if (y == 0.5f) return x == -INFINITY ? INFINITY : fabsf(sqrtf(x));
  return powf(x, y);
}

// a mod b, truncated (C's fmod) or floored (Python's %). Integers: b = -1 gives 0 (the
// minimum would trap), b = 0 gives 0.
template <typename C>
__device__ __forceinline__ C remainder(C a, C b, bool floored) {
  C r;
  if constexpr (std::is_floating_point_v<C>) {
    r = fmodf(a, b);
  } else {
    if (b == C(0)) return C(0);
    if constexpr (std::is_signed_v<C>) {
      if (b == C(-1)) return C(0);
    }
    r = a % b;
  }
  if constexpr (std::is_signed_v<C>) {
    if (floored && r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
  }
  return r;
}

template <typename C>
__device__ __forceinline__ C arithmetic(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return b == C(0) && !std::is_floating_point_v<C> ? C(0) : a / b;
    case BinaryOp::Pow:
      return C(power(float(a), float(b)));
    case BinaryOp::Mod:
      return remainder(a, b, true);
    case BinaryOp::FMod:
      return remainder(a, b, false);
    case BinaryOp::Max:
      return (a != a || a > b) ? a : b;  // NaN propagates
    case BinaryOp::Min:
      return (a != a || a < b) ? a : b;
    default:
      return C(0);
  }
}

template <typename C>
__device__ __forceinline__ bool compare(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Equal:
      return a == b;
    case BinaryOp::Less:
      return a < b;
    case BinaryOp::Greater:
      return a > b;
    case BinaryOp::And:
      return bool(a) && bool(b);
    default:
      return false;
  }
}

template <typename T, typename Out>
__device__ __forceinline__ Out apply_binary(BinaryOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {  // ints and bool: native math
    if constexpr (std::is_same_v<Out, bool>)
      return compare<T>(op, a, b);
    else
      return arithmetic<T>(op, a, b);
  } else {
    float x = to_float(a);
    float y = to_float(b);
    if constexpr (std::is_same_v<Out, bool>)
      return compare<float>(op, x, y);
    else
      return from_float<Out>(arithmetic<float>(op, x, y));
  }
}

// Full / Scalar / Inner operands (packed_operands.cuh): 16-byte packs, scalar tail.
template <typename T, typename Out>
__global__ void binary_packed_kernel(const T* a, OperandLayout la, const T* b, OperandLayout lb,
                                     Out* out, int64_t n, BinaryOp op) {
  constexpr int N = kPackSize<T> < kPackSize<Out> ? kPackSize<T> : kPackSize<Out>;
  T scalar_a = scalar_of(a, la);
  T scalar_b = scalar_of(b, lb);
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t packs = n / N;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T, N> x = load_pack<T, N>(a, la, scalar_a, p * N);
    Pack<T, N> y = load_pack<T, N>(b, lb, scalar_b, p * N);
    Pack<Out, N> result;
#pragma unroll
    for (int k = 0; k < N; ++k) result.v[k] = apply_binary<T, Out>(op, x.v[k], y.v[k]);
    reinterpret_cast<Pack<Out, N>*>(out)[p] = result;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = apply_binary<T, Out>(op, load_one(a, la, scalar_a, i), load_one(b, lb, scalar_b, i));
  }
}

// Any broadcast, axes merged, offsets in 32 bits (one shared division per axis).
template <typename T, typename Out>
__global__ void binary_indexed_kernel(const T* a, const T* b, Out* out, uint32_t n,
                                      Index32<2> index, BinaryOp op) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[2];
    index.at(i, at);
    out[i] = apply_binary<T, Out>(op, a[at[0]], b[at[1]]);
  }
}

// Tensors of 2^31 elements or more: 64-bit offsets.
template <typename T, typename Out>
__global__ void binary_broadcast_kernel(const T* a, const T* b, Out* out, int64_t n, StridedView va,
                                        StridedView vb, BinaryOp op) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = apply_binary<T, Out>(op, a[va.at(i)], b[vb.at(i)]);
  }
}

// The walk of operands of `dims` (broadcast to `out_dims`) with contiguous axes merged.
StridedLoop broadcast_loop(std::initializer_list<const Dims*> dims, const Dims& out_dims) {
  StridedLoop loop{out_dims, {}, {}};
  for (const Dims* operand : dims) {
    loop.strides.push_back(broadcast_strides(*operand, out_dims));
    loop.offsets.push_back(0);
  }
  return collapse_axes(loop);
}

template <typename T, typename Out>
void launch_binary_typed(BinaryOp op, const void* a, const Dims& a_dims, const void* b,
                         const Dims& b_dims, void* out, const Dims& out_dims, cudaStream_t stream) {
  constexpr int N = kPackSize<T> < kPackSize<Out> ? kPackSize<T> : kPackSize<Out>;
  int64_t n = element_count(out_dims);
  if (n == 0) return;
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  Out* po = static_cast<Out*>(out);
  OperandLayout la, lb;
  if (packed_layout(a_dims, pa, sizeof(T), out_dims, N, la) &&
      packed_layout(b_dims, pb, sizeof(T), out_dims, N, lb) && aligned_to(po, sizeof(Out) * N)) {
    binary_packed_kernel<T, Out>
        <<<grid_for(n, N), kThreads, 0, stream>>>(pa, la, pb, lb, po, n, op);
    return;
  }
  StridedLoop loop = broadcast_loop({&a_dims, &b_dims}, out_dims);
  if (fits_index32(loop, {n})) {
    binary_indexed_kernel<T, Out>
        <<<grid_for(n), kThreads, 0, stream>>>(pa, pb, po, uint32_t(n), make_index32<2>(loop), op);
  } else {
    binary_broadcast_kernel<T, Out><<<grid_for(n), kThreads, 0, stream>>>(
        pa, pb, po, n, operand_view(loop, 0), operand_view(loop, 1), op);
  }
}

// Where with Full / Scalar / Inner operands: 16-byte packs of values, scalar tail.
template <typename Word>
__global__ void where_packed_kernel(const bool* cond, OperandLayout lc, const Word* x,
                                    OperandLayout lx, const Word* y, OperandLayout ly, Word* out,
                                    int64_t n) {
  constexpr int N = kPackSize<Word>;
  bool scalar_c = scalar_of(cond, lc);
  Word scalar_x = scalar_of(x, lx);
  Word scalar_y = scalar_of(y, ly);
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t packs = n / N;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<bool, N> c = load_pack<bool, N>(cond, lc, scalar_c, p * N);
    Pack<Word, N> u = load_pack<Word, N>(x, lx, scalar_x, p * N);
    Pack<Word, N> v = load_pack<Word, N>(y, ly, scalar_y, p * N);
#pragma unroll
    for (int k = 0; k < N; ++k) u.v[k] = c.v[k] ? u.v[k] : v.v[k];
    reinterpret_cast<Pack<Word, N>*>(out)[p] = u;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = load_one(cond, lc, scalar_c, i) ? load_one(x, lx, scalar_x, i)
                                             : load_one(y, ly, scalar_y, i);
  }
}

template <typename Word>
__global__ void where_indexed_kernel(const bool* cond, const Word* x, const Word* y, Word* out,
                                     uint32_t n, Index32<3> index) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[3];
    index.at(i, at);
    out[i] = cond[at[0]] ? x[at[1]] : y[at[2]];
  }
}

template <typename Word>
__global__ void where_kernel(const bool* cond, const Word* x, const Word* y, Word* out, int64_t n,
                             StridedView vc, StridedView vx, StridedView vy) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = cond[vc.at(i)] ? x[vx.at(i)] : y[vy.at(i)];
  }
}

// The selection moves bytes: one kernel per element size serves every dtype.
template <typename Word>
void launch_where_typed(const bool* pc, const Dims& cond_dims, const void* x, const Dims& x_dims,
                        const void* y, const Dims& y_dims, void* out, const Dims& out_dims,
                        cudaStream_t stream) {
  constexpr int N = kPackSize<Word>;
  int64_t n = element_count(out_dims);
  const Word* px = static_cast<const Word*>(x);
  const Word* py = static_cast<const Word*>(y);
  Word* po = static_cast<Word*>(out);
  OperandLayout lc, lx, ly;
  if (packed_layout(cond_dims, pc, sizeof(bool), out_dims, N, lc) &&
      packed_layout(x_dims, px, sizeof(Word), out_dims, N, lx) &&
      packed_layout(y_dims, py, sizeof(Word), out_dims, N, ly) &&
      aligned_to(po, sizeof(Word) * N)) {
    where_packed_kernel<Word>
        <<<grid_for(n, N), kThreads, 0, stream>>>(pc, lc, px, lx, py, ly, po, n);
    return;
  }
  StridedLoop loop = broadcast_loop({&cond_dims, &x_dims, &y_dims}, out_dims);
  if (fits_index32(loop, {n})) {
    where_indexed_kernel<Word>
        <<<grid_for(n), kThreads, 0, stream>>>(pc, px, py, po, uint32_t(n), make_index32<3>(loop));
  } else {
    where_kernel<Word><<<grid_for(n), kThreads, 0, stream>>>(
        pc, px, py, po, n, operand_view(loop, 0), operand_view(loop, 1), operand_view(loop, 2));
  }
}

}  // namespace

void launch_binary(BinaryOp op, DType dtype, const void* a, const Dims& a_dims, const void* b,
                   const Dims& b_dims, void* out, const Dims& out_dims, cudaStream_t stream) {
  if (op == BinaryOp::And) {
    launch_binary_typed<bool, bool>(op, a, a_dims, b, b_dims, out, out_dims, stream);
  } else if (is_logical(op)) {
    visit_numeric_storage(dtype, [&](auto tag) {
      launch_binary_typed<decltype(tag), bool>(op, a, a_dims, b, b_dims, out, out_dims, stream);
    });
  } else {
    visit_numeric_storage(dtype, [&](auto tag) {
      using T = decltype(tag);
      launch_binary_typed<T, T>(op, a, a_dims, b, b_dims, out, out_dims, stream);
    });
  }
  check_last_launch();
}

void launch_where(DType dtype, const bool* cond, const Dims& cond_dims, const void* x,
                  const Dims& x_dims, const void* y, const Dims& y_dims, void* out,
                  const Dims& out_dims, cudaStream_t stream) {
  visit_element_word(dtype, [&](auto word) {
    launch_where_typed<decltype(word)>(cond, cond_dims, x, x_dims, y, y_dims, out, out_dims,
                                       stream);
  });
  check_last_launch();
}

}  // namespace kiln::cuda
