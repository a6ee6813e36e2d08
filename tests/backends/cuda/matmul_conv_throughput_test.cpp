// Not a correctness test (the op harness's matmul_cases.cpp and conv_pool_cases.cpp are):
// prints bf16 TFLOP/s for a large GEMM and a ResNet-sized convolution as a sanity figure
// for a new GPU or library version. Nothing is asserted about speed.
#include <cstdio>

#include "backends/cuda/kernels/cuda_check.h"
#include "cuda_test_util.h"
#include "kernel_runner.h"
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

// Times `reps` launches of one bf16 node on device-resident random inputs; prints TFLOP/s.
void print_throughput(const std::string& label, const std::string& op,
                      const std::vector<Dims>& input_dims, const Dims& out_dims, const Attrs& attrs,
                      double flops) {
  ir::Graph graph;
  std::vector<ir::Value*> values;
  KernelRunner runner;
  std::vector<cuda::DeviceTensor> inputs;
  for (size_t i = 0; i < input_dims.size(); ++i) {
    values.push_back(graph.add_input("in" + std::to_string(i), DType::BFloat16,
                                     ir::Shape::from_dims(input_dims[i])));
    inputs.push_back(
        runner.upload(random_tensor(DType::BFloat16, input_dims[i], -1, 1, uint32_t(i))));
  }
  ir::Node* node = graph.add_node(op, label, values, {"out"});
  node->attrs = attrs;
  node->precision = Precision::BF16;
  std::vector<cuda::DeviceTensor> outputs{runner.poisoned(DType::BFloat16, out_dims)};
  runner.launch(*node, inputs, outputs);  // chooses and caches the algorithm
  cuda::Event start = cuda::create_timing_event();
  cuda::Event stop = cuda::create_timing_event();
  constexpr int kReps = 20;
  KILN_CUDA_CHECK(cudaEventRecord(start.get(), runner.stream()));
  for (int i = 0; i < kReps; ++i) runner.launch(*node, inputs, outputs);
  KILN_CUDA_CHECK(cudaEventRecord(stop.get(), runner.stream()));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  double seconds = ms / 1e3 / kReps;
  std::printf("  %s: %.3f ms, %.1f TFLOP/s\n", label.c_str(), seconds * 1e3,
              flops / seconds / 1e12);
}

TEST(CudaMatMulConvThroughput, PrintsBf16TflopsSanityFigures) {
  KILN_REQUIRE_GPU();
  constexpr int64_t n = 4096;
  print_throughput("bf16 GEMM 4096^3", "MatMul", {{n, n}, {n, n}}, {n, n}, {}, 2.0 * n * n * n);
  Attrs conv = {{"pads", std::vector<int64_t>{1, 1, 1, 1}},
                {"strides", std::vector<int64_t>{1, 1}},
                {"dilations", std::vector<int64_t>{1, 1}},
                {"group", int64_t(1)}};
  print_throughput("bf16 conv 64->64 3x3 56x56 batch 32", "Conv",
                   {{32, 64, 56, 56}, {64, 64, 3, 3}}, {32, 64, 56, 56}, conv,
                   2.0 * 32 * 64 * 56 * 56 * 64 * 9);
}

}  // namespace
}  // namespace kiln::cuda_test
