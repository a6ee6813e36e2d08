// Pad's modes and which input element an output element reads: one rule for the CPU reference
// (backends/cpu/pad.cpp) and the CUDA kernel (backends/cuda/kernels/resize_pad.cu), so that
// both read the same element. Host and device code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln {

enum class PadMode { Constant, Reflect, Edge, Wrap };

// The input index that output index `out` of one axis (input size `size`) reads, or -1 for
// the constant. The output starts `begin` elements before the input (after it when `begin` is
// negative). Edge and wrap need size > 0 wherever they read outside the input.
KILN_HOST_DEVICE inline int64_t pad_source_index(PadMode mode, int64_t out, int64_t begin,
                                                 int64_t size) {
  int64_t in = out - begin;
  if (in >= 0 && in < size) return in;
  switch (mode) {
    case PadMode::Constant:
      return -1;
    case PadMode::Edge:
      return in < 0 ? 0 : size - 1;
    case PadMode::Wrap:
      return ((in % size) + size) % size;
    case PadMode::Reflect: {
      if (size == 1) return 0;
      const int64_t period = 2 * (size - 1);
      in = ((in % period) + period) % period;
      return in < size ? in : period - in;
    }
  }
  return -1;
}

}  // namespace kiln
