// Shape ops on the GPU: Shape, Size, ConstantOfShape, Range. Their output dims are static on
// the GPU path, so the values are known here and launched by value (kernels/shape_ops.h).
// Reshape and its kin are copies, in data_movement.cpp.
#include "backends/cuda/kernels/shape_ops.h"

#include <algorithm>

#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"

namespace kiln::cuda {
namespace {

// Writes `values` into `out` (int64, as many elements).
void write_ints(LaunchContext& context, const ir::Node& node, const std::vector<int64_t>& values,
                DeviceTensor& out) {
  std::string what = node.describe();
  check(out.dtype == DType::Int64, ErrorKind::Unsupported, what, ": output must be int64, got ",
        dtype_name(out.dtype));
  check(out.numel() == int64_t(values.size()), ErrorKind::Runtime, what, ": output has ",
        out.numel(), " elements, ", values.size(), " values to write");
  launch_for(node,
             [&] { launch_write_ints(values, static_cast<int64_t*>(out.data), context.stream); });
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

// ConstantOfShape: the output's dims are planned; fill it with the `value` attribute.
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
  require_element_word(node, out.dtype);
  launch_for(node, [&] { launch_fill(out.dtype, value.raw(), out.data, n, context.stream); });
}

// Range: out[i] = start + i * delta for the planned length; start and delta stay on the device.
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
  require_numeric_storage(node, out.dtype);
  launch_for(node, [&] {
    launch_range(out.dtype, inputs[0].data, inputs[2].data, out.data, n, context.stream);
  });
}

}  // namespace

void register_shape_cuda_kernels(CudaKernelMap& map) {
  map["Shape"] = shape;
  map["Size"] = tensor_size;
  map["ConstantOfShape"] = constant_of_shape;
  map["Range"] = range;
}

}  // namespace kiln::cuda
