// Op harness cases of the normalization kernels: Softmax along the last and an inner axis,
// LayerNormalization with and without a bias and over two axes, BatchNormalization
// (inference).
#include "op_harness.h"

namespace kiln::cuda_test {

std::vector<OpCase> normalization_cases() {
  std::vector<OpCase> cases;
  cases.push_back({.op = "Softmax", .name = "LastAxis", .inputs = {floats({3, 4, 300}, -5, 5)}});
  cases.push_back({.op = "Softmax",
                   .name = "MiddleAxis",
                   .inputs = {floats({3, 7, 5})},
                   .attrs = {{"axis", int64_t(1)}}});
  cases.push_back({.op = "Softmax",
                   .name = "FirstAxis",
                   .inputs = {floats({6, 4, 9})},
                   .attrs = {{"axis", int64_t(0)}}});
  cases.push_back({.op = "Softmax", .name = "LongRow", .inputs = {floats({2, 5000}, -5, 5)}});
  cases.push_back({.op = "LayerNormalization",
                   .name = "ScaleBias",
                   .inputs = {floats({4, 5, 96}), weight({96}), weight({96})}});
  cases.push_back(
      {.op = "LayerNormalization", .name = "ScaleOnly", .inputs = {floats({6, 64}), weight({64})}});
  cases.push_back({.op = "LayerNormalization",
                   .name = "TwoAxesEpsilon",
                   .inputs = {floats({3, 5, 24}), weight({5, 24}), weight({5, 24})},
                   .attrs = {{"axis", int64_t(-2)}, {"epsilon", 1e-3}}});
  cases.push_back({.op = "BatchNormalization",
                   .name = "Inference",
                   .inputs = {floats({2, 3, 5, 7}), weight({3}), weight({3}), weight({3}),
                              weight({3}, 0.5, 2)}});
  cases.push_back(
      {.op = "BatchNormalization",
       .name = "ThreeDEpsilon",
       .inputs = {floats({2, 4, 9}), weight({4}), weight({4}), weight({4}), weight({4}, 0.5, 2)},
       .attrs = {{"epsilon", 1e-3}}});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Normalization, CudaOpTest,
                         testing::ValuesIn(op_runs(normalization_cases())), op_run_name);

}  // namespace kiln::cuda_test
