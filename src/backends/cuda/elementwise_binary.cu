// Elementwise binary kernels with numpy broadcasting (arithmetic, Max/Min, comparisons, And)
// and Where. Floats compute in FP32; int32/int64 natively. One kernel per (type, result type).
#include <cmath>
#include <type_traits>

#include "backends/cuda/cuda_common.cuh"

namespace kiln::cuda {
namespace {

enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, Equal, Less, Greater, And };

template <typename C> __device__ __forceinline__ C arithmetic(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return b == C(0) && !std::is_floating_point_v<C> ? C(0) : a / b;
    case BinaryOp::Pow: return C(powf(float(a), float(b)));
    case BinaryOp::Max: return (a != a || a > b) ? a : b;  // NaN propagates
    case BinaryOp::Min: return (a != a || a < b) ? a : b;
    default: return C(0);
  }
}

template <typename C> __device__ __forceinline__ bool compare(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Equal: return a == b;
    case BinaryOp::Less: return a < b;
    case BinaryOp::Greater: return a > b;
    case BinaryOp::And: return bool(a) && bool(b);
    default: return false;
  }
}

template <typename T, typename Out>
__device__ __forceinline__ Out apply_binary(BinaryOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {  // ints and bool: native math
    if constexpr (std::is_same_v<Out, bool>) return compare<T>(op, a, b);
    else return arithmetic<T>(op, a, b);
  } else {
    float x = to_float(a);
    float y = to_float(b);
    if constexpr (std::is_same_v<Out, bool>) return compare<float>(op, x, y);
    else return from_float<Out>(arithmetic<float>(op, x, y));
  }
}

// Same-shape operands: 16-byte packs.
template <typename T, typename Out>
__global__ void binary_contiguous_kernel(const T* a, const T* b, Out* out, int64_t n, BinaryOp op) {
  constexpr int N = kPackSize<T> < kPackSize<Out> ? kPackSize<T> : kPackSize<Out>;
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t packs = n / N;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T, N> x = reinterpret_cast<const Pack<T, N>*>(a)[p];
    Pack<T, N> y = reinterpret_cast<const Pack<T, N>*>(b)[p];
    Pack<Out, N> result;
#pragma unroll
    for (int k = 0; k < N; ++k) result.v[k] = apply_binary<T, Out>(op, x.v[k], y.v[k]);
    reinterpret_cast<Pack<Out, N>*>(out)[p] = result;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) out[i] = apply_binary<T, Out>(op, a[i], b[i]);
}

template <typename T, typename Out>
__global__ void binary_broadcast_kernel(const T* a, const T* b, Out* out, int64_t n, StridedView va,
                                        StridedView vb, BinaryOp op) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = apply_binary<T, Out>(op, a[va.at(i)], b[vb.at(i)]);
  }
}

template <typename T, typename Out>
void launch_binary(cudaStream_t stream, const DeviceTensor& a, const DeviceTensor& b,
                   DeviceTensor& out, BinaryOp op, const std::string& what) {
  int64_t n = out.numel();
  if (n == 0) return;
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  Out* po = static_cast<Out*>(out.data);
  if (a.dims == out.dims && b.dims == out.dims) {
    binary_contiguous_kernel<T, Out><<<grid_for(n, kPackSize<T>), kThreads, 0, stream>>>(pa, pb, po, n, op);
  } else {
    binary_broadcast_kernel<T, Out><<<grid_for(n), kThreads, 0, stream>>>(
        pa, pb, po, n, broadcast_view(a.dims, out.dims, what), broadcast_view(b.dims, out.dims, what), op);
  }
}

void run_binary(LaunchContext& context, const ir::Node& node, const DeviceTensor& a,
                const DeviceTensor& b, DeviceTensor& out, BinaryOp op) {
  std::string what = node.describe();
  check(a.dtype == b.dtype, ErrorKind::Unsupported, what, ": operands ", dtype_name(a.dtype), " and ",
        dtype_name(b.dtype), " differ (no mixed-type CUDA kernel)");
  bool logical = op == BinaryOp::Equal || op == BinaryOp::Less || op == BinaryOp::Greater ||
                 op == BinaryOp::And;
  if (op == BinaryOp::And) {
    check(a.dtype == DType::Bool, ErrorKind::Unsupported, what, ": And needs bool");
    launch_binary<bool, bool>(context.stream, a, b, out, op, what);
  } else if (logical) {
    visit_numeric_storage(a.dtype, what, [&](auto tag) {
      launch_binary<decltype(tag), bool>(context.stream, a, b, out, op, what);
    });
  } else {
    check(out.dtype == a.dtype, ErrorKind::Unsupported, what, ": output storage differs from inputs");
    check(op != BinaryOp::Pow || is_floating(a.dtype), ErrorKind::Unsupported, what,
          ": integer Pow has no CUDA kernel");
    visit_numeric_storage(a.dtype, what, [&](auto tag) {
      using T = decltype(tag);
      launch_binary<T, T>(context.stream, a, b, out, op, what);
    });
  }
  check_launch(node);
}

template <BinaryOp op>
void binary(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  if (inputs.size() == 1) {  // Max/Min of one input: a copy
    copy_tensor(context, outputs[0], inputs[0]);
    return;
  }
  run_binary(context, node, inputs[0], inputs[1], outputs[0], op);
  for (size_t k = 2; k < inputs.size(); ++k) {  // variadic Max/Min fold into the output
    run_binary(context, node, outputs[0], inputs[k], outputs[0], op);
  }
}

template <typename Word>
__global__ void where_kernel(const bool* cond, const Word* x, const Word* y, Word* out, int64_t n,
                             StridedView vc, StridedView vx, StridedView vy) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = cond[vc.at(i)] ? x[vx.at(i)] : y[vy.at(i)];
  }
}

void where(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  std::string what = node.describe();
  const DeviceTensor& cond = inputs[0];
  const DeviceTensor& x = inputs[1];
  const DeviceTensor& y = inputs[2];
  DeviceTensor& out = outputs[0];
  check(cond.dtype == DType::Bool && x.dtype == y.dtype && x.dtype == out.dtype,
        ErrorKind::Unsupported, what, ": Where needs a bool condition and one value storage type");
  int64_t n = out.numel();
  if (n == 0) return;
  StridedView vc = broadcast_view(cond.dims, out.dims, what);
  StridedView vx = broadcast_view(x.dims, out.dims, what);
  StridedView vy = broadcast_view(y.dims, out.dims, what);
  auto launch = [&](auto word) {  // the selection moves bytes: one kernel per element size
    using W = decltype(word);
    where_kernel<W><<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const bool*>(cond.data), static_cast<const W*>(x.data),
        static_cast<const W*>(y.data), static_cast<W*>(out.data), n, vc, vx, vy);
  };
  switch (dtype_size(x.dtype)) {
    case 1: launch(uint8_t{}); break;
    case 2: launch(uint16_t{}); break;
    case 4: launch(uint32_t{}); break;
    case 8: launch(uint64_t{}); break;
    default: fail(ErrorKind::Unsupported, what, ": element size ", dtype_size(x.dtype));
  }
  check_launch(node);
}

}  // namespace

void register_binary_cuda_kernels(CudaKernelMap& map) {
  map["Add"] = binary<BinaryOp::Add>;
  map["Sub"] = binary<BinaryOp::Sub>;
  map["Mul"] = binary<BinaryOp::Mul>;
  map["Div"] = binary<BinaryOp::Div>;
  map["Pow"] = binary<BinaryOp::Pow>;
  map["Max"] = binary<BinaryOp::Max>;
  map["Min"] = binary<BinaryOp::Min>;
  map["Equal"] = binary<BinaryOp::Equal>;
  map["Less"] = binary<BinaryOp::Less>;
  map["Greater"] = binary<BinaryOp::Greater>;
  map["And"] = binary<BinaryOp::And>;
  map["Where"] = where;
}

}  // namespace kiln::cuda
