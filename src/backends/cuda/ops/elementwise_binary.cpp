// Elementwise binary nodes (arithmetic, Mod, Max/Min including their variadic forms,
// comparisons, And) and Where: storage checks, then the broadcasting kernels of
// kernels/elementwise_binary.h.
#include "backends/cuda/kernels/elementwise_binary.h"

#include "backends/cuda/kernels/kernel_types.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"

namespace kiln::cuda {
namespace {

void run_binary(LaunchContext& context, const ir::Node& node, const DeviceTensor& a,
                const DeviceTensor& b, DeviceTensor& out, BinaryOp op) {
  std::string what = node.describe();
  check(a.dtype == b.dtype, ErrorKind::Unsupported, what, ": operands ", dtype_name(a.dtype),
        " and ", dtype_name(b.dtype), " differ (no mixed-type CUDA kernel)");
  if (op == BinaryOp::And) {
    check(a.dtype == DType::Bool, ErrorKind::Unsupported, what, ": And needs bool");
  } else if (is_logical(op)) {
    require_numeric_storage(node, a.dtype);
  } else {
    check(out.dtype == a.dtype, ErrorKind::Unsupported, what,
          ": output storage differs from inputs");
    check(op != BinaryOp::Pow || is_floating(a.dtype), ErrorKind::Unsupported, what,
          ": integer Pow has no CUDA kernel");
    require_numeric_storage(node, a.dtype);
  }
  launch_for(node, [&] {
    launch_binary(op, a.dtype, a.data, a.dims, b.data, b.dims, out.data, out.dims, context.stream);
  });
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

// Mod's fmod attribute picks the remainder's sign: the divisor's (0) or the dividend's (1).
void modulo(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
            std::span<DeviceTensor> outputs) {
  BinaryOp op = node.attr_int("fmod", 0) != 0 ? BinaryOp::FMod : BinaryOp::Mod;
  run_binary(context, node, inputs[0], inputs[1], outputs[0], op);
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
  check(has_word_kernel(x.dtype), ErrorKind::Unsupported, what, ": element size ",
        dtype_size(x.dtype));
  launch_for(node, [&] {
    launch_where(x.dtype, static_cast<const bool*>(cond.data), cond.dims, x.data, x.dims, y.data,
                 y.dims, out.data, out.dims, context.stream);
  });
}

}  // namespace

void register_binary_cuda_kernels(CudaKernelMap& map) {
  map["Add"] = binary<BinaryOp::Add>;
  map["Sub"] = binary<BinaryOp::Sub>;
  map["Mul"] = binary<BinaryOp::Mul>;
  map["Div"] = binary<BinaryOp::Div>;
  map["Pow"] = binary<BinaryOp::Pow>;
  map["Mod"] = modulo;
  map["Max"] = binary<BinaryOp::Max>;
  map["Min"] = binary<BinaryOp::Min>;
  map["Equal"] = binary<BinaryOp::Equal>;
  map["Less"] = binary<BinaryOp::Less>;
  map["Greater"] = binary<BinaryOp::Greater>;
  map["And"] = binary<BinaryOp::And>;
  map["Where"] = where;
}

}  // namespace kiln::cuda
