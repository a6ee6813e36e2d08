// Cache-blocked matrix product for the CPU reference. The loop order is i-k-j so the
// innermost loop streams rows of B and C contiguously (the compiler vectorizes it), and B is
// walked in blocks small enough to stay in L2 while a few rows of C stay in L1.
#include "backends/cpu/gemm.h"

#include <algorithm>

#include "core/parallel.h"

namespace kiln::cpu {
namespace {

constexpr int64_t kBlockN = 256;  // columns of B/C per block: 4 rows of C fit in L1
constexpr int64_t kBlockK = 128;  // rows of B per block: kBlockK x kBlockN fits in L2
constexpr int64_t kVector = 8;    // fixed-length chunks the compiler turns into SIMD code

// c_rows[r][0, n) += sum_kk a_rows[r][kk] * b[kk][0, n) for `Rows` rows at once, so each
// B element loaded serves every row.
template <typename T, int Rows>
void accumulate_rows(const T* const* a_rows, const T* b, int64_t ldb, T* const* c_rows,
                     int64_t k_count, int64_t n) {
  for (int64_t kk = 0; kk < k_count; ++kk) {
    T scale[Rows];
    for (int r = 0; r < Rows; ++r) scale[r] = a_rows[r][kk];
    const T* __restrict__ b_row = b + kk * ldb;
    int64_t j = 0;
    for (; j + kVector <= n; j += kVector) {
      for (int r = 0; r < Rows; ++r) {
        T* __restrict__ c_row = c_rows[r] + j;
        for (int v = 0; v < kVector; ++v) c_row[v] += scale[r] * b_row[j + v];
      }
    }
    for (; j < n; ++j) {
      for (int r = 0; r < Rows; ++r) c_rows[r][j] += scale[r] * b_row[j];
    }
  }
}

}  // namespace

template <typename T>
void gemm_serial(const T* a, const T* b, T* c, int64_t rows, int64_t n, int64_t k) {
  std::fill(c, c + rows * n, T{});
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    int64_t n_block = std::min(kBlockN, n - j0);
    for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
      int64_t k_block = std::min(kBlockK, k - k0);
      const T* b_block = b + k0 * n + j0;
      int64_t i = 0;
      for (; i + 4 <= rows; i += 4) {
        const T* a_rows[4] = {a + i * k + k0, a + (i + 1) * k + k0, a + (i + 2) * k + k0,
                              a + (i + 3) * k + k0};
        T* c_rows[4] = {c + i * n + j0, c + (i + 1) * n + j0, c + (i + 2) * n + j0,
                        c + (i + 3) * n + j0};
        accumulate_rows<T, 4>(a_rows, b_block, n, c_rows, k_block, n_block);
      }
      for (; i < rows; ++i) {
        const T* a_rows[1] = {a + i * k + k0};
        T* c_rows[1] = {c + i * n + j0};
        accumulate_rows<T, 1>(a_rows, b_block, n, c_rows, k_block, n_block);
      }
    }
  }
}

template <typename T>
void gemm_batched(const std::vector<GemmOperands<T>>& batch, int64_t m, int64_t n, int64_t k) {
  if (batch.empty() || m <= 0 || n <= 0) return;
  int64_t total_rows = static_cast<int64_t>(batch.size()) * m;
  // Enough rows per thread that starting it (tens of microseconds) is worth it.
  int64_t min_rows = std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(1, n * k));
  parallel_for(total_rows, min_rows, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      int64_t item = begin / m;
      int64_t row = begin % m;
      int64_t rows = std::min(m - row, end - begin);
      const GemmOperands<T>& ops = batch[static_cast<size_t>(item)];
      gemm_serial(ops.a + row * k, ops.b, ops.c + row * n, rows, n, k);
      begin += rows;
    }
  });
}

template void gemm_serial<float>(const float*, const float*, float*, int64_t, int64_t, int64_t);
template void gemm_serial<double>(const double*, const double*, double*, int64_t, int64_t, int64_t);
template void gemm_serial<int32_t>(const int32_t*, const int32_t*, int32_t*, int64_t, int64_t,
                                   int64_t);
template void gemm_serial<int64_t>(const int64_t*, const int64_t*, int64_t*, int64_t, int64_t,
                                   int64_t);
template void gemm_batched<float>(const std::vector<GemmOperands<float>>&, int64_t, int64_t,
                                  int64_t);
template void gemm_batched<double>(const std::vector<GemmOperands<double>>&, int64_t, int64_t,
                                   int64_t);
template void gemm_batched<int32_t>(const std::vector<GemmOperands<int32_t>>&, int64_t, int64_t,
                                    int64_t);
template void gemm_batched<int64_t>(const std::vector<GemmOperands<int64_t>>&, int64_t, int64_t,
                                    int64_t);

}  // namespace kiln::cpu
