// Generated fusion-group kernels on the GPU, whole graphs rather than one op: pointwise
// chains with bias, per-channel, per-batch, multi-block and scalar broadcasts, masks and
// casts, index groups (a rotary embedding's slices and concat, a strided slice), each run
// fused (poisoned outputs) and compared with the CPU reference and with the unfused GPU run,
// in fp32 and bf16, at sizes that take the vector and the scalar kernel; and the cubins an
// engine file stores, loaded instead of compiled.
#include <filesystem>
#include <functional>
#include <iostream>

#include "backends/cpu/executor.h"
#include "backends/cuda/runtime/cuda_executor.h"
#include "backends/cuda/runtime/fused_groups.h"
#include "backends/cuda/runtime/fusion_timing.h"
#include "cuda_test_util.h"
#include "engine/engine_file.h"
#include "fusion_chains.h"
#include "ir/op_schema.h"
#include "kiln/summary.h"
#include "passes/fusion_groups.h"

namespace kiln {
namespace {

using namespace fusion_chains;  // NOLINT: the chains and their builders

int fused_steps(cuda::ExecutionContext& context) {
  int fused = 0;
  cudaStream_t stream = nullptr;
  for (const cuda::LayerTime& layer : context.profile_layers(stream, 1))
    fused += layer.op == "Fused";
  return fused;
}

class FusedChainTest
    : public testing::TestWithParam<std::tuple<size_t, Precision, std::vector<int64_t>>> {};

TEST_P(FusedChainTest, MatchesTheCpuReferenceAndTheUnfusedRun) {
  KILN_REQUIRE_GPU();
  const auto& [index, precision, dims] = GetParam();
  const Chain chain = chains()[index];
  ir::Graph graph = make_graph(chain, dims, precision);
  std::map<std::string, Tensor> inputs = random_inputs(graph, 7);
  std::vector<Tensor> reference = cpu::Executor(graph).run(inputs);
  cuda::CudaExecutor fused(graph, {}, {.poison_values = true});
  cuda::CudaExecutor unfused(graph, {}, {.poison_values = true, .fuse_groups = false});
  std::vector<Tensor> fused_out = fused.run(inputs);
  std::vector<Tensor> unfused_out = unfused.run(inputs);
  EXPECT_GE(fused_steps(fused.context()), 1) << chain.name << ": nothing was fused";
  EXPECT_EQ(fused_steps(unfused.context()), 0);
  double tolerance = cuda_test::tolerance_for(precision);
  ASSERT_EQ(fused_out.size(), reference.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    TensorComparison cpu =
        compare_tensors(fused_out[i].to(DType::Float32), reference[i].to(DType::Float32));
    TensorComparison gpu =
        compare_tensors(fused_out[i].to(DType::Float32), unfused_out[i].to(DType::Float32));
    EXPECT_LE(cpu.normalized_error, tolerance) << chain.name << " output " << i << " vs CPU";
    EXPECT_LE(gpu.normalized_error, tolerance) << chain.name << " output " << i << " vs unfused";
    EXPECT_FALSE(std::isnan(cpu.max_abs_diff)) << chain.name << " output " << i << " has NaN";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chains, FusedChainTest,
    testing::Combine(
        testing::Range(size_t(0), chains().size()),
        testing::Values(Precision::FP32, Precision::BF16),
        // 2*3*8*64: the vector kernel, rows of 8 lanes in bf16; 3*5*7*9: scalar
        // (no pack divides it), rows of 16 lanes, the last warp's half idle;
        // 2*5*3*96: ConvNeXt's rows, 12 of 16 lanes; 1*3*1*1000: chunks of a warp
        testing::Values(std::vector<int64_t>{2, 3, 8, 64}, std::vector<int64_t>{3, 5, 7, 9},
                        std::vector<int64_t>{2, 5, 3, 96}, std::vector<int64_t>{1, 3, 1, 1000},
                        // rows over a whole block: 4096 (a 7B LLM's width), odd 5000
                        std::vector<int64_t>{1, 2, 3, 4096}, std::vector<int64_t>{2, 1, 1, 5000})),
    [](const auto& info) {
      return chains()[std::get<0>(info.param)].name + "_" +
             std::string(precision_name(std::get<1>(info.param))) + "_" +
             std::to_string(element_count(std::get<2>(info.param)));
    });

// An engine file keeps the build's cubins: a context of the loaded engine compiles nothing,
// and its outputs equal those of an engine that compiled its kernels itself.
TEST(FusedKernels, EngineFileCubinsAreLoadedNotCompiled) {
  KILN_REQUIRE_GPU();
  Dims dims = {2, 3, 8, 64};
  ir::Graph graph = make_graph(chains()[0], dims, Precision::BF16);
  std::map<std::string, std::string> cubins =
      cuda::compile_fusion_kernels(graph, {}, cuda::compute_capability());
  ASSERT_EQ(cubins.size(), 1u);
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("kiln_fused_" + std::to_string(::getpid()) + ".kiln");
  engine::BuildConfig config;
  config.enabled_precisions = {Precision::FP32, Precision::BF16};
  engine::write_engine(file, graph, config, {}, {}, cubins);
  engine::LoadedEngine loaded = engine::read_engine(file);
  EXPECT_EQ(loaded.kernels, cubins);
  auto from_file = cuda::Engine::from_loaded(std::move(loaded), file.string());
  std::filesystem::remove(file);
  cuda::ExecutionContext context(from_file, {});
  EXPECT_EQ(from_file->fused_kernels().compiled_count(), 0u);
  std::map<std::string, Tensor> inputs = random_inputs(graph, 3);
  std::vector<Tensor> stored = context.run(inputs);
  cuda::CudaExecutor compiled(graph, {});
  std::vector<Tensor> fresh = compiled.run(inputs);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(std::memcmp(stored[0].raw(), fresh[0].raw(), stored[0].nbytes()), 0);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The builder's choice: each group timed fused and node by node; the nodes of a group that
// was not faster fused carry fusion="off" and run node by node from then on.
TEST(FusedKernels, TheBuilderTimesEachGroupAndMarksTheSlowerOnes) {
  KILN_REQUIRE_GPU();
  ir::Graph graph = make_graph(row_chains()[0], {16, 128, 768}, Precision::BF16);
  std::vector<cuda::FusionTiming> timings =
      cuda::choose_fusion_by_timing(graph, {}, size_t(64) << 20);
  ASSERT_EQ(timings.size(), 1u);
  const cuda::FusionTiming& timing = timings[0];
  EXPECT_EQ(timing.label, "Add+LayerNormalization+Gelu");
  EXPECT_GT(timing.fused_ms, 0);
  EXPECT_GT(timing.unfused_ms, 0);
  EXPECT_EQ(timing.kept, timing.fused_ms < timing.unfused_ms);
  for (const ir::Node* n : graph.nodes()) {
    EXPECT_EQ(n->attr_string(passes::kFusionAttribute, "") == "off", !timing.kept) << n->name;
  }
  cuda::CudaExecutor executor(graph, {});
  EXPECT_EQ(fused_steps(executor.context()), timing.kept ? 1 : 0);
  std::cout << "fused " << timing.fused_ms << " ms, node by node " << timing.unfused_ms << " ms\n";
}

}  // namespace
}  // namespace kiln
