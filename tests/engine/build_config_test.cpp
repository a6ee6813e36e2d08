// The builder's pieces that need no GPU: fitting the enabled precisions to a GPU's compute
// capability, the timing cache file, layer signatures, and the no-GPU build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/build_engine.h"
#include "engine/timing_cache.h"
#include "ir/op_schema.h"

namespace kiln::engine {
namespace {

// x[2, 8] · w[8, 4] → y, in a graph that stores `dtype`.
ir::Graph matmul_graph(DType dtype = DType::Float32) {
  ir::Graph graph;
  ir::Value* x = graph.add_input("x", dtype, ir::Shape::from_dims({2, 8}));
  ir::Value* w = graph.add_constant("w", Tensor(DType::Float32, {8, 4}).to(dtype));
  ir::Node* node = graph.add_node("MatMul", "mm", {x, w}, {"y"});
  ir::infer_graph(graph);
  graph.add_output(node->outputs[0]);
  return graph;
}

BuildConfig enabled(std::set<Precision> precisions) {
  BuildConfig config;
  config.enabled_precisions = std::move(precisions);
  return config;
}

TEST(FitConfigToGpuTest, AmpereAndNewerKeepBf16) {
  std::vector<std::string> warnings;
  BuildConfig fitted = fit_config_to_gpu(
      matmul_graph(), enabled({Precision::FP32, Precision::BF16}), 80, "A100", warnings);
  EXPECT_EQ(fitted.enabled_precisions.count(Precision::BF16), 1u);
  EXPECT_TRUE(warnings.empty());
}

TEST(FitConfigToGpuTest, MerelyEnabledBf16FallsBackWithAWarning) {
  std::vector<std::string> warnings;
  BuildConfig fitted = fit_config_to_gpu(
      matmul_graph(), enabled({Precision::FP32, Precision::BF16}), 75, "Tesla T4", warnings);
  EXPECT_EQ(fitted.enabled_precisions, (std::set<Precision>{Precision::FP32}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("Tesla T4"), std::string::npos) << warnings[0];
}

TEST(FitConfigToGpuTest, RequiredBf16IsAnErrorNamingTheGpu) {
  std::vector<std::string> warnings;
  auto expect_refused = [&](const ir::Graph& graph, const BuildConfig& config,
                            const std::string& advice) {
    try {
      fit_config_to_gpu(graph, config, 75, "Tesla T4", warnings);
      ADD_FAILURE() << "bf16 was required but accepted";
    } catch (const Error& error) {
      std::string message = error.what();
      EXPECT_NE(message.find("Tesla T4 (sm_75)"), std::string::npos) << message;
      EXPECT_NE(message.find(advice), std::string::npos) << message;
    }
  };
  expect_refused(matmul_graph(), enabled({Precision::BF16}), "--precision fp16");
  BuildConfig pinned = enabled({Precision::FP32, Precision::BF16});
  pinned.layer_precisions["mm"] = Precision::BF16;
  expect_refused(matmul_graph(), pinned, "--layer-precision");
  BuildConfig typed = enabled({Precision::FP32, Precision::BF16});
  typed.strongly_typed = true;
  expect_refused(matmul_graph(DType::BFloat16), typed, "--strongly-typed");
}

TEST(TimingCacheTest, RoundTripsThroughItsFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / "kiln_timing_cache_test.json";
  std::filesystem::remove(path);
  TimingCache empty = TimingCache::load(path);  // a missing file is an empty cache
  EXPECT_EQ(empty.size(), 0u);
  TimingCache cache;
  cache.insert("a", 0.25);
  cache.insert("b", std::nullopt);  // could not run in that precision
  cache.save(path);
  TimingCache loaded = TimingCache::load(path);
  EXPECT_EQ(loaded.size(), 2u);
  ASSERT_TRUE(loaded.find("a").has_value());
  EXPECT_DOUBLE_EQ(loaded.find("a")->value(), 0.25);
  ASSERT_TRUE(loaded.find("b").has_value());
  EXPECT_FALSE(loaded.find("b")->has_value());
  EXPECT_FALSE(loaded.find("c").has_value());

  std::ofstream(path) << "{\"format\": \"something else\"}";
  EXPECT_THROW(TimingCache::load(path), Error);
  std::ofstream(path) << "not json";
  EXPECT_THROW(TimingCache::load(path), Error);
  std::filesystem::remove(path);
}

// Compiled kernels (binary cubins) travel in the same file, per toolchain; a version 1 file
// (before kernels) still loads; a corrupt kernel is an error naming the file.
TEST(TimingCacheTest, KeepsCompiledKernelsPerToolchain) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / "kiln_timing_cache_kernels_test.json";
  std::string cubin(
      "\x7f"
      "ELF\0\x01\xff binary",
      13);
  TimingCache cache;
  cache.insert("a", 0.5);
  cache.insert_kernels("sm_90 nvrtc 13000", {{"kiln_fused_1", cubin}, {"kiln_fused_2", "x"}});
  cache.insert_kernels("sm_80 nvrtc 13000", {{"kiln_fused_1", "other"}});
  cache.save(path);
  TimingCache loaded = TimingCache::load(path);
  EXPECT_EQ(loaded.kernel_count(), 3u);
  std::map<std::string, std::string> hopper = loaded.kernels("sm_90 nvrtc 13000");
  ASSERT_EQ(hopper.size(), 2u);
  EXPECT_EQ(hopper.at("kiln_fused_1"), cubin);
  EXPECT_EQ(loaded.kernels("sm_80 nvrtc 13000").at("kiln_fused_1"), "other");
  EXPECT_TRUE(loaded.kernels("sm_90 nvrtc 12080").empty());  // another compiler: none

  std::ofstream(path) << R"({"format": "kiln-timing-cache", "version": 1, "entries": {"a": 1}})";
  TimingCache old = TimingCache::load(path);
  EXPECT_EQ(old.size(), 1u);
  EXPECT_EQ(old.kernel_count(), 0u);

  std::ofstream(path) << R"({"format": "kiln-timing-cache", "version": 2, "entries": {},
                              "kernels": {"sm_90 nvrtc 13000": {"k": "not base64!"}}})";
  try {
    TimingCache::load(path);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
  }
  std::filesystem::remove(path);
}

TEST(LayerSignatureTest, DependsOnShapesPrecisionAndGpuNotOnStorageOrNames) {
  ir::Graph fp32 = matmul_graph(DType::Float32);
  ir::Graph bf16 = matmul_graph(DType::BFloat16);
  const ir::Node& a = *fp32.nodes().front();
  const ir::Node& b = *bf16.nodes().front();
  EXPECT_EQ(layer_signature(a, Precision::BF16, "sm_90"),
            layer_signature(b, Precision::BF16, "sm_90"));
  EXPECT_NE(layer_signature(a, Precision::BF16, "sm_90"),
            layer_signature(a, Precision::FP32, "sm_90"));
  EXPECT_NE(layer_signature(a, Precision::BF16, "sm_90"),
            layer_signature(a, Precision::BF16, "sm_80"));
  ir::Graph wider;
  ir::Value* x = wider.add_input("x", DType::Float32, ir::Shape::from_dims({4, 8}));
  ir::Value* w = wider.add_constant("w", Tensor(DType::Float32, {8, 4}));
  wider.add_node("MatMul", "other_name", {x, w}, {"y"});
  ir::infer_graph(wider);
  EXPECT_NE(layer_signature(a, Precision::BF16, "sm_90"),
            layer_signature(*wider.nodes().front(), Precision::BF16, "sm_90"));
}

TEST(BuildEngineTest, WithoutAGpuTheHeuristicDecides) {
  BuildResult built =
      build_engine(matmul_graph(), enabled({Precision::FP32, Precision::BF16}), nullptr, nullptr);
  EXPECT_EQ(built.header.gpu_architecture, "none");
  EXPECT_EQ(built.layers_timed, 0u);
  EXPECT_TRUE(built.layer_timings.empty());
  EXPECT_TRUE(built.config.tuned_input_dims.empty());
  ASSERT_TRUE(built.graph.nodes().front()->precision.has_value());
  EXPECT_EQ(*built.graph.nodes().front()->precision, Precision::BF16);
}

}  // namespace
}  // namespace kiln::engine
