// A product whose output keeps only its last columns, written by row classes
// (kernels/row_classes.h): what a Gemm by a [lead + N, K] weight (transB) cropped to its last
// N columns becomes in the storage plan, for outputs whose rows are not 16-byte aligned
// (passes::pad_matmul_columns makes GPT-2's 50257-wide LM head one). Each class is one
// cuBLASLt product straight into `out`, in out.dtype: no workspace, no copy.
#pragma once

#include "backends/cuda/ops/cuda_kernel.h"

namespace kiln::cuda {

// out [rows, kept] = the last `kept` columns of rows [rows, inner] (row-major, contiguous)
// times weightᵀ, weight [lead + kept, inner] row-major, through cuBLASLt's epilogue
// `activation` ("" or Relu / Gelu_tanh / Gelu as fused_activation spells it, Gelu taken in
// its tanh form). Requires row_classes_fit.
void run_row_class_product(LaunchContext& context, const ir::Node& node, const DeviceTensor& rows,
                           const DeviceTensor& weight, DeviceTensor& out);

}  // namespace kiln::cuda
