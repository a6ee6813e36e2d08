// The Hopper product (kernels/sm90_product.h) called directly on device matrices whose output
// rows start at every alignment, against a double-precision product of the same inputs. Skips,
// saying so, off sm_90.
#include "backends/cuda/kernels/sm90_product.h"

#include <cmath>

#include "cuda_test_util.h"
#include "kernel_runner.h"

namespace kiln::cuda_test {
namespace {

#define KILN_REQUIRE_SM90()                                                                \
  do {                                                                                     \
    KILN_REQUIRE_GPU();                                                                    \
    if (cuda::compute_capability() != 90) {                                                \
      GTEST_SKIP() << "the sm90 product runs on compute capability 9.0 only; this GPU is " \
                   << cuda::compute_capability();                                          \
    }                                                                                      \
  } while (0)

struct ProductCase {
  int64_t m, n, k, ldb;
};

// ‖D − A·B‖ / ‖A·B‖ over D's m×n elements (read at its row pitch n), the reference in double
// from the same stored inputs; NaN anywhere (an unwritten element, a padding column read)
// fails.
double product_error(const Tensor& a, const Tensor& b, const Tensor& d, const ProductCase& c) {
  std::vector<double> x = a.to_double_vector(), y = b.to_double_vector();
  std::vector<double> out = d.to_double_vector();
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < c.k; ++p) sum += x[i * c.k + p] * y[p * c.ldb + j];
      double got = out[i * c.n + j];
      if (std::isnan(got)) return NAN;
      diff += (got - sum) * (got - sum);
      norm += sum * sum;
    }
  }
  return std::sqrt(diff / norm);
}

// B's columns past n are the padding a cropped product keeps; NaN there shows any read of them.
Tensor padded_weights(DType dtype, const ProductCase& c, uint32_t seed) {
  Tensor values = random_tensor(DType::Float64, {c.k, c.ldb}, -1, 1, seed);
  double* data = values.data_mutable<double>();
  for (int64_t p = 0; p < c.k; ++p) {
    for (int64_t j = c.n; j < c.ldb; ++j) data[p * c.ldb + j] = NAN;
  }
  return values.to(dtype);
}

// Odd widths put every output row at another alignment; the tiles (128 x 128 x 64) are
// partial in every dim, and 1300 x 9001 makes more tiles than SMs (the persistent kernel
// loops); a D offset of one element starts the whole output unaligned.
TEST(Sm90ProductTest, WritesRowsAtAnyAlignmentAndMatchesADoubleProduct) {
  KILN_REQUIRE_SM90();
  KernelRunner runner;
  const ProductCase cases[] = {
      {1300, 9001, 200, 9008}, {7, 3, 64, 8}, {129, 1027, 768, 1032}, {64, 50257, 40, 50264}};
  for (DType ab : {DType::BFloat16, DType::Float16}) {
    for (DType d : {DType::Float32, ab}) {
      for (const ProductCase& c : cases) {
        for (int64_t shift : {0, 1}) {
          SCOPED_TRACE(std::string(dtype_name(ab)) + " -> " + std::string(dtype_name(d)) + " " +
                       std::to_string(c.m) + "x" + std::to_string(c.n) + "x" + std::to_string(c.k) +
                       " shift " + std::to_string(shift));
          Tensor a = random_tensor(ab, {c.m, c.k}, -1, 1, uint32_t(c.m + c.n));
          Tensor b = padded_weights(ab, c, uint32_t(c.k));
          cuda::DeviceTensor a_device = runner.upload(a), b_device = runner.upload(b);
          cuda::DeviceTensor d_device = runner.poisoned(d, {c.m, c.n}, shift);
          cuda::RowMajorProduct product{c.m, c.n, c.k,           c.k,           c.ldb,         c.n,
                                        ab,  d,   a_device.data, b_device.data, d_device.data, 1.f};
          ASSERT_EQ(cuda::sm90_product_unsupported(product, 90), "");
          ASSERT_LE(cuda::sm90_product_workspace(product), runner.context().workspace_size);
          cuda::run_sm90_product(product, runner.context().workspace,
                                 runner.context().workspace_size, runner.stream());
          double error = product_error(a, b, runner.download(d_device), c);
          // float32 D holds the float32 accumulators: only summation order differs.
          EXPECT_LE(error, d == DType::Float32 ? 1e-5 : tolerance_for(precision_of(d)));
          EXPECT_EQ(runner.overwritten_guards(), "");
        }
      }
    }
  }
}

TEST(Sm90ProductTest, SaysWhyItCannotRun) {
  cuda::RowMajorProduct product{64, 10, 32, 32, 16, 10, DType::BFloat16, DType::Float32};
  EXPECT_EQ(cuda::sm90_product_unsupported(product, 90), "");
  EXPECT_NE(cuda::sm90_product_unsupported(product, 80).find("sm_90"), std::string::npos);
  product.ldb = 12;  // 24 bytes: TMA needs 16-byte multiples
  EXPECT_NE(cuda::sm90_product_unsupported(product, 90).find("16-byte"), std::string::npos);
  product.ldb = 16;
  product.ab_dtype = DType::Float32;
  EXPECT_NE(cuda::sm90_product_unsupported(product, 90).find("float32"), std::string::npos);
  product.ab_dtype = DType::Float16;
  product.d_dtype = DType::BFloat16;
  EXPECT_NE(cuda::sm90_product_unsupported(product, 90).find("bfloat16"), std::string::npos);
}

}  // namespace
}  // namespace kiln::cuda_test
