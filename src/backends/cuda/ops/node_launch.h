// What every op adapter does around the launchers of kernels/: checks the storage types a
// kernel family is built for before anything launches (Unsupported sends the node to the
// host), turns a launcher's LaunchError into kiln::Error naming the node, and hands the
// library launchers their share of the launch context.
#pragma once

#include <utility>

#include "backends/cuda/kernels/conv_plan.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "ir/graph.h"

namespace kiln::cuda {

// Rethrows `error` as kiln::Error of the same kind: "<node>: <error's message>".
[[noreturn]] void fail_for_node(const ir::Node& node, const LaunchError& error);

// Runs `launch` (calls into kernels/); a LaunchError it throws comes out naming `node`.
template <typename Launch>
void launch_for(const ir::Node& node, Launch&& launch) {
  try {
    std::forward<Launch>(launch)();
  } catch (const LaunchError& error) {
    fail_for_node(node, error);
  }
}

// The workspace as the ops that stage blocks of a product in it use it (conv_as_gemm's patch
// rows, cropped_product's product blocks): cuBLASLt keeps kStagingGemmWorkspace of it, a block
// meant to stay in L2 holds at most kL2BlockBytes (a third of an H100's L2), and each staged
// buffer starts on a kStagingAlignment boundary.
constexpr size_t kStagingGemmWorkspace = size_t(4) << 20;
constexpr size_t kL2BlockBytes = size_t(16) << 20;
constexpr size_t kStagingAlignment = 256;
inline size_t staging_aligned(size_t bytes) {
  return (bytes + kStagingAlignment - 1) / kStagingAlignment * kStagingAlignment;
}

// `base` advanced by `elements` elements of `dtype`.
inline const char* bytes_at(const void* base, int64_t elements, DType dtype) {
  return static_cast<const char*>(base) + elements * static_cast<int64_t>(dtype_size(dtype));
}

// Unsupported "<node>: no CUDA kernel for <dtype>" unless the kernels take `dtype`.
void require_float_storage(const ir::Node& node, DType dtype);    // float32/16, bfloat16
void require_numeric_storage(const ir::Node& node, DType dtype);  // those, int32, int64
void require_element_word(const ir::Node& node, DType dtype);     // 1, 2, 4 or 8 bytes
// Those of has_ordered_kernel: numeric, float64, int8, int16, uint8 (ArgMax, ArgMin).
void require_ordered_storage(const ir::Node& node, DType dtype);
// Unsupported "<node>: indices must be int32 or int64, got <dtype>".
void require_index_dtype(const ir::Node& node, DType dtype);

// The handle, stream, workspace and timed plans run_gemm / run_conv use.
GemmResources gemm_resources(const LaunchContext& context);
ConvResources conv_resources(const LaunchContext& context);

}  // namespace kiln::cuda
