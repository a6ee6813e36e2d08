// Shape ops on the GPU: Shape, Size, ConstantOfShape, Range. Their output dims are static on
// the GPU path, so nothing waits for the host: dims known at launch travel to the kernel by
// value (never from host memory a later capture or copy could outlive), and tensor scalars
// (Range's start and delta) are read on the device. Reshape and its kin are copies, in
// data_movement.cu.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cuda/kernels/element_words.cuh"

namespace kiln::cuda {
namespace {

// ---- Shape and Size: a few int64 values known at launch, written by one tiny kernel.

constexpr int kValuesPerLaunch = 8;
struct SmallInts {
  int64_t values[kValuesPerLaunch] = {};
};

__global__ void write_ints_kernel(int64_t* out, SmallInts ints, int count) {
  if (int(threadIdx.x) < count) out[threadIdx.x] = ints.values[threadIdx.x];
}

// Writes `values` into `out` (int64, as many elements), launched by value, 8 at a time.
void write_ints(LaunchContext& context, const ir::Node& node, const std::vector<int64_t>& values,
                DeviceTensor& out) {
  std::string what = node.describe();
  check(out.dtype == DType::Int64, ErrorKind::Unsupported, what, ": output must be int64, got ",
        dtype_name(out.dtype));
  check(out.numel() == int64_t(values.size()), ErrorKind::Runtime, what, ": output has ",
        out.numel(), " elements, ", values.size(), " values to write");
  auto* target = static_cast<int64_t*>(out.data);
  for (size_t first = 0; first < values.size(); first += kValuesPerLaunch) {
    SmallInts ints;
    int count = int(std::min<size_t>(kValuesPerLaunch, values.size() - first));
    std::copy_n(values.begin() + ptrdiff_t(first), count, ints.values);
    write_ints_kernel<<<1, kValuesPerLaunch, 0, context.stream>>>(target + first, ints, count);
    check_launch(node);
  }
}

// Shape with ONNX's start/end: negative values count from the end, then clamp to [0, rank].
void shape(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  const Dims& dims = inputs[0].dims;
  int64_t rank = int64_t(dims.size());
  auto clamp_to_rank = [rank](int64_t value) {
    return std::clamp<int64_t>(value < 0 ? value + rank : value, 0, rank);
  };
  int64_t start = clamp_to_rank(node.attr_int("start", 0));
  int64_t end = clamp_to_rank(node.attr_int("end", rank));
  std::vector<int64_t> values;
  for (int64_t d = start; d < end; ++d) values.push_back(dims[size_t(d)]);
  write_ints(context, node, values, outputs[0]);
}

void tensor_size(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  write_ints(context, node, {inputs[0].numel()}, outputs[0]);
}

// ---- ConstantOfShape: the output's dims are planned; fill it with the `value` attribute.

template <typename Word>
__global__ void fill_kernel(Word* out, Word value, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    out[i] = value;
  }
}

void constant_of_shape(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor>,
                       std::span<DeviceTensor> outputs) {
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  const Tensor* given = node.attr_tensor("value");
  Tensor value = given != nullptr ? *given : Tensor::scalar<float>(0.0f);
  check(value.numel() == 1, ErrorKind::InvalidModel, what,
        ": the value attribute must hold one element, it has dims ", dims_to_string(value.dims()));
  if (value.dtype() != out.dtype) value = value.to(out.dtype);  // storage planned apart
  int64_t n = out.numel();
  if (n == 0) return;
  visit_element_word(out.dtype, what, [&](auto word) {
    using W = decltype(word);
    W bits;
    std::memcpy(&bits, value.raw(), sizeof(W));
    fill_kernel<W>
        <<<grid_for(n), kThreads, 0, context.stream>>>(static_cast<W*>(out.data), bits, n);
  });
  check_launch(node);
}

// ---- Range: out[i] = start + i * delta for the planned length; start and delta stay on the
// device. Float storage computes in FP32, like the CPU reference on widened inputs.

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

void range(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
           std::span<DeviceTensor> outputs) {
  DeviceTensor& out = outputs[0];
  std::string what = node.describe();
  const char* names[] = {"start", "limit", "delta"};
  for (size_t k = 0; k < 3; ++k) {
    check(inputs[k].dtype == out.dtype, ErrorKind::Unsupported, what, ": ", names[k], " is ",
          dtype_name(inputs[k].dtype), ", the output ", dtype_name(out.dtype));
    check(inputs[k].numel() == 1, ErrorKind::InvalidArgument, what, ": ", names[k],
          " must be a scalar, got dims ", dims_to_string(inputs[k].dims));
  }
  int64_t n = out.numel();
  if (n == 0) return;
  visit_numeric_storage(out.dtype, what, [&](auto tag) {
    using T = decltype(tag);
    range_kernel<T><<<grid_for(n), kThreads, 0, context.stream>>>(
        static_cast<const T*>(inputs[0].data), static_cast<const T*>(inputs[2].data),
        static_cast<T*>(out.data), n);
  });
  check_launch(node);
}

}  // namespace

void register_shape_cuda_kernels(CudaKernelMap& map) {
  map["Shape"] = shape;
  map["Size"] = tensor_size;
  map["ConstantOfShape"] = constant_of_shape;
  map["Range"] = range;
}

}  // namespace kiln::cuda
