// Launcher of the TopK kernel (top_k.cu): the k first elements of each line and their int64
// indices, in the CPU reference's order (backends/cpu/reduction.cpp): larger first (smaller
// first without `largest`), NaN above every number, equal elements by lower index first.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace kiln::cuda {

// A dense input seen as outer x length x inner; the outputs are outer x k x inner.
struct TopKShape {
  int64_t outer = 1, length = 1, inner = 1, k = 0;
  bool largest = true;
};

// The largest k the kernel takes: it selects one element per block-wide pass, so a larger k
// is left to the host (the adapter throws Unsupported).
inline constexpr int64_t kMaxCudaTopK = 256;

// TopK of `in` into `values` (the input's dtype) and `indices` (either may be null: not
// written), for the dtypes of has_ordered_kernel (kernel_types.h). Launches nothing when the
// output is empty.
void launch_top_k(DType dtype, const void* in, void* values, int64_t* indices,
                  const TopKShape& shape, cudaStream_t stream);

}  // namespace kiln::cuda
