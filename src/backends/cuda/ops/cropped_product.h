// A product cropped to its first columns as it is written: what a MatMul whose padded output
// only a crop read becomes in the storage plan (passes::pad_matmul_columns pads a product with
// misaligned rows, GPT-2's 50257-wide LM head, to 50264 columns; the plan folds the crop, and
// any cast after it, into the product).
#pragma once

#include <span>

#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/ops/cuda_kernel.h"

namespace kiln::cuda {

// The row-major product D[rows, padded] = A[rows, inner] · B[inner, padded] (+ bias), whose
// first `out.dims.back()` columns land in `out` (rows of that length, in out.dtype), in blocks
// of columns by rows small enough to stay in L2: each block's product goes to the workspace in
// `product_dtype` (so the bits are those of the uncropped product), and a row copy converts
// its columns into place. `problem` is the whole product in cuBLASLt's terms
// (row_major_problem), `operands` its pointers, with D unused.
void run_cropped_product(LaunchContext& context, const ir::Node& node, const GemmProblem& problem,
                         const GemmOperands& operands, DType product_dtype, DeviceTensor& out);

}  // namespace kiln::cuda
