// The kernels behind conv_im2col.h: one thread per 16-byte vector of the patch matrix. It
// decodes its pixel and the (kh, kw, c) of its first element once, then steps through the
// vector's elements by incrementing c, carrying into kw and kh (gather_vector, shared by the
// 64-bit and 32-bit kernels), so the inner loop has no divisions. Neighbouring threads write
// neighbouring vectors (coalesced stores); their reads fall in a few input rows that L1 serves. The
// decode is the kernel's main cost at ResNet-50's stem (19 vectors a pixel, 7.6M vectors at batch
// 32): where every index fits in 31 bits it divides by multiply-high (FastDivmod) instead of 64-bit
// division, a software routine of dozens of instructions each.
#include <cstdint>

#include "backends/cuda/kernels/conv_im2col.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {
namespace {

// The patch vector that starts at element `first` = (kh, kw, c) of its pixel's window, whose
// top-left input element is (top, left): the caller decodes (kh, kw, c) once, this walks on by
// incrementing c and carrying into kw and kh. Int is the offsets' type (int where they fit).
template <typename Bits, typename Int>
__device__ __forceinline__ Pack<Bits, 16 / sizeof(Bits)> gather_vector(const Im2colShape& s,
                                                                       const Bits* plane, int first,
                                                                       int kh, int kw, int c,
                                                                       Int top, Int left) {
  constexpr int kVector = 16 / int(sizeof(Bits));
  const int channels = int(s.c), kernel_w = int(s.kernel_w);
  const int window = int(s.kernel_h) * kernel_w * channels;
  const Int h = Int(s.h), w = Int(s.w), dilation_h = Int(s.dilation_h);
  const Int dilation_w = Int(s.dilation_w);
  Pack<Bits, kVector> pack;
#pragma unroll
  for (int v = 0; v < kVector; ++v) {
    Bits value = 0;
    const Int ih = top + kh * dilation_h, iw = left + kw * dilation_w;
    if (first + v < window && ih >= 0 && ih < h && iw >= 0 && iw < w) {
      value = plane[(ih * w + iw) * Int(channels) + c];
    }
    pack.v[v] = value;
    if (++c == channels) {
      c = 0;
      if (++kw == kernel_w) {
        kw = 0;
        ++kh;
      }
    }
  }
  return pack;
}

// Bits of one element: the copy does not convert, so 2-byte types share one instantiation.
template <typename Bits>
__global__ void im2col_nhwc_kernel(Im2colShape s, int64_t first_pixel, int64_t vectors,
                                   int row_vectors, int row_length, const Bits* __restrict__ x,
                                   Bits* __restrict__ rows) {
  constexpr int kVector = 16 / int(sizeof(Bits));
  const int channels = int(s.c), kernel_w = int(s.kernel_w);
  for (int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; index < vectors;
       index += int64_t(gridDim.x) * blockDim.x) {
    const int64_t local_pixel = index / row_vectors;
    const int first = int(index - local_pixel * row_vectors) * kVector;
    const int64_t pixel = first_pixel + local_pixel;
    const int64_t ow = pixel % s.out_w, rest = pixel / s.out_w;
    const int64_t oh = rest % s.out_h, image = rest / s.out_h;
    const int64_t top = oh * s.stride_h - s.pad_h, left = ow * s.stride_w - s.pad_w;
    const Bits* plane = x + image * s.h * s.w * s.c;
    const int kh = first / (kernel_w * channels);
    const int kw = (first / channels) % kernel_w;
    const int c = first % channels;
    *reinterpret_cast<Pack<Bits, kVector>*>(rows + local_pixel * row_length + first) =
        gather_vector<Bits, int64_t>(s, plane, first, kh, kw, c, top, left);
  }
}

// The divisors of the 32-bit decode, made once on the host.
struct Im2colDividers {
  FastDivmod row_vectors, out_w, out_h, window_row, channels;
};

// The same copy where pixels, vectors and one image's elements are all below 2^31.
template <typename Bits>
__global__ void im2col_nhwc32_kernel(Im2colShape s, uint32_t first_pixel, uint32_t vectors,
                                     Im2colDividers d, int row_length, const Bits* __restrict__ x,
                                     Bits* __restrict__ rows) {
  constexpr int kVector = 16 / int(sizeof(Bits));
  const int channels = int(s.c);
  const int64_t plane_size = s.h * s.w * s.c;
  for (uint32_t index = blockIdx.x * blockDim.x + threadIdx.x; index < vectors;
       index += gridDim.x * blockDim.x) {
    const uint32_t local_pixel = d.row_vectors.div(index);
    const int first = int(index - local_pixel * d.row_vectors.divisor) * kVector;
    const uint32_t pixel = first_pixel + local_pixel;
    const uint32_t rest = d.out_w.div(pixel), image = d.out_h.div(rest);
    const int ow = int(pixel - rest * d.out_w.divisor), oh = int(rest - image * d.out_h.divisor);
    const int top = oh * int(s.stride_h) - int(s.pad_h), left = ow * int(s.stride_w) - int(s.pad_w);
    const Bits* plane = x + int64_t(image) * plane_size;
    const int kh = int(d.window_row.div(uint32_t(first)));
    const int within_row = first - kh * int(d.window_row.divisor);
    const int kw = int(d.channels.div(uint32_t(within_row)));
    const int c = within_row - kw * channels;
    *reinterpret_cast<Pack<Bits, kVector>*>(rows + int64_t(local_pixel) * row_length + first) =
        gather_vector<Bits, int>(s, plane, first, kh, kw, c, top, left);
  }
}

// Whether the 32-bit kernel's indices (and one image's offsets, in int) cannot overflow.
bool fits_index32(const Im2colShape& s, int64_t first_pixel, int64_t vectors) {
  constexpr int64_t kLimit = int64_t(1) << 31;
  return first_pixel + vectors < kLimit && s.pixels() < kLimit && s.h * s.w * s.c < kLimit &&
         s.kernel_h * s.kernel_w * s.c < kLimit;
}

}  // namespace

int64_t im2col_row_length(DType dtype, const Im2colShape& shape) {
  const int64_t vector = 16 / int64_t(dtype_size(dtype));
  return (shape.window() + vector - 1) / vector * vector;
}

void launch_im2col_nhwc(DType dtype, const Im2colShape& shape, int64_t first_pixel, int64_t pixels,
                        const void* x, void* rows, int64_t row_length, cudaStream_t stream) {
  if (pixels <= 0) return;
  launch_check(dtype == DType::Float32 || dtype == DType::Float16 || dtype == DType::BFloat16,
               ErrorKind::Unsupported, "im2col: unsupported dtype ", dtype_name(dtype));
  const int64_t vector = 16 / int64_t(dtype_size(dtype));
  launch_check(row_length >= shape.window() && row_length % vector == 0 &&
                   row_length < (int64_t(1) << 30) && first_pixel >= 0 &&
                   first_pixel + pixels <= shape.pixels(),
               ErrorKind::InvalidArgument, "im2col: rows of ", row_length, " for a window of ",
               shape.window(), ", pixels ", first_pixel, "+", pixels, " of ", shape.pixels());
  launch_check(aligned_to(x, 16) && aligned_to(rows, 16), ErrorKind::InvalidArgument,
               "im2col: input and rows must be 16-byte aligned");
  const int row_vectors = int(row_length / vector);
  const int64_t vectors = pixels * row_vectors;
  const bool index32 = fits_index32(shape, first_pixel, vectors);
  const Im2colDividers dividers{
      FastDivmod(uint32_t(row_vectors)), FastDivmod(uint32_t(shape.out_w)),
      FastDivmod(uint32_t(shape.out_h)), FastDivmod(uint32_t(shape.kernel_w * shape.c)),
      FastDivmod(uint32_t(shape.c))};
  auto run = [&](auto bits) {
    using Bits = decltype(bits);
    if (index32) {
      im2col_nhwc32_kernel<Bits><<<grid_for(vectors), kThreads, 0, stream>>>(
          shape, uint32_t(first_pixel), uint32_t(vectors), dividers, int(row_length),
          static_cast<const Bits*>(x), static_cast<Bits*>(rows));
      return;
    }
    im2col_nhwc_kernel<Bits><<<grid_for(vectors), kThreads, 0, stream>>>(
        shape, first_pixel, vectors, row_vectors, int(row_length), static_cast<const Bits*>(x),
        static_cast<Bits*>(rows));
  };
  if (dtype == DType::Float32) {
    run(uint32_t{});
  } else {
    run(uint16_t{});
  }
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
