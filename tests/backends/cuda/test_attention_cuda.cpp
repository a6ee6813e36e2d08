// The fused CUDA Attention kernel against the CPU reference (same node precisions) on fresh
// random inputs: 4-D and 3-D, GQA, causal, bool / float masks, softcap, fp32/fp16/bf16.
// Outputs are poisoned (NaN bytes) before launch; NaN never passes. Plus a printed timing.
#include <chrono>
#include <iostream>

#include "backends/cpu/executor.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_executor.h"
#include "backends/cuda/cuda_kernel.h"
#include "cuda_test_util.h"
#include "ir/op_schema.h"
#include "passes/passes.h"

namespace kiln {
namespace {

struct AttentionCase {
  std::string name;
  Dims q, k, v;
  std::optional<Dims> mask;
  DType mask_dtype = DType::Bool;
  std::map<std::string, ir::AttrValue> attrs;
  int64_t empty_mask_row = -1;  // a (2-D mask) row with every key masked: must give zeros
};

std::vector<AttentionCase> attention_cases() {
  using A = std::map<std::string, ir::AttrValue>;
  std::vector<AttentionCase> cases;
  cases.push_back({"Plain4D", {2, 4, 37, 64}, {2, 4, 45, 64}, {2, 4, 45, 64}, {}, DType::Bool, {}});
  cases.push_back({"Causal4D", {2, 3, 70, 40}, {2, 3, 70, 40}, {2, 3, 70, 40}, {}, DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  cases.push_back({"CausalShortQuery", {1, 2, 5, 32}, {1, 2, 77, 32}, {1, 2, 77, 32}, {}, DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  cases.push_back({"GqaWideValues", {2, 8, 33, 128}, {2, 2, 65, 128}, {2, 2, 65, 96}, {}, DType::Bool, {}});
  cases.push_back({"ThreeDGqa", {2, 19, 6 * 32}, {2, 23, 3 * 32}, {2, 23, 3 * 32}, {}, DType::Bool,
                   A{{"q_num_heads", int64_t(6)}, {"kv_num_heads", int64_t(3)}}});
  cases.push_back({"ThreeDCausalSoftcap", {1, 40, 4 * 64}, {1, 40, 64}, {1, 40, 64}, {}, DType::Bool,
                   A{{"q_num_heads", int64_t(4)}, {"kv_num_heads", int64_t(1)}, {"is_causal", int64_t(1)},
                     {"softcap", 2.0}}});
  cases.push_back({"BoolMaskShortEmptyRow", {2, 3, 21, 48}, {2, 3, 50, 48}, {2, 3, 50, 48}, Dims{21, 43},
                   DType::Bool, {}, 4});
  cases.push_back({"BoolMaskPerBatchCausal", {2, 2, 36, 64}, {2, 2, 36, 64}, {2, 2, 36, 64}, Dims{2, 1, 36, 36},
                   DType::Bool, A{{"is_causal", int64_t(1)}}});
  cases.push_back({"FloatMaskPerHead", {2, 4, 30, 64}, {2, 4, 41, 64}, {2, 4, 41, 64}, Dims{1, 4, 30, 41},
                   DType::Float32, {}});
  cases.push_back({"SoftcapScaleHead256", {1, 2, 35, 256}, {1, 2, 50, 256}, {1, 2, 50, 256}, {}, DType::Bool,
                   A{{"softcap", 5.0}, {"scale", 0.3}}});
  return cases;
}

void PrintTo(const AttentionCase& c, std::ostream* out) { *out << c.name; }

class CudaAttentionTest : public testing::TestWithParam<AttentionCase> {};

TEST_P(CudaAttentionTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const AttentionCase& c = GetParam();
  uint32_t seed = 4321;
  for (Precision precision : {Precision::FP32, Precision::FP16, Precision::BF16}) {
    ir::Graph graph;
    std::map<std::string, Tensor> inputs;
    std::map<std::string, Dims> dims;
    std::vector<ir::Value*> args;
    auto add = [&](const std::string& name, DType dtype, const Dims& shape, Tensor value) {
      args.push_back(graph.add_input(name, dtype, ir::Shape::from_dims(shape)));
      inputs[name] = std::move(value);
      dims[name] = shape;
    };
    add("q", DType::Float32, c.q, cuda_test::random_tensor(DType::Float32, c.q, -2, 2, seed++));
    add("k", DType::Float32, c.k, cuda_test::random_tensor(DType::Float32, c.k, -2, 2, seed++));
    add("v", DType::Float32, c.v, cuda_test::random_tensor(DType::Float32, c.v, -2, 2, seed++));
    if (c.mask) {
      bool is_bool = c.mask_dtype == DType::Bool;
      // Bool: about 70% of keys kept; float: biases in [-4, 2).
      Tensor mask = cuda_test::random_tensor(c.mask_dtype, *c.mask, is_bool ? 0.7 : -4, is_bool ? 1.7 : 2, seed++);
      if (c.empty_mask_row >= 0) {
        bool* keep = mask.data_mutable<bool>();
        for (int64_t j = 0; j < mask.dim(-1); ++j) keep[c.empty_mask_row * mask.dim(-1) + j] = false;
      }
      add("mask", c.mask_dtype, *c.mask, mask);
    }
    ir::Node* node = graph.add_node("Attention", "attention", args, {"y"});
    node->attrs = c.attrs;
    graph.add_output(node->outputs[0]);
    ir::infer_graph(graph);
    passes::assign_precisions(graph, {Precision::FP32, precision}, false);

    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, dims, {.poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    ASSERT_EQ(actual.size(), 1u);
    ASSERT_EQ(actual[0].dims(), expected[0].dims());
    double error = normalized_error(actual[0], expected[0]);
    std::cout << "[ Attention ] " << c.name << " " << precision_name(precision) << ": normalized error "
              << error << "\n";
    EXPECT_LE(error, cuda_test::tolerance_for(precision))  // NaN fails this too
        << c.name << " in " << precision_name(precision) << ": normalized error " << error;
    if (c.empty_mask_row >= 0) {
      // Row 4 of every (batch, head) has no key: exactly zero, not NaN.
      Tensor y = actual[0].to(DType::Float32);
      const float* out = y.data<float>();
      int64_t rows = y.numel() / (c.q[2] * c.v[3]);
      for (int64_t bh = 0; bh < rows; ++bh) {
        for (int64_t d = 0; d < c.v[3]; ++d) {
          ASSERT_EQ(out[(bh * c.q[2] + c.empty_mask_row) * c.v[3] + d], 0.f) << bh << ", " << d;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Attention, CudaAttentionTest, testing::ValuesIn(attention_cases()),
                         [](const testing::TestParamInfo<AttentionCase>& info) { return info.param.name; });

// A KV cache is refused as Unsupported (so the executor runs the node on the host).
TEST(CudaAttentionTest, PastKeyValueIsRefusedAsUnsupported) {
  KILN_REQUIRE_GPU();
  ir::Graph graph;
  std::vector<ir::Value*> args;
  for (const char* name : {"q", "k", "v"}) {
    args.push_back(graph.add_input(name, DType::Float32, ir::Shape::from_dims({1, 1, 2, 8})));
  }
  ir::Node* node = graph.add_node("Attention", "cached", args, {"y"});
  cuda::CudaKernel kernel = cuda::find_cuda_kernel("Attention");
  ASSERT_NE(kernel, nullptr);
  cuda::LaunchContext context;
  std::vector<cuda::DeviceTensor> ins(5);
  for (size_t i : {0, 1, 2}) ins[i] = {DType::Float32, {1, 1, 2, 8}, nullptr};
  ins[4] = {DType::Float32, {1, 1, 3, 8}, nullptr};
  std::vector<cuda::DeviceTensor> outs(1, {DType::Float32, {1, 1, 2, 8}, nullptr});
  try {
    kernel(context, *node, ins, outs);
    FAIL() << "past_key was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(error.what()).find("cached"), std::string::npos) << error.what();
  }
}

// Printed, not asserted: B=1, H=12, S=512, D=64, bf16, causal.
TEST(CudaAttentionTest, TimingBf16Causal) {
  KILN_REQUIRE_GPU();
  const Dims shape{1, 12, 512, 64};
  ir::Graph graph;
  std::vector<ir::Value*> args;
  for (const char* name : {"q", "k", "v"}) {
    args.push_back(graph.add_input(name, DType::BFloat16, ir::Shape::from_dims(shape)));
  }
  ir::Node* node = graph.add_node("Attention", "timed", args, {"y"});
  node->attrs["is_causal"] = int64_t(1);
  std::vector<cuda::DeviceBuffer> buffers;
  std::vector<cuda::DeviceTensor> ins;
  for (uint32_t i = 0; i < 4; ++i) {
    Tensor host = cuda_test::random_tensor(DType::BFloat16, shape, -2, 2, 10 + i);
    buffers.emplace_back(host.nbytes());
    KILN_CUDA_CHECK(cudaMemcpy(buffers.back().data(), host.raw(), host.nbytes(), cudaMemcpyHostToDevice));
    ins.push_back({DType::BFloat16, shape, buffers.back().data()});
  }
  std::vector<cuda::DeviceTensor> outs{ins.back()};
  ins.pop_back();
  cuda::Stream stream = cuda::create_stream();
  cuda::LaunchContext context;
  context.stream = stream.get();
  cuda::CudaKernel kernel = cuda::find_cuda_kernel("Attention");
  ASSERT_NE(kernel, nullptr);
  for (int i = 0; i < 5; ++i) kernel(context, *node, ins, outs);
  cudaEvent_t start_event = nullptr, stop_event = nullptr;  // create_event() disables timing
  KILN_CUDA_CHECK(cudaEventCreate(&start_event));
  cuda::Event start(start_event);
  KILN_CUDA_CHECK(cudaEventCreate(&stop_event));
  cuda::Event stop(stop_event);
  constexpr int kRepeats = 50;
  KILN_CUDA_CHECK(cudaEventRecord(start.get(), context.stream));
  for (int i = 0; i < kRepeats; ++i) kernel(context, *node, ins, outs);
  KILN_CUDA_CHECK(cudaEventRecord(stop.get(), context.stream));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  double seconds = ms / 1e3 / kRepeats;
  double flops = 4.0 * 12 * 512 * 512 * 64 / 2;  // two products, causal half
  std::cout << "[ Attention ] timing B=1 H=12 S=512 D=64 bf16 causal: " << seconds * 1e6 << " us, "
            << flops / seconds / 1e12 << " TFLOP/s\n";
}

}  // namespace
}  // namespace kiln
