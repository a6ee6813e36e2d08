// Launchers of the index-driven kernels (indexing.cu): GatherElements, GatherND,
// ScatterElements, ScatterND, Trilu, CumSum and CumProd. An index still out of range after wrapping
// negatives yields a zero element: a kernel cannot raise an error, and it must never read outside
// the tensor. Element-moving kernels take any dtype of has_word_kernel, indices int32 or int64;
// each launcher checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/strided_loop.h"
#include "core/dtype.h"

namespace kiln::cuda {

// out[.., j, ..] = data[.., wrap(indices[.., j, ..]), ..] on `axis`; the output has the
// indices' dims. Plain numbers only, so that it crosses into device code by value. Also
// ScatterElements' geometry (its updates have the indices' dims).
struct GatherElementsGeometry {
  int rank = 0;
  int axis = 0;
  int64_t axis_size = 0;              // the data's size on `axis`
  int64_t index_dims[kMaxRank] = {};  // also the output's dims
  int64_t data_strides[kMaxRank] = {};
};
void launch_gather_elements(DType dtype, DType index_dtype, const void* data, const void* indices,
                            void* out, const GatherElementsGeometry& geometry, int64_t count,
                            cudaStream_t stream);

// GatherND: each lookup (`depth` indices) addresses `depth` data dims after the batch dims
// and copies the slice of the remaining dims.
struct GatherNdGeometry {
  int depth = 0;
  int64_t axis_sizes[kMaxRank] = {};  // data dims batch_dims .. batch_dims + depth
  int64_t axis_strides[kMaxRank] = {};
  int64_t slice_elements = 1;
  int64_t lookups_per_batch = 0;
  int64_t batch_stride = 0;
};
void launch_gather_nd(DType dtype, DType index_dtype, const void* data, const void* indices,
                      void* out, const GatherNdGeometry& geometry, int64_t count,
                      cudaStream_t stream);

// ScatterElements into `out`, which already holds a copy of data: one thread per line of
// updates (its coordinates off `axis`) applies that line's updates in order, so duplicate
// indices resolve as on the CPU (for None, the last write wins). An index out of range after
// wrapping is skipped: the CPU reference raises an error, a kernel cannot, and it must never
// write outside the tensor. Add and Mul on float16 and bfloat16 round after each step (the
// CPU once, in FP32); integers wrap; Max and Min propagate NaN.
enum class ScatterReduction { None, Add, Mul, Max, Min };  // the order of ir/scatter_rules.h
// None takes any dtype of has_word_kernel, the reductions has_numeric_kernel's.
void launch_scatter_elements(DType dtype, DType index_dtype, const void* indices,
                             const void* updates, void* out, const GatherElementsGeometry& geometry,
                             ScatterReduction reduction, cudaStream_t stream);

// ScatterND into `out`, which already holds a copy of data: `lookups` index tuples (GatherND's
// geometry, no batch dims) each address a slice of geometry.slice_elements; one thread per
// element of a slice walks the lookups in order, so duplicates resolve as on the CPU. A tuple
// with an index out of range is skipped; reductions and dtypes as ScatterElements'.
void launch_scatter_nd(DType dtype, DType index_dtype, const void* indices, const void* updates,
                       void* out, const GatherNdGeometry& geometry, int64_t lookups,
                       ScatterReduction reduction, cudaStream_t stream);

// Trilu over `count` elements in matrices of rows × cols: keeps the upper (j - i >= k) or
// lower (j - i <= k) triangle, k read on the device from `k` (int64; null: 0).
void launch_trilu(DType dtype, const void* in, const int64_t* k, void* out, int64_t count,
                  int64_t rows, int64_t cols, bool upper, cudaStream_t stream);

// CumSum (or CumProd with `product`) along lines of `length` steps spaced `inner` apart, for
// `dtype` (has_numeric_kernel): float storage accumulates in FP32 and rounds once per output,
// integers in their own type (wrapping).
struct ScanShape {
  int64_t lines = 0, length = 0, inner = 1;
  bool exclusive = false, reverse = false, product = false;
};
void launch_scan(DType dtype, const void* in, void* out, const ScanShape& shape,
                 cudaStream_t stream);

}  // namespace kiln::cuda
