// Cast between the float storage types, int8/uint8/int32/int64 and bool: one kernel per
// source type, the destination type chosen at run time (keeps nvcc's instantiations few).
#include "backends/cuda/kernels/cast.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuda {
namespace {

template <typename From>
struct IsFloatStorage {
  static constexpr bool value = std::is_same_v<From, float> || std::is_same_v<From, __half> ||
                                std::is_same_v<From, __nv_bfloat16>;
};

template <typename To, typename From>
__device__ __forceinline__ To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (IsFloatStorage<From>::value)
      return to_float(x) != 0.f;
    else
      return x != From(0);
  } else if constexpr (IsFloatStorage<To>::value) {
    if constexpr (IsFloatStorage<From>::value)
      return from_float<To>(to_float(x));
    else
      return from_float<To>(static_cast<float>(x));
  } else if constexpr (IsFloatStorage<From>::value) {
    return static_cast<To>(to_float(x));  // truncates toward zero
  } else {
    return static_cast<To>(x);
  }
}

template <typename From>
__global__ void cast_kernel(const From* in, void* out, DType to, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    From x = in[i];
    switch (to) {
      case DType::Float32:
        static_cast<float*>(out)[i] = convert<float>(x);
        break;
      case DType::Float16:
        static_cast<__half*>(out)[i] = convert<__half>(x);
        break;
      case DType::BFloat16:
        static_cast<__nv_bfloat16*>(out)[i] = convert<__nv_bfloat16>(x);
        break;
      case DType::Int8:
        static_cast<int8_t*>(out)[i] = convert<int8_t>(x);
        break;
      case DType::UInt8:
        static_cast<uint8_t*>(out)[i] = convert<uint8_t>(x);
        break;
      case DType::Int32:
        static_cast<int32_t*>(out)[i] = convert<int32_t>(x);
        break;
      case DType::Int64:
        static_cast<int64_t*>(out)[i] = convert<int64_t>(x);
        break;
      case DType::Bool:
        static_cast<bool*>(out)[i] = convert<bool>(x);
        break;
      default:
        break;
    }
  }
}

}  // namespace

void launch_cast(DType from, const void* src, DType to, void* dst, int64_t count,
                 cudaStream_t stream) {
  auto launch = [&](auto tag) {
    using From = decltype(tag);
    cast_kernel<From>
        <<<grid_for(count), kThreads, 0, stream>>>(static_cast<const From*>(src), dst, to, count);
  };
  switch (from) {
    case DType::Float32:
      launch(float{});
      break;
    case DType::Float16:
      launch(__half{});
      break;
    case DType::BFloat16:
      launch(__nv_bfloat16{});
      break;
    case DType::Int8:
      launch(int8_t{});
      break;
    case DType::UInt8:
      launch(uint8_t{});
      break;
    case DType::Int32:
      launch(int32_t{});
      break;
    case DType::Int64:
      launch(int64_t{});
      break;
    default:
      launch(bool{});
      break;
  }
}

}  // namespace kiln::cuda
