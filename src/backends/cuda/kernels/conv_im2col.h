// A channels_last convolution with few input channels (the 3-channel stems of ResNet, RegNet,
// ConvNeXt's and U-Net's first layers) as one matrix product. cuDNN's engines run ResNet-50's
// 7x7 stride-2 stem at about 26 TFLOP/s on an H100 (3 channels starve their tensor-core
// tiles); lowered, the same work is a GEMM with 64 output columns that cuBLASLt runs close to
// memory speed. Each output pixel's receptive field, KH·KW·C values in (kh, kw, c) order (the
// order of the NHWC weights [O, KH, KW, C]), becomes one row of a patch matrix, zero where
// the window hangs over the pads and zero-padded to `row_length` (a 16-byte multiple) so that
// cuBLASLt reads aligned rows. The weights are padded the same way (pad_planes).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/nhwc_conv_shape.h"
#include "core/dtype.h"

namespace kiln::cuda {

using Im2colShape = NhwcConvShape;

// KH·KW·C rounded up to a whole number of 16-byte vectors of `dtype`.
int64_t im2col_row_length(DType dtype, const Im2colShape& shape);

// Writes rows [first_pixel, first_pixel + pixels) of the patch matrix (pixel = (image · out_h +
// oh) · out_w + ow) to `rows`, each `row_length` elements: float32, float16 or bfloat16 (the
// bits are copied, not converted). `x` and `rows` must be 16-byte aligned.
void launch_im2col_nhwc(DType dtype, const Im2colShape& shape, int64_t first_pixel, int64_t pixels,
                        const void* x, void* rows, int64_t row_length, cudaStream_t stream);

}  // namespace kiln::cuda
