// Cheap index arithmetic for the elementwise and data-movement kernels: axes collapsed on the
// host, then 32-bit offsets with division by multiply-high where the sizes allow it.
#pragma once

#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/strided_loop.h"

namespace kiln::cuda {

// Unsigned division by a run-time constant as a multiply-high, an add and a shift
// (Granlund-Montgomery, as PyTorch's IntDivider). Exact for dividends below 2^31.
struct FastDivmod {
  uint32_t divisor = 1;
  uint32_t multiplier = 0;
  uint32_t shift = 0;

  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while (shift < 31 && (uint32_t(1) << shift) < d) ++shift;
    uint64_t one = 1;
    multiplier = uint32_t(((one << 32) * ((one << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ uint32_t div(uint32_t n) const {
    return (__umulhi(n, multiplier) + n) >> shift;
  }
  __device__ __forceinline__ uint32_t mod(uint32_t n) const { return n - div(n) * divisor; }
};

// The loop as one 64-bit view per operand (the path for huge tensors).
StridedView operand_view(const StridedLoop& loop, size_t operand);

// Offsets of K operands for a linear index, one division per axis shared by all operands.
// Strides are kept modulo 2^32: negative ones wrap, and the sums come out exact because every
// true offset lies in [0, 2^31).
template <int K>
struct Index32 {
  int rank = 0;
  FastDivmod dims[kMaxRank];
  uint32_t strides[K][kMaxRank] = {};
  uint32_t offsets[K] = {};

  __device__ __forceinline__ void at(uint32_t linear, uint32_t (&result)[K]) const {
#pragma unroll
    for (int k = 0; k < K; ++k) result[k] = offsets[k];
    for (int axis = rank - 1; axis > 0; --axis) {
      uint32_t quotient = dims[axis].div(linear);
      uint32_t within = linear - quotient * dims[axis].divisor;
#pragma unroll
      for (int k = 0; k < K; ++k) result[k] += within * strides[k][axis];
      linear = quotient;
    }
#pragma unroll
    for (int k = 0; k < K; ++k)
      result[k] += linear * strides[k][0];  // the outermost axis: no division
  }
};

template <int K>
Index32<K> make_index32(const StridedLoop& loop) {
  launch_check(loop.dims.size() <= size_t(kMaxRank), ErrorKind::Unsupported, "rank ",
               loop.dims.size(),
               " (after merging contiguous axes) exceeds the CUDA kernels' limit of ", kMaxRank);
  Index32<K> index;
  index.rank = int(loop.dims.size());
  for (size_t axis = 0; axis < loop.dims.size(); ++axis) {
    index.dims[axis] = FastDivmod(uint32_t(loop.dims[axis]));
    for (int k = 0; k < K; ++k) index.strides[k][axis] = uint32_t(loop.strides[size_t(k)][axis]);
  }
  for (int k = 0; k < K; ++k) index.offsets[k] = uint32_t(loop.offsets[size_t(k)]);
  return index;
}

// True when `pointer` is aligned to `bytes`.
inline bool aligned_to(const void* pointer, size_t bytes) {
  return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

}  // namespace kiln::cuda
