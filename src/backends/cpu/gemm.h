// The CPU backend's one matrix-product routine, shared by MatMul, Gemm, Conv and Attention:
// cache-blocked, accumulating in T (float32 for float inputs, float64 for double), threaded.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::cpu {

// c (rows x n) = a (rows x k) · b (k x n); all row-major and contiguous. Single-threaded.
template <typename T>
void gemm_serial(const T* a, const T* b, T* c, int64_t rows, int64_t n, int64_t k);

// One product of a batch: a (m x k), b (k x n), c (m x n).
template <typename T>
struct GemmOperands {
  const T* a;
  const T* b;
  T* c;
};

// Runs every product (all of the same m, n, k) with the rows of all of them split across
// threads; small problems stay on the calling thread.
template <typename T>
void gemm_batched(const std::vector<GemmOperands<T>>& batch, int64_t m, int64_t n, int64_t k);

// dst (cols x rows) = transpose of src (rows x cols).
template <typename T>
void transpose_matrix(const T* src, T* dst, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;  // tiles keep both the reads and the writes in cache
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      int64_t r1 = r0 + kTile < rows ? r0 + kTile : rows;
      int64_t c1 = c0 + kTile < cols ? c0 + kTile : cols;
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t col = c0; col < c1; ++col) dst[col * rows + r] = src[r * cols + col];
      }
    }
  }
}

}  // namespace kiln::cpu
