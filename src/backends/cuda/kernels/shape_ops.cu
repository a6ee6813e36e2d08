// The shape ops' kernels: a few int64 values written by one tiny kernel (Shape, Size), a fill
// (ConstantOfShape) and Range. Dims known at launch travel to the kernel by value, and tensor
// scalars (Range's start and delta) are read on the device, so nothing waits for the host.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"
#include "backends/cuda/kernels/shape_ops.h"

namespace kiln::cuda {
namespace {

constexpr int kValuesPerLaunch = 8;
struct SmallInts {
  int64_t values[kValuesPerLaunch] = {};
};

__global__ void write_ints_kernel(int64_t* out, SmallInts ints, int count) {
  if (int(threadIdx.x) < count) out[threadIdx.x] = ints.values[threadIdx.x];
}

template <typename Word>
__global__ void fill_kernel(Word* out, Word value, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = value;
  }
}

// Float storage computes in FP32, like the CPU reference on widened inputs.
template <typename T>
__global__ void range_kernel(const T* start, const T* delta, T* out, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_integral_v<T>) {
      out[i] = static_cast<T>(*start + static_cast<T>(i) * *delta);
    } else {
      // Rounded multiply then add, no fused multiply-add: the host computes it that way.
      out[i] = from_float<T>(__fadd_rn(to_float(*start), __fmul_rn(float(i), to_float(*delta))));
    }
  }
}

}  // namespace

void launch_write_ints(std::span<const int64_t> values, int64_t* out, cudaStream_t stream) {
  for (size_t first = 0; first < values.size(); first += kValuesPerLaunch) {
    SmallInts ints;
    int count = int(std::min<size_t>(kValuesPerLaunch, values.size() - first));
    std::copy_n(values.begin() + ptrdiff_t(first), count, ints.values);
    write_ints_kernel<<<1, kValuesPerLaunch, 0, stream>>>(out + first, ints, count);
    check_last_launch();
  }
}

void launch_fill(DType dtype, const void* value, void* out, int64_t count, cudaStream_t stream) {
  visit_element_word(dtype, [&](auto word) {
    using W = decltype(word);
    W bits;
    std::memcpy(&bits, value, sizeof(W));
    fill_kernel<W><<<grid_for(count), kThreads, 0, stream>>>(static_cast<W*>(out), bits, count);
  });
  check_last_launch();
}

void launch_range(DType dtype, const void* start, const void* delta, void* out, int64_t count,
                  cudaStream_t stream) {
  visit_numeric_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    range_kernel<T><<<grid_for(count), kThreads, 0, stream>>>(
        static_cast<const T*>(start), static_cast<const T*>(delta), static_cast<T*>(out), count);
  });
  check_last_launch();
}

}  // namespace kiln::cuda
