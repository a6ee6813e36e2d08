// Elementwise unary nodes (the float activations and math, IsNaN, IsInf, Not): attributes and
// Clip's bound inputs read, storage checked, then the kernels of kernels/elementwise_unary.h.
#include "backends/cuda/kernels/elementwise_unary.h"

#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"

namespace kiln::cuda {
namespace {

void run_unary(LaunchContext& context, const ir::Node& node, const DeviceTensor& in,
               DeviceTensor& out, const UnaryParams& params) {
  check(in.dtype == out.dtype, ErrorKind::Unsupported, node.describe(), ": input ",
        dtype_name(in.dtype), " and output ", dtype_name(out.dtype), " storage differ");
  require_float_storage(node, in.dtype);
  launch_for(
      node, [&] { launch_unary(in.dtype, in.data, out.data, in.numel(), params, context.stream); });
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
  run_unary(context, node, inputs[0], outputs[0], params);
}

void is_nan(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  require_float_storage(node, inputs[0].dtype);
  launch_for(node, [&] {
    launch_is_nan(inputs[0].dtype, inputs[0].data, static_cast<bool*>(outputs[0].data),
                  inputs[0].numel(), context.stream);
  });
}

void is_inf(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  require_float_storage(node, inputs[0].dtype);
  bool negative = node.attr_int("detect_negative", 1) != 0;
  bool positive = node.attr_int("detect_positive", 1) != 0;
  launch_for(node, [&] {
    launch_is_inf(inputs[0].dtype, inputs[0].data, static_cast<bool*>(outputs[0].data),
                  inputs[0].numel(), negative, positive, context.stream);
  });
}

void logical_not(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  check(inputs[0].dtype == DType::Bool, ErrorKind::Unsupported, node.describe(),
        ": Not needs bool");
  launch_for(node, [&] {
    launch_not(static_cast<const bool*>(inputs[0].data), static_cast<bool*>(outputs[0].data),
               inputs[0].numel(), context.stream);
  });
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
  map["Sin"] = unary<UnaryOp::Sin>;
  map["Cos"] = unary<UnaryOp::Cos>;
  map["Clip"] = unary<UnaryOp::Clip>;
  map["Abs"] = unary<UnaryOp::Abs>;
  map["Sign"] = unary<UnaryOp::Sign>;
  map["Floor"] = unary<UnaryOp::Floor>;
  map["Ceil"] = unary<UnaryOp::Ceil>;
  map["Round"] = unary<UnaryOp::Round>;
  map["Tan"] = unary<UnaryOp::Tan>;
  map["Asin"] = unary<UnaryOp::Asin>;
  map["Acos"] = unary<UnaryOp::Acos>;
  map["Atan"] = unary<UnaryOp::Atan>;
  map["Sinh"] = unary<UnaryOp::Sinh>;
  map["Cosh"] = unary<UnaryOp::Cosh>;
  map["Asinh"] = unary<UnaryOp::Asinh>;
  map["Acosh"] = unary<UnaryOp::Acosh>;
  map["Atanh"] = unary<UnaryOp::Atanh>;
  map["IsNaN"] = is_nan;
  map["IsInf"] = is_inf;
  map["Not"] = logical_not;
}

}  // namespace kiln::cuda
