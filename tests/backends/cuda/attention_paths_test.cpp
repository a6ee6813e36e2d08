// Attention's other execution paths, not one op's cases (those are attention_cases.cpp): the
// same cases through the executor with workspaces that force several chunks of KV heads, row
// blocks of one head, or the SIMT kernel; through cuDNN's fused SDPA; the chunk sizing (no GPU
// needed); and the tensor-core path against the SIMT kernel at GPT-2's shape, with printed,
// unasserted timings.
#include <algorithm>
#include <iostream>
#include <set>
#include <span>
#include <tuple>
#include <variant>

#include "backends/cuda/kernels/attention_gemm.h"
#include "backends/cuda/kernels/attention_params.h"
#include "backends/cuda/kernels/cuda_check.h"
#include "backends/cuda/ops/attention_cudnn.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "cuda_test_util.h"
#include "kernel_runner.h"
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

// Which path runs, picked through the executor's workspace size. (The default workspace,
// all KV heads in one chunk, is the op harness's.)
enum class Path {
  Chunked,    // room for 3 KV heads' rows (plus a few): several chunks
  RowBlocks,  // room for 7 score rows: one query head at a time, in row blocks
  Simt,       // not one score row fits: the fused SIMT kernel
};

const char* path_name(Path path) {
  switch (path) {
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

CaseSizes sizes_of(const OpCase& c) {
  const Dims& q = c.inputs.at(0).dims;
  const Dims& k = c.inputs.at(1).dims;
  const Dims& v = c.inputs.at(2).dims;
  bool three_d = q.size() == 3;
  auto attr = [&](const char* name) { return std::get<int64_t>(c.attrs.at(name)); };
  int64_t q_heads = three_d ? attr("q_num_heads") : q[1];
  int64_t kv_heads = three_d ? attr("kv_num_heads") : k[1];
  CaseSizes s;
  s.group = q_heads / kv_heads;
  s.q_seq = q[1 + !three_d];
  s.kv_seq = k[1 + !three_d];
  s.widest_head = three_d ? std::max(q[2] / q_heads, v[2] / kv_heads) : std::max(q[3], v[3]);
  return s;
}

size_t workspace_for(Path path, const OpCase& c) {
  CaseSizes s = sizes_of(c);
  size_t row_bytes = size_t(cuda::attention_score_pitch(s.kv_seq)) * sizeof(float);
  switch (path) {
    case Path::Chunked:
      return size_t(3 * s.group * s.q_seq + 5) * row_bytes;
    case Path::RowBlocks:
      return 7 * row_bytes;
    case Path::Simt:
      return row_bytes - 4;
  }
  return 0;
}

void PrintTo(Path path, std::ostream* out) { *out << path_name(path); }

using PathParam = std::tuple<OpRun, Path>;

class CudaAttentionPathTest : public testing::TestWithParam<PathParam> {};

TEST_P(CudaAttentionPathTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const auto& [run, path] = GetParam();
  const OpCase& c = run.op_case;
  size_t workspace = workspace_for(path, c);
  // Small enough that cuBLASLt gets no share: every byte holds scores, as sized above.
  ASSERT_EQ(cuda::attention_gemm_workspace(workspace), 0u);
  BuiltCase built = build_case(c, run.precision);
  built.node->attrs["tactic"] = std::string(cuda::kTacticKiln);  // not cuDNN's: tested below
  std::vector<Tensor> expected = reference_outputs(c, built);
  cuda::CudaExecutor executor(built.graph, {},
                              {.workspace_bytes = workspace, .poison_values = true});
  std::vector<Tensor> actual = executor.run(built.graph_inputs);
  // The SIMT kernel cannot take heads this wide, so that node runs on the host.
  if (path == Path::Simt && sizes_of(c).widest_head > cuda::kMaxHeadSize) {
    EXPECT_EQ(executor.host_nodes().size(), 1u);
  } else {
    EXPECT_TRUE(executor.host_nodes().empty()) << "ran on the host: " << executor.host_nodes()[0];
  }
  expect_outputs_match(c, run.precision, built, actual, expected);
}

INSTANTIATE_TEST_SUITE_P(AttentionPaths, CudaAttentionPathTest,
                         testing::Combine(testing::ValuesIn(op_runs(attention_cases())),
                                          testing::Values(Path::Chunked, Path::RowBlocks,
                                                          Path::Simt)),
                         [](const testing::TestParamInfo<PathParam>& info) {
                           const OpRun& run = std::get<0>(info.param);
                           return run.op_case.name + "_" + path_name(std::get<1>(info.param)) +
                                  "_" + std::string(precision_name(run.precision));
                         });

// The cuDNN route (tactic cudnn_sdpa) on every fp16/bf16 case cuDNN takes, against the CPU
// reference; the cases it must take on this GPU are listed, so a silent fallback to Kiln's
// own kernels fails the test instead of passing it.
class CudaAttentionCudnnTest : public testing::TestWithParam<OpRun> {};

// Whether cuDNN's SDPA runs `node` with these inputs (the tactics the builder would time).
bool cudnn_takes(const ir::Node& node, const std::vector<Tensor>& values) {
  KernelRunner runner;
  std::vector<cuda::DeviceTensor> shapes;
  for (const Tensor& value : values) shapes.push_back({value.dtype(), value.dims()});
  return !cuda::cuda_tactics(runner.context(), node, shapes).empty();
}

TEST_P(CudaAttentionCudnnTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const OpRun& run = GetParam();
  const OpCase& c = run.op_case;
  BuiltCase built = build_case(c, run.precision);
  built.node->attrs["tactic"] = std::string(cuda::kTacticCudnnSdpa);
  std::vector<Tensor> stored;  // the inputs in the storage dtypes the kernel sees
  for (const Tensor& value : built.input_values) {
    bool is_float = is_float_storage(value.dtype());
    stored.push_back(is_float ? value.to(precision_storage_dtype(run.precision)) : value);
  }
  bool takes = cudnn_takes(*built.node, stored);
  // cuDNN 9 on compute capability 8.0+: head sizes that are multiples of 8 up to 128, with or
  // without causal masking, masks as a bias, grouped-query heads.
  static const std::set<std::string> must_take = {
      "Plain4D",         "Causal4D", "Gpt2Causal", "FloatMaskPerHead", "BoolMaskPerBatchCausal",
      "CausalShortQuery"};
  if (cuda::compute_capability() >= 80 && must_take.count(c.name) > 0) {
    EXPECT_TRUE(takes) << c.name << ": cuDNN SDPA refused it";
  }
  if (!takes) GTEST_SKIP() << c.name << ": cuDNN SDPA does not take this case (Kiln's kernels do)";
  std::vector<Tensor> expected = reference_outputs(c, built);
  cuda::CudaExecutor executor(built.graph, {}, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(built.graph_inputs);
  EXPECT_TRUE(executor.host_nodes().empty());
  expect_outputs_match(c, run.precision, built, actual, expected);
}

std::vector<OpRun> half_precision_runs() {
  std::vector<OpRun> runs;
  for (const OpRun& run : op_runs(attention_cases())) {
    if (run.precision == Precision::FP16 || run.precision == Precision::BF16) runs.push_back(run);
  }
  return runs;
}

INSTANTIATE_TEST_SUITE_P(AttentionCudnn, CudaAttentionCudnnTest,
                         testing::ValuesIn(half_precision_runs()), op_run_name);

// Kiln's tensor-core kernel (tactic kiln_mma) on every fp16/bf16 case it takes (head sizes 64
// and 128, rows 16-byte aligned), against the CPU reference; the cases it must take are listed,
// so that a silent fallback fails instead of passing.
class CudaAttentionMmaTest : public testing::TestWithParam<OpRun> {};

TEST_P(CudaAttentionMmaTest, MatchesCpuReference) {
  KILN_REQUIRE_GPU();
  const OpRun& run = GetParam();
  const OpCase& c = run.op_case;
  BuiltCase built = build_case(c, run.precision);
  built.node->attrs["tactic"] = std::string(cuda::kTacticMma);
  std::vector<cuda::DeviceTensor> shapes;
  for (const Tensor& value : built.input_values) {
    DType dtype =
        is_float_storage(value.dtype()) ? precision_storage_dtype(run.precision) : value.dtype();
    shapes.push_back({dtype, value.dims()});
  }
  KernelRunner runner;
  std::vector<std::string> tactics = cuda::cuda_tactics(runner.context(), *built.node, shapes);
  bool takes = std::find(tactics.begin(), tactics.end(), cuda::kTacticMma) != tactics.end();
  static const std::set<std::string> must_take = {"Plain4D",
                                                  "Gpt2Causal",
                                                  "FloatMaskPerHead",
                                                  "BoolMaskPerBatchCausal",
                                                  "SingleQueryGqa",
                                                  "ThreeDCausalSoftcap",
                                                  "Head128CausalPartTiles",
                                                  "PaddingMaskLongKeys",
                                                  "BoolMaskEmptyRowHead64"};
  if (must_take.count(c.name) > 0) EXPECT_TRUE(takes) << c.name << ": kiln_mma not offered";
  if (!takes) GTEST_SKIP() << c.name << ": the tensor-core kernel does not take this case";
  std::vector<Tensor> expected = reference_outputs(c, built);
  cuda::CudaExecutor executor(built.graph, {}, {.poison_values = true});
  std::vector<Tensor> actual = executor.run(built.graph_inputs);
  EXPECT_TRUE(executor.host_nodes().empty());
  expect_outputs_match(c, run.precision, built, actual, expected);
}

INSTANTIATE_TEST_SUITE_P(AttentionMma, CudaAttentionMmaTest,
                         testing::ValuesIn(half_precision_runs()), op_run_name);

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

// Mean seconds per launch after warm-up (which also times cuBLASLt's candidates).
double seconds_per_launch(KernelRunner& runner, const ir::Node& node,
                          std::span<const cuda::DeviceTensor> ins,
                          std::span<cuda::DeviceTensor> outs, int repeats) {
  for (int i = 0; i < 3; ++i) runner.launch(node, ins, outs);
  cuda::Event start = cuda::create_timing_event();
  cuda::Event stop = cuda::create_timing_event();
  KILN_CUDA_CHECK(cudaEventRecord(start.get(), runner.stream()));
  for (int i = 0; i < repeats; ++i) runner.launch(node, ins, outs);
  KILN_CUDA_CHECK(cudaEventRecord(stop.get(), runner.stream()));
  KILN_CUDA_CHECK(cudaEventSynchronize(stop.get()));
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
  return ms / 1e3 / repeats;
}

// GPT-2's attention at batch 32, sequence 512, bf16, causal, launched directly: the SIMT
// kernel (a context without cuBLASLt), the tensor-core path and cuDNN's fused SDPA must agree,
// each having overwritten a poisoned output. Timings are printed, never asserted.
TEST(CudaAttentionPathTest, Gpt2ShapeEveryPathAgrees) {
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
  const double flops = 4.0 * 32 * 12 * 512 * 512 * 64 / 2;  // two products, causal half
  std::vector<Tensor> results;
  for (const char* path : {"SIMT", "tensor cores", "cuDNN SDPA"}) {
    KernelRunner runner;
    bool simt = std::string(path) == "SIMT", cudnn = std::string(path) == "cuDNN SDPA";
    if (simt) runner.context() = {.stream = runner.stream()};  // no cuBLASLt: the SIMT kernel
    node->attrs["tactic"] = std::string(cudnn ? cuda::kTacticCudnnSdpa : cuda::kTacticKiln);
    std::vector<cuda::DeviceTensor> ins;
    for (uint32_t i = 0; i < 3; ++i) {
      ins.push_back(runner.upload(random_tensor(DType::BFloat16, shape, -2, 2, 10 + i)));
    }
    if (cudnn) {
      std::vector<cuda::DeviceTensor> shapes(ins.begin(), ins.end());
      ASSERT_FALSE(cuda::cuda_tactics(runner.context(), *node, shapes).empty())
          << "cuDNN SDPA refused GPT-2's attention";
    }
    std::vector<cuda::DeviceTensor> outs{runner.poisoned(DType::BFloat16, shape)};
    double seconds = seconds_per_launch(runner, *node, ins, outs, simt ? 3 : 20);
    results.push_back(runner.download(outs[0]));
    EXPECT_EQ(runner.overwritten_guards(), "");
    std::cout << "[ Attention ] B=32 H=12 S=512 D=64 bf16 causal, " << path << ": " << seconds * 1e3
              << " ms, " << flops / seconds / 1e12 << " TFLOP/s (causal half)\n";
  }
  for (size_t i = 1; i < results.size(); ++i) {
    double error = normalized_error(results[i], results[0]);
    EXPECT_LE(error, tolerance_for(Precision::BF16)) << "path " << i << " vs SIMT: " << error;
  }
}

}  // namespace
}  // namespace kiln::cuda_test
