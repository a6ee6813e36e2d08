// GPU tests of MatMul/Gemm (cuBLASLt), Conv (cuDNN) and the pools against the CPU reference
// executor in fp32, tf32, fp16 and bf16, plus a printed TFLOP/s sanity figure.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/executor.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_resources.h"
#include "backends/cuda/runtime/launch_resources.h"
#include "core/error.h"
#include "ir/op_schema.h"

namespace kiln::cuda {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA GPU: skipped"

// Normalized-error tolerances, one per precision (tf32 applies to the matrix ops only).
double tolerance(Precision precision) {
  switch (precision) {
    case Precision::FP32:
      return 1e-5;
    case Precision::TF32:
      return 2e-3;
    case Precision::FP16:
      return 5e-3;
    case Precision::BF16:
      return 2e-2;
  }
  return 0;
}

constexpr Precision kAllPrecisions[] = {Precision::FP32, Precision::TF32, Precision::FP16,
                                        Precision::BF16};
constexpr Precision kStoragePrecisions[] = {Precision::FP32, Precision::FP16, Precision::BF16};

// Handles, workspace and plan caches shared by every test (created on first use).
struct Gpu {
  Stream stream = create_stream();
  LaunchResources resources{size_t(64) << 20, stream.get()};
  LaunchContext& context = resources.context();

  static Gpu& get() {
    static Gpu gpu;
    return gpu;
  }
};

Tensor random_tensor(const Dims& dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> values(size_t(element_count(dims)));
  for (float& v : values) v = dist(rng);
  return Tensor::from_vector<float>(dims, values);
}

DeviceBuffer upload(const Tensor& tensor) {
  DeviceBuffer buffer(std::max<size_t>(tensor.nbytes(), 1));
  upload_blocking(buffer.data(), tensor.raw(), tensor.nbytes());
  return buffer;
}

using Attrs = std::map<std::string, ir::AttrValue>;

// One node on fresh random inputs, run by the CPU reference executor and by the CUDA kernel
// (output poisoned with NaN bytes first); returns the normalized error.
double gpu_vs_cpu(const std::string& op, const std::vector<Dims>& input_dims, const Attrs& attrs,
                  Precision precision, uint32_t seed = 1) {
  DType storage = precision_storage_dtype(precision);
  ir::Graph graph;
  std::vector<ir::Value*> values;
  std::map<std::string, Tensor> host_inputs;
  for (size_t i = 0; i < input_dims.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    values.push_back(graph.add_input(name, storage, ir::Shape::from_dims(input_dims[i])));
    host_inputs[name] = random_tensor(input_dims[i], seed * 31 + uint32_t(i)).to(storage);
  }
  ir::Node* node = graph.add_node(op, "test_" + op, values, {"out"});
  node->attrs = attrs;
  node->precision = precision;
  ir::infer_graph(graph);
  graph.add_output(node->outputs[0]);
  Tensor expected = cpu::Executor(graph).run(host_inputs)[0];  // applies fused epilogues too

  Gpu& gpu = Gpu::get();
  std::vector<DeviceBuffer> buffers;
  std::vector<DeviceTensor> inputs;
  for (size_t i = 0; i < input_dims.size(); ++i) {
    const Tensor& t = host_inputs["in" + std::to_string(i)];
    buffers.push_back(upload(t));
    inputs.push_back({t.dtype(), t.dims(), buffers.back().data()});
  }
  DeviceBuffer out_buffer(std::max<size_t>(expected.nbytes(), 1));
  KILN_CUDA_CHECK(cudaMemset(out_buffer.data(), 0xFF, expected.nbytes()));  // NaN bytes
  KILN_CUDA_CHECK(cudaDeviceSynchronize());  // the kernel's stream does not wait for it
  std::vector<DeviceTensor> outputs{{expected.dtype(), expected.dims(), out_buffer.data()}};
  CudaKernel kernel = find_cuda_kernel(op);
  EXPECT_NE(kernel, nullptr) << op;
  if (kernel == nullptr) return NAN;
  kernel(gpu.context, *node, inputs, outputs);
  KILN_CUDA_CHECK(cudaStreamSynchronize(gpu.context.stream));
  Tensor actual(expected.dtype(), expected.dims());
  KILN_CUDA_CHECK(cudaMemcpy(actual.raw_mutable(), out_buffer.data(), expected.nbytes(),
                             cudaMemcpyDeviceToHost));
  return normalized_error(actual, expected);
}

// Runs the case in each precision and checks each error (NaN never passes: !(NaN <= tol)).
template <size_t kCount>
void expect_all(const std::string& op, const std::vector<Dims>& dims, const Attrs& attrs,
                const Precision (&precisions)[kCount]) {
  for (Precision precision : precisions) {
    double error = gpu_vs_cpu(op, dims, attrs, precision, 7);
    std::printf("  %-18s %-5s normalized error %.3g\n", op.c_str(),
                std::string(precision_name(precision)).c_str(), error);
    EXPECT_TRUE(error <= tolerance(precision))
        << op << " in " << precision_name(precision) << ": normalized error " << error;
  }
}

TEST(CudaMatMul, TwoD) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{37, 53}, {53, 29}}, {}, kAllPrecisions);
  expect_all("MatMul", {{128, 256}, {256, 96}}, {}, kAllPrecisions);
}

// B stored as [N, K] (passes::orient_matmul_weights), with a batch folded into the rows and
// with a fused bias.
TEST(CudaMatMul, TransposedWeight) {
  SKIP_WITHOUT_GPU();
  Attrs trans_b = {{"transB", int64_t(1)}};
  expect_all("MatMul", {{37, 48}, {29, 48}}, trans_b, kAllPrecisions);
  expect_all("MatMul", {{3, 5, 64}, {101, 64}}, trans_b, kAllPrecisions);
  expect_all("MatMul", {{3, 5, 64}, {101, 64}, {101}}, trans_b, kAllPrecisions);
}

// Output rows not a multiple of 16 bytes long (like GPT-2's 50257 logits), many rows, with a
// transposed weight, a bias and GELU.
TEST(CudaMatMul, MisalignedOutputRows) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{2, 150, 64}, {64, 101}}, {}, kAllPrecisions);
  Attrs gelu = {{"fused_activation", std::string("Gelu_tanh")}, {"transB", int64_t(1)}};
  expect_all("MatMul", {{8000, 64}, {4097, 64}, {4097}}, gelu, kAllPrecisions);
}

TEST(CudaMatMul, Batched) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{3, 17, 40}, {3, 40, 23}}, {}, kAllPrecisions);
}

TEST(CudaMatMul, BroadcastBatch) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{2, 1, 9, 16}, {3, 16, 7}}, {}, kAllPrecisions);  // mixed: a loop
  expect_all("MatMul", {{5, 11, 8}, {8, 6}}, {}, kAllPrecisions);         // shared B: folded
  expect_all("MatMul", {{11, 8}, {4, 8, 6}}, {}, kAllPrecisions);         // shared A: stride 0
}

TEST(CudaMatMul, OneD) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{16}, {4, 16, 5}}, {}, kAllPrecisions);
  expect_all("MatMul", {{3, 7, 16}, {16}}, {}, kAllPrecisions);
}

TEST(CudaGemm, Transposes) {
  SKIP_WITHOUT_GPU();
  expect_all("Gemm", {{24, 13}, {24, 19}}, {{"transA", int64_t(1)}}, kAllPrecisions);
  expect_all("Gemm", {{13, 24}, {19, 24}}, {{"transB", int64_t(1)}}, kAllPrecisions);
  expect_all("Gemm", {{24, 13}, {19, 24}}, {{"transA", int64_t(1)}, {"transB", int64_t(1)}},
             kAllPrecisions);
}

TEST(CudaGemm, AlphaBetaAndFullC) {
  SKIP_WITHOUT_GPU();
  expect_all("Gemm", {{13, 24}, {24, 19}, {13, 19}}, {{"alpha", 0.5}, {"beta", 2.0}},
             kAllPrecisions);
}

TEST(CudaGemm, BiasRowEpilogueAndBroadcastC) {
  SKIP_WITHOUT_GPU();
  expect_all("Gemm", {{13, 24}, {24, 19}, {19}}, {}, kAllPrecisions);  // bias epilogue
  expect_all("Gemm", {{13, 24}, {24, 19}, {1, 19}}, {{"beta", 0.5}}, kAllPrecisions);
  expect_all("Gemm", {{13, 24}, {24, 19}, {13, 1}}, {}, kAllPrecisions);  // column C
}

Attrs fused(const char* activation) { return {{"fused_activation", std::string(activation)}}; }

// The CPU reference applies fused_activation itself (after the bias, rounding once).
TEST(CudaGemm, FusedActivationEpilogues) {
  SKIP_WITHOUT_GPU();
  expect_all("Gemm", {{13, 24}, {24, 19}, {19}}, fused("Relu"), kAllPrecisions);
  expect_all("Gemm", {{13, 24}, {24, 19}, {19}}, fused("Gelu_tanh"), kAllPrecisions);
  expect_all("Gemm", {{13, 24}, {24, 19}}, fused("Relu"), kAllPrecisions);  // no C
}

// MatMul's bias input (from fuse_epilogues) through each of the kernel's batch layouts.
TEST(CudaMatMul, BiasAndFusedActivation) {
  SKIP_WITHOUT_GPU();
  expect_all("MatMul", {{3, 17, 40}, {40, 23}, {23}}, {}, kAllPrecisions);  // folded batch
  expect_all("MatMul", {{3, 17, 40}, {40, 23}, {23}}, fused("Relu"), kAllPrecisions);
  expect_all("MatMul", {{3, 17, 40}, {40, 23}, {23}}, fused("Gelu_tanh"), kAllPrecisions);
  expect_all("MatMul", {{3, 17, 40}, {3, 40, 23}, {23}}, fused("Relu"), kAllPrecisions);  // strided
  expect_all("MatMul", {{2, 1, 9, 16}, {3, 16, 7}, {7}}, fused("Gelu_tanh"), kAllPrecisions);
  expect_all("MatMul", {{5, 11, 8}, {8, 6}}, fused("Relu"), kAllPrecisions);  // no bias
}

Attrs conv_attrs(std::vector<int64_t> pads, std::vector<int64_t> strides,
                 std::vector<int64_t> dilations, int64_t group) {
  return {{"pads", pads}, {"strides", strides}, {"dilations", dilations}, {"group", group}};
}

TEST(CudaConv, PlainWithBias) {
  SKIP_WITHOUT_GPU();
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1), kAllPrecisions);
}

TEST(CudaConv, GroupsAndDepthwise) {
  SKIP_WITHOUT_GPU();
  expect_all("Conv", {{2, 8, 10, 10}, {12, 4, 3, 3}, {12}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 2), kAllPrecisions);
  expect_all("Conv", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}},
             conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 8), kAllPrecisions);
}

TEST(CudaConv, StrideDilationAndUnevenPads) {
  SKIP_WITHOUT_GPU();
  expect_all("Conv", {{2, 4, 15, 13}, {6, 4, 3, 3}}, conv_attrs({0, 1, 2, 1}, {2, 2}, {1, 1}, 1),
             kAllPrecisions);
  expect_all("Conv", {{1, 4, 16, 16}, {6, 4, 3, 3}, {6}},
             conv_attrs({2, 2, 2, 2}, {1, 2}, {2, 2}, 1), kAllPrecisions);
}

// Conv + fused Relu: with a bias (cuDNN's conv-bias-ReLU, or its fallback), without one (an
// in-place ReLU after the convolution), and with uneven pads (explicitly padded input).
TEST(CudaConv, FusedRelu) {
  SKIP_WITHOUT_GPU();
  Attrs attrs = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1);
  attrs["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}, {16}}, attrs, kAllPrecisions);
  expect_all("Conv", {{2, 8, 12, 12}, {16, 8, 3, 3}}, attrs, kAllPrecisions);
  Attrs uneven = conv_attrs({0, 1, 2, 1}, {2, 2}, {1, 1}, 1);
  uneven["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 4, 15, 13}, {6, 4, 3, 3}, {6}}, uneven, kAllPrecisions);
  Attrs depthwise = conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 8);
  depthwise["fused_activation"] = std::string("Relu");
  expect_all("Conv", {{2, 8, 10, 10}, {8, 1, 3, 3}, {8}}, depthwise, kAllPrecisions);
}

// Straight to the kernels (the schemas would refuse these first): an activation the kernel
// lacks is Unsupported, naming the node, before anything is launched.
TEST(CudaFusedActivation, UnknownValuesAreUnsupported) {
  SKIP_WITHOUT_GPU();
  struct Case {
    const char* op;
    const char* activation;
    std::vector<Dims> inputs;
    Dims output;
  };
  for (const Case& c : {Case{"Conv", "Gelu_tanh", {{1, 2, 5, 5}, {3, 2, 3, 3}}, {1, 3, 3, 3}},
                        Case{"MatMul", "Sigmoid", {{4, 8}, {8, 4}}, {4, 4}},
                        Case{"Gemm", "Gelu", {{4, 8}, {8, 4}}, {4, 4}}}) {
    ir::Graph graph;
    ir::Node* node = graph.add_node(c.op, std::string("fused_") + c.op, {}, {"y"});
    node->attrs["fused_activation"] = std::string(c.activation);
    std::vector<DeviceBuffer> buffers;
    std::vector<DeviceTensor> inputs;
    for (const Dims& dims : c.inputs) {
      buffers.emplace_back(size_t(element_count(dims)) * 4);
      inputs.push_back({DType::Float32, dims, buffers.back().data()});
    }
    DeviceBuffer out(size_t(element_count(c.output)) * 4);
    std::vector<DeviceTensor> outputs{{DType::Float32, c.output, out.data()}};
    try {
      find_cuda_kernel(c.op)(Gpu::get().context, *node, inputs, outputs);
      ADD_FAILURE() << c.op << ": no error for fused_activation " << c.activation;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::Unsupported) << error.what();
      EXPECT_NE(std::string(error.what()).find(node->name), std::string::npos) << error.what();
    }
  }
}

TEST(CudaConv, OneD) {
  SKIP_WITHOUT_GPU();
  expect_all("Conv", {{2, 6, 30}, {8, 6, 5}, {8}}, conv_attrs({2, 2}, {2}, {1}, 1), kAllPrecisions);
}

Attrs pool_attrs(std::vector<int64_t> kernel, std::vector<int64_t> pads,
                 std::vector<int64_t> strides) {
  return {{"kernel_shape", kernel}, {"pads", pads}, {"strides", strides}};
}

TEST(CudaPool, MaxPool) {
  SKIP_WITHOUT_GPU();
  expect_all("MaxPool", {{2, 5, 13, 11}}, pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2}),
             kStoragePrecisions);
  Attrs ceil = pool_attrs({3, 3}, {0, 0, 1, 1}, {2, 2});
  ceil["ceil_mode"] = int64_t(1);
  ceil["dilations"] = std::vector<int64_t>{1, 2};
  expect_all("MaxPool", {{2, 5, 13, 11}}, ceil, kStoragePrecisions);
}

TEST(CudaPool, AveragePool) {
  SKIP_WITHOUT_GPU();
  Attrs attrs = pool_attrs({3, 3}, {1, 1, 1, 1}, {2, 2});
  expect_all("AveragePool", {{2, 5, 13, 11}}, attrs, kStoragePrecisions);
  attrs["count_include_pad"] = int64_t(1);
  attrs["ceil_mode"] = int64_t(1);
  expect_all("AveragePool", {{2, 5, 13, 11}}, attrs, kStoragePrecisions);
  expect_all("AveragePool", {{2, 3, 20}}, pool_attrs({4}, {1, 2}, {3}), kStoragePrecisions);
}

TEST(CudaPool, GlobalAveragePool) {
  SKIP_WITHOUT_GPU();
  expect_all("GlobalAveragePool", {{3, 7, 9, 9}}, {}, kStoragePrecisions);
  expect_all("GlobalAveragePool", {{2, 4, 50, 50}}, {}, kStoragePrecisions);
}

// Times `reps` launches of one bf16 node on device-resident random inputs; prints TFLOP/s.
void print_throughput(const std::string& label, const std::string& op,
                      const std::vector<Dims>& input_dims, const Dims& out_dims, const Attrs& attrs,
                      double flops) {
  ir::Graph graph;
  std::vector<ir::Value*> values;
  std::vector<DeviceBuffer> buffers;
  std::vector<DeviceTensor> inputs;
  for (size_t i = 0; i < input_dims.size(); ++i) {
    values.push_back(graph.add_input("in" + std::to_string(i), DType::BFloat16,
                                     ir::Shape::from_dims(input_dims[i])));
    buffers.push_back(upload(random_tensor(input_dims[i], uint32_t(i)).to(DType::BFloat16)));
    inputs.push_back({DType::BFloat16, input_dims[i], buffers.back().data()});
  }
  ir::Node* node = graph.add_node(op, label, values, {"out"});
  node->attrs = attrs;
  node->precision = Precision::BF16;
  DeviceBuffer out(size_t(element_count(out_dims)) * 2);
  std::vector<DeviceTensor> outputs{{DType::BFloat16, out_dims, out.data()}};
  Gpu& gpu = Gpu::get();
  CudaKernel kernel = find_cuda_kernel(op);
  ASSERT_NE(kernel, nullptr);
  kernel(gpu.context, *node, inputs, outputs);  // chooses and caches the algorithm
  cudaEvent_t start = nullptr, stop = nullptr;  // create_event() has timing disabled
  KILN_CUDA_CHECK(cudaEventCreate(&start));
  KILN_CUDA_CHECK(cudaEventCreate(&stop));
  Event start_owner(start), stop_owner(stop);
  constexpr int kReps = 20;
  KILN_CUDA_CHECK(cudaEventRecord(start, gpu.context.stream));
  for (int i = 0; i < kReps; ++i) kernel(gpu.context, *node, inputs, outputs);
  KILN_CUDA_CHECK(cudaEventRecord(stop, gpu.context.stream));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  double seconds = ms / 1e3 / kReps;
  std::printf("  %s: %.3f ms, %.1f TFLOP/s\n", label.c_str(), seconds * 1e3,
              flops / seconds / 1e12);
}

TEST(CudaMatMulConvThroughput, PrintsBf16TflopsSanityFigures) {
  SKIP_WITHOUT_GPU();
  constexpr int64_t n = 4096;
  print_throughput("bf16 GEMM 4096^3", "MatMul", {{n, n}, {n, n}}, {n, n}, {}, 2.0 * n * n * n);
  print_throughput("bf16 conv 64->64 3x3 56x56 batch 32", "Conv",
                   {{32, 64, 56, 56}, {64, 64, 3, 3}}, {32, 64, 56, 56},
                   conv_attrs({1, 1, 1, 1}, {1, 1}, {1, 1}, 1), 2.0 * 32 * 64 * 56 * 56 * 64 * 9);
}

}  // namespace
}  // namespace kiln::cuda
