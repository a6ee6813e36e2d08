// Tests of the CPU MatMul and Gemm kernels against naive float64 loops on random data.
#include <gtest/gtest.h>

#include "backends/cpu/reference_helpers.h"
#include "core/error.h"

namespace kiln::cpu {
namespace {

using testing::random_tensor;
using testing::relative_error;
using testing::run_kernel;
using testing::SingleNode;
using testing::values_of;

constexpr double kFp32Tolerance = 1e-5;

// numpy matmul in float64, written independently of the kernel: batch dims are aligned
// from the right and a size-1 dim repeats.
std::vector<double> reference_matmul(const Tensor& a, const Tensor& b, Dims* out_dims) {
  Dims ad = a.rank() == 1 ? Dims{1, a.dim(0)} : a.dims();
  Dims bd = b.rank() == 1 ? Dims{b.dim(0), 1} : b.dims();
  int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  size_t batch_rank = std::max(ad.size(), bd.size()) - 2;
  auto batch_dim = [&](const Dims& d, size_t i) -> int64_t {
    size_t own = d.size() - 2;
    return i < batch_rank - own ? 1 : d[i - (batch_rank - own)];
  };
  Dims out_batch;
  for (size_t i = 0; i < batch_rank; ++i)
    out_batch.push_back(std::max(batch_dim(ad, i), batch_dim(bd, i)));
  std::vector<double> av = values_of(a), bv = values_of(b), out;
  int64_t batches = element_count(out_batch);
  for (int64_t flat = 0; flat < batches; ++flat) {
    int64_t a_off = 0, b_off = 0, a_stride = 1, b_stride = 1, rest = flat;
    for (size_t i = batch_rank; i-- > 0;) {
      int64_t coord = rest % out_batch[i];
      rest /= out_batch[i];
      a_off += (batch_dim(ad, i) == 1 ? 0 : coord) * a_stride;
      b_off += (batch_dim(bd, i) == 1 ? 0 : coord) * b_stride;
      a_stride *= batch_dim(ad, i);
      b_stride *= batch_dim(bd, i);
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p)
          sum += av[(a_off * m + i) * k + p] * bv[(b_off * k + p) * n + j];
        out.push_back(sum);
      }
    }
  }
  *out_dims = out_batch;
  if (a.rank() != 1) out_dims->push_back(m);
  if (b.rank() != 1) out_dims->push_back(n);
  return out;
}

void expect_matmul_matches(const Dims& a_dims, const Dims& b_dims, const Dims& expected_dims) {
  SCOPED_TRACE(dims_to_string(a_dims) + " x " + dims_to_string(b_dims));
  Tensor a = random_tensor(a_dims, 1);
  Tensor b = random_tensor(b_dims, 2);
  SingleNode matmul("MatMul");
  Tensor out = run_kernel(*matmul.node, {a, b}).at(0);
  Dims ref_dims;
  std::vector<double> expected = reference_matmul(a, b, &ref_dims);
  EXPECT_EQ(out.dims(), expected_dims);
  EXPECT_EQ(ref_dims, expected_dims);
  EXPECT_EQ(out.dtype(), DType::Float32);
  EXPECT_LT(relative_error(values_of(out), expected), kFp32Tolerance);
}

TEST(CpuMatMul, PlainMatrices) {
  expect_matmul_matches({5, 7}, {7, 3}, {5, 3});
  // Large enough to cross the K and N blocks and leave a remainder of rows and columns.
  expect_matmul_matches({130, 300}, {300, 270}, {130, 270});
}

TEST(CpuMatMul, OneDimensionalOperandsArePromotedAndDropped) {
  expect_matmul_matches({7}, {7, 3}, {3});
  expect_matmul_matches({5, 7}, {7}, {5});
  expect_matmul_matches({7}, {7}, {});
  expect_matmul_matches({7}, {2, 7, 3}, {2, 3});
  expect_matmul_matches({2, 5, 7}, {7}, {2, 5});
}

TEST(CpuMatMul, BatchDimsBroadcast) {
  expect_matmul_matches({2, 1, 5, 7}, {3, 7, 4}, {2, 3, 5, 4});
  expect_matmul_matches({4, 6, 9}, {9, 2}, {4, 6, 2});
  expect_matmul_matches({1, 6, 9}, {3, 9, 2}, {3, 6, 2});
}

TEST(CpuMatMul, Float64AndInt64) {
  Tensor a = random_tensor({3, 4}, 3).to(DType::Float64);
  Tensor b = random_tensor({4, 2}, 4).to(DType::Float64);
  SingleNode matmul("MatMul");
  Tensor out = run_kernel(*matmul.node, {a, b}).at(0);
  Dims dims;
  EXPECT_EQ(out.dtype(), DType::Float64);
  EXPECT_LT(relative_error(values_of(out), reference_matmul(a, b, &dims)), 1e-14);

  Tensor ia = Tensor::from_vector<int64_t>({2, 2}, {1, 2, 3, 4});
  Tensor ib = Tensor::from_vector<int64_t>({2, 2}, {5, 6, 7, 8});
  Tensor iout = run_kernel(*matmul.node, {ia, ib}).at(0);
  EXPECT_EQ(iout.to_int64_vector(), (std::vector<int64_t>{19, 22, 43, 50}));
}

TEST(CpuMatMul, MismatchedInnerDimsNameTheNode) {
  SingleNode matmul("MatMul");
  try {
    run_kernel(*matmul.node, {random_tensor({2, 3}, 1), random_tensor({4, 2}, 2)});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("test_MatMul"), std::string::npos) << error.what();
  }
}

// Y = alpha * op(A) * op(B) + beta * C in float64, C broadcast to (M, N).
std::vector<double> reference_gemm(const Tensor& a, const Tensor& b, const Tensor* c, bool ta,
                                   bool tb, double alpha, double beta) {
  int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  int64_t n = tb ? b.dim(0) : b.dim(1);
  std::vector<double> av = values_of(a), bv = values_of(b), out;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        sum += (ta ? av[p * m + i] : av[i * k + p]) * (tb ? bv[j * k + p] : bv[p * n + j]);
      }
      double bias = 0;
      if (c != nullptr) {
        std::vector<double> cv = values_of(*c);
        Dims cd = c->dims();
        while (cd.size() < 2) cd.insert(cd.begin(), 1);
        bias = cv[(cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)];
      }
      out.push_back(alpha * sum + beta * bias);
    }
  }
  return out;
}

TEST(CpuGemm, TransposesAlphaBetaAndBroadcastC) {
  const int64_t m = 6, k = 9, n = 5;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (const Dims& c_dims : {Dims{}, Dims{n}, Dims{m, 1}, Dims{1, n}, Dims{m, n}}) {
        SCOPED_TRACE("transA " + std::to_string(ta) + " transB " + std::to_string(tb) + " C " +
                     dims_to_string(c_dims));
        Tensor a = random_tensor(ta ? Dims{k, m} : Dims{m, k}, 5);
        Tensor b = random_tensor(tb ? Dims{n, k} : Dims{k, n}, 6);
        Tensor c = random_tensor(c_dims, 7);
        SingleNode gemm("Gemm");
        gemm.attr("transA", int64_t{ta}).attr("transB", int64_t{tb});
        gemm.attr("alpha", 0.5).attr("beta", -2.0);
        Tensor out = run_kernel(*gemm.node, {a, b, c}).at(0);
        EXPECT_EQ(out.dims(), (Dims{m, n}));
        EXPECT_LT(relative_error(values_of(out), reference_gemm(a, b, &c, ta, tb, 0.5, -2.0)),
                  kFp32Tolerance);
      }
    }
  }
}

TEST(CpuGemm, WithoutC) {
  Tensor a = random_tensor({4, 3}, 8);
  Tensor b = random_tensor({3, 2}, 9);
  SingleNode gemm("Gemm");
  Tensor out = run_kernel(*gemm.node, {a, b, Tensor()}).at(0);
  EXPECT_LT(relative_error(values_of(out), reference_gemm(a, b, nullptr, false, false, 1, 1)),
            kFp32Tolerance);
}

TEST(CpuGemm, CThatDoesNotBroadcastIsAnError) {
  SingleNode gemm("Gemm");
  EXPECT_THROW(run_kernel(*gemm.node, {random_tensor({4, 3}, 1), random_tensor({3, 2}, 2),
                                       random_tensor({3}, 3)}),
               Error);
}

}  // namespace
}  // namespace kiln::cpu
