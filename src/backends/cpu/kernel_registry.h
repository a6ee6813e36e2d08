// Registration hooks, one per op family file (elementwise.cpp, reduction.cpp, ...).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "backends/cpu/kernel.h"

namespace kiln::cpu {

using KernelMap = std::map<std::string, Kernel, std::less<>>;

void register_elementwise_kernels(
    KernelMap& map);  // unary, binary, compare, logic, Where, Cast, Clip, Max, Min, IsNaN, IsInf
void register_reduction_kernels(KernelMap& map);      // Reduce*, ArgMax/Min, TopK, Softmax
void register_normalization_kernels(KernelMap& map);  // LayerNormalization, BatchNormalization
void register_data_movement_kernels(
    KernelMap& map);  // Reshape, Transpose, Concat, Split, Slice, Gather, Expand, Squeeze,
                      // Unsqueeze, Flatten, Trilu
void register_shape_kernels(KernelMap& map);      // Shape, Size, ConstantOfShape, Range
void register_matmul_kernels(KernelMap& map);     // MatMul, Gemm
void register_conv_pool_kernels(KernelMap& map);  // Conv, MaxPool, AveragePool, GlobalAveragePool
void register_conv_transpose_kernels(KernelMap& map);  // ConvTranspose
void register_attention_kernels(KernelMap& map);       // Attention
void register_indexing_kernels(KernelMap& map);        // Gather*, ScatterElements, CumSum, CumProd
void register_pad_kernels(KernelMap& map);             // Pad
void register_resize_kernels(KernelMap& map);          // Resize

}  // namespace kiln::cpu
