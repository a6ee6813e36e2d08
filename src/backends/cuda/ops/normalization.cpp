// Softmax, LayerNormalization (Y only) and BatchNormalization (inference form) nodes: axis and
// epsilon attributes, shape checks, then the kernels of kernels/normalization.h.
#include "backends/cuda/kernels/normalization.h"

#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "ir/shape.h"

namespace kiln::cuda {
namespace {

void softmax(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
             std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", -1), int64_t(in.dims.size()), what));
  int64_t inner = 1;
  for (size_t d = axis + 1; d < in.dims.size(); ++d) inner *= in.dims[d];
  int64_t length = in.dims.empty() ? 1 : in.dims[axis];
  int64_t rows = length == 0 ? 0 : in.numel() / length;
  require_float_storage(node, in.dtype);
  launch_for(node, [&] {
    launch_softmax(in.dtype, in.data, outputs[0].data, rows, length, inner, context.stream);
  });
}

void layer_norm(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  std::string what = node.describe();
  for (size_t i = 1; i < outputs.size(); ++i) {
    check(!outputs[i].defined(), ErrorKind::Unsupported, what,
          ": Mean/InvStdDev outputs have no CUDA kernel");
  }
  const DeviceTensor& in = inputs[0];
  size_t axis =
      size_t(ir::normalize_axis(node.attr_int("axis", -1), int64_t(in.dims.size()), what));
  int64_t length = 1;
  for (size_t d = axis; d < in.dims.size(); ++d) length *= in.dims[d];
  check(inputs[1].numel() == length &&
            (inputs.size() < 3 || !inputs[2].defined() || inputs[2].numel() == length),
        ErrorKind::Unsupported, what, ": Scale/B must cover the normalized dims exactly");
  const void* bias = inputs.size() > 2 && inputs[2].defined() ? inputs[2].data : nullptr;
  int64_t rows = length == 0 ? 0 : in.numel() / length;
  require_float_storage(node, in.dtype);
  auto epsilon = float(node.attr_float("epsilon", 1e-5));
  launch_for(node, [&] {
    launch_layer_norm(in.dtype, in.data, inputs[1].data, bias, outputs[0].data, rows, length,
                      epsilon, context.stream);
  });
}

void batch_norm(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                std::span<DeviceTensor> outputs) {
  const DeviceTensor& in = inputs[0];
  std::string what = node.describe();
  check(in.dims.size() >= 2, ErrorKind::Unsupported, what, ": needs (N, C, ...)");
  for (size_t i = 1; i < 5; ++i) {
    check(inputs[i].dtype == in.dtype, ErrorKind::Unsupported, what,
          ": parameters of another storage");
  }
  int64_t inner = 1;
  for (size_t d = 2; d < in.dims.size(); ++d) inner *= in.dims[d];
  require_float_storage(node, in.dtype);
  BatchNormParams params{inputs[1].data, inputs[2].data, inputs[3].data, inputs[4].data};
  auto epsilon = float(node.attr_float("epsilon", 1e-5));
  launch_for(node, [&] {
    launch_batch_norm(in.dtype, in.data, params, outputs[0].data, in.numel(), in.dims[1], inner,
                      epsilon, context.stream);
  });
}

}  // namespace

void register_normalization_cuda_kernels(CudaKernelMap& map) {
  map["Softmax"] = softmax;
  map["LayerNormalization"] = layer_norm;
  map["BatchNormalization"] = batch_norm;
}

}  // namespace kiln::cuda
