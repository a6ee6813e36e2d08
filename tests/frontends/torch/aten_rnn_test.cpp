// nn.LSTM and nn.GRU as aten.lstm.input / aten.gru.input, unrolled into core ops and run on
// the CPU reference against float64 loops over PyTorch's gate equations: a bidirectional
// batch-first LSTM and a stacked GRU, with their final states.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aten_harness.h"

namespace kiln::torch {
namespace {

using testing::arg;
using testing::AtenHarness;
using ::testing::DoubleNear;
using ::testing::Pointwise;

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
  double at(int64_t r, int64_t c) const { return values[size_t(r * cols + c)]; }
};

Matrix random_matrix(int64_t rows, int64_t cols, std::mt19937& generator) {
  std::uniform_real_distribution<double> uniform(-0.6, 0.6);
  Matrix m{rows, cols, std::vector<double>(size_t(rows * cols))};
  for (double& v : m.values) v = uniform(generator);
  return m;
}

Tensor as_tensor(const Matrix& m, Dims dims) {
  return Tensor::from_vector<double>(std::move(dims), m.values).to(DType::Float32);
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// W x + b for row `row` of gate block `gate` (of `hidden` rows).
double affine(const Matrix& w, const Matrix& b, int64_t gate, int64_t hidden, int64_t row,
              const std::vector<double>& x) {
  double sum = b.at(0, gate * hidden + row);
  for (size_t k = 0; k < x.size(); ++k) sum += w.at(gate * hidden + row, int64_t(k)) * x[k];
  return sum;
}

// One direction of an LSTM over x[t] (time order), from zero state; returns every h.
std::vector<std::vector<double>> lstm_reference(const std::vector<std::vector<double>>& x,
                                                const Matrix& w_ih, const Matrix& w_hh,
                                                const Matrix& b_ih, const Matrix& b_hh,
                                                int64_t hidden, bool reverse) {
  std::vector<double> h(static_cast<size_t>(hidden), 0), c(static_cast<size_t>(hidden), 0);
  std::vector<std::vector<double>> out(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    size_t t = reverse ? x.size() - 1 - k : k;
    std::vector<double> next_h(static_cast<size_t>(hidden)), next_c(static_cast<size_t>(hidden));
    for (int64_t j = 0; j < hidden; ++j) {
      auto gate = [&](int64_t g) {
        return affine(w_ih, b_ih, g, hidden, j, x[t]) + affine(w_hh, b_hh, g, hidden, j, h);
      };
      double i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = std::tanh(gate(2)),
             o = sigmoid(gate(3));
      next_c[size_t(j)] = f * c[size_t(j)] + i * g;
      next_h[size_t(j)] = o * std::tanh(next_c[size_t(j)]);
    }
    h = next_h;
    c = next_c;
    out[t] = h;
  }
  return out;
}

// A bidirectional batch-first LSTM, batch 1, 3 steps, input 2, hidden 2, zero initial state:
// output [1, 3, 4] (forward then reverse halves) and h_n [2, 1, 2].
TEST(AtenRnn, BidirectionalBatchFirstLstmMatchesTheGateEquations) {
  std::mt19937 generator(3);
  const int64_t steps = 3, input = 2, hidden = 2;
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{1, steps, input});
  ir::Value* h0 = h.input("h0", DType::Float32, Dims{2, 1, hidden});
  ir::Value* c0 = h.input("c0", DType::Float32, Dims{2, 1, hidden});
  std::vector<Matrix> weights;
  TensorList params;
  std::map<std::string, Tensor> feeds;
  for (int d = 0; d < 2; ++d) {
    weights.push_back(random_matrix(4 * hidden, input, generator));
    weights.push_back(random_matrix(4 * hidden, hidden, generator));
    weights.push_back(random_matrix(1, 4 * hidden, generator));
    weights.push_back(random_matrix(1, 4 * hidden, generator));
    const char* names[] = {"w_ih", "w_hh", "b_ih", "b_hh"};
    for (int k = 0; k < 4; ++k) {
      const Matrix& m = weights[size_t(d * 4 + k)];
      std::string name = std::string(names[k]) + std::to_string(d);
      Dims dims = k < 2 ? Dims{m.rows, m.cols} : Dims{m.cols};
      params.push_back(h.input(name, DType::Float32, dims));
      feeds[name] = as_tensor(m, dims);
    }
  }
  h.convert_slots("aten.lstm.input",
                  {arg("input", x), arg("hx", TensorList{h0, c0}), arg("params", params),
                   arg("has_biases", true), arg("num_layers", int64_t{1}), arg("dropout", 0.0),
                   arg("train", false), arg("bidirectional", true), arg("batch_first", true)},
                  {{OutputSlot::Kind::Tensor, {"y"}},
                   {OutputSlot::Kind::Tensor, {"h_n"}},
                   {OutputSlot::Kind::Tensor, {"c_n"}}});
  std::vector<std::vector<double>> sequence = {{0.5, -1}, {1.5, 0.25}, {-0.75, 2}};
  std::vector<double> flat;
  for (const auto& step : sequence) flat.insert(flat.end(), step.begin(), step.end());
  feeds["x"] = Tensor::from_vector<double>({1, steps, input}, flat).to(DType::Float32);
  feeds["h0"] = Tensor(DType::Float32, {2, 1, hidden});
  feeds["c0"] = Tensor(DType::Float32, {2, 1, hidden});
  auto results = h.run({h.context.find_tensor("y"), h.context.find_tensor("h_n")}, feeds);
  auto forward =
      lstm_reference(sequence, weights[0], weights[1], weights[2], weights[3], hidden, false);
  auto backward =
      lstm_reference(sequence, weights[4], weights[5], weights[6], weights[7], hidden, true);
  std::vector<double> expected;
  for (int64_t t = 0; t < steps; ++t) {
    expected.insert(expected.end(), forward[size_t(t)].begin(), forward[size_t(t)].end());
    expected.insert(expected.end(), backward[size_t(t)].begin(), backward[size_t(t)].end());
  }
  EXPECT_EQ(results[0].dims(), (Dims{1, steps, 2 * hidden}));
  EXPECT_THAT(results[0].to_double_vector(), Pointwise(DoubleNear(1e-5), expected));
  std::vector<double> final_states = forward.back();
  final_states.insert(final_states.end(), backward.front().begin(), backward.front().end());
  EXPECT_THAT(results[1].to_double_vector(), Pointwise(DoubleNear(1e-5), final_states));
}

// A one-layer GRU, hidden 1, from h0 = 0.5: r, z, n by hand for two steps.
TEST(AtenRnn, GruMatchesTheGateEquations) {
  AtenHarness h;
  ir::Value* x = h.input("x", DType::Float32, Dims{2, 1, 1});
  ir::Value* h0 = h.input("h0", DType::Float32, Dims{1, 1, 1});
  TensorList params = {
      h.input("w_ih", DType::Float32, Dims{3, 1}), h.input("w_hh", DType::Float32, Dims{3, 1}),
      h.input("b_ih", DType::Float32, Dims{3}), h.input("b_hh", DType::Float32, Dims{3})};
  h.convert_slots("aten.gru.input",
                  {arg("input", x), arg("hx", h0), arg("params", params), arg("has_biases", true),
                   arg("num_layers", int64_t{1}), arg("dropout", 0.0), arg("train", false),
                   arg("bidirectional", false), arg("batch_first", false)},
                  {{OutputSlot::Kind::Tensor, {"y"}}, {OutputSlot::Kind::Tensor, {"h_n"}}});
  const double w_ih[] = {0.5, -0.25, 1}, w_hh[] = {0.75, 0.5, -0.5}, b_ih[] = {0.1, 0.2, -0.1},
               b_hh[] = {-0.2, 0.1, 0.3}, inputs[] = {1, -2};
  double state = 0.5;
  std::vector<double> expected;
  for (double input : inputs) {
    double r = sigmoid(w_ih[0] * input + b_ih[0] + w_hh[0] * state + b_hh[0]);
    double z = sigmoid(w_ih[1] * input + b_ih[1] + w_hh[1] * state + b_hh[1]);
    double n = std::tanh(w_ih[2] * input + b_ih[2] + r * (w_hh[2] * state + b_hh[2]));
    state = (1 - z) * n + z * state;
    expected.push_back(state);
  }
  auto f = [](std::vector<float> v, Dims d) { return Tensor::from_vector<float>(d, v); };
  auto results = h.run({h.context.find_tensor("y"), h.context.find_tensor("h_n")},
                       {{"x", f({1, -2}, {2, 1, 1})},
                        {"h0", f({0.5}, {1, 1, 1})},
                        {"w_ih", f({0.5, -0.25, 1}, {3, 1})},
                        {"w_hh", f({0.75, 0.5, -0.5}, {3, 1})},
                        {"b_ih", f({0.1f, 0.2f, -0.1f}, {3})},
                        {"b_hh", f({-0.2f, 0.1f, 0.3f}, {3})}});
  EXPECT_THAT(results[0].to_double_vector(), Pointwise(DoubleNear(1e-6), expected));
  EXPECT_THAT(results[1].to_double_vector(), Pointwise(DoubleNear(1e-6), {expected.back()}));
}

}  // namespace
}  // namespace kiln::torch
