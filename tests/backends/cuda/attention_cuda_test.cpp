// CUDA Attention against the CPU reference (same node precisions) on fresh random inputs:
// 4-D and 3-D, GQA, causal, bool / float masks, softcap, odd sizes, in fp32/tf32/fp16/bf16,
// through each path: tensor-core products with the whole problem in one chunk, in several
// chunks of KV heads, in row blocks of one head, and the SIMT kernel (chosen by the
// executor's workspace size). Outputs are poisoned (NaN bytes) before launch; NaN never
// passes. Plus the chunk sizing (runs without a GPU) and a printed, unasserted timing.
#include <algorithm>
#include <iostream>
#include <span>
#include <tuple>
#include <variant>

#include "backends/cpu/executor.h"
#include "backends/cuda/kernels/attention_gemm.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/kernels/gemm_plan.h"
#include "backends/cuda/ops/cuda_kernel.h"
#include "backends/cuda/runtime/cuda_executor.h"
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
  cases.push_back({"Causal4D",
                   {2, 3, 70, 40},
                   {2, 3, 70, 40},
                   {2, 3, 70, 40},
                   {},
                   DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  cases.push_back({"CausalShortQuery",
                   {1, 2, 5, 32},
                   {1, 2, 77, 32},
                   {1, 2, 77, 32},
                   {},
                   DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  cases.push_back(
      {"GqaWideValues", {2, 8, 33, 128}, {2, 2, 65, 128}, {2, 2, 65, 96}, {}, DType::Bool, {}});
  cases.push_back({"ThreeDGqa",
                   {2, 19, 6 * 32},
                   {2, 23, 3 * 32},
                   {2, 23, 3 * 32},
                   {},
                   DType::Bool,
                   A{{"q_num_heads", int64_t(6)}, {"kv_num_heads", int64_t(3)}}});
  cases.push_back({"ThreeDCausalSoftcap",
                   {1, 40, 4 * 64},
                   {1, 40, 64},
                   {1, 40, 64},
                   {},
                   DType::Bool,
                   A{{"q_num_heads", int64_t(4)},
                     {"kv_num_heads", int64_t(1)},
                     {"is_causal", int64_t(1)},
                     {"softcap", 2.0}}});
  cases.push_back({"BoolMaskShortEmptyRow",
                   {2, 3, 21, 48},
                   {2, 3, 50, 48},
                   {2, 3, 50, 48},
                   Dims{21, 43},
                   DType::Bool,
                   {},
                   4});
  cases.push_back({"BoolMaskPerBatchCausal",
                   {2, 2, 36, 64},
                   {2, 2, 36, 64},
                   {2, 2, 36, 64},
                   Dims{2, 1, 36, 36},
                   DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  cases.push_back({"FloatMaskPerHead",
                   {2, 4, 30, 64},
                   {2, 4, 41, 64},
                   {2, 4, 41, 64},
                   Dims{1, 4, 30, 41},
                   DType::Float32,
                   {}});
  cases.push_back({"SoftcapScaleHead256",
                   {1, 2, 35, 256},
                   {1, 2, 50, 256},
                   {1, 2, 50, 256},
                   {},
                   DType::Bool,
                   A{{"softcap", 5.0}, {"scale", 0.3}}});
  // GPT-2's attention shape at a shorter sequence: 24 (batch, head) pairs to chunk.
  cases.push_back({"Gpt2Causal",
                   {2, 12, 128, 64},
                   {2, 12, 128, 64},
                   {2, 12, 128, 64},
                   {},
                   DType::Bool,
                   A{{"is_causal", int64_t(1)}}});
  // Sequences and head sizes that are multiples of nothing in particular; a 2-D float mask.
  cases.push_back({"OddSizesFloatMask",
                   {1, 3, 131, 36},
                   {1, 3, 259, 36},
                   {1, 3, 259, 44},
                   Dims{131, 259},
                   DType::Float32,
                   {}});
  // 3-D GQA (4 query heads per KV head) whose chunks of 3 KV heads cross batch entries.
  cases.push_back(
      {"ThreeDGqaCausalMask",
       {2, 67, 8 * 32},
       {2, 67, 2 * 32},
       {2, 67, 2 * 32},
       Dims{2, 1, 67, 67},
       DType::Bool,
       A{{"q_num_heads", int64_t(8)}, {"kv_num_heads", int64_t(2)}, {"is_causal", int64_t(1)}}});
  // Decoding: one query row per head, 4 query heads per KV head.
  cases.push_back(
      {"SingleQueryGqa", {3, 8, 1, 64}, {3, 2, 50, 64}, {3, 2, 50, 64}, {}, DType::Bool, {}});
  // Beyond the SIMT kernel's head size: only the products run it on the GPU.
  cases.push_back(
      {"HeadSize320", {1, 2, 20, 320}, {1, 2, 33, 320}, {1, 2, 33, 320}, {}, DType::Bool, {}});
  return cases;
}

// Which path runs, picked through the executor's workspace size.
enum class Path {
  Gemm,       // the default workspace: all KV heads in one chunk
  Chunked,    // room for 3 KV heads' rows (plus a few): several chunks
  RowBlocks,  // room for 7 score rows: one query head at a time, in row blocks
  Simt,       // not one score row fits: the fused SIMT kernel
};

const char* path_name(Path path) {
  switch (path) {
    case Path::Gemm:
      return "Gemm";
    case Path::Chunked:
      return "Chunked";
    case Path::RowBlocks:
      return "RowBlocks";
    case Path::Simt:
      return "Simt";
  }
  return "?";
}

struct CaseSizes {
  int64_t group = 1, q_seq = 0, kv_seq = 0, widest_head = 0;
};

CaseSizes sizes_of(const AttentionCase& c) {
  bool three_d = c.q.size() == 3;
  auto attr = [&](const char* name) { return std::get<int64_t>(c.attrs.at(name)); };
  int64_t q_heads = three_d ? attr("q_num_heads") : c.q[1];
  int64_t kv_heads = three_d ? attr("kv_num_heads") : c.k[1];
  CaseSizes s;
  s.group = q_heads / kv_heads;
  s.q_seq = c.q[1 + !three_d];
  s.kv_seq = c.k[1 + !three_d];
  s.widest_head =
      three_d ? std::max(c.q[2] / q_heads, c.v[2] / kv_heads) : std::max(c.q[3], c.v[3]);
  return s;
}

size_t workspace_for(Path path, const AttentionCase& c) {
  CaseSizes s = sizes_of(c);
  size_t row_bytes = size_t(cuda::attention_score_pitch(s.kv_seq)) * sizeof(float);
  switch (path) {
    case Path::Gemm:
      return cuda::CudaExecutorOptions{}.workspace_bytes;
    case Path::Chunked:
      return size_t(3 * s.group * s.q_seq + 5) * row_bytes;
    case Path::RowBlocks:
      return 7 * row_bytes;
    case Path::Simt:
      return row_bytes - 4;
  }
  return 0;
}

// cuda_test_util.h states fp32/fp16/bf16; tf32 is the matrix products' tolerance
// (matmul_conv_test.cpp): both products round their inputs to tf32.
double attention_tolerance(Precision precision) {
  return precision == Precision::TF32 ? 2e-3 : cuda_test::tolerance_for(precision);
}

using AttentionParam = std::tuple<AttentionCase, Path>;

void PrintTo(const AttentionCase& c, std::ostream* out) { *out << c.name; }
void PrintTo(Path path, std::ostream* out) { *out << path_name(path); }

class CudaAttentionTest : public testing::TestWithParam<AttentionParam> {};

TEST_P(CudaAttentionTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const auto& [c, path] = GetParam();
  size_t workspace = workspace_for(path, c);
  if (path == Path::Chunked || path == Path::RowBlocks) {
    // Small enough that cuBLASLt gets no share: every byte holds scores, as sized above.
    ASSERT_EQ(cuda::attention_gemm_workspace(workspace), 0u);
  }
  // The SIMT kernel cannot take heads this wide, so that node runs on the host.
  bool on_host = path == Path::Simt && sizes_of(c).widest_head > cuda::kMaxHeadSize;
  uint32_t seed = 4321;
  for (Precision precision : {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16}) {
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
      Tensor mask = cuda_test::random_tensor(c.mask_dtype, *c.mask, is_bool ? 0.7 : -4,
                                             is_bool ? 1.7 : 2, seed++);
      if (c.empty_mask_row >= 0) {
        bool* keep = mask.data_mutable<bool>();
        for (int64_t j = 0; j < mask.dim(-1); ++j)
          keep[c.empty_mask_row * mask.dim(-1) + j] = false;
      }
      add("mask", c.mask_dtype, *c.mask, mask);
    }
    ir::Node* node = graph.add_node("Attention", "attention", args, {"y"});
    node->attrs = c.attrs;
    graph.add_output(node->outputs[0]);
    ir::infer_graph(graph);
    // The heuristic never picks tf32 for Attention; the builder's timing may, so set it.
    bool tf32 = precision == Precision::TF32;
    passes::assign_precisions(graph, {Precision::FP32, tf32 ? Precision::FP32 : precision}, false);
    if (tf32) node->precision = Precision::TF32;

    std::vector<Tensor> expected = cpu::Executor(graph).run(inputs);
    cuda::CudaExecutor executor(graph, dims, {.workspace_bytes = workspace, .poison_values = true});
    std::vector<Tensor> actual = executor.run(inputs);
    if (on_host) {
      EXPECT_EQ(executor.host_nodes().size(), 1u);
    } else {
      EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
    }
    ASSERT_EQ(actual.size(), 1u);
    ASSERT_EQ(actual[0].dims(), expected[0].dims());
    double error = normalized_error(actual[0], expected[0]);
    std::cout << "[ Attention ] " << c.name << " " << path_name(path) << " "
              << precision_name(precision) << ": normalized error " << error << "\n";
    EXPECT_LE(error, attention_tolerance(precision))  // NaN fails this too
        << c.name << " via " << path_name(path) << " in " << precision_name(precision)
        << ": normalized error " << error;
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

INSTANTIATE_TEST_SUITE_P(Attention, CudaAttentionTest,
                         testing::Combine(testing::ValuesIn(attention_cases()),
                                          testing::Values(Path::Gemm, Path::Chunked,
                                                          Path::RowBlocks, Path::Simt)),
                         [](const testing::TestParamInfo<AttentionParam>& info) {
                           return std::get<0>(info.param).name + "_" +
                                  path_name(std::get<1>(info.param));
                         });

// The chunk sizing, by hand: rows are padded to 8 floats; cuBLASLt keeps 4 MiB of a
// workspace of 16 MiB or more and nothing of a smaller one.
TEST(AttentionChunking, RowsThatFitTheWorkspace) {
  EXPECT_EQ(cuda::attention_score_pitch(45), 48);
  EXPECT_EQ(cuda::attention_score_pitch(512), 512);
  EXPECT_EQ(cuda::attention_gemm_workspace(size_t(64) << 20), size_t(4) << 20);
  EXPECT_EQ(cuda::attention_gemm_workspace((size_t(16) << 20) - 1), 0u);
  EXPECT_EQ(cuda::attention_rows_fitting(size_t(64) << 20, 512), (60 << 20) / (512 * 4));
  EXPECT_EQ(cuda::attention_rows_fitting(1000, 45), 5);  // 192 bytes a row
  EXPECT_EQ(cuda::attention_rows_fitting(191, 45), 0);
  EXPECT_EQ(cuda::attention_rows_fitting(1000, 0), 0);
}

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

// Mean seconds per launch of `kernel` after warm-up (which also times cuBLASLt's candidates).
double seconds_per_launch(cuda::CudaKernel kernel, cuda::LaunchContext& context,
                          const ir::Node& node, std::span<const cuda::DeviceTensor> ins,
                          std::span<cuda::DeviceTensor> outs, int repeats) {
  for (int i = 0; i < 3; ++i) kernel(context, node, ins, outs);
  cudaEvent_t start_event = nullptr, stop_event = nullptr;  // create_event() disables timing
  KILN_CUDA_CHECK(cudaEventCreate(&start_event));
  cuda::Event start(start_event);
  KILN_CUDA_CHECK(cudaEventCreate(&stop_event));
  cuda::Event stop(stop_event);
  KILN_CUDA_CHECK(cudaEventRecord(start.get(), context.stream));
  for (int i = 0; i < repeats; ++i) kernel(context, node, ins, outs);
  KILN_CUDA_CHECK(cudaEventRecord(stop.get(), context.stream));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  return ms / 1e3 / repeats;
}

// GPT-2's attention at batch 32, sequence 512, bf16, causal, launched directly: the
// tensor-core path and the SIMT kernel (a context without cuBLASLt) must agree, each having
// overwritten a poisoned output. Timings are printed, never asserted.
TEST(CudaAttentionTest, Gpt2ShapeGemmAgreesWithSimt) {
  KILN_REQUIRE_GPU();
  const Dims shape{32, 12, 512, 64};
  ir::Graph graph;
  std::vector<ir::Value*> args;
  for (const char* name : {"q", "k", "v"}) {
    args.push_back(graph.add_input(name, DType::BFloat16, ir::Shape::from_dims(shape)));
  }
  ir::Node* node = graph.add_node("Attention", "gpt2", args, {"y"});
  node->attrs["is_causal"] = int64_t(1);
  node->precision = Precision::BF16;
  std::vector<cuda::DeviceBuffer> buffers;
  std::vector<cuda::DeviceTensor> ins;
  for (uint32_t i = 0; i < 3; ++i) {
    Tensor host = cuda_test::random_tensor(DType::BFloat16, shape, -2, 2, 10 + i);
    buffers.emplace_back(host.nbytes());
    KILN_CUDA_CHECK(
        cudaMemcpy(buffers.back().data(), host.raw(), host.nbytes(), cudaMemcpyHostToDevice));
    ins.push_back({DType::BFloat16, shape, buffers.back().data()});
  }
  cuda::CudaKernel kernel = cuda::find_cuda_kernel("Attention");
  ASSERT_NE(kernel, nullptr);
  cuda::Stream stream = cuda::create_stream();
  cuda::CublasLtHandle cublaslt = cuda::create_cublaslt();
  cuda::DeviceBuffer workspace(cuda::CudaExecutorOptions{}.workspace_bytes);
  cuda::GemmPlanCache plans;

  const double flops = 4.0 * 32 * 12 * 512 * 512 * 64 / 2;  // two products, causal half
  std::vector<Tensor> results;
  for (bool gemm : {false, true}) {
    cuda::LaunchContext context;
    context.stream = stream.get();
    if (gemm) {
      context.cublaslt = cublaslt.get();
      context.workspace = workspace.data();
      context.workspace_size = workspace.size();
      context.gemm_plans = &plans;
    }
    cuda::DeviceBuffer out(size_t(element_count(shape)) * 2);
    KILN_CUDA_CHECK(cudaMemset(out.data(), 0xFF, out.size()));  // NaN until written
    KILN_CUDA_CHECK(cudaDeviceSynchronize());  // the kernels' stream does not wait for it
    std::vector<cuda::DeviceTensor> outs{{DType::BFloat16, shape, out.data()}};
    double seconds = seconds_per_launch(kernel, context, *node, ins, outs, gemm ? 20 : 3);
    Tensor host(DType::BFloat16, shape);
    KILN_CUDA_CHECK(
        cudaMemcpy(host.raw_mutable(), out.data(), host.nbytes(), cudaMemcpyDeviceToHost));
    results.push_back(host);
    std::cout << "[ Attention ] B=32 H=12 S=512 D=64 bf16 causal, "
              << (gemm ? "tensor cores" : "SIMT") << ": " << seconds * 1e3 << " ms, "
              << flops / seconds / 1e12 << " TFLOP/s (causal half)\n";
  }
  double error = normalized_error(results[1], results[0]);
  EXPECT_LE(error, cuda_test::tolerance_for(Precision::BF16)) << "tensor cores vs SIMT: " << error;
}

}  // namespace
}  // namespace kiln
