// Launchers of Pad and Resize (resize_pad.cu): every output element reads the input through
// one source index per axis (Pad's mode, Resize's coordinate transform); linear Resize blends
// the two neighbours on each axis that changes. They repeat the CPU reference's index
// arithmetic (backends/cpu/pad.cpp, resize.cpp) step for step; each launcher checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/strided_loop.h"
#include "core/dtype.h"
#include "core/pad_index.h"

namespace kiln::cuda {

// out[i0, i1, ..] = x[s0(i0), s1(i1), ..], where s_d is pad_source_index (core/pad_index.h)
// on axis d: an input index, or the constant. The output starts begins[d] elements before the
// input (after it where negative: a crop).
struct PadGeometry {
  int rank = 0;
  PadMode mode = PadMode::Constant;
  int64_t in_dims[kMaxRank] = {};
  int64_t out_dims[kMaxRank] = {};
  int64_t begins[kMaxRank] = {};
};

// Pads `in` into `out` for `dtype` (has_word_kernel: elements move as bytes); `fill` points to
// one element of `dtype` in host memory, the constant mode's value. An empty output launches
// nothing.
void launch_pad(DType dtype, const void* in, void* out, const PadGeometry& geometry,
                const void* fill, cudaStream_t stream);

enum class ResizeCoordinates {
  HalfPixel,
  HalfPixelSymmetric,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric
};
enum class NearestRounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

// One axis of a Resize, with the constants the reference derives per axis, computed on the
// host in double the way it computes them, so that the device's source coordinates (double,
// no fused multiply-adds) come out bit for bit the same.
struct ResizeAxis {
  int64_t in = 1;
  int64_t out = 1;
  bool resized = false;  // false: output index i reads input index i (the axis is unchanged)
  double scale = 1;      // the given scale, else out / in
  double length = 1;     // scale * in: ONNX's output width, which may be fractional
  double offset = 0;     // half_pixel_symmetric's in / 2 * (1 - out / length)
};

struct ResizeGeometry {
  int rank = 0;
  bool linear = false;  // else nearest
  ResizeCoordinates coordinates = ResizeCoordinates::HalfPixel;
  NearestRounding rounding = NearestRounding::RoundPreferFloor;
  ResizeAxis axes[kMaxRank];
};

// Resizes `in` into `out`. Nearest copies elements of any `dtype` of has_word_kernel; linear
// takes float32 and float64 (blended in double, as the reference does) and float16 and
// bfloat16 (blended in FP32). An empty output launches nothing.
void launch_resize(DType dtype, const void* in, void* out, const ResizeGeometry& geometry,
                   cudaStream_t stream);

}  // namespace kiln::cuda
