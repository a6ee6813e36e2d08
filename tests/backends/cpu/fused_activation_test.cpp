// Tests of the epilogues the CPU MatMul, Gemm and Conv kernels apply for fuse_epilogues:
// MatMul's bias vector and the fused_activation attribute, against float64 loops written
// here, plus the Unsupported errors for activations no backend has.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

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

double relu(double x) { return x < 0 ? 0 : x; }
double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::numbers::sqrt2)); }
double gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
}

// out[r][j] = act(sum_p a[r][p] * b[p][j] + bias[j]) over the rows of a batch of A folded.
std::vector<double> reference_linear(const Tensor& a, const Tensor& b, const Tensor& bias,
                                     double (*activation)(double)) {
  int64_t k = b.dim(0), n = b.dim(1), rows = a.numel() / k;
  std::vector<double> av = values_of(a), bv = values_of(b), biasv = values_of(bias), out;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = biasv[size_t(j)];
      for (int64_t p = 0; p < k; ++p) sum += av[size_t(r * k + p)] * bv[size_t(p * n + j)];
      out.push_back(activation(sum));
    }
  }
  return out;
}

TEST(CpuFusedEpilogue, MatMulAddsItsBiasThenTheActivation) {
  Tensor a = random_tensor({2, 5, 7}, 1), b = random_tensor({7, 6}, 2);
  Tensor bias = random_tensor({6}, 3);
  struct Case {
    const char* name;
    double (*activation)(double);
  };
  for (auto [name, activation] :
       {Case{"Relu", relu}, Case{"Gelu", gelu}, Case{"Gelu_tanh", gelu_tanh}}) {
    SCOPED_TRACE(name);
    SingleNode matmul("MatMul");
    matmul.attr("fused_activation", std::string(name));
    Tensor out = run_kernel(*matmul.node, {a, b, bias}).at(0);
    EXPECT_EQ(out.dims(), (Dims{2, 5, 6}));
    EXPECT_LT(relative_error(values_of(out), reference_linear(a, b, bias, activation)),
              kFp32Tolerance);
  }
  SingleNode plain("MatMul");  // a bias alone, no activation: negative sums stay
  Tensor out = run_kernel(*plain.node, {a, b, bias}).at(0);
  EXPECT_LT(
      relative_error(values_of(out), reference_linear(a, b, bias, [](double x) { return x; })),
      kFp32Tolerance);
}

TEST(CpuFusedEpilogue, MatMulBiasMustBeAVectorOverTheLastDim) {
  SingleNode matmul("MatMul");
  EXPECT_THROW(run_kernel(*matmul.node, {random_tensor({3, 4}, 1), random_tensor({4, 5}, 2),
                                         random_tensor({4}, 3)}),
               Error);
  EXPECT_THROW(run_kernel(*matmul.node, {random_tensor({3, 4}, 1), random_tensor({4, 5}, 2),
                                         random_tensor({1, 5}, 3)}),
               Error);
}

TEST(CpuFusedEpilogue, GemmAppliesTheActivationAfterAlphaBetaAndC) {
  Tensor a = random_tensor({6, 9}, 4), bt = random_tensor({5, 9}, 5);  // B given transposed
  Tensor c = random_tensor({5}, 6);
  SingleNode gemm("Gemm");
  gemm.attr("transB", int64_t{1}).attr("alpha", 0.5).attr("beta", 2.0);
  gemm.attr("fused_activation", std::string("Gelu_tanh"));
  Tensor out = run_kernel(*gemm.node, {a, bt, c}).at(0);
  std::vector<double> av = values_of(a), bv = values_of(bt), cv = values_of(c), expected;
  for (int64_t i = 0; i < 6; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < 9; ++p) sum += av[size_t(i * 9 + p)] * bv[size_t(j * 9 + p)];
      expected.push_back(gelu_tanh(0.5 * sum + 2.0 * cv[size_t(j)]));
    }
  }
  EXPECT_LT(relative_error(values_of(out), expected), kFp32Tolerance);
}

TEST(CpuFusedEpilogue, ConvAppliesReluAfterItsBias) {
  Tensor x = random_tensor({2, 3, 6, 6}, 7), w = random_tensor({4, 3, 3, 3}, 8);
  Tensor bias = random_tensor({4}, 9);
  SingleNode plain("Conv");
  plain.attr("pads", std::vector<int64_t>{1, 1, 1, 1});
  SingleNode fused("Conv");
  fused.attr("pads", std::vector<int64_t>{1, 1, 1, 1})
      .attr("fused_activation", std::string("Relu"));
  std::vector<double> before = values_of(run_kernel(*plain.node, {x, w, bias}).at(0));
  std::vector<double> after = values_of(run_kernel(*fused.node, {x, w, bias}).at(0));
  ASSERT_EQ(after.size(), before.size());
  size_t negative = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    negative += before[i] < 0 ? 1 : 0;
    EXPECT_EQ(after[i], relu(before[i])) << i;
  }
  EXPECT_GT(negative, 0u);  // the case exercises the clamp
}

TEST(CpuFusedEpilogue, VectorProjectionConvAppliesSigmoidAfterItsBias) {
  Tensor x = random_tensor({3, 5, 1, 1}, 4), w = random_tensor({7, 5, 1, 1}, 5);
  Tensor bias = random_tensor({7}, 6);
  SingleNode plain("Conv");
  SingleNode fused("Conv");
  fused.attr("fused_activation", std::string("Sigmoid"));
  std::vector<double> before = values_of(run_kernel(*plain.node, {x, w, bias}).at(0));
  std::vector<double> after = values_of(run_kernel(*fused.node, {x, w, bias}).at(0));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_NEAR(after[i], 1 / (1 + std::exp(-before[i])), 1e-6) << i;
  }
}

TEST(CpuFusedEpilogue, IntegerMatMulTakesReluButNotGelu) {
  Tensor a = Tensor::from_vector<int64_t>({1, 2}, {3, -4});
  Tensor b = Tensor::from_vector<int64_t>({2, 2}, {1, 2, 1, -1});
  SingleNode relu_node("MatMul");
  relu_node.attr("fused_activation", std::string("Relu"));
  EXPECT_EQ(run_kernel(*relu_node.node, {a, b}).at(0).to_int64_vector(),
            (std::vector<int64_t>{0, 10}));  // [3 - 4, 6 + 4] clamped
  SingleNode gelu_node("MatMul");
  gelu_node.attr("fused_activation", std::string("Gelu_tanh"));
  try {
    run_kernel(*gelu_node.node, {a, b});
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  }
}

TEST(CpuFusedEpilogue, UnknownActivationsAreUnsupportedNamingTheNode) {
  Tensor m = random_tensor({3, 3}, 1);
  struct Case {
    const char* op;
    const char* activation;
    std::vector<Tensor> inputs;
  };
  std::vector<Case> cases = {
      {"MatMul", "Tanh", {m, m}},
      {"Gemm", "Gelu_erf", {m, m}},
      {"Conv", "Gelu", {random_tensor({1, 2, 4, 4}, 2), random_tensor({2, 2, 3, 3}, 3)}},
      {"Conv", "Gelu_tanh", {random_tensor({1, 2, 4, 4}, 2), random_tensor({2, 2, 3, 3}, 3)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " + " + c.activation);
    SingleNode node(c.op);
    node.attr("fused_activation", std::string(c.activation));
    try {
      run_kernel(*node.node, c.inputs);
      ADD_FAILURE() << "no error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
      EXPECT_NE(std::string(error.what()).find("test_" + std::string(c.op)), std::string::npos)
          << error.what();
      EXPECT_NE(std::string(error.what()).find(c.activation), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace kiln::cpu
