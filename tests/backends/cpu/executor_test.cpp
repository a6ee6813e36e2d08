// Tests of the CPU executor: bf16/tf32 precision emulation on a small graph against float64
// computed step by step with the same roundings, and the checks on the caller's inputs.
#include "backends/cpu/executor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/cpu/reference_helpers.h"
#include "core/error.h"

namespace kiln::cpu {
namespace {

using testing::values_of;

// Random values with magnitudes in [0.5, 2) and random signs. After rounding to bf16 (8
// significant bits) their products and sums of four stay exact in float32, so the kernel's
// float32 accumulation equals float64 and the expected results are exact.
Tensor moderate_tensor(const Dims& dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.5f, 2.0f);
  std::vector<float> values(size_t(element_count(dims)));
  for (float& v : values) v = (rng() & 1 ? -1.f : 1.f) * magnitude(rng);
  return Tensor::from_vector<float>(dims, values);
}

double bf16(double x) { return round_to_bf16(static_cast<float>(x)); }

// y = Relu(x · W + b) with x: [batch, 4] (symbolic batch), W: [4, 3], b: [3].
struct DenseGraph {
  ir::Graph graph;
  ir::Node* matmul;
  ir::Node* add;
  ir::Node* relu;
  Tensor weight = moderate_tensor({4, 3}, 2);
  Tensor bias = moderate_tensor({3}, 3);

  explicit DenseGraph(DType output_dtype = DType::Float32) {
    ir::Value* x = graph.add_input("x", DType::Float32,
                                   ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(4)}));
    ir::Value* w = graph.add_constant("W", weight);
    ir::Value* b = graph.add_constant("b", bias);
    matmul = graph.add_node("MatMul", "mm", {x, w}, {"mm_out"});
    add = graph.add_node("Add", "add", {matmul->outputs[0], b}, {"add_out"});
    relu = graph.add_node("Relu", "relu", {add->outputs[0]}, {"y"});
    for (ir::Node* node : {matmul, add, relu}) {
      node->outputs[0]->dtype = DType::Float32;
      node->outputs[0]->shape = ir::Shape({ir::Dim::named("batch"), ir::Dim::fixed(3)});
    }
    relu->outputs[0]->dtype = output_dtype;
    graph.add_output(relu->outputs[0]);
  }
  void set_precision(Precision precision) {
    for (ir::Node* node : {matmul, add, relu}) node->precision = precision;
  }
};

using Rounding = double (*)(double);
double identity(double x) { return x; }
double tf32(double x) { return round_to_tf32(static_cast<float>(x)); }

// The same computation in float64 with the roundings the executor's emulation specifies:
// `mm_in` on MatMul's inputs, `mm_out` on its output, `rest` on Add's and Relu's inputs and
// outputs.
std::vector<double> expected_dense(const Tensor& x, const DenseGraph& g, Rounding mm_in,
                                   Rounding mm_out, Rounding rest) {
  std::vector<double> xv = values_of(x), wv = values_of(g.weight), bv = values_of(g.bias), y;
  for (int64_t r = 0; r < x.dim(0); ++r) {
    for (int64_t c = 0; c < 3; ++c) {
      double mm = 0;
      for (int64_t k = 0; k < 4; ++k)
        mm += mm_in(xv[size_t(r * 4 + k)]) * mm_in(wv[size_t(k * 3 + c)]);
      double sum = rest(rest(mm_out(mm)) + rest(bv[size_t(c)]));
      y.push_back(rest(std::max(0.0, sum)));
    }
  }
  return y;
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

TEST(CpuExecutor, Bf16LayersRoundEveryStep) {
  DenseGraph g;
  g.set_precision(Precision::BF16);
  Tensor x = moderate_tensor({5, 4}, 1);
  std::vector<Tensor> out = Executor(g.graph).run({{"x", x}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::Float32);  // declared float32 stays float32
  EXPECT_EQ(out[0].dims(), (Dims{5, 3}));
  EXPECT_EQ(values_of(out[0]), expected_dense(x, g, bf16, bf16, bf16));

  // The emulation matters: fp32 layers give the unrounded result, far from the bf16 one.
  g.set_precision(Precision::FP32);
  std::vector<double> fp32 = values_of(Executor(g.graph).run({{"x", x}})[0]);
  std::vector<double> exact = expected_dense(x, g, identity, identity, identity);
  EXPECT_LT(max_difference(fp32, exact), 1e-5);
  EXPECT_GT(max_difference(fp32, values_of(out[0])), 1e-3);
}

TEST(CpuExecutor, Bf16OutputIsRoundedForAnFp32Consumer) {
  // MatMul in bf16 feeding Add and Relu in fp32: Add sees the bf16-rounded product.
  DenseGraph g;
  g.matmul->precision = Precision::BF16;
  Tensor x = moderate_tensor({4, 4}, 6);
  std::vector<double> out = values_of(Executor(g.graph).run({{"x", x}})[0]);
  std::vector<double> expected = expected_dense(x, g, bf16, bf16, identity);
  EXPECT_LT(max_difference(out, expected), 1e-6);
  EXPECT_GT(max_difference(out, expected_dense(x, g, bf16, identity, identity)), 1e-4);
}

TEST(CpuExecutor, Tf32RoundsOnlyMatMulInputs) {
  DenseGraph g;
  g.set_precision(Precision::TF32);
  Tensor x = moderate_tensor({3, 4}, 4);
  std::vector<double> out = values_of(Executor(g.graph).run({{"x", x}})[0]);
  EXPECT_LT(max_difference(out, expected_dense(x, g, tf32, identity, identity)), 1e-6);
  EXPECT_GT(max_difference(out, expected_dense(x, g, identity, identity, identity)), 1e-5);
}

TEST(CpuExecutor, Bf16DeclaredOutputIsStoredAsBf16) {
  DenseGraph g(DType::BFloat16);
  Tensor x = moderate_tensor({2, 4}, 5);
  std::vector<Tensor> out = Executor(g.graph).run({{"x", x}});
  EXPECT_EQ(out[0].dtype(), DType::BFloat16);
  // fp32 layers, only the final store rounds.
  std::vector<double> exact = expected_dense(x, g, identity, identity, identity);
  std::vector<double> got = values_of(out[0]);
  for (size_t i = 0; i < exact.size(); ++i) EXPECT_EQ(got[i], bf16(static_cast<float>(exact[i])));
}

std::string error_of(const ir::Graph& graph, const std::map<std::string, Tensor>& inputs) {
  try {
    Executor(graph).run(inputs);
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    return error.what();
  }
  return "no error";
}

::testing::AssertionResult mentions(const std::string& message,
                                    std::initializer_list<std::string> parts) {
  for (const std::string& part : parts) {
    if (message.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "'" << message << "' lacks '" << part << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(CpuExecutor, InputChecksNameTheInput) {
  DenseGraph g;
  EXPECT_TRUE(mentions(error_of(g.graph, {{"x", moderate_tensor({2, 4}, 1).to(DType::Float64)}}),
                       {"'x'", "float32", "float64"}));
  EXPECT_TRUE(mentions(error_of(g.graph, {{"x", moderate_tensor({8}, 1)}}), {"'x'", "rank 2"}));
  EXPECT_TRUE(mentions(error_of(g.graph, {{"x", moderate_tensor({2, 5}, 1)}}),
                       {"'x'", "axis 1", "expected 4", "got 5"}));
  EXPECT_TRUE(mentions(error_of(g.graph, {}), {"'x'", "not given"}));
  EXPECT_TRUE(mentions(error_of(g.graph, {{"x", moderate_tensor({2, 4}, 1)}, {"z", Tensor()}}),
                       {"unknown input 'z'"}));
}

TEST(CpuExecutor, Bf16InputRejectsFloat32) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("tokens_bf16", DType::BFloat16, ir::Shape::from_dims({2}));
  ir::Node* relu = graph.add_node("Relu", "relu", {x}, {"y"});
  relu->outputs[0]->dtype = DType::BFloat16;
  graph.add_output(relu->outputs[0]);
  EXPECT_TRUE(mentions(error_of(graph, {{"tokens_bf16", moderate_tensor({2}, 1)}}),
                       {"'tokens_bf16'", "bfloat16", "float32"}));
  Tensor good = Tensor::from_vector<float>({2}, {-1.5f, 2.5f}).to(DType::BFloat16);
  std::vector<Tensor> out = Executor(graph).run({{"tokens_bf16", good}});
  EXPECT_EQ(out[0].dtype(), DType::BFloat16);
  EXPECT_EQ(values_of(out[0]), (std::vector<double>{0.0, 2.5}));
}

TEST(CpuExecutor, SymbolicDimMustBeConsistentAcrossInputs) {
  ir::Graph graph;
  ir::Value* a =
      graph.add_input("a", DType::Float32, ir::Shape({ir::Dim::named("n"), ir::Dim::fixed(2)}));
  ir::Value* b =
      graph.add_input("b", DType::Float32, ir::Shape({ir::Dim::fixed(2), ir::Dim::named("n")}));
  ir::Node* mm = graph.add_node("MatMul", "mm", {a, b}, {"y"});
  mm->outputs[0]->dtype = DType::Float32;
  graph.add_output(mm->outputs[0]);
  EXPECT_TRUE(mentions(
      error_of(graph, {{"a", moderate_tensor({3, 2}, 1)}, {"b", moderate_tensor({2, 4}, 2)}}),
      {"'b'", "axis 1", "'n'", "expected 3", "got 4", "'a'"}));
  std::vector<Tensor> out =
      Executor(graph).run({{"a", moderate_tensor({3, 2}, 1)}, {"b", moderate_tensor({2, 3}, 2)}});
  EXPECT_EQ(out[0].dims(), (Dims{3, 3}));
  // A different size for the same symbol is fine on another run.
  out = Executor(graph).run({{"a", moderate_tensor({5, 2}, 1)}, {"b", moderate_tensor({2, 5}, 2)}});
  EXPECT_EQ(out[0].dims(), (Dims{5, 5}));
}

}  // namespace
}  // namespace kiln::cpu
