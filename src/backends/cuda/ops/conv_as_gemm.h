// A channels_last Conv lowered to one matrix product (kernels/conv_im2col.h): the patch matrix
// of the input, chunk by chunk in the workspace, times the zero-padded weights, through
// cuBLASLt with the bias, the residual (as the product's C term) and a ReLU in its epilogue, a
// SiLU after. Two tactics: chunks as large as the workspace allows, and chunks small enough
// (16 MB) that the patch rows are still in L2 when the product reads them.
#pragma once

#include <cstddef>

#include "backends/cuda/kernels/conv_im2col.h"
#include "backends/cuda/ops/cuda_kernel.h"

namespace kiln::cuda {

constexpr const char* kTacticIm2colGemm = "kiln_im2col_gemm";
constexpr const char* kTacticIm2colGemmL2 = "kiln_im2col_gemm_l2";

enum class LoweredActivation { None, Relu, Silu };

// Whether lowering pays off enough to be worth timing: few input channels (a stem, where
// cuDNN's tiles starve) or a window that tiles the input exactly (patch embeddings: stride ==
// kernel, no pads or dilation, so the patch matrix is the input rearranged); and whether one
// chunk of rows fits in `workspace_size` beside the padded weights.
bool conv_as_gemm_candidate(const Im2colShape& shape, int64_t pad_end_h, int64_t pad_end_w,
                            int64_t out_channels, DType dtype, size_t workspace_size);

// Runs the Conv as im2col + GEMM (tactic kTacticIm2colGemm or kTacticIm2colGemmL2). x [N, H, W,
// C], w [O, KH, KW, C], bias [O] or null, residual shaped like y or null, y [N, OH, OW, O].
void run_conv_as_gemm(LaunchContext& context, const ir::Node& node, const Im2colShape& shape,
                      bool l2_chunks, LoweredActivation activation, const DeviceTensor& x,
                      const DeviceTensor& w, const DeviceTensor* bias, const DeviceTensor* residual,
                      DeviceTensor& y);

}  // namespace kiln::cuda
