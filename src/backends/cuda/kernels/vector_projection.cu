// The kernel behind vector_projection.h: warp w of the grid computes output value w (image
// w / out, channel w % out), its lanes striding over the input channels in 16-byte vectors
// where the channels and pointers allow, then a shuffle reduction and lane 0's store.
#include <cstdint>

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/index_math.cuh"
#include "backends/cuda/kernels/vector_projection.h"

namespace kiln::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T, int V>
__global__ void vector_projection_kernel(int64_t values, int in, int out, const T* __restrict__ x,
                                         const T* __restrict__ w, const T* __restrict__ bias,
                                         T* __restrict__ y, ProjectionActivation activation) {
  const int64_t value = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (value >= values) return;
  const int64_t image = value / out;
  const int channel = int(value % out);
  const T* row = x + image * in;
  const T* weights = w + int64_t(channel) * in;
  float sum = 0.f;
  for (int i = lane * V; i < in; i += 32 * V) {
    float a[V], b[V];
    load_floats<T, V>(row + i, a);
    load_floats<T, V>(weights + i, b);
#pragma unroll
    for (int v = 0; v < V; ++v) sum = fmaf(a[v], b[v], sum);
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (lane != 0) return;
  if (bias != nullptr) sum += to_float(bias[channel]);
  switch (activation) {
    case ProjectionActivation::Relu:
      sum = sum < 0.f ? 0.f : sum;
      break;
    case ProjectionActivation::Silu:
      sum = sum / (1.f + __expf(-sum));
      break;
    case ProjectionActivation::Sigmoid:
      sum = 1.f / (1.f + __expf(-sum));
      break;
    case ProjectionActivation::None:
      break;
  }
  y[value] = from_float<T>(sum);
}

}  // namespace

void launch_vector_projection(DType dtype, int64_t n, int64_t in, int64_t out, const void* x,
                              const void* w, const void* bias, void* y,
                              ProjectionActivation activation, cudaStream_t stream) {
  const int64_t values = n * out;
  if (values == 0) return;
  launch_check(in < (int64_t(1) << 31) && out < (int64_t(1) << 31) &&
                   values / kWarpsPerBlock < (int64_t(1) << 31),
               ErrorKind::Unsupported, "vector projection of ", n, " x ", in, " by ", out,
               " is out of range");
  const unsigned blocks = unsigned((values + kWarpsPerBlock - 1) / kWarpsPerBlock);
  visit_float_storage(dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVector = 16 / int(sizeof(T));
    auto run = [&](auto kernel) {
      kernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
          values, int(in), int(out), static_cast<const T*>(x), static_cast<const T*>(w),
          static_cast<const T*>(bias), static_cast<T*>(y), activation);
    };
    if (in % kVector == 0 && aligned_to(x, 16) && aligned_to(w, 16)) {
      run(vector_projection_kernel<T, kVector>);
    } else {
      run(vector_projection_kernel<T, 1>);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
