// Depthwise 2-D convolution over channels-last (NHWC) tensors, Kiln's own kernel: cuDNN's
// NHWC engines run these layers at under 1 TFLOP/s (ConvNeXt's 7x7 at batch 32: 1.19 ms a
// layer on an H100), far below the memory bound they should reach. A thread computes a 16-byte
// vector of channels, of one output pixel (the direct variant: any shape) or of four neighbours
// along W (the tiled variant: widths 3, 5 and 7, stride 1 or 2 along W, where each input vector
// loaded serves several outputs), reading its window through L1, with the block's weights
// staged in shared memory, FP32 accumulation, and the bias, a residual and ReLU or SiLU fused
// into the store. The builder times the variants (and cuDNN) per layer: ops/conv_cudnn.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/nhwc_conv_shape.h"
#include "core/dtype.h"

namespace kiln::cuda {

enum class DepthwiseActivation { None, Relu, Silu };
enum class DepthwiseVariant { Tiled, Direct };

// The input is NHWC; the output has c channels too.
using DepthwiseConvShape = NhwcConvShape;

// Whether launch_depthwise_conv_nhwc takes this shape: its weights for a block's channels fit
// in shared memory (kernel_h * kernel_w at most 192) and every index fits in 32 bits per image.
bool depthwise_conv_supported(const DepthwiseConvShape& shape);
// Whether the tiled variant takes it too: kernel width 3, 5 or 7, stride 1 or 2 and no
// dilation along W. (It also needs 16-byte channel vectors; the launch checks those.)
bool depthwise_conv_tiled_supported(const DepthwiseConvShape& shape);

// y[n, oh, ow, c] = act(sum over (r, s) of x[n, oh*stride_h - pad_h + r*dilation_h,
// ow*stride_w - pad_w + s*dilation_w, c] * w[c, r, s] + bias[c] + residual[n, oh, ow, c]),
// zero outside the image. w is KRSC with one input channel per group ([C, R, S, 1]); bias and
// residual may be null. float32, float16 or bfloat16, all tensors of `dtype`. `variant` Tiled
// falls back to Direct where the tiled kernel does not take the shape or the channel vectors.
void launch_depthwise_conv_nhwc(DType dtype, const DepthwiseConvShape& shape, const void* x,
                                const void* w, const void* bias, const void* residual, void* y,
                                DepthwiseActivation activation, DepthwiseVariant variant,
                                cudaStream_t stream);

}  // namespace kiln::cuda
