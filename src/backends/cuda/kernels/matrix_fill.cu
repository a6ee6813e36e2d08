// Device kernels behind matrix_fill.h: a broadcast copy for Gemm's C and zero padding for
// convolutions whose pads differ between the two sides of a dim (cuDNN takes one pad a side).

#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/matrix_fill.h"
#include "core/error.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t count) {
  int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 * 32 ? blocks : 65535 * 32);
}

// Elements are moved as raw words of the right width: no arithmetic happens here.
template <typename Word>
__global__ void broadcast_kernel(const Word* c, int64_t c_rows, int64_t c_cols, Word* d,
                                 int64_t rows, int64_t cols) {
  int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t row = i / cols, col = i % cols;
    d[i] = c[(c_rows == 1 ? 0 : row) * c_cols + (c_cols == 1 ? 0 : col)];
  }
}

template <typename Word>
__global__ void pad_kernel(const Word* in, int64_t planes, int64_t in_h, int64_t in_w, Word* out,
                           int64_t out_h, int64_t out_w, int64_t top, int64_t left) {
  int64_t total = planes * out_h * out_w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    int64_t x = i % out_w, y = (i / out_w) % out_h, plane = i / (out_w * out_h);
    int64_t sy = y - top, sx = x - left;
    bool inside = sy >= 0 && sy < in_h && sx >= 0 && sx < in_w;
    out[i] = inside ? in[(plane * in_h + sy) * in_w + sx] : Word(0);
  }
}

}  // namespace

void broadcast_matrix(DType dtype, const void* c, int64_t c_rows, int64_t c_cols, void* d,
                      int64_t rows, int64_t cols, cudaStream_t stream) {
  unsigned blocks = blocks_for(rows * cols);
  if (blocks == 0) return;
  if (dtype_size(dtype) == 4) {
    broadcast_kernel<<<blocks, kThreads, 0, stream>>>(
        static_cast<const uint32_t*>(c), c_rows, c_cols, static_cast<uint32_t*>(d), rows, cols);
  } else {
    check(dtype_size(dtype) == 2, ErrorKind::Unsupported, "broadcast_matrix: dtype ",
          dtype_name(dtype), " is not a float32/16-bit type");
    broadcast_kernel<<<blocks, kThreads, 0, stream>>>(
        static_cast<const uint16_t*>(c), c_rows, c_cols, static_cast<uint16_t*>(d), rows, cols);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
}

void pad_planes(size_t element_size, const void* in, int64_t planes, int64_t in_h, int64_t in_w,
                void* out, int64_t out_h, int64_t out_w, int64_t top, int64_t left,
                cudaStream_t stream) {
  unsigned blocks = blocks_for(planes * out_h * out_w);
  if (blocks == 0) return;
  if (element_size == 4) {
    pad_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const uint32_t*>(in), planes, in_h,
                                                in_w, static_cast<uint32_t*>(out), out_h, out_w,
                                                top, left);
  } else {
    pad_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const uint16_t*>(in), planes, in_h,
                                                in_w, static_cast<uint16_t*>(out), out_h, out_w,
                                                top, left);
  }
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::cuda
