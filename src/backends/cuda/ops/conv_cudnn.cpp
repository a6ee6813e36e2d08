// Conv (1-D and 2-D NCHW, 2-D NHWC with channels_last=1; groups, any pads/strides/dilations)
// through cuDNN's convolution API, and the pools through Kiln's own kernels (pool.cu),
// registered together. A Conv with fused_activation "Relu" (from passes::fuse_epilogues) runs
// as one cuDNN conv-bias-ReLU call where cuDNN supports it, else as convolution, bias, then an
// in-place ReLU.
#include <algorithm>
#include <array>
#include <string>

#include "backends/cpu/window_geometry.h"
#include "backends/cuda/kernels/conv_plan.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/matrix_fill.h"
#include "backends/cuda/kernels/pool.h"
#include "backends/cuda/kernels/relu_in_place.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "core/error.h"

namespace kiln::cuda {
namespace {

using TensorDesc = UniqueHandle<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = UniqueHandle<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = UniqueHandle<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using ActivationDesc = UniqueHandle<cudnnActivationDescriptor_t, cudnnDestroyActivationDescriptor>;

constexpr size_t kWorkspaceAlignment = 256;
constexpr int kConvCandidates = 8;

cudnnDataType_t cudnn_data_type(DType dtype, const ir::Node& node) {
  switch (dtype) {
    case DType::Float32:
      return CUDNN_DATA_FLOAT;
    case DType::Float16:
      return CUDNN_DATA_HALF;
    case DType::BFloat16:
      return CUDNN_DATA_BFLOAT16;
    default:
      break;
  }
  fail(ErrorKind::Unsupported, node.describe(), ": cuDNN convolutions take float32, float16 or ",
       "bfloat16, got ", dtype_name(dtype));
}

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

// `dims` are N, C, H, W in either layout; `format` says how they lie in memory.
TensorDesc tensor_desc(cudnnDataType_t type, cudnnTensorFormat_t format,
                       const std::array<int64_t, 4>& dims) {
  cudnnTensorDescriptor_t desc = nullptr;
  KILN_CUDA_CHECK(cudnnCreateTensorDescriptor(&desc));
  TensorDesc owned(desc);
  KILN_CUDA_CHECK(cudnnSetTensor4dDescriptor(desc, format, type, int(dims[0]), int(dims[1]),
                                             int(dims[2]), int(dims[3])));
  return owned;
}

struct ConvDescriptors {
  TensorDesc x, y, bias;
  FilterDesc w;
  ConvDesc conv;
};

ConvDescriptors make_descriptors(const ConvProblem& p, const std::array<int64_t, 4>& y_dims,
                                 cudnnMathType_t math, const ir::Node& node) {
  cudnnDataType_t type = cudnn_data_type(p.dtype, node);
  cudnnTensorFormat_t format = p.channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  ConvDescriptors d;
  d.x = tensor_desc(type, format, p.x);
  d.y = tensor_desc(type, format, y_dims);
  d.bias = tensor_desc(type, format, {1, y_dims[1], 1, 1});
  cudnnFilterDescriptor_t w = nullptr;
  KILN_CUDA_CHECK(cudnnCreateFilterDescriptor(&w));
  d.w = FilterDesc(w);
  KILN_CUDA_CHECK(cudnnSetFilter4dDescriptor(w, type, format, int(p.w[0]), int(p.w[1]), int(p.w[2]),
                                             int(p.w[3])));
  cudnnConvolutionDescriptor_t conv = nullptr;
  KILN_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&conv));
  d.conv = ConvDesc(conv);
  KILN_CUDA_CHECK(cudnnSetConvolution2dDescriptor(
      conv, int(p.pad[0]), int(p.pad[1]), int(p.stride[0]), int(p.stride[1]), int(p.dilation[0]),
      int(p.dilation[1]), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  KILN_CUDA_CHECK(cudnnSetConvolutionGroupCount(conv, int(p.groups)));
  KILN_CUDA_CHECK(cudnnSetConvolutionMathType(conv, math));
  std::array<int, 4> expected{};
  KILN_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(conv, d.x.get(), w, &expected[0],
                                                        &expected[1], &expected[2], &expected[3]));
  for (size_t i = 0; i < 4; ++i) {
    check(expected[i] == y_dims[i], ErrorKind::Runtime, node.describe(), ": cuDNN computes output ",
          "dim ", i, " = ", expected[i], " but the output tensor has ", y_dims[i]);
  }
  return d;
}

bool stream_is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  KILN_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  return status != cudaStreamCaptureStatusNone;
}

// FP32 layers must not be given a tensor-core (TF32) algorithm.
bool usable(const cudnnConvolutionFwdAlgoPerf_t& perf, cudnnMathType_t requested, size_t space) {
  bool exact_needed = requested == CUDNN_FMA_MATH;
  return perf.status == CUDNN_STATUS_SUCCESS && perf.memory <= space &&
         (!exact_needed || perf.mathType != CUDNN_TENSOR_OP_MATH);
}

// The cached plan, or one timed now (cudnnFindConvolutionForwardAlgorithmEx) when a cache is
// given and the stream is not being captured, or else the heuristic's first usable choice.
ConvPlan choose_plan(LaunchContext& context, const ConvProblem& problem, ConvDescriptors& d,
                     const void* x, const void* w, void* y, void* space, size_t space_size,
                     const ir::Node& node) {
  if (context.conv_plans != nullptr) {
    if (const ConvPlan* known = context.conv_plans->find(problem)) return *known;
  }
  std::array<cudnnConvolutionFwdAlgoPerf_t, kConvCandidates> perf{};
  int count = 0;
  bool timing = context.conv_plans != nullptr && !stream_is_capturing(context.stream);
  if (timing) {
    KILN_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
        context.cudnn, d.x.get(), x, d.w.get(), w, d.conv.get(), d.y.get(), y, kConvCandidates,
        &count, perf.data(), space, space_size));
  } else {
    KILN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(context.cudnn, d.x.get(), d.w.get(),
                                                           d.conv.get(), d.y.get(), kConvCandidates,
                                                           &count, perf.data()));
  }
  for (int i = 0; i < count; ++i) {
    if (!usable(perf[size_t(i)], problem.math, space_size)) continue;
    ConvPlan plan{perf[size_t(i)].algo, perf[size_t(i)].mathType};
    if (timing) context.conv_plans->insert(problem, plan);
    return plan;
  }
  fail(ErrorKind::Unsupported, node.describe(), ": cuDNN has no algorithm for this convolution in ",
       dtype_name(problem.dtype), " within ", space_size, " bytes of workspace; try another ",
       "precision or a larger workspace");
}

// Whether the node carries a fused ReLU; any other fused_activation is Unsupported.
bool fused_relu(const ir::Node& node) {
  std::string activation = node.attr_string("fused_activation", "");
  check(activation.empty() || activation == "Relu", ErrorKind::Unsupported, node.describe(),
        ": fused_activation '", activation, "' is not supported by the CUDA Conv (valid: Relu)");
  return activation == "Relu";
}

// y = relu(conv(x) + bias) in one cuDNN call with the plan's algorithm. Returns false, having
// launched nothing, where cuDNN does not support that combination (algorithm, data type);
// the caller then runs the steps separately. Other failures throw.
bool conv_bias_relu(LaunchContext& context, const ConvDescriptors& d, const ConvPlan& plan,
                    const void* x, const void* w, const void* bias, void* y, void* space,
                    size_t space_size) {
  cudnnActivationDescriptor_t activation = nullptr;
  KILN_CUDA_CHECK(cudnnCreateActivationDescriptor(&activation));
  ActivationDesc owned(activation);
  KILN_CUDA_CHECK(
      cudnnSetActivationDescriptor(activation, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  // alpha2 = 0: the z term is off; z names y only because the call needs a tensor there.
  const float one = 1.f, zero = 0.f;
  cudnnStatus_t status = cudnnConvolutionBiasActivationForward(
      context.cudnn, &one, d.x.get(), x, d.w.get(), w, d.conv.get(), plan.algo, space, space_size,
      &zero, d.y.get(), y, d.bias.get(), bias, activation, d.y.get(), y);
  if (CUDNN_STATUS_CATEGORY(status) == CUDNN_STATUS_NOT_SUPPORTED) return false;
  check_status(status, "cudnnConvolutionBiasActivationForward", __FILE__, __LINE__);
  return true;
}

void conv_kernel(LaunchContext& context, const ir::Node& node, std::span<const DeviceTensor> inputs,
                 std::span<DeviceTensor> outputs) {
  check(inputs.size() >= 2 && inputs[0].defined() && inputs[1].defined(), ErrorKind::InvalidModel,
        node.describe(), ": needs inputs X and W");
  check(context.cudnn != nullptr, ErrorKind::InvalidArgument, node.describe(),
        ": the launch context has no cuDNN handle");
  const DeviceTensor& x = inputs[0];
  const DeviceTensor& w = inputs[1];
  const DeviceTensor* bias = inputs.size() > 2 && inputs[2].defined() ? &inputs[2] : nullptr;
  DeviceTensor& y = outputs[0];
  check(x.dims.size() == 3 || x.dims.size() == 4, ErrorKind::Unsupported, node.describe(),
        ": the CUDA backend runs 1-D and 2-D convolutions, got input ", dims_to_string(x.dims));
  check(w.dims.size() == x.dims.size() && w.dtype == x.dtype && y.dtype == x.dtype,
        ErrorKind::InvalidModel, node.describe(), ": X ", dims_to_string(x.dims), " ",
        dtype_name(x.dtype), ", W ", dims_to_string(w.dims), " ", dtype_name(w.dtype), " and Y ",
        dtype_name(y.dtype), " must agree in rank and dtype");
  bool relu = fused_relu(node);
  if (bias != nullptr) {
    check(bias->numel() == w.dims[0] && bias->dtype == y.dtype, ErrorKind::InvalidModel,
          node.describe(), ": bias must be ", dtype_name(y.dtype), " with ", w.dims[0],
          " elements, got ", dtype_name(bias->dtype), " ", dims_to_string(bias->dims));
  }
  if (y.numel() == 0) return;
  bool nhwc = node.attr_int("channels_last", 0) != 0;
  check(!nhwc || x.dims.size() == 4, ErrorKind::InvalidModel, node.describe(),
        ": channels_last needs a 4-D input, got ", dims_to_string(x.dims));
  // Logical NCHW / KCRS dims, whatever the layout.
  Dims x_dims = nhwc ? Dims{x.dims[0], x.dims[3], x.dims[1], x.dims[2]} : x.dims;
  Dims w_dims = nhwc ? Dims{w.dims[0], w.dims[3], w.dims[1], w.dims[2]} : w.dims;
  int64_t out_channels = nhwc ? y.dims[3] : y.dims[1];
  Dims spatial(x_dims.begin() + 2, x_dims.end()), kernel(w_dims.begin() + 2, w_dims.end());
  cpu::WindowGeometry g = cpu::resolve_window(node, spatial, kernel, false);
  const cpu::WindowDim& h = g.dims[1];  // a 1-D conv is a 2-D one of height 1
  const cpu::WindowDim& wd = g.dims[2];

  ConvProblem p;
  p.x = {x_dims[0], x_dims[1], h.in, wd.in};
  p.w = {w_dims[0], w_dims[1], h.kernel, wd.kernel};
  p.channels_last = nhwc;
  p.stride = {h.stride, wd.stride};
  p.dilation = {h.dilation, wd.dilation};
  p.groups = node.attr_int("group", 1);
  p.dtype = x.dtype;
  p.math = math_type(node, x.dtype);
  std::array<int64_t, 4> y_dims{y.dims[0], out_channels, h.out, wd.out};

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
  p.workspace_size = space_size;

  KILN_CUDA_CHECK(cudnnSetStream(context.cudnn, context.stream));
  ConvDescriptors d = make_descriptors(p, y_dims, p.math, node);
  ConvPlan plan = choose_plan(context, p, d, x_data, w.data, y.data, space, space_size, node);
  KILN_CUDA_CHECK(cudnnSetConvolutionMathType(d.conv.get(), plan.math));
  if (relu && bias != nullptr &&
      conv_bias_relu(context, d, plan, x_data, w.data, bias->data, y.data, space, space_size)) {
    return;
  }
  const float one = 1.f, zero = 0.f;
  KILN_CUDA_CHECK(cudnnConvolutionForward(context.cudnn, &one, d.x.get(), x_data, d.w.get(), w.data,
                                          d.conv.get(), plan.algo, space, space_size, &zero,
                                          d.y.get(), y.data));
  if (bias != nullptr) {
    KILN_CUDA_CHECK(
        cudnnAddTensor(context.cudnn, &one, d.bias.get(), bias->data, &one, d.y.get(), y.data));
  }
  if (relu) relu_in_place(y.dtype, y.data, y.numel(), context.stream, node.describe());
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
                                             outputs[0].data, context.stream);
  } else {
    launch_global_average_pool(x.dtype, planes, volume, x.data, outputs[0].data, context.stream);
  }
}

}  // namespace

void register_conv_pool_cuda_kernels(CudaKernelMap& map) {
  map["Conv"] = conv_kernel;
  map["MaxPool"] = pool_kernel<PoolMode::Max>;
  map["AveragePool"] = pool_kernel<PoolMode::AverageExcludePad>;
  map["GlobalAveragePool"] = global_average_pool_kernel;
}

}  // namespace kiln::cuda
