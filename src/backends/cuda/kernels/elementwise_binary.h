// Launchers of the elementwise binary kernels (elementwise_binary.cu) with numpy
// broadcasting: arithmetic, Mod, Max/Min, comparisons and And, and Where. Each picks 16-byte packs,
// 32-bit or 64-bit index math from the operands' layout and checks its launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"

namespace kiln::cuda {

// Mod: the remainder with the divisor's sign (ONNX Mod fmod=0, Python's %); FMod: with the
// dividend's (fmod=1, C's fmod). Integer Div, Mod and FMod by zero give 0 (a kernel cannot
// raise; the CPU reference does).
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Mod, FMod, Max, Min, Equal, Less, Greater, And };

// Equal, Less, Greater and And write bool; the others write the operands' type.
inline bool is_logical(BinaryOp op) {
  return op == BinaryOp::Equal || op == BinaryOp::Less || op == BinaryOp::Greater ||
         op == BinaryOp::And;
}

// out (out_dims, dense) = a op b, a and b dense and broadcast to out_dims, both of `dtype`:
// bool for And, else has_numeric_kernel (floats compute in FP32, int32/int64 natively).
void launch_binary(BinaryOp op, DType dtype, const void* a, const Dims& a_dims, const void* b,
                   const Dims& b_dims, void* out, const Dims& out_dims, cudaStream_t stream);

// out = cond ? x : y, broadcast to out_dims; x, y and out of `dtype` (any element size of
// has_word_kernel), out not empty.
void launch_where(DType dtype, const bool* cond, const Dims& cond_dims, const void* x,
                  const Dims& x_dims, const void* y, const Dims& y_dims, void* out,
                  const Dims& out_dims, cudaStream_t stream);

}  // namespace kiln::cuda
