// The cuBLASLt and cuDNN algorithms a timed build chooses travel in the engine file
// (tuned_algorithms.h): a loaded engine runs them without timing anything, two loads give the
// same bits, and choices this process cannot use (another library version, a refused
// algorithm, malformed text) are re-timed or reported, never run blindly.
#include "backends/cuda/runtime/tuned_algorithms.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backends/cuda/runtime/execution_context.h"
#include "core/tensor_io.h"
#include "cuda_test_util.h"
#include "driver/engine_builder.h"
#include "engine/timing_cache.h"
#include "fixture_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using Json = nlohmann::json;

using cuda_test::dims_of;
using cuda_test::fixture_folder;
using cuda_test::fixture_inputs;
using cuda_test::same_bits;

// A fixture built as `kiln build` builds it: timed on this GPU in {fp32, bf16} at the
// fixture's input sizes, with `timing_cache` (a file) if given.
driver::BuiltEngine timed_build(const std::string& name, const std::string& timing_cache = "") {
  driver::BuildRequest request;
  request.timing_cache = timing_cache;
  request.config.enabled_precisions = {Precision::FP32, Precision::BF16};
  request.backend = driver::Backend::Cuda;
  // The fixtures' one symbolic dim is "batch": time at the fixture's batch.
  request.dim_sizes["batch"] = fixture_inputs(name).begin()->second.dims().at(0);
  return driver::build_model_engine(load_model(fixture_folder(name) / (name + "_fp32.onnx")),
                                    request);
}

// The built engine with `tuned` in place of the build's choices.
std::shared_ptr<cuda::Engine> engine_with(const driver::BuiltEngine& built,
                                          const std::string& tuned) {
  return std::make_shared<cuda::Engine>(ir::copy_graph(built.built.graph),
                                        std::map<std::string, Tensor>{},
                                        built.built.config.workspace_bytes, built.kernels, tuned);
}

Tensor run_once(const std::shared_ptr<cuda::Engine>& engine, const std::string& name) {
  std::map<std::string, Tensor> inputs = fixture_inputs(name);
  return cuda::ExecutionContext(engine, dims_of(inputs)).run(inputs).at(0);
}

size_t plan_count(const cuda::Engine& engine) {
  return engine.gemm_plans().size() + engine.conv_plans().size();
}

class TunedAlgorithmsTest : public testing::TestWithParam<std::string> {};

// Built, written, loaded twice (as two processes would): each load starts with every choice
// the build made, runs without timing a new one, and both give the build's bits.
TEST_P(TunedAlgorithmsTest, EngineFileCarriesTheChoices) {
  KILN_REQUIRE_GPU();
  const std::string name = GetParam();
  driver::BuiltEngine built = timed_build(name);
  ASSERT_FALSE(built.tuned_algorithms.empty()) << name << ": the build chose no algorithm";
  Json tuned = Json::parse(built.tuned_algorithms);
  size_t chosen = tuned.at("gemm").size() + tuned.at("conv").size();
  EXPECT_GT(chosen, 0u);
  if (name == "resnet") {
    EXPECT_GT(tuned.at("conv").size(), 0u) << "no convolution was tuned";
  }
  if (name == "bert") {
    EXPECT_GT(tuned.at("gemm").size(), 0u) << "no product was tuned";
  }

  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("kiln_tuned_" + name + "_" + std::to_string(::getpid()) + ".kiln");
  driver::write_built_engine(file, built);
  EXPECT_EQ(engine::read_engine(file).tuned_algorithms, Json::parse(built.tuned_algorithms).dump());
  auto first = cuda::Engine::load(file);
  auto second = cuda::Engine::load(file);
  std::filesystem::remove(file);
  EXPECT_EQ(plan_count(*first), chosen) << "loading did not restore every choice";

  Tensor a = run_once(first, name);
  EXPECT_EQ(plan_count(*first), chosen) << "a problem the build ran was timed again";
  Tensor b = run_once(second, name);
  EXPECT_TRUE(same_bits(a, b)) << "two loads of one engine file gave different bits";
  EXPECT_TRUE(same_bits(a, run_once(engine_with(built, built.tuned_algorithms), name)));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TunedAlgorithmsTest, testing::Values("mlp", "resnet", "bert"));

// The timing cache keeps the build's compiled generated kernels: a second build of the same
// model compiles none and gets the same cubins, and a build without the cache compiles each
// kernel once (the fusion timing's compiles serve the engine file too).
TEST(TimingCacheKernelsTest, SecondBuildCompilesNothing) {
  KILN_REQUIRE_GPU();
  std::filesystem::path cache = std::filesystem::temp_directory_path() /
                                ("kiln_kernel_cache_" + std::to_string(::getpid()) + ".json");
  std::filesystem::remove(cache);
  driver::BuiltEngine first = timed_build("bert", cache.string());
  ASSERT_FALSE(first.kernels.empty()) << "the bert fixture has no fusion group";
  EXPECT_EQ(first.kernels_cached, 0u);
  EXPECT_GE(first.kernels_compiled, first.kernels.size());
  EXPECT_GE(engine::TimingCache::load(cache).kernel_count(), first.kernels_compiled);

  driver::BuiltEngine second = timed_build("bert", cache.string());
  std::filesystem::remove(cache);
  EXPECT_EQ(second.kernels_compiled, 0u) << "a cached kernel was compiled again";
  EXPECT_EQ(second.kernels_cached, second.kernels.size());
  for (const auto& [name, cubin] : second.kernels) {
    auto same = first.kernels.find(name);
    if (same != first.kernels.end()) EXPECT_EQ(same->second, cubin) << name;
  }
  Tensor expected = run_once(engine_with(first, first.tuned_algorithms), "bert");
  EXPECT_LE(
      normalized_error(run_once(engine_with(second, second.tuned_algorithms), "bert"), expected),
      2e-2);

  driver::BuiltEngine uncached = timed_build("bert");
  EXPECT_EQ(uncached.kernels_cached, 0u);
  EXPECT_LE(uncached.kernels_compiled, first.kernels_compiled);
}

// Choices cuBLASLt refuses here (garbage algorithm words) and choices from another library
// version are timed again; the outputs stay those of a clean build within bf16's tolerance.
TEST(TunedAlgorithmsFileTest, RefusedAndForeignChoicesAreRetimed) {
  KILN_REQUIRE_GPU();
  driver::BuiltEngine built = timed_build("bert");
  Tensor expected = run_once(engine_with(built, built.tuned_algorithms), "bert");

  Json garbage = Json::parse(built.tuned_algorithms);
  ASSERT_GT(garbage.at("gemm").size(), 0u);
  for (Json& entry : garbage.at("gemm")) entry["algo"] = std::string(128, 'f');
  auto refused = engine_with(built, garbage.dump());
  EXPECT_EQ(refused->gemm_plans().size(), garbage.at("gemm").size());
  Tensor retimed = run_once(refused, "bert");
  EXPECT_LE(normalized_error(retimed, expected), 2e-2);

  Json foreign = Json::parse(built.tuned_algorithms);
  foreign["cublaslt_version"] = 1;
  foreign["cudnn_version"] = 1;
  auto skipped = engine_with(built, foreign.dump());
  EXPECT_EQ(plan_count(*skipped), 0u) << "choices of another library version were loaded";
  EXPECT_LE(normalized_error(run_once(skipped, "bert"), expected), 2e-2);
}

TEST(TunedAlgorithmsFileTest, MalformedChoicesAreAnError) {
  KILN_REQUIRE_GPU();
  driver::BuiltEngine built = timed_build("mlp");
  Json tuned = Json::parse(built.tuned_algorithms);
  const std::vector<std::string> broken = {
      "{",
      R"({"gemm": []})",
      Json{{"cublaslt_version", 1},
           {"cudnn_version", 1},
           {"gemm", Json::array({{{"m", 1}}})},
           {"conv", Json::array()}}
          .dump(),
  };
  for (const std::string& text : broken) {
    try {
      engine_with(built, text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << error.what();
      EXPECT_NE(std::string(error.what()).find("tuned algorithms"), std::string::npos);
    }
  }
  tuned["gemm"][0]["algo"] = "not hex";
  EXPECT_THROW(engine_with(built, tuned.dump()), Error);
}

}  // namespace
}  // namespace kiln
