// Pad and Resize on the GPU: one thread per output element finds its input element(s) axis by
// axis, with the CPU reference's arithmetic (backends/cpu/pad.cpp, resize.cpp): Resize's source
// coordinates in double with no fused multiply-adds (__dmul_rn, __dadd_rn), so that nearest
// picks the same elements, and linear blends in the reference's order.
#include <cstring>
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"
#include "backends/cuda/kernels/resize_pad.h"

namespace kiln::cuda {
namespace {

// Calls fn(Index{}): 32-bit offsets where every element count is below 2^31, else 64-bit.
template <typename Fn>
void visit_index_width(int64_t largest_count, Fn&& fn) {
  if (largest_count < (int64_t(1) << 31)) return fn(uint32_t{});
  return fn(int64_t{});
}

// ---- Pad

template <typename Index, typename Word>
__global__ void pad_kernel(const Word* in, Word* out, PadGeometry geometry, Word fill, Index n) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += Index(gridDim.x) * blockDim.x) {
    Index rest = i;
    Index offset = 0;
    Index stride = 1;
    bool filled = false;
    for (int axis = geometry.rank - 1; axis >= 0; --axis) {
      Index size = Index(geometry.out_dims[axis]);
      int64_t source = pad_source_index(geometry.mode, int64_t(rest % size), geometry.begins[axis],
                                        geometry.in_dims[axis]);
      rest /= size;
      filled |= source < 0;
      offset += Index(source) * stride;  // not read where filled
      stride *= Index(geometry.in_dims[axis]);
    }
    out[i] = filled ? fill : in[offset];
  }
}

// ---- Resize: source coordinates and indices

// Where output index `out` of `axis` reads from (the reference's source_coordinate; the
// per-axis constants come from the host, computed as the reference computes them).
__device__ __forceinline__ double source_coordinate(ResizeCoordinates mode, const ResizeAxis& axis,
                                                    int64_t out) {
  const double x = double(out);
  switch (mode) {
    case ResizeCoordinates::Asymmetric:
      return x / axis.scale;
    case ResizeCoordinates::AlignCorners:
      return axis.length == 1.0 ? 0.0 : __dmul_rn(x, double(axis.in - 1)) / (axis.length - 1.0);
    case ResizeCoordinates::PytorchHalfPixel:
      return axis.length > 1.0 ? (x + 0.5) / axis.scale - 0.5 : 0.0;
    case ResizeCoordinates::HalfPixelSymmetric:
      return axis.offset + (x + 0.5) / axis.scale - 0.5;
    case ResizeCoordinates::HalfPixel:
      break;
  }
  return (x + 0.5) / axis.scale - 0.5;
}

__device__ __forceinline__ int64_t clamp_index(int64_t index, int64_t in) {
  return index < 0 ? 0 : (index > in - 1 ? in - 1 : index);
}

// The input index nearest mode reads for source coordinate `x`.
__device__ __forceinline__ int64_t nearest_index(NearestRounding rounding, double x, int64_t in) {
  const double below = floor(x);
  const double ratio = x - below;
  int64_t index = int64_t(below);
  if (ratio != 0.0) {
    const bool up = rounding == NearestRounding::Ceil ||
                    (rounding == NearestRounding::RoundPreferFloor && ratio > 0.5) ||
                    (rounding == NearestRounding::RoundPreferCeil && ratio >= 0.5);
    if (up) ++index;
  }
  return clamp_index(index, in);
}

template <typename Index, typename Word>
__global__ void resize_nearest_kernel(const Word* in, Word* out, ResizeGeometry geometry, Index n) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += Index(gridDim.x) * blockDim.x) {
    Index rest = i;
    Index offset = 0;
    Index stride = 1;
    for (int d = geometry.rank - 1; d >= 0; --d) {
      const ResizeAxis& axis = geometry.axes[d];
      Index at = rest % Index(axis.out);
      rest /= Index(axis.out);
      if (axis.resized) {
        double x = source_coordinate(geometry.coordinates, axis, int64_t(at));
        at = Index(nearest_index(geometry.rounding, x, axis.in));
      }
      offset += at * stride;
      stride *= Index(axis.in);
    }
    out[i] = in[offset];
  }
}

// ---- Resize: linear

// What a blend computes in: double for float32 and float64 (as the reference, so that the
// results agree bit for bit), FP32 for float16 and bfloat16.
template <typename T>
using BlendMath =
    std::conditional_t<std::is_same_v<T, float> || std::is_same_v<T, double>, double, float>;

template <typename Math, typename T>
__device__ __forceinline__ Math widen(T x) {
  if constexpr (std::is_same_v<T, double>)
    return x;
  else
    return Math(to_float(x));
}

template <typename T, typename Math>
__device__ __forceinline__ T narrow(Math x) {
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>)
    return static_cast<T>(x);  // rounds to nearest even, as the reference's cast
  else
    return from_float<T>(x);
}

// (1 - w) * low + w * high, rounded after each step as written (no fused multiply-add).
__device__ __forceinline__ double blend(double low, double high, double w) {
  return __dadd_rn(__dmul_rn(__dsub_rn(1.0, w), low), __dmul_rn(w, high));
}
__device__ __forceinline__ float blend(float low, float high, float w) {
  return __fadd_rn(__fmul_rn(__fsub_rn(1.f, w), low), __fmul_rn(w, high));
}

// Each output element reads the 2^k corners around its source point (k: the resized axes).
// Corner c takes the high neighbour on the j-th resized axis where bit j of c is set; corners
// come in counting order and a pair is blended as soon as both halves are there, the lowest
// bit first: the reference's order (one axis after another, first axis first), in registers.
template <typename Index, typename T>
__global__ void resize_linear_kernel(const T* in, T* out, ResizeGeometry geometry, Index n) {
  using Math = BlendMath<T>;
  int resized = 0;
  for (int d = 0; d < geometry.rank; ++d) resized += geometry.axes[d].resized ? 1 : 0;
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += Index(gridDim.x) * blockDim.x) {
    Index rest = i;
    Index base = 0;  // the offset along the unchanged axes
    Index stride = 1;
    Index low_step[kMaxRank], high_step[kMaxRank];
    Math weight[kMaxRank];  // of the high neighbour
    int slot = resized;     // resized axes fill their slots from the last
    for (int d = geometry.rank - 1; d >= 0; --d) {
      const ResizeAxis& axis = geometry.axes[d];
      Index at = rest % Index(axis.out);
      rest /= Index(axis.out);
      if (axis.resized) {
        --slot;
        const double x = source_coordinate(geometry.coordinates, axis, int64_t(at));
        const double below = floor(x);
        low_step[slot] = Index(clamp_index(int64_t(below), axis.in)) * stride;
        high_step[slot] = Index(clamp_index(int64_t(below) + 1, axis.in)) * stride;
        weight[slot] = Math(x - below);
      } else {
        base += at * stride;
      }
      stride *= Index(axis.in);
    }
    Math partial[kMaxRank + 1];  // partial[j]: a blend over bits below j, waiting for its pair
    Math value = 0;
    for (uint32_t corner = 0; corner < (1u << resized); ++corner) {
      Index offset = base;
      for (int j = 0; j < resized; ++j) offset += (corner >> j) & 1u ? high_step[j] : low_step[j];
      value = widen<Math>(in[offset]);
      int level = 0;
      for (; (corner >> level) & 1u; ++level) value = blend(partial[level], value, weight[level]);
      partial[level] = value;
    }
    out[i] = narrow<T>(value);
  }
}

}  // namespace

void launch_pad(DType dtype, const void* in, void* out, const PadGeometry& geometry,
                const void* fill, cudaStream_t stream) {
  int64_t n = 1, in_count = 1;
  for (int d = 0; d < geometry.rank; ++d) {
    n *= geometry.out_dims[d];
    in_count *= geometry.in_dims[d];
  }
  if (n == 0) return;
  visit_element_word(dtype, [&](auto word) {
    using W = decltype(word);
    W fill_word;
    std::memcpy(&fill_word, fill, sizeof(W));
    visit_index_width(n > in_count ? n : in_count, [&](auto index) {
      using I = decltype(index);
      pad_kernel<I, W><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<const W*>(in), static_cast<W*>(out), geometry, fill_word, I(n));
    });
  });
  check_last_launch();
}

void launch_resize(DType dtype, const void* in, void* out, const ResizeGeometry& geometry,
                   cudaStream_t stream) {
  int64_t n = 1, in_count = 1;
  for (int d = 0; d < geometry.rank; ++d) {
    n *= geometry.axes[d].out;
    in_count *= geometry.axes[d].in;
  }
  if (n == 0) return;
  auto launch = [&](auto element, auto kernel_of) {
    using T = decltype(element);
    visit_index_width(n > in_count ? n : in_count, [&](auto index) {
      using I = decltype(index);
      kernel_of(I{})<<<grid_for(n), kThreads, 0, stream>>>(static_cast<const T*>(in),
                                                           static_cast<T*>(out), geometry, I(n));
    });
  };
  if (!geometry.linear) {
    visit_element_word(dtype, [&](auto word) {
      using W = decltype(word);
      launch(word, [](auto index) { return resize_nearest_kernel<decltype(index), W>; });
    });
  } else {
    auto linear = [&](auto element) {
      using T = decltype(element);
      launch(element, [](auto index) { return resize_linear_kernel<decltype(index), T>; });
    };
    if (dtype == DType::Float64) {
      linear(double{});
    } else {
      visit_float_storage(dtype, linear);
    }
  }
  check_last_launch();
}

}  // namespace kiln::cuda
