// Elementwise binary kernels with numpy broadcasting (arithmetic, Max/Min, comparisons, And)
// and Where. Floats compute in FP32; int32/int64 natively. One kernel per (type, result type).
#include <cmath>
#include <type_traits>

#include "backends/cuda/kernels/packed_operands.cuh"

namespace kiln::cuda {
namespace {

enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, Equal, Less, Greater, And };

// powf costs tens of instructions; GELU's x^3, squares and square roots need one or two.
// The branch is uniform when the exponent is a scalar. sqrtf differs from powf(x, 0.5) only at
// -0 (fabsf gives +0) and -inf (+inf).
__device__ __forceinline__ float power(float x, float y) {
  if (y == 2.f) return x * x;
  if (y == 3.f) return x * x * x;
  if (y == 0.5f) return x == -INFINITY ? INFINITY : fabsf(sqrtf(x));
  return powf(x, y);
}

template <typename C>
__device__ __forceinline__ C arithmetic(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return b == C(0) && !std::is_floating_point_v<C> ? C(0) : a / b;
    case BinaryOp::Pow:
      return C(power(float(a), float(b)));
    case BinaryOp::Max:
      return (a != a || a > b) ? a : b;  // NaN propagates
    case BinaryOp::Min:
      return (a != a || a < b) ? a : b;
    default:
      return C(0);
  }
}

template <typename C>
__device__ __forceinline__ bool compare(BinaryOp op, C a, C b) {
  switch (op) {
    case BinaryOp::Equal:
      return a == b;
    case BinaryOp::Less:
      return a < b;
    case BinaryOp::Greater:
      return a > b;
    case BinaryOp::And:
      return bool(a) && bool(b);
    default:
      return false;
  }
}

template <typename T, typename Out>
__device__ __forceinline__ Out apply_binary(BinaryOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {  // ints and bool: native math
    if constexpr (std::is_same_v<Out, bool>)
      return compare<T>(op, a, b);
    else
      return arithmetic<T>(op, a, b);
  } else {
    float x = to_float(a);
    float y = to_float(b);
    if constexpr (std::is_same_v<Out, bool>)
      return compare<float>(op, x, y);
    else
      return from_float<Out>(arithmetic<float>(op, x, y));
  }
}

// Full / Scalar / Inner operands (packed_operands.cuh): 16-byte packs, scalar tail.
template <typename T, typename Out>
__global__ void binary_packed_kernel(const T* a, OperandLayout la, const T* b, OperandLayout lb,
                                     Out* out, int64_t n, BinaryOp op) {
  constexpr int N = kPackSize<T> < kPackSize<Out> ? kPackSize<T> : kPackSize<Out>;
  T scalar_a = scalar_of(a, la);
  T scalar_b = scalar_of(b, lb);
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t packs = n / N;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T, N> x = load_pack<T, N>(a, la, scalar_a, p * N);
    Pack<T, N> y = load_pack<T, N>(b, lb, scalar_b, p * N);
    Pack<Out, N> result;
#pragma unroll
    for (int k = 0; k < N; ++k) result.v[k] = apply_binary<T, Out>(op, x.v[k], y.v[k]);
    reinterpret_cast<Pack<Out, N>*>(out)[p] = result;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = apply_binary<T, Out>(op, load_one(a, la, scalar_a, i), load_one(b, lb, scalar_b, i));
  }
}

// Any broadcast, axes merged, offsets in 32 bits (one shared division per axis).
template <typename T, typename Out>
__global__ void binary_indexed_kernel(const T* a, const T* b, Out* out, uint32_t n,
                                      Index32<2> index, BinaryOp op) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[2];
    index.at(i, at);
    out[i] = apply_binary<T, Out>(op, a[at[0]], b[at[1]]);
  }
}

// Tensors of 2^31 elements or more: 64-bit offsets.
template <typename T, typename Out>
__global__ void binary_broadcast_kernel(const T* a, const T* b, Out* out, int64_t n, StridedView va,
                                        StridedView vb, BinaryOp op) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = apply_binary<T, Out>(op, a[va.at(i)], b[vb.at(i)]);
  }
}

// The walk of `operands` (broadcast to `out`) with contiguous axes merged.
StridedLoop broadcast_loop(std::initializer_list<const DeviceTensor*> operands,
                           const DeviceTensor& out, const std::string& what) {
  StridedLoop loop{out.dims, {}, {}};
  for (const DeviceTensor* operand : operands) {
    loop.strides.push_back(broadcast_strides(operand->dims, out.dims, what));
    loop.offsets.push_back(0);
  }
  return collapse_axes(loop);
}

template <typename T, typename Out>
void launch_binary(cudaStream_t stream, const DeviceTensor& a, const DeviceTensor& b,
                   DeviceTensor& out, BinaryOp op, const std::string& what) {
  constexpr int N = kPackSize<T> < kPackSize<Out> ? kPackSize<T> : kPackSize<Out>;
  int64_t n = out.numel();
  if (n == 0) return;
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  Out* po = static_cast<Out*>(out.data);
  OperandLayout la, lb;
  if (packed_layout(a.dims, pa, sizeof(T), out.dims, N, la) &&
      packed_layout(b.dims, pb, sizeof(T), out.dims, N, lb) && aligned_to(po, sizeof(Out) * N)) {
    binary_packed_kernel<T, Out>
        <<<grid_for(n, N), kThreads, 0, stream>>>(pa, la, pb, lb, po, n, op);
    return;
  }
  StridedLoop loop = broadcast_loop({&a, &b}, out, what);
  if (fits_index32(loop, {n})) {
    binary_indexed_kernel<T, Out><<<grid_for(n), kThreads, 0, stream>>>(
        pa, pb, po, uint32_t(n), make_index32<2>(loop, what), op);
  } else {
    binary_broadcast_kernel<T, Out><<<grid_for(n), kThreads, 0, stream>>>(
        pa, pb, po, n, operand_view(loop, 0, what), operand_view(loop, 1, what), op);
  }
}

void run_binary(LaunchContext& context, const ir::Node& node, const DeviceTensor& a,
                const DeviceTensor& b, DeviceTensor& out, BinaryOp op) {
  std::string what = node.describe();
  check(a.dtype == b.dtype, ErrorKind::Unsupported, what, ": operands ", dtype_name(a.dtype),
        " and ", dtype_name(b.dtype), " differ (no mixed-type CUDA kernel)");
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
    check(out.dtype == a.dtype, ErrorKind::Unsupported, what,
          ": output storage differs from inputs");
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

// Where with Full / Scalar / Inner operands: 16-byte packs of values, scalar tail.
template <typename Word>
__global__ void where_packed_kernel(const bool* cond, OperandLayout lc, const Word* x,
                                    OperandLayout lx, const Word* y, OperandLayout ly, Word* out,
                                    int64_t n) {
  constexpr int N = kPackSize<Word>;
  bool scalar_c = scalar_of(cond, lc);
  Word scalar_x = scalar_of(x, lx);
  Word scalar_y = scalar_of(y, ly);
  int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t packs = n / N;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<bool, N> c = load_pack<bool, N>(cond, lc, scalar_c, p * N);
    Pack<Word, N> u = load_pack<Word, N>(x, lx, scalar_x, p * N);
    Pack<Word, N> v = load_pack<Word, N>(y, ly, scalar_y, p * N);
#pragma unroll
    for (int k = 0; k < N; ++k) u.v[k] = c.v[k] ? u.v[k] : v.v[k];
    reinterpret_cast<Pack<Word, N>*>(out)[p] = u;
  }
  for (int64_t i = packs * N + first; i < n; i += stride) {
    out[i] = load_one(cond, lc, scalar_c, i) ? load_one(x, lx, scalar_x, i)
                                             : load_one(y, ly, scalar_y, i);
  }
}

template <typename Word>
__global__ void where_indexed_kernel(const bool* cond, const Word* x, const Word* y, Word* out,
                                     uint32_t n, Index32<3> index) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t at[3];
    index.at(i, at);
    out[i] = cond[at[0]] ? x[at[1]] : y[at[2]];
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

// The selection moves bytes: one kernel per element size serves every dtype.
template <typename Word>
void launch_where(cudaStream_t stream, const DeviceTensor& cond, const DeviceTensor& x,
                  const DeviceTensor& y, DeviceTensor& out, const std::string& what) {
  constexpr int N = kPackSize<Word>;
  int64_t n = out.numel();
  const bool* pc = static_cast<const bool*>(cond.data);
  const Word* px = static_cast<const Word*>(x.data);
  const Word* py = static_cast<const Word*>(y.data);
  Word* po = static_cast<Word*>(out.data);
  OperandLayout lc, lx, ly;
  if (packed_layout(cond.dims, pc, sizeof(bool), out.dims, N, lc) &&
      packed_layout(x.dims, px, sizeof(Word), out.dims, N, lx) &&
      packed_layout(y.dims, py, sizeof(Word), out.dims, N, ly) &&
      aligned_to(po, sizeof(Word) * N)) {
    where_packed_kernel<Word>
        <<<grid_for(n, N), kThreads, 0, stream>>>(pc, lc, px, lx, py, ly, po, n);
    return;
  }
  StridedLoop loop = broadcast_loop({&cond, &x, &y}, out, what);
  if (fits_index32(loop, {n})) {
    where_indexed_kernel<Word><<<grid_for(n), kThreads, 0, stream>>>(pc, px, py, po, uint32_t(n),
                                                                     make_index32<3>(loop, what));
  } else {
    where_kernel<Word><<<grid_for(n), kThreads, 0, stream>>>(
        pc, px, py, po, n, operand_view(loop, 0, what), operand_view(loop, 1, what),
        operand_view(loop, 2, what));
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
  if (out.numel() == 0) return;
  switch (dtype_size(x.dtype)) {
    case 1:
      launch_where<uint8_t>(context.stream, cond, x, y, out, what);
      break;
    case 2:
      launch_where<uint16_t>(context.stream, cond, x, y, out, what);
      break;
    case 4:
      launch_where<uint32_t>(context.stream, cond, x, y, out, what);
      break;
    case 8:
      launch_where<uint64_t>(context.stream, cond, x, y, out, what);
      break;
    default:
      fail(ErrorKind::Unsupported, what, ": element size ", dtype_size(x.dtype));
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
