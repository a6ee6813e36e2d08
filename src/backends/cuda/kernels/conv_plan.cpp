// cuDNN convolutions over raw pointers (conv_plan.h): descriptors for a ConvProblem, the
// algorithm (cached, timed once, or the heuristic's first usable one) and the launch, with a
// fused bias and ReLU where cuDNN supports it.
#include "backends/cuda/kernels/conv_plan.h"

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/kernels/relu_in_place.h"
#include "backends/cuda/runtime/cuda_resources.h"

namespace kiln::cuda {
namespace {

using TensorDesc = UniqueHandle<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = UniqueHandle<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = UniqueHandle<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;
using ActivationDesc = UniqueHandle<cudnnActivationDescriptor_t, cudnnDestroyActivationDescriptor>;

constexpr int kConvCandidates = 8;

cudnnDataType_t cudnn_data_type(DType dtype) {
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
  launch_fail(ErrorKind::Unsupported, "cuDNN convolutions take float32, float16 or bfloat16, got ",
              dtype_name(dtype));
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
                                 cudnnMathType_t math) {
  cudnnDataType_t type = cudnn_data_type(p.dtype);
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
    launch_check(expected[i] == y_dims[i], ErrorKind::Runtime, "cuDNN computes output dim ", i,
                 " = ", expected[i], " but the output tensor has ", y_dims[i]);
  }
  return d;
}

// FP32 layers must not be given a tensor-core (TF32) algorithm.
bool usable(const cudnnConvolutionFwdAlgoPerf_t& perf, cudnnMathType_t requested, size_t space) {
  bool exact_needed = requested == CUDNN_FMA_MATH;
  return perf.status == CUDNN_STATUS_SUCCESS && perf.memory <= space &&
         (!exact_needed || perf.mathType != CUDNN_TENSOR_OP_MATH);
}

// The cached plan, or one timed now (cudnnFindConvolutionForwardAlgorithmEx) when a cache is
// given and the stream is not being captured, or else the heuristic's first usable choice.
ConvPlan choose_plan(const ConvResources& resources, const ConvProblem& problem, ConvDescriptors& d,
                     const void* x, const void* w, void* y, void* space, size_t space_size) {
  if (resources.plans != nullptr) {
    std::optional<ConvPlan> known = resources.plans->find(problem);
    if (known && known->from_file) {
      // Chosen by the process that built the engine: this cuDNN must run it within the space.
      size_t needed = 0;
      bool exact_needed = problem.math == CUDNN_FMA_MATH;
      bool ok = !(exact_needed && known->math == CUDNN_TENSOR_OP_MATH) &&
                cudnnSetConvolutionMathType(d.conv.get(), known->math) == CUDNN_STATUS_SUCCESS &&
                cudnnGetConvolutionForwardWorkspaceSize(resources.cudnn, d.x.get(), d.w.get(),
                                                        d.conv.get(), d.y.get(), known->algo,
                                                        &needed) == CUDNN_STATUS_SUCCESS &&
                needed <= space_size;
      resources.plans->settle(problem, ok);
      if (!ok) {
        known.reset();
        KILN_CUDA_CHECK(cudnnSetConvolutionMathType(d.conv.get(), problem.math));
      }
    }
    if (known) return *known;
  }
  std::array<cudnnConvolutionFwdAlgoPerf_t, kConvCandidates> perf{};
  int count = 0;
  bool timing = resources.plans != nullptr && !stream_is_capturing(resources.stream);
  if (timing) {
    KILN_CUDA_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
        resources.cudnn, d.x.get(), x, d.w.get(), w, d.conv.get(), d.y.get(), y, kConvCandidates,
        &count, perf.data(), space, space_size));
  } else {
    KILN_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(resources.cudnn, d.x.get(), d.w.get(),
                                                           d.conv.get(), d.y.get(), kConvCandidates,
                                                           &count, perf.data()));
  }
  for (int i = 0; i < count; ++i) {
    if (!usable(perf[size_t(i)], problem.math, space_size)) continue;
    ConvPlan plan{perf[size_t(i)].algo, perf[size_t(i)].mathType};
    if (timing) plan = resources.plans->insert(problem, plan);  // another context's, if first
    return plan;
  }
  launch_fail(ErrorKind::Unsupported, "cuDNN has no algorithm for this convolution in ",
              dtype_name(problem.dtype), " within ", space_size,
              " bytes of workspace; try another precision or a larger workspace");
}

// y = relu(conv(x) + bias) in one cuDNN call with the plan's algorithm. Returns false, having
// launched nothing, where cuDNN does not support that combination (algorithm, data type);
// the caller then runs the steps separately. Other failures throw.
bool conv_bias_relu(const ConvResources& resources, const ConvDescriptors& d, const ConvPlan& plan,
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
      resources.cudnn, &one, d.x.get(), x, d.w.get(), w, d.conv.get(), plan.algo, space, space_size,
      &zero, d.y.get(), y, d.bias.get(), bias, activation, d.y.get(), y);
  if (CUDNN_STATUS_CATEGORY(status) == CUDNN_STATUS_NOT_SUPPORTED) return false;
  check_status(status, "cudnnConvolutionBiasActivationForward", __FILE__, __LINE__);
  return true;
}

}  // namespace

void run_conv(const ConvResources& resources, const ConvProblem& problem,
              const std::array<int64_t, 4>& y_dims, const void* x, const void* w, const void* bias,
              bool relu, void* y, void* space, size_t space_size) {
  KILN_CUDA_CHECK(cudnnSetStream(resources.cudnn, resources.stream));
  ConvDescriptors d = make_descriptors(problem, y_dims, problem.math);
  ConvPlan plan = choose_plan(resources, problem, d, x, w, y, space, space_size);
  KILN_CUDA_CHECK(cudnnSetConvolutionMathType(d.conv.get(), plan.math));
  if (relu && bias != nullptr &&
      conv_bias_relu(resources, d, plan, x, w, bias, y, space, space_size)) {
    return;
  }
  const float one = 1.f, zero = 0.f;
  KILN_CUDA_CHECK(cudnnConvolutionForward(resources.cudnn, &one, d.x.get(), x, d.w.get(), w,
                                          d.conv.get(), plan.algo, space, space_size, &zero,
                                          d.y.get(), y));
  if (bias != nullptr) {
    KILN_CUDA_CHECK(cudnnAddTensor(resources.cudnn, &one, d.bias.get(), bias, &one, d.y.get(), y));
  }
  if (relu)
    relu_in_place(problem.dtype, y, y_dims[0] * y_dims[1] * y_dims[2] * y_dims[3],
                  resources.stream);
}

void run_conv_transpose(const ConvResources& resources, const ConvProblem& problem,
                        const std::array<int64_t, 4>& dy_dims, const void* dy, const void* w,
                        const void* bias, void* dx, void* space, size_t space_size) {
  KILN_CUDA_CHECK(cudnnSetStream(resources.cudnn, resources.stream));
  ConvDescriptors d = make_descriptors(problem, dy_dims, problem.math);  // x: dx, y: dy
  std::array<cudnnConvolutionBwdDataAlgoPerf_t, kConvCandidates> perf{};
  int count = 0;
  KILN_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
      resources.cudnn, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), kConvCandidates, &count,
      perf.data()));
  const cudnnConvolutionBwdDataAlgoPerf_t* chosen = nullptr;
  for (int i = 0; i < count && chosen == nullptr; ++i) {
    const cudnnConvolutionBwdDataAlgoPerf_t& candidate = perf[size_t(i)];
    bool exact_needed = problem.math == CUDNN_FMA_MATH;
    if (candidate.status == CUDNN_STATUS_SUCCESS && candidate.memory <= space_size &&
        (!exact_needed || candidate.mathType != CUDNN_TENSOR_OP_MATH)) {
      chosen = &candidate;
    }
  }
  if (chosen == nullptr) {
    launch_fail(ErrorKind::Unsupported,
                "cuDNN has no algorithm for this transposed convolution in ",
                dtype_name(problem.dtype), " within ", space_size,
                " bytes of workspace; try another precision or a larger workspace");
  }
  KILN_CUDA_CHECK(cudnnSetConvolutionMathType(d.conv.get(), chosen->mathType));
  const float one = 1.f, zero = 0.f;
  KILN_CUDA_CHECK(cudnnConvolutionBackwardData(resources.cudnn, &one, d.w.get(), w, d.y.get(), dy,
                                               d.conv.get(), chosen->algo, space, space_size, &zero,
                                               d.x.get(), dx));
  if (bias != nullptr) {
    TensorDesc bias_desc =
        tensor_desc(cudnn_data_type(problem.dtype), CUDNN_TENSOR_NCHW, {1, problem.x[1], 1, 1});
    KILN_CUDA_CHECK(
        cudnnAddTensor(resources.cudnn, &one, bias_desc.get(), bias, &one, d.x.get(), dx));
  }
}

}  // namespace kiln::cuda
