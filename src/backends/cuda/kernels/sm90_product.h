// Row-major matrix products on Hopper's tensor cores through CUTLASS's TMA + wgmma kernels
// (PyPI nvidia-cutlass), for outputs whose rows start at any element: cuBLASLt runs a D whose
// row pitch is not a multiple of 16 bytes (GPT-2's 50257-wide float32 logits) with its slow
// 4-byte-aligned kernels, while this kernel's epilogue stores element by element straight
// from the accumulators, so the product needs neither padding nor a copy.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace kiln::cuda {

// D[m, n] = alpha · A[m, k] · B[k, n], every matrix row-major with the given row pitches (in
// elements). A and B hold `ab_dtype` (bfloat16 or float16), D holds `d_dtype` (float32 or
// `ab_dtype`); accumulation is float32.
struct RowMajorProduct {
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldd = 0;
  DType ab_dtype = DType::BFloat16;
  DType d_dtype = DType::Float32;
  const void* a = nullptr;
  const void* b = nullptr;
  void* d = nullptr;
  float alpha = 1.f;
};

// Why the product cannot run through this kernel (empty: it can). `compute_capability` is
// major * 10 + minor: only sm_90 runs it (the kernels are built for sm_90a alone, and only
// where the build had CUTLASS). A and B need 16-byte-aligned pointers and row pitches, for
// TMA; null pointers (a layout check before allocation) pass.
std::string sm90_product_unsupported(const RowMajorProduct& product, int compute_capability);

// Whether every row of D starts 16-byte aligned: the product then stores through TMA (the
// epilogue the cutlass_sm90 tactic keeps to), otherwise element by element.
bool sm90_product_output_aligned(const RowMajorProduct& product);

// Launches the product on `stream`; `workspace` holds sm90_product_workspace bytes (the tile
// scheduler's, small). Throws LaunchError where CUTLASS refuses or the launch fails.
size_t sm90_product_workspace(const RowMajorProduct& product);
void run_sm90_product(const RowMajorProduct& product, void* workspace, size_t workspace_size,
                      cudaStream_t stream);

}  // namespace kiln::cuda
