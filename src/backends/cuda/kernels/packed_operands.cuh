// How an operand of an elementwise kernel lines up with the output, for the 16-byte fast
// paths: the same elements (Full), one element (Scalar), or a block of trailing axes repeated
// along a run of axes before them (Inner: a bias [C] against [B, S, C] is read at i % C; an
// NHWC squeeze-excite scale [N, 1, 1, C] against [N, H, W, C] at (i / (H·W·C))·C + i % C).
#pragma once

#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {

enum class Operand : uint8_t { Full, Scalar, Inner };

struct OperandLayout {
  Operand kind = Operand::Full;
  FastDivmod inner;  // Inner: the repeated block's element count
  FastDivmod span;   // Inner: the output elements one block covers, repeats included
};

// The layout of `operand` (numpy-broadcast to `output_dims`) when the packed kernels can read
// it in packs of `pack` elements; false when it needs general indexing. Full and Inner need
// the pointer aligned to the pack; Inner also needs whole packs per repeat and 32-bit indices.
inline bool packed_layout(const Dims& dims, const void* data, size_t element_size,
                          const Dims& output_dims, int pack, OperandLayout& layout) {
  int64_t count = element_count(dims);
  int64_t total = element_count(output_dims);
  bool aligned = aligned_to(data, element_size * size_t(pack));
  if (count == 1) {
    layout = {Operand::Scalar, {}};
    return true;
  }
  if (count == total) {
    layout = {Operand::Full, {}};
    return aligned;
  }
  // Right-aligned to the output: matching trailing axes (the block), then broadcast axes (the
  // repeats), then matching leading axes.
  if (dims.size() > output_dims.size()) return false;
  const size_t pad = output_dims.size() - dims.size();
  auto dim = [&](size_t axis) { return axis < pad ? int64_t(1) : dims[axis - pad]; };
  size_t axis = output_dims.size();
  int64_t block = 1, repeats = 1;
  while (axis > 0 && dim(axis - 1) == output_dims[axis - 1]) block *= output_dims[--axis];
  while (axis > 0 && dim(axis - 1) == 1) repeats *= output_dims[--axis];
  for (; axis > 0; --axis) {
    if (dim(axis - 1) != output_dims[axis - 1]) return false;
  }
  if (total >= (int64_t(1) << 31)) return false;
  layout = {Operand::Inner, FastDivmod(uint32_t(block)), FastDivmod(uint32_t(block * repeats))};
  return aligned && block % pack == 0;
}

// The first element of the operand for output element `first` (Scalar: the value read once).
template <typename T, int N>
__device__ __forceinline__ Pack<T, N> load_pack(const T* data, const OperandLayout& layout,
                                                T scalar, int64_t first) {
  Pack<T, N> pack;
  if (layout.kind == Operand::Scalar) {
#pragma unroll
    for (int k = 0; k < N; ++k) pack.v[k] = scalar;
    return pack;
  }
  int64_t at = first;
  if (layout.kind == Operand::Inner) {
    const auto i = uint32_t(first);
    at = int64_t(layout.span.div(i)) * layout.inner.divisor + layout.inner.mod(i);
  }
  return *reinterpret_cast<const Pack<T, N>*>(data + at);
}

template <typename T>
__device__ __forceinline__ T load_one(const T* data, const OperandLayout& layout, T scalar,
                                      int64_t i) {
  return load_pack<T, 1>(data, layout, scalar, i).v[0];
}

// The scalar operand's value, read once per thread (T{} for other layouts).
template <typename T>
__device__ __forceinline__ T scalar_of(const T* data, const OperandLayout& layout) {
  return layout.kind == Operand::Scalar ? data[0] : T{};
}

}  // namespace kiln::cuda
