// Conv (1-D and 2-D NCHW, 2-D NHWC with channels_last=1; groups, any pads/strides/dilations)
// and ConvTranspose (1-D and 2-D NCHW) through cuDNN, and the pools through Kiln's own kernels
// (kernels/pool.h), registered together. Here: attributes, window geometry, precision and the
// route.
//
// A 1x1 convolution of 1x1 images runs through Kiln's vector projection kernel
// (kernels/vector_projection.h) and a channels_last depthwise Conv through Kiln's depthwise
// kernels (kernels/depthwise_conv.h), unless the builder timed cuDNN faster for the layer; one
// with few input channels or a patch-embedding window as im2col + GEMM (conv_as_gemm.h) where
// the builder timed that faster.
// Another channels_last Conv runs through cuDNN's graph API (kernels/cudnn_conv.h) with its bias,
// its residual input (input 3, from passes::fuse_conv_residual) and a fused ReLU or SiLU in one
// graph. Everything else, and a problem the graph API refuses, takes the legacy API
// (kernels/conv_plan.h): uneven pads applied by copying the input into zero-padded planes, a
// fused ReLU as one conv-bias-ReLU call where cuDNN supports it; a residual, and an activation
// after it or a SiLU, applied afterwards.
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "backends/cpu/window_geometry.h"
#include "backends/cuda/kernels/conv_plan.h"
#include "backends/cuda/kernels/cudnn_conv.h"
#include "backends/cuda/kernels/depthwise_conv.h"
#include "backends/cuda/kernels/elementwise_binary.h"
#include "backends/cuda/kernels/matrix_fill.h"
#include "backends/cuda/kernels/pool.h"
#include "backends/cuda/kernels/relu_in_place.h"
#include "backends/cuda/kernels/vector_projection.h"
#include "backends/cuda/ops/conv_as_gemm.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/ops/cuda_ops.h"
#include "backends/cuda/ops/node_launch.h"
#include "core/error.h"
#include "core/log.h"
#include "core/precision.h"
#include "ir/conv_transpose_geometry.h"

namespace kiln::cuda {
namespace {

constexpr size_t kWorkspaceAlignment = 256;

// FP32 must stay exact fp32 (FMA only); TF32 and the 16-bit types may use tensor cores,
// always accumulating in fp32 (the convolution's compute type is float in every case).
cudnnMathType_t math_type(const ir::Node& node, DType dtype) {
  Precision precision = node.precision.value_or(Precision::FP32);
  if (dtype == DType::Float32) {
    check(precision == Precision::FP32 || precision == Precision::TF32, ErrorKind::Unsupported,
          node.describe(), ": a float32 Conv cannot run in ", precision_name(precision),
          " on the GPU; insert a Cast of its inputs to the precision's type");
    return precision == Precision::TF32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
  }
  return CUDNN_TENSOR_OP_MATH;
}

enum class Activation { None, Relu, Silu, Sigmoid };

// The node's fused activation; any other fused_activation is Unsupported. (Sigmoid only ever
// ends a vector projection, which the schema checks.)
Activation fused_activation(const ir::Node& node) {
  std::string activation = node.attr_string("fused_activation", "");
  check(
      activation.empty() || activation == "Relu" || activation == "Silu" || activation == "Sigmoid",
      ErrorKind::Unsupported, node.describe(), ": fused_activation '", activation,
      "' is not supported by the CUDA Conv (valid: Relu, Silu, Sigmoid)");
  return activation == "Relu"      ? Activation::Relu
         : activation == "Silu"    ? Activation::Silu
         : activation == "Sigmoid" ? Activation::Sigmoid
                                   : Activation::None;
}

// X, W and the optional bias (input 2) and residual (input 3) of a Conv or ConvTranspose, once
// the inputs and the cuDNN handle are checked.
struct ConvOperands {
  const DeviceTensor& x;
  const DeviceTensor& w;
  const DeviceTensor* bias;
  const DeviceTensor* residual;
};

ConvOperands conv_operands(const LaunchContext& context, const ir::Node& node,
                           std::span<const DeviceTensor> inputs) {
  check(inputs.size() >= 2 && inputs[0].defined() && inputs[1].defined(), ErrorKind::InvalidModel,
        node.describe(), ": needs inputs X and W");
  check(context.cudnn != nullptr, ErrorKind::InvalidArgument, node.describe(),
        ": the launch context has no cuDNN handle");
  return {inputs[0], inputs[1], inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr,
          inputs.size() > 3 && inputs[3].defined() ? &inputs[3] : nullptr};
}

// X, W, the optional bias and residual against Y: ranks, dtypes and sizes.
void check_conv_operands(const ir::Node& node, const DeviceTensor& x, const DeviceTensor& w,
                         const DeviceTensor* bias, const DeviceTensor* residual,
                         const DeviceTensor& y) {
  check(x.dims.size() == 3 || x.dims.size() == 4, ErrorKind::Unsupported, node.describe(),
        ": the CUDA backend runs 1-D and 2-D convolutions, got input ", dims_to_string(x.dims));
  check(w.dims.size() == x.dims.size() && w.dtype == x.dtype && y.dtype == x.dtype,
        ErrorKind::InvalidModel, node.describe(), ": X ", dims_to_string(x.dims), " ",
        dtype_name(x.dtype), ", W ", dims_to_string(w.dims), " ", dtype_name(w.dtype), " and Y ",
        dtype_name(y.dtype), " must agree in rank and dtype");
  if (bias != nullptr) {
    check(bias->numel() == w.dims[0] && bias->dtype == y.dtype, ErrorKind::InvalidModel,
          node.describe(), ": bias must be ", dtype_name(y.dtype), " with ", w.dims[0],
          " elements, got ", dtype_name(bias->dtype), " ", dims_to_string(bias->dims));
  }
  if (residual != nullptr) {
    check(residual->dims == y.dims && residual->dtype == y.dtype, ErrorKind::InvalidModel,
          node.describe(), ": the residual input must be ", dtype_name(y.dtype), " ",
          dims_to_string(y.dims), " like the output, got ", dtype_name(residual->dtype), " ",
          dims_to_string(residual->dims));
  }
}

// The channels_last route: `problem` (geometry, pads, ReLU) with the bias and residual as one
// cuDNN graph. False, having launched nothing, where the graph API refuses the problem.
bool ran_as_cudnn_graph(LaunchContext& context, const ir::Node& node, ConvProblem problem,
                        const std::array<int64_t, 4>& y_dims, const DeviceTensor& x,
                        const DeviceTensor& w, const DeviceTensor* bias,
                        const DeviceTensor* residual, DeviceTensor& y) {
  problem.graph_api = true;
  problem.bias = bias != nullptr;
  problem.residual = residual != nullptr;
  problem.workspace_size = context.workspace_size;
  std::string refusal;
  launch_for(node, [&] {
    refusal = run_conv_graph(conv_resources(context), problem, y_dims, x.data, w.data,
                             bias != nullptr ? bias->data : nullptr,
                             residual != nullptr ? residual->data : nullptr, y.data,
                             context.workspace, context.workspace_size);
  });
  if (!refusal.empty()) log_debug(node.describe(), ": ", refusal, "; taking cuDNN's legacy API");
  return refusal.empty();
}

// A Conv's problem in logical NCHW / KCRS terms, whatever its layout, and its window along H
// and W (a 1-D conv is a 2-D one of height 1). Dims only: a tactics query has no data.
struct ConvSetup {
  ConvProblem p;
  cpu::WindowDim h, wd;
  bool nhwc = false;
};

ConvSetup conv_setup(const ir::Node& node, const DeviceTensor& x, const DeviceTensor& w) {
  ConvSetup setup;
  setup.nhwc = node.attr_int("channels_last", 0) != 0;
  check(!setup.nhwc || x.dims.size() == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last needs a 4-D input, got ", dims_to_string(x.dims));
  Dims x_dims = setup.nhwc ? Dims{x.dims[0], x.dims[3], x.dims[1], x.dims[2]} : x.dims;
  Dims w_dims = setup.nhwc ? Dims{w.dims[0], w.dims[3], w.dims[1], w.dims[2]} : w.dims;
  Dims spatial(x_dims.begin() + 2, x_dims.end()), kernel(w_dims.begin() + 2, w_dims.end());
  cpu::WindowGeometry g = cpu::resolve_window(node, spatial, kernel, false);
  setup.h = g.dims[1];
  setup.wd = g.dims[2];
  ConvProblem& p = setup.p;
  p.x = {x_dims[0], x_dims[1], setup.h.in, setup.wd.in};
  p.w = {w_dims[0], w_dims[1], setup.h.kernel, setup.wd.kernel};
  p.channels_last = setup.nhwc;
  p.stride = {setup.h.stride, setup.wd.stride};
  p.dilation = {setup.h.dilation, setup.wd.dilation};
  p.groups = node.attr_int("group", 1);
  p.dtype = x.dtype;
  p.math = math_type(node, x.dtype);
  return setup;
}

// The window of a Conv in the terms of Kiln's NHWC kernels.
NhwcConvShape nhwc_shape(const ConvSetup& setup) {
  const ConvProblem& p = setup.p;
  const cpu::WindowDim &h = setup.h, &wd = setup.wd;
  return NhwcConvShape{.n = p.x[0],
                       .h = h.in,
                       .w = wd.in,
                       .c = p.x[1],
                       .out_h = h.out,
                       .out_w = wd.out,
                       .kernel_h = h.kernel,
                       .kernel_w = wd.kernel,
                       .stride_h = h.stride,
                       .stride_w = wd.stride,
                       .pad_h = h.pad_begin,
                       .pad_w = wd.pad_begin,
                       .dilation_h = h.dilation,
                       .dilation_w = wd.dilation};
}

// The depthwise kernel's shape for a channels_last depthwise Conv (one input channel per group,
// as many outputs) it takes; nullopt for any other convolution.
std::optional<DepthwiseConvShape> depthwise_shape(const ConvSetup& setup) {
  const ConvProblem& p = setup.p;
  if (!setup.nhwc || p.groups != p.x[1] || p.w[0] != p.x[1] || p.w[1] != 1) return std::nullopt;
  DepthwiseConvShape shape = nhwc_shape(setup);
  if (!depthwise_conv_supported(shape)) return std::nullopt;
  return shape;
}

// Whether the Conv is a vector projection (kernels/vector_projection.h): a 1x1 convolution
// of 1x1 images, one group, no pads (whatever the layout: there is one position).
bool is_vector_projection(const ConvSetup& setup) {
  const ConvProblem& p = setup.p;
  const cpu::WindowDim &h = setup.h, &wd = setup.wd;
  return p.groups == 1 && h.in == 1 && wd.in == 1 && h.kernel == 1 && wd.kernel == 1 &&
         h.pad_begin == 0 && h.pad_end == 0 && wd.pad_begin == 0 && wd.pad_end == 0;
}

// The tactics of a Conv Kiln has its own kernels for, in order of preference where timings
// tie: a depthwise channels_last Conv's tiled and direct kernels, a vector projection's kernel,
// then cuDNN (the graph API's engines, timed among themselves); for a few-channel or
// patch-embedding Conv cuDNN first, then im2col + GEMM (conv_as_gemm.h).
constexpr const char* kTacticDepthwiseTiled = "kiln_depthwise_tiled";
constexpr const char* kTacticDepthwise = "kiln_depthwise";
constexpr const char* kTacticVector = "kiln_vector";
constexpr const char* kTacticCudnn = "cudnn";

// Kiln's vector projection kernel, unless the builder chose cuDNN for this layer. False,
// having launched nothing, for other convolutions (and for one with a residual input).
bool ran_as_vector_projection(LaunchContext& context, const ir::Node& node, const ConvSetup& setup,
                              Activation activation, const DeviceTensor& x, const DeviceTensor& w,
                              const DeviceTensor* bias, const DeviceTensor* residual,
                              DeviceTensor& y) {
  bool vector = is_vector_projection(setup) && residual == nullptr;
  check(vector || activation != Activation::Sigmoid, ErrorKind::Unsupported, node.describe(),
        ": a fused Sigmoid needs a 1x1 convolution of 1x1 images without a residual input");
  if (!vector ||
      (node.attr_string("tactic", "") == kTacticCudnn && activation != Activation::Sigmoid))
    return false;
  ProjectionActivation act = activation == Activation::Relu      ? ProjectionActivation::Relu
                             : activation == Activation::Silu    ? ProjectionActivation::Silu
                             : activation == Activation::Sigmoid ? ProjectionActivation::Sigmoid
                                                                 : ProjectionActivation::None;
  launch_for(node, [&] {
    launch_vector_projection(x.dtype, setup.p.x[0], setup.p.x[1], setup.p.w[0], x.data, w.data,
                             bias != nullptr ? bias->data : nullptr, y.data, act, context.stream);
  });
  return true;
}

// Kiln's depthwise kernel, unless the builder chose cuDNN for this layer (node attribute
// "tactic"). False, having launched nothing, for other convolutions and shapes.
bool ran_as_depthwise(LaunchContext& context, const ir::Node& node, const ConvSetup& setup,
                      Activation activation, const DeviceTensor& x, const DeviceTensor& w,
                      const DeviceTensor* bias, const DeviceTensor* residual, DeviceTensor& y) {
  std::optional<DepthwiseConvShape> shape = depthwise_shape(setup);
  std::string tactic = node.attr_string("tactic", "");
  if (!shape || tactic == kTacticCudnn) return false;
  DepthwiseActivation act = activation == Activation::Relu   ? DepthwiseActivation::Relu
                            : activation == Activation::Silu ? DepthwiseActivation::Silu
                                                             : DepthwiseActivation::None;
  DepthwiseVariant variant =
      tactic == kTacticDepthwise ? DepthwiseVariant::Direct : DepthwiseVariant::Tiled;
  launch_for(node, [&] {
    launch_depthwise_conv_nhwc(
        x.dtype, *shape, x.data, w.data, bias != nullptr ? bias->data : nullptr,
        residual != nullptr ? residual->data : nullptr, y.data, act, variant, context.stream);
  });
  return true;
}

// The patch-matrix shape of a channels_last Conv of one group; nullopt for others.
std::optional<Im2colShape> im2col_shape(const ConvSetup& setup) {
  const ConvProblem& p = setup.p;
  if (!setup.nhwc || p.groups != 1 || p.w[1] != p.x[1]) return std::nullopt;
  return nhwc_shape(setup);
}

// im2col + GEMM where the builder chose it for this layer (node attribute "tactic"). False,
// having launched nothing, otherwise.
bool ran_as_gemm(LaunchContext& context, const ir::Node& node, const ConvSetup& setup,
                 Activation activation, const DeviceTensor& x, const DeviceTensor& w,
                 const DeviceTensor* bias, const DeviceTensor* residual, DeviceTensor& y) {
  std::string tactic = node.attr_string("tactic", "");
  if (tactic != kTacticIm2colGemm && tactic != kTacticIm2colGemmL2) return false;
  std::optional<Im2colShape> shape = im2col_shape(setup);
  check(shape.has_value(), ErrorKind::InvalidModel, node.describe(), ": tactic '", tactic,
        "' needs a channels_last convolution of one group");
  LoweredActivation act = activation == Activation::Relu   ? LoweredActivation::Relu
                          : activation == Activation::Silu ? LoweredActivation::Silu
                                                           : LoweredActivation::None;
  run_conv_as_gemm(context, node, *shape, tactic == kTacticIm2colGemmL2, act, x, w, bias, residual,
                   y);
  return true;
}

void conv_kernel(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  auto [x, w, bias, residual] = conv_operands(context, node, inputs);
  DeviceTensor& y = outputs[0];
  check_conv_operands(node, x, w, bias, residual, y);
  Activation activation = fused_activation(node);
  if (y.numel() == 0) return;
  ConvSetup setup = conv_setup(node, x, w);
  ConvProblem& p = setup.p;
  const cpu::WindowDim &h = setup.h, &wd = setup.wd;
  const bool nhwc = setup.nhwc;
  int64_t out_channels = nhwc ? y.dims[3] : y.dims[1];
  std::array<int64_t, 4> y_dims{y.dims[0], out_channels, h.out, wd.out};

  if (ran_as_vector_projection(context, node, setup, activation, x, w, bias, residual, y)) return;
  if (ran_as_depthwise(context, node, setup, activation, x, w, bias, residual, y)) return;
  if (ran_as_gemm(context, node, setup, activation, x, w, bias, residual, y)) return;
  if (nhwc) {
    ConvProblem graph_problem = p;
    graph_problem.pad = {h.pad_begin, wd.pad_begin};
    graph_problem.pad_end = {h.pad_end, wd.pad_end};
    graph_problem.relu = activation == Activation::Relu;
    graph_problem.silu = activation == Activation::Silu;
    if (ran_as_cudnn_graph(context, node, graph_problem, y_dims, x, w, bias, residual, y)) return;
  }

  // cuDNN takes one pad per dim for both sides; uneven pads are applied by copying the
  // input into zero-padded planes at the start of the workspace. An NHWC image is padded as
  // one plane of H rows of W·C elements, its columns padded C elements at a time.
  const void* x_data = x.data;
  void* space = context.workspace;
  size_t space_size = context.workspace_size;
  if (h.pad_begin != h.pad_end || wd.pad_begin != wd.pad_end) {
    int64_t padded_h = h.in + h.pad_begin + h.pad_end, padded_w = wd.in + wd.pad_begin + wd.pad_end;
    size_t bytes = size_t(p.x[0] * p.x[1] * padded_h * padded_w) * dtype_size(x.dtype);
    size_t reserved = (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
    check(reserved <= space_size, ErrorKind::Runtime, node.describe(), ": uneven pads need ",
          reserved, " bytes of workspace for a padded input, the context has ", space_size);
    if (nhwc) {
      int64_t c = p.x[1];
      pad_planes(dtype_size(x.dtype), x.data, p.x[0], h.in, wd.in * c, space, padded_h,
                 padded_w * c, h.pad_begin, wd.pad_begin * c, context.stream);
    } else {
      pad_planes(dtype_size(x.dtype), x.data, p.x[0] * p.x[1], h.in, wd.in, space, padded_h,
                 padded_w, h.pad_begin, wd.pad_begin, context.stream);
    }
    x_data = space;
    space = static_cast<char*>(space) + reserved;
    space_size -= reserved;
    p.x[2] = padded_h;
    p.x[3] = padded_w;
  } else {
    p.pad = {h.pad_begin, wd.pad_begin};
  }
  p.pad_end = p.pad;
  p.workspace_size = space_size;
  // A residual comes before the activation: add it between the convolution and the activation.
  bool relu_in_conv = activation == Activation::Relu && residual == nullptr;
  launch_for(node, [&] {
    run_conv(conv_resources(context), p, y_dims, x_data, w.data,
             bias != nullptr ? bias->data : nullptr, relu_in_conv, y.data, space, space_size);
    if (residual != nullptr) {
      launch_binary(BinaryOp::Add, y.dtype, y.data, y.dims, residual->data, residual->dims, y.data,
                    y.dims, context.stream);
    }
    if (activation == Activation::Relu && !relu_in_conv)
      relu_in_place(y.dtype, y.data, y.numel(), context.stream);
    if (activation == Activation::Silu) silu_in_place(y.dtype, y.data, y.numel(), context.stream);
  });
}

// ConvTranspose (1-D and 2-D, NCHW) as cuDNN's data gradient of the convolution from its
// output back to its input. Pads must be even per dim and the output no more than a stride
// past the convolution's (output_padding < stride); other cases, and 3-D, are refused before
// anything launches and run on the host.
void conv_transpose_kernel(LaunchContext& context, const ir::Node& node,
                           std::span<const DeviceTensor> inputs, std::span<DeviceTensor> outputs) {
  auto [x, w, bias, unused_residual] = conv_operands(context, node, inputs);
  DeviceTensor& y = outputs[0];
  check(x.dims.size() == 3 || x.dims.size() == 4, ErrorKind::Unsupported, node.describe(),
        ": the CUDA ConvTranspose runs 1-D and 2-D, got input ", dims_to_string(x.dims));
  check_conv_operands(node, x, w, nullptr, nullptr, y);
  if (bias != nullptr) {
    check(bias->dtype == y.dtype && bias->numel() == y.dims[1], ErrorKind::InvalidModel,
          node.describe(), ": bias must be ", dtype_name(y.dtype), " with ", y.dims[1],
          " elements, got ", dtype_name(bias->dtype), " ", dims_to_string(bias->dims));
  }
  if (y.numel() == 0) return;
  Dims in_spatial(x.dims.begin() + 2, x.dims.end());
  ir::ConvTransposeGeometry g = ir::conv_transpose_geometry(node, in_spatial, w.dims);
  size_t rank = in_spatial.size();
  // A 1-D problem is a 2-D one of height 1; index 0 is H, 1 is W.
  std::array<int64_t, 2> in{1, 1}, out{1, 1}, kernel{1, 1}, stride{1, 1}, dilation{1, 1}, pad{};
  for (size_t i = 0; i < rank; ++i) {
    size_t axis = i + 2 - rank;
    int64_t begin = g.pads[i], end = g.pads[rank + i];
    check(begin == end && begin >= 0, ErrorKind::Unsupported, node.describe(),
          ": the CUDA ConvTranspose takes even pads, got ", begin, " and ", end, " on axis ", i);
    in[axis] = in_spatial[i];
    out[axis] = g.output[i];
    kernel[axis] = g.kernel[i];
    stride[axis] = g.strides[i];
    dilation[axis] = g.dilations[i];
    pad[axis] = begin;
    // The convolution from the output back must land exactly on the input's size.
    int64_t back = (out[axis] + 2 * begin - dilation[axis] * (kernel[axis] - 1) - 1);
    check(back >= 0 && back / stride[axis] + 1 == in[axis], ErrorKind::Unsupported, node.describe(),
          ": output size ", out[axis],
          " is a stride or more past what the "
          "convolution back maps onto the input (output_padding >= stride)");
  }
  ConvProblem p;
  p.x = {y.dims[0], y.dims[1], out[0], out[1]};
  p.w = {w.dims[0], w.dims[1], kernel[0], kernel[1]};
  p.pad = pad;
  p.pad_end = pad;
  p.stride = stride;
  p.dilation = dilation;
  p.groups = g.group;
  p.dtype = x.dtype;
  p.math = math_type(node, x.dtype);
  p.workspace_size = context.workspace_size;
  std::array<int64_t, 4> dy_dims{x.dims[0], x.dims[1], in[0], in[1]};
  launch_for(node, [&] {
    run_conv_transpose(conv_resources(context), p, dy_dims, x.data, w.data,
                       bias != nullptr ? bias->data : nullptr, y.data, context.workspace,
                       context.workspace_size);
  });
}

PoolGeometry pool_geometry(const ir::Node& node, const DeviceTensor& x, const DeviceTensor& y) {
  check(x.dims.size() >= 3, ErrorKind::InvalidModel, node.describe(),
        ": input must be (N, C, spatial...), got ", dims_to_string(x.dims));
  check(node.has_attr("kernel_shape"), ErrorKind::InvalidModel, node.describe(),
        ": attribute kernel_shape is required");
  bool nhwc = node.attr_int("channels_last", 0) != 0;
  check(!nhwc || x.dims.size() == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last needs a 4-D input, got ", dims_to_string(x.dims));
  Dims spatial = nhwc ? Dims{x.dims[1], x.dims[2]} : Dims(x.dims.begin() + 2, x.dims.end());
  cpu::WindowGeometry g = cpu::resolve_window(node, spatial, node.attr_ints("kernel_shape"),
                                              node.attr_int("ceil_mode", 0) != 0);
  PoolGeometry geometry;
  geometry.channels_last = nhwc;
  geometry.channels = nhwc ? x.dims[3] : x.dims[1];
  geometry.planes = x.dims[0] * geometry.channels;
  for (size_t axis = 0; axis < size_t(kPoolDims); ++axis) {
    const cpu::WindowDim& dim = g.dims[axis];
    geometry.in[axis] = dim.in;
    geometry.out[axis] = dim.out;
    geometry.kernel[axis] = dim.kernel;
    geometry.stride[axis] = dim.stride;
    geometry.dilation[axis] = dim.dilation;
    geometry.pad_begin[axis] = dim.pad_begin;
    geometry.pad_end[axis] = dim.pad_end;
  }
  check(y.numel() == geometry.planes * g.out_volume() && y.dtype == x.dtype,
        ErrorKind::InvalidArgument, node.describe(), ": output ", dims_to_string(y.dims), " ",
        dtype_name(y.dtype), " does not match the pooled shape");
  return geometry;
}

template <PoolMode kMax>
void pool_kernel(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  check(!inputs.empty() && inputs[0].defined(), ErrorKind::InvalidModel, node.describe(),
        ": needs input X");
  check(outputs.size() == 1, ErrorKind::Unsupported, node.describe(),
        ": the Indices output of MaxPool is not supported; remove it from the model");
  PoolMode mode = kMax;
  if (mode != PoolMode::Max && node.attr_int("count_include_pad", 0) != 0) {
    mode = PoolMode::AverageIncludePad;
  }
  PoolGeometry geometry = pool_geometry(node, inputs[0], outputs[0]);
  launch_pool(inputs[0].dtype, mode, geometry, inputs[0].data, outputs[0].data, context.stream);
}

void global_average_pool_kernel(LaunchContext& context, const ir::Node& node,
                                std::span<const DeviceTensor> inputs,
                                std::span<DeviceTensor> outputs) {
  check(!inputs.empty() && inputs[0].defined() && inputs[0].dims.size() >= 3,
        ErrorKind::InvalidModel, node.describe(), ": needs an input X of shape (N, C, spatial...)");
  const DeviceTensor& x = inputs[0];
  bool nhwc = node.attr_int("channels_last", 0) != 0;
  check(!nhwc || x.dims.size() == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last needs a 4-D input, got ", dims_to_string(x.dims));
  int64_t channels = nhwc ? x.dims[3] : x.dims[1];
  int64_t planes = x.dims[0] * channels;
  check(outputs[0].numel() == planes && outputs[0].dtype == x.dtype, ErrorKind::InvalidArgument,
        node.describe(), ": output ", dims_to_string(outputs[0].dims), " does not match");
  int64_t volume = x.numel() / std::max<int64_t>(planes, 1);
  if (nhwc) {
    launch_global_average_pool_channels_last(x.dtype, x.dims[0], volume, channels, x.data,
                                             outputs[0].data, context.workspace,
                                             context.workspace_size, context.stream);
  } else {
    launch_global_average_pool(x.dtype, planes, volume, x.data, outputs[0].data, context.stream);
  }
}

}  // namespace

std::vector<std::string> conv_node_tactics(LaunchContext& context, const ir::Node& node,
                                           std::span<const DeviceTensor> inputs) {
  if (inputs.size() < 2 || !inputs[0].defined() || !inputs[1].defined()) return {};
  if (inputs[0].dims.size() != inputs[1].dims.size() || inputs[0].dims.size() < 3 ||
      inputs[0].dims.size() > 4) {
    return {};
  }
  ConvSetup setup = conv_setup(node, inputs[0], inputs[1]);
  bool residual = inputs.size() > 3 && inputs[3].defined();
  if (is_vector_projection(setup) && !residual) {
    if (fused_activation(node) == Activation::Sigmoid) return {};  // Kiln's kernel only
    return {kTacticVector, kTacticCudnn};
  }
  std::optional<Im2colShape> patches = im2col_shape(setup);
  if (patches &&
      conv_as_gemm_candidate(*patches, setup.h.pad_end, setup.wd.pad_end, inputs[1].dims[0],
                             inputs[0].dtype, context.workspace_size)) {
    return {kTacticCudnn, kTacticIm2colGemm, kTacticIm2colGemmL2};
  }
  std::optional<DepthwiseConvShape> shape = depthwise_shape(setup);
  if (!shape) return {};
  std::vector<std::string> tactics;
  if (depthwise_conv_tiled_supported(*shape)) tactics.push_back(kTacticDepthwiseTiled);
  tactics.push_back(kTacticDepthwise);
  tactics.push_back(kTacticCudnn);
  return tactics;
}

void register_conv_pool_cuda_kernels(CudaKernelMap& map) {
  map["Conv"] = conv_kernel;
  map["ConvTranspose"] = conv_transpose_kernel;
  map["MaxPool"] = pool_kernel<PoolMode::Max>;
  map["AveragePool"] = pool_kernel<PoolMode::AverageExcludePad>;
  map["GlobalAveragePool"] = global_average_pool_kernel;
}

}  // namespace kiln::cuda
