// Elementwise unary kernels: the float activations (one kernel per storage type, the op chosen
// at run time so nvcc instantiates little), IsNaN and Not. FP32 math, 16-byte accesses.
#include <cmath>

#include "backends/cuda/kernels/index_math.cuh"

namespace kiln::cuda {
namespace {

enum class UnaryOp {
  Relu,
  Gelu,
  GeluTanh,
  Erf,
  Tanh,
  Sigmoid,
  HardSigmoid,
  HardSwish,
  Neg,
  Exp,
  Log,
  Sqrt,
  Reciprocal,
  Clip
};

struct UnaryParams {
  UnaryOp op;
  float alpha = 0;  // HardSigmoid
  float beta = 0;
  const void* low = nullptr;  // Clip bounds: device scalars of the input's storage type
  const void* high = nullptr;
};

__device__ __forceinline__ float apply_unary(UnaryOp op, float x, float alpha, float beta,
                                             float low, float high) {
  switch (op) {
    case UnaryOp::Relu:
      return x > 0.f ? x : (x == x ? 0.f : x);  // NaN stays NaN
    case UnaryOp::Gelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case UnaryOp::GeluTanh: {
      float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.f + tanhf(inner));
    }
    case UnaryOp::Erf:
      return erff(x);
    case UnaryOp::Tanh:
      return tanhf(x);
    case UnaryOp::Sigmoid:
      return 1.f / (1.f + expf(-x));
    case UnaryOp::HardSigmoid:
      return fmaxf(0.f, fminf(1.f, alpha * x + beta));
    case UnaryOp::HardSwish:
      return x * fmaxf(0.f, fminf(1.f, x / 6.f + 0.5f));
    case UnaryOp::Neg:
      return -x;
    case UnaryOp::Exp:
      return expf(x);
    case UnaryOp::Log:
      return logf(x);
    case UnaryOp::Sqrt:
      return sqrtf(x);
    case UnaryOp::Reciprocal:
      return 1.f / x;
    case UnaryOp::Clip:
      return x != x ? x : fminf(fmaxf(x, low), high);
  }
  return x;
}

// N elements per access: 16-byte packs, or 1 where a pointer is not aligned to a pack.
template <typename T, int N>
__global__ void unary_kernel(const T* in, T* out, int64_t n, UnaryParams params) {
  float low = params.low ? to_float(*static_cast<const T*>(params.low)) : -INFINITY;
  float high = params.high ? to_float(*static_cast<const T*>(params.high)) : INFINITY;
  int64_t packs = n / N;
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const Pack<T, N>* in_packs = reinterpret_cast<const Pack<T, N>*>(in);
  Pack<T, N>* out_packs = reinterpret_cast<Pack<T, N>*>(out);
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T, N> pack = in_packs[p];
#pragma unroll
    for (int k = 0; k < N; ++k) {
      pack.v[k] = from_float<T>(
          apply_unary(params.op, to_float(pack.v[k]), params.alpha, params.beta, low, high));
    }
    out_packs[p] = pack;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = from_float<T>(
        apply_unary(params.op, to_float(in[i]), params.alpha, params.beta, low, high));
  }
}

void launch_unary(LaunchContext& context, const ir::Node& node, const DeviceTensor& in,
                  DeviceTensor& out, UnaryParams params) {
  check(in.dtype == out.dtype, ErrorKind::Unsupported, node.describe(), ": input ",
        dtype_name(in.dtype), " and output ", dtype_name(out.dtype), " storage differ");
  visit_float_storage(in.dtype, node.describe(), [&](auto tag) {
    using T = decltype(tag);
    int64_t n = in.numel();
    if (n == 0) return;
    constexpr int N = kPackSize<T>;
    const T* from = static_cast<const T*>(in.data);
    T* to = static_cast<T*>(out.data);
    if (aligned_to(from, sizeof(T) * N) && aligned_to(to, sizeof(T) * N)) {
      unary_kernel<T, N><<<grid_for(n, N), kThreads, 0, context.stream>>>(from, to, n, params);
    } else {
      unary_kernel<T, 1><<<grid_for(n), kThreads, 0, context.stream>>>(from, to, n, params);
    }
  });
  check_launch(node);
}

template <UnaryOp op>
void unary(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  UnaryParams params{op};
  if (op == UnaryOp::HardSigmoid) {
    params.alpha = float(node.attr_float("alpha", 0.2));
    params.beta = float(node.attr_float("beta", 0.5));
  }
  if (op == UnaryOp::Gelu && node.attr_string("approximate", "none") == "tanh") {
    params.op = UnaryOp::GeluTanh;
  }
  if (op == UnaryOp::Clip) {
    if (inputs.size() > 1 && inputs[1].defined()) params.low = inputs[1].data;
    if (inputs.size() > 2 && inputs[2].defined()) params.high = inputs[2].data;
  }
  launch_unary(context, node, inputs[0], outputs[0], params);
}

template <typename T>
__global__ void is_nan_kernel(const T* in, bool* out, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float x = to_float(in[i]);
    out[i] = x != x;
  }
}

void is_nan(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  int64_t n = inputs[0].numel();
  visit_float_storage(inputs[0].dtype, node.describe(), [&](auto tag) {
    using T = decltype(tag);
    if (n == 0) return;
    is_nan_kernel<T><<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const T*>(inputs[0].data), static_cast<bool*>(outputs[0].data), n);
  });
  check_launch(node);
}

__global__ void not_kernel(const bool* in, bool* out, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = !in[i];
  }
}

void logical_not(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  check(inputs[0].dtype == DType::Bool, ErrorKind::Unsupported, node.describe(),
        ": Not needs bool");
  int64_t n = inputs[0].numel();
  if (n > 0) {
    not_kernel<<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const bool*>(inputs[0].data), static_cast<bool*>(outputs[0].data), n);
  }
  check_launch(node);
}

}  // namespace

void register_unary_cuda_kernels(CudaKernelMap& map) {
  map["Relu"] = unary<UnaryOp::Relu>;
  map["Gelu"] = unary<UnaryOp::Gelu>;
  map["Erf"] = unary<UnaryOp::Erf>;
  map["Tanh"] = unary<UnaryOp::Tanh>;
  map["Sigmoid"] = unary<UnaryOp::Sigmoid>;
  map["HardSigmoid"] = unary<UnaryOp::HardSigmoid>;
  map["HardSwish"] = unary<UnaryOp::HardSwish>;
  map["Neg"] = unary<UnaryOp::Neg>;
  map["Exp"] = unary<UnaryOp::Exp>;
  map["Log"] = unary<UnaryOp::Log>;
  map["Sqrt"] = unary<UnaryOp::Sqrt>;
  map["Reciprocal"] = unary<UnaryOp::Reciprocal>;
  map["Clip"] = unary<UnaryOp::Clip>;
  map["IsNaN"] = is_nan;
  map["Not"] = logical_not;
}

}  // namespace kiln::cuda
