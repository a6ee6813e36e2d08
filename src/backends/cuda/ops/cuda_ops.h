// Host entry points the executor uses beyond the kernel table (copies and dtype conversion),
// and the per-file registration hooks that make up the family hooks of cuda_kernel.h.
#pragma once

#include "backends/cuda/ops/cuda_kernel.h"

namespace kiln::cuda {

// Device-to-device copy of src's bytes into dst (same byte size), on the context's stream.
void copy_tensor(LaunchContext& context, DeviceTensor& dst, const DeviceTensor& src);
// Converts src into dst's dtype (same element count): floats round to nearest even,
// float→int truncates toward zero, anything→bool is != 0 (as Tensor::to does on the host).
void cast_tensor(LaunchContext& context, const DeviceTensor& src, DeviceTensor& dst);

void register_unary_cuda_kernels(CudaKernelMap& map);
void register_binary_cuda_kernels(CudaKernelMap& map);
void register_cast_cuda_kernels(CudaKernelMap& map);
void register_indexing_cuda_kernels(CudaKernelMap& map);    // Gather*, Scatter*, Trilu, Cum*
void register_shape_cuda_kernels(CudaKernelMap& map);       // Shape, Size, ConstantOfShape, Range
void register_resize_pad_cuda_kernels(CudaKernelMap& map);  // Pad, Resize

// Attention's tactics: cuDNN's fused SDPA and Kiln's own kernels, where cuDNN runs the shapes.
// A Conv's tactics: for a channels_last depthwise Conv Kiln's tiled and direct kernels and
// cuDNN; nothing for others (cuDNN's engines are timed among themselves).
std::vector<std::string> conv_node_tactics(LaunchContext& context, const ir::Node& node,
                                           std::span<const DeviceTensor> inputs);
std::vector<std::string> attention_node_tactics(LaunchContext& context, const ir::Node& node,
                                                std::span<const DeviceTensor> inputs);
// A MatMul with a residual (input 3) and no activation: cuBLASLt's beta·C, or an Add after the
// product (passes::kResidualAfterTactic).
std::vector<std::string> matmul_node_tactics(LaunchContext& context, const ir::Node& node,
                                             std::span<const DeviceTensor> inputs);

// The bytes an Attention node's cuDNN bias and row flags take with these tensors (0 without a
// mask): what an execution context's AttentionBiasMemo (ops/attention_cudnn.h) must hold.
size_t attention_bias_bytes(const ir::Node& node, std::span<const DeviceTensor> inputs);

}  // namespace kiln::cuda
