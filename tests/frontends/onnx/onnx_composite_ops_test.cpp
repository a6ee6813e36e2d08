// ONNX ops the importer writes as several core ops (ir/composite_ops.h), run on the CPU
// reference against values worked out by hand: NaN in comparisons, large values in the
// log-sum-exp forms, ties in Hardmax, zero norms, out-of-range OneHot indices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

#include "backends/cpu/executor.h"
#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "frontends/onnx/onnx_model_builder.h"

namespace kiln::onnx {
namespace {

using ::onnx::TensorProto;
using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ModelBuilder;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor floats(Dims dims, std::vector<float> values) { return Tensor::from_vector(dims, values); }

// Imports `builder` (one output "y") and runs it on the CPU reference.
Tensor run(const ModelBuilder& builder, const std::map<std::string, Tensor>& inputs) {
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  return cpu::Executor(graph).run(inputs).at(0);
}

std::string import_message(const ModelBuilder& builder) {
  try {
    import_onnx_model_bytes(builder.bytes(), {}, {}, "model.onnx");
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

// One op over float input x of `dims` (and y of `dims` when two inputs).
std::vector<testing::DimSpec> spec(const Dims& dims) {
  return std::vector<testing::DimSpec>(dims.begin(), dims.end());
}

ModelBuilder unary(const std::string& op, const Dims& dims, int64_t opset = 18) {
  ModelBuilder builder(opset);
  builder.input("x", TensorProto::FLOAT, spec(dims));
  builder.node(op, {"x"}, {"y"}, "n");
  builder.output("y");
  return builder;
}

ModelBuilder binary(const std::string& op, const Dims& dims) {
  ModelBuilder builder(18);
  builder.input("a", TensorProto::FLOAT, spec(dims));
  builder.input("b", TensorProto::FLOAT, spec(dims));
  builder.node(op, {"a", "b"}, {"y"}, "n");
  builder.output("y", TensorProto::BOOL);
  return builder;
}

std::vector<int64_t> bools(const Tensor& tensor) { return tensor.to_int64_vector(); }

TEST(OnnxCompositeOps, OrEqualComparisonsAreFalseForNaN) {
  std::map<std::string, Tensor> inputs = {{"a", floats({4}, {1, NAN, 3, 0})},
                                          {"b", floats({4}, {1, 1, 2, NAN})}};
  EXPECT_THAT(bools(run(binary("LessOrEqual", {4}), inputs)), ElementsAre(1, 0, 0, 0));
  EXPECT_THAT(bools(run(binary("GreaterOrEqual", {4}), inputs)), ElementsAre(1, 0, 1, 0));
}

TEST(OnnxCompositeOps, XorOfBools) {
  ModelBuilder builder(18);
  builder.input("a", TensorProto::BOOL, {int64_t(4)});
  builder.input("b", TensorProto::BOOL, {int64_t(1)});
  builder.node("Xor", {"a", "b"}, {"y"});
  builder.output("y", TensorProto::BOOL);
  Tensor a = Tensor::from_vector<int64_t>({4}, {0, 1, 0, 1}).to(DType::Bool);
  Tensor b = Tensor::from_vector<int64_t>({1}, {1}).to(DType::Bool);
  EXPECT_THAT(bools(run(builder, {{"a", a}, {"b", b}})), ElementsAre(1, 0, 1, 0));
}

TEST(OnnxCompositeOps, SumBroadcastsAndMeanDivides) {
  for (const char* op : {"Sum", "Mean"}) {
    ModelBuilder builder(18);
    builder.input("a", TensorProto::FLOAT, {int64_t(2), int64_t(2)});
    builder.float_initializer("b", {2}, {10, 20});
    builder.float_initializer("c", {1}, {100});
    builder.node(op, {"a", "b", "c"}, {"y"});
    builder.output("y");
    Tensor y = run(builder, {{"a", floats({2, 2}, {1, 2, 3, 4})}});
    if (std::string(op) == "Sum") {
      EXPECT_THAT(y.to_double_vector(), ElementsAre(111, 122, 113, 124));
    } else {
      EXPECT_THAT(y.to_double_vector(),
                  ElementsAre(37, DoubleNear(122.0 / 3, 1e-4), DoubleNear(113.0 / 3, 1e-4),
                              DoubleNear(124.0 / 3, 1e-4)));
    }
  }
}

// x - max - log(sum(exp(x - max))): exact for values far apart, -inf rows stay -inf.
TEST(OnnxCompositeOps, LogSoftmaxIsStableForLargeMagnitudes) {
  ModelBuilder builder = unary("LogSoftmax", {2, 3});
  Tensor y = run(builder, {{"x", floats({2, 3}, {1000, 0, -1000, -INFINITY, -INFINITY, 0})}});
  EXPECT_THAT(y.to_double_vector(), ElementsAre(0, -1000, -2000, -kInf, -kInf, 0));

  ModelBuilder axis0 = unary("LogSoftmax", {2, 1});
  testing::attr_int(*axis0.graph().mutable_node(0), "axis", 0);
  Tensor pair = run(axis0, {{"x", floats({2, 1}, {5, 5})}});
  EXPECT_THAT(pair.to_double_vector(),
              ElementsAre(DoubleNear(-std::log(2.0), 1e-6), DoubleNear(-std::log(2.0), 1e-6)));
}

TEST(OnnxCompositeOps, ReduceLogSumExpIsStableAndHandlesInfinity) {
  ModelBuilder builder = unary("ReduceLogSumExp", {2, 2});
  builder.int64_initializer("axes", {1});
  builder.graph().mutable_node(0)->add_input("axes");
  testing::attr_int(*builder.graph().mutable_node(0), "keepdims", 0);
  Tensor y = run(builder, {{"x", floats({2, 2}, {1000, 1000, -INFINITY, -INFINITY})}});
  EXPECT_THAT(y.to_double_vector(), ElementsAre(DoubleNear(1000 + std::log(2.0), 1e-3), -kInf));
}

TEST(OnnxCompositeOps, LpReductions) {
  Tensor x = floats({2, 2}, {3, -4, 1, 0});
  std::map<std::string, std::vector<double>> expected = {
      {"ReduceL1", {8}}, {"ReduceL2", {std::sqrt(26.0)}}, {"ReduceSumSquare", {26}}};
  for (const auto& [op, values] : expected) {
    ModelBuilder builder = unary(op, {2, 2});
    testing::attr_int(*builder.graph().mutable_node(0), "keepdims", 0);
    EXPECT_THAT(run(builder, {{"x", x}}).to_double_vector(),
                ElementsAre(DoubleNear(values[0], 1e-5)))
        << op;
  }
}

// Zero vectors stay zero (ONNX's reference divides by 1 there).
TEST(OnnxCompositeOps, LpNormalizationKeepsZeroVectors) {
  ModelBuilder builder = unary("LpNormalization", {2, 2}, 22);
  Tensor y = run(builder, {{"x", floats({2, 2}, {3, 4, 0, 0})}});
  EXPECT_THAT(y.to_double_vector(),
              ElementsAre(DoubleNear(0.6, 1e-6), DoubleNear(0.8, 1e-6), 0, 0));

  ModelBuilder cubic = unary("LpNormalization", {2, 2}, 22);
  testing::attr_int(*cubic.graph().mutable_node(0), "p", 3);
  EXPECT_THAT(import_message(cubic), HasSubstr("node 'n' (LpNormalization): p=3"));
}

// Per (sample, channel) plane: (x - mean) / sqrt(var + eps), then scale and B per channel.
TEST(OnnxCompositeOps, InstanceNormalizationNormalizesEachPlane) {
  ModelBuilder builder(18);
  builder.input("x", TensorProto::FLOAT, spec({1, 2, 2, 2}));
  builder.float_initializer("scale", {2}, {2.f, -1.f});
  builder.float_initializer("b", {2}, {0.5f, 3.f});
  builder.node("InstanceNormalization", {"x", "scale", "b"}, {"y"}, "n");
  builder.output("y");
  // Channel 0: 1, 2, 3, 4 (mean 2.5, variance 1.25); channel 1: constant 7 (variance 0).
  Tensor y = run(builder, {{"x", floats({1, 2, 2, 2}, {1, 2, 3, 4, 7, 7, 7, 7})}});
  std::vector<double> expected;
  double deviation = std::sqrt(1.25 + 1e-5);
  for (double v : {1.0, 2.0, 3.0, 4.0}) expected.push_back(2 * (v - 2.5) / deviation + 0.5);
  for (int i = 0; i < 4; ++i) expected.push_back(3.0);
  std::vector<double> actual = y.to_double_vector();
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5) << i;

  ModelBuilder flat(18);
  flat.input("x", TensorProto::FLOAT, spec({2, 3}));
  flat.float_initializer("scale", {3}, {1.f, 1.f, 1.f});
  flat.float_initializer("b", {3}, {0.f, 0.f, 0.f});
  flat.node("InstanceNormalization", {"x", "scale", "b"}, {"y"}, "n");
  flat.output("y");
  EXPECT_THAT(import_message(flat), HasSubstr("rank below 3"));
}

TEST(OnnxCompositeOps, HardmaxPicksTheFirstOfTies) {
  ModelBuilder builder = unary("Hardmax", {2, 3});
  Tensor y = run(builder, {{"x", floats({2, 3}, {1, 3, 3, -1, -2, -1})}});
  EXPECT_THAT(y.to_double_vector(), ElementsAre(0, 1, 0, 1, 0, 0));

  ModelBuilder dynamic(18);
  dynamic.input("x", TensorProto::FLOAT, {int64_t(2), std::string("n")});
  dynamic.node("Hardmax", {"x"}, {"y"});
  dynamic.output("y");
  EXPECT_THAT(import_message(dynamic), HasSubstr("needs the size of axis 1"));
}

TEST(OnnxCompositeOps, ActivationsMatchTheirFormulas) {
  Tensor x = floats({4}, {-2, -0.5f, 0.5f, 100});
  auto values = [&](const std::string& op, std::function<void(::onnx::NodeProto&)> attrs) {
    ModelBuilder builder = unary(op, {4});
    if (attrs) attrs(*builder.graph().mutable_node(0));
    return run(builder, {{"x", x}}).to_double_vector();
  };
  auto near = [](std::vector<double> expected) {
    std::vector<::testing::Matcher<double>> matchers;
    for (double value : expected)
      matchers.push_back(DoubleNear(value, 1e-5 * (1 + std::abs(value))));
    return ::testing::ElementsAreArray(matchers);
  };
  EXPECT_THAT(values("Elu", nullptr), near({std::expm1(-2.0), std::expm1(-0.5), 0.5, 100}));
  EXPECT_THAT(values("Celu", [](auto& n) { testing::attr_float(n, "alpha", 2); }),
              near({2 * std::expm1(-1.0), 2 * std::expm1(-0.25), 0.5, 100}));
  double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
  EXPECT_THAT(values("Selu", nullptr),
              near({gamma * alpha * std::expm1(-2.0), gamma * alpha * std::expm1(-0.5), gamma * 0.5,
                    gamma * 100}));
  EXPECT_THAT(values("LeakyRelu", nullptr), near({-0.02, -0.005, 0.5, 100}));
  EXPECT_THAT(values("ThresholdedRelu", nullptr), near({0, 0, 0, 100}));
  EXPECT_THAT(values("Shrink", [](auto& n) { testing::attr_float(n, "bias", 0.25f); }),
              near({-1.75, 0, 0, 99.75}));
  EXPECT_THAT(values("Softsign", nullptr), near({-2.0 / 3, -0.5 / 1.5, 0.5 / 1.5, 100.0 / 101}));
  // log(1 + exp(100)) overflows float32 when written directly.
  EXPECT_THAT(values("Softplus", nullptr),
              near({std::log1p(std::exp(-2.0)), std::log1p(std::exp(-0.5)),
                    std::log1p(std::exp(0.5)), 100}));
  auto mish = [](double v) { return v * std::tanh(std::log1p(std::exp(v))); };
  EXPECT_THAT(values("Mish", nullptr), near({mish(-2), mish(-0.5), mish(0.5), 100}));
}

TEST(OnnxCompositeOps, PReluSlopeBroadcasts) {
  ModelBuilder builder(18);
  builder.input("x", TensorProto::FLOAT, {int64_t(2), int64_t(2)});
  builder.float_initializer("slope", {2}, {0.5, 2});
  builder.node("PRelu", {"x", "slope"}, {"y"});
  builder.output("y");
  Tensor y = run(builder, {{"x", floats({2, 2}, {-2, -2, 3, -1})}});
  EXPECT_THAT(y.to_double_vector(), ElementsAre(-1, -4, 3, -2));
}

// Negative indices wrap; indices outside [-depth, depth) give an all-off row.
TEST(OnnxCompositeOps, OneHotWrapsNegativeIndices) {
  ModelBuilder builder(18);
  builder.input("indices", TensorProto::INT64, {int64_t(4)});
  builder.int64_initializer("depth", {3});
  builder.float_initializer("values", {2}, {-1, 5});
  builder.node("OneHot", {"indices", "depth", "values"}, {"y"});
  builder.output("y");
  Tensor y = run(builder, {{"indices", Tensor::from_vector<int64_t>({4}, {0, -1, 3, 1})}});
  EXPECT_EQ(y.dims(), (Dims{4, 3}));
  EXPECT_THAT(y.to_double_vector(), ElementsAre(5, -1, -1, -1, -1, 5, -1, -1, -1, -1, 5, -1));

  ModelBuilder runtime(18);
  runtime.input("indices", TensorProto::INT64, {int64_t(4)});
  runtime.input("depth", TensorProto::INT64, {int64_t(1)});
  runtime.float_initializer("values", {2}, {0, 1});
  runtime.node("OneHot", {"indices", "depth", "values"}, {"y"}, "oh");
  runtime.output("y");
  EXPECT_THAT(import_message(runtime),
              HasSubstr("node 'oh' (OneHot): input 1 (depth) is computed"));
}

}  // namespace
}  // namespace kiln::onnx

namespace kiln::onnx {
namespace {

// Tile of [[0, 1], [2, 3]] by (2, 3): the block repeated twice down and three times across;
// repeats computed at run time are refused by name.
TEST(OnnxCompositeOps, TileRepeatsTheWholeBlock) {
  ModelBuilder builder(18);
  builder.input("x", ::onnx::TensorProto::FLOAT, {int64_t(2), int64_t(2)});
  builder.int64_initializer("repeats", {2, 3});
  builder.node("Tile", {"x", "repeats"}, {"y"});
  builder.output("y");
  Tensor y = run(builder, {{"x", Tensor::from_vector<float>({2, 2}, {0, 1, 2, 3})}});
  EXPECT_EQ(y.dims(), (Dims{4, 6}));
  EXPECT_THAT(y.to_double_vector(),
              ::testing::ElementsAreArray(std::vector<double>{0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3,
                                                              0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3}));
  ModelBuilder computed(18);
  computed.input("x", ::onnx::TensorProto::FLOAT, {int64_t(2), int64_t(2)});
  computed.input("repeats", ::onnx::TensorProto::INT64, {int64_t(2)});
  computed.node("Tile", {"x", "repeats"}, {"y"});
  computed.output("y");
  try {
    import_onnx_bytes(computed.bytes(), {});
    ADD_FAILURE() << "computed repeats imported";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("repeats"));
  }
}

// An ONNX LSTM or GRU over X [T, B, 3] with 2 hidden units; `lengths` adds sequence_lens.
// Outputs Y [T, D, B, 2] and Y_h [D, B, 2].
std::vector<Tensor> run_recurrent(const std::string& op, const std::string& direction,
                                  const Tensor& x, const std::optional<Tensor>& lengths,
                                  const std::map<std::string, Tensor>& weights) {
  const int64_t steps = x.dim(0), batch = x.dim(1), gates = op == "LSTM" ? 4 : 3;
  const int64_t directions = direction == "bidirectional" ? 2 : 1;
  ModelBuilder builder(18);
  builder.input("x", TensorProto::FLOAT, spec({steps, batch, 3}));
  builder.input("w", TensorProto::FLOAT, spec({directions, gates * 2, 3}));
  builder.input("r", TensorProto::FLOAT, spec({directions, gates * 2, 2}));
  builder.input("b", TensorProto::FLOAT, spec({directions, gates * 4}));
  if (lengths) builder.input("lengths", TensorProto::INT32, spec({batch}));
  auto& node = builder.node(op, {"x", "w", "r", "b", lengths ? "lengths" : ""}, {"y", "y_h"}, "n");
  testing::attr_int(node, "hidden_size", 2);
  testing::attr_string(node, "direction", direction);
  builder.output("y");
  builder.output("y_h");
  std::map<std::string, Tensor> inputs = weights;
  inputs["x"] = x;
  if (lengths) inputs["lengths"] = *lengths;
  ir::Graph graph = import_onnx_bytes(builder.bytes(), {});
  return cpu::Executor(graph).run(inputs);
}

Tensor counting_tensor(const Dims& dims, float scale, float shift) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<float> values;
  for (int64_t i = 0; i < count; ++i)
    values.push_back(std::sin(static_cast<float>(i) * scale + shift));  // varied, deterministic
  return Tensor::from_vector(dims, values);
}

// x[0:steps, b:b+1]: one sequence of the batch, cut to its length.
Tensor sequence_of(const Tensor& x, int64_t b, int64_t steps) {
  std::vector<double> all = x.to_double_vector();
  std::vector<float> values;
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t i = 0; i < x.dim(2); ++i)
      values.push_back(static_cast<float>(all[size_t((t * x.dim(1) + b) * x.dim(2) + i)]));
  return Tensor::from_vector(Dims{steps, 1, x.dim(2)}, values);
}

// sequence_lens: each sequence's outputs and final state are those of the same cell run over
// that sequence alone, cut to its length (the reverse direction starting at its last element),
// and its outputs past the length are 0.
TEST(OnnxRecurrent, SequenceLengthsEndEachSequence) {
  const Tensor x = counting_tensor({4, 3, 3}, 0.37f, 0.1f);
  const Tensor lengths = Tensor::from_vector<int32_t>(Dims{3}, {4, 2, 1});
  for (const std::string op : {"LSTM", "GRU"}) {
    for (const std::string direction : {"forward", "reverse", "bidirectional"}) {
      const int64_t gates = op == "LSTM" ? 4 : 3, d_count = direction == "bidirectional" ? 2 : 1;
      std::map<std::string, Tensor> weights = {
          {"w", counting_tensor({d_count, gates * 2, 3}, 0.71f, 0.3f)},
          {"r", counting_tensor({d_count, gates * 2, 2}, 0.53f, 0.7f)},
          {"b", counting_tensor({d_count, gates * 4}, 0.29f, 0.2f)}};
      std::vector<Tensor> masked = run_recurrent(op, direction, x, lengths, weights);
      std::vector<double> y = masked[0].to_double_vector(), y_h = masked[1].to_double_vector();
      for (int64_t b = 0; b < 3; ++b) {
        const int64_t length = lengths.to_int64_vector()[size_t(b)];
        std::vector<Tensor> alone =
            run_recurrent(op, direction, sequence_of(x, b, length), std::nullopt, weights);
        std::vector<double> y_alone = alone[0].to_double_vector(),
                            h_alone = alone[1].to_double_vector();
        for (int64_t d = 0; d < d_count; ++d) {
          for (int64_t h = 0; h < 2; ++h) {
            EXPECT_DOUBLE_EQ(y_h[size_t((d * 3 + b) * 2 + h)], h_alone[size_t(d * 2 + h)])
                << op << " " << direction << " batch " << b;
            for (int64_t t = 0; t < 4; ++t) {
              double got = y[size_t(((t * d_count + d) * 3 + b) * 2 + h)];
              double want = t < length ? y_alone[size_t((t * d_count + d) * 2 + h)] : 0.0;
              EXPECT_DOUBLE_EQ(got, want) << op << " " << direction << " batch " << b << " t " << t;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::onnx
