// Runs the built `kiln bench` (and `kiln run --backend`): its JSON report on the CPU, and the
// CUDA backend's clear refusal on a machine without a GPU (or its run where one is present).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/engine_file.h"
#include "kiln/kiln.h"
#include "passes/passes.h"
#include "tools/run_kiln.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using testing_cli::KilnResult;
using testing_cli::run_kiln;

const std::string kExampleModel =
    std::string(KILN_SOURCE_DIR) + "/tests/models/example/example.onnx";  // x: float32 [2, 4]

// The NVIDIA driver's device node: present where a GPU is usable, independent of this build.
bool gpu_present() { return std::filesystem::exists("/dev/nvidia0"); }

class KilnBenchCli : public testing_cli::KilnCliTest {};

TEST_F(KilnBenchCli, CpuJsonReport) {
  KilnResult result = run_kiln(
      "bench " + kExampleModel + " --backend cpu --iterations 3 --warmup 1 --json", folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  nlohmann::json report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report.at("backend"), "cpu");
  EXPECT_EQ(report.at("iterations"), 3);
  EXPECT_EQ(report.at("warmup"), 1);
  EXPECT_EQ(report.at("batch"), 2);
  EXPECT_EQ(report.at("inputs").at("x").at("dims"), nlohmann::json::array({2, 4}));
  EXPECT_THAT(report.at("timing").get<std::string>(), HasSubstr("wall clock"));
  const nlohmann::json& latency = report.at("latency_ms");
  double min = latency.at("min"), median = latency.at("median");
  double p90 = latency.at("p90"), p99 = latency.at("p99");
  EXPECT_GT(min, 0.0);
  EXPECT_GE(median, min);
  EXPECT_GE(p90, median);
  EXPECT_GE(p99, p90);
  const nlohmann::json& throughput = report.at("throughput");
  double inferences = throughput.at("inferences_per_second");
  double samples = throughput.at("samples_per_second");
  EXPECT_GT(inferences, 0.0);
  EXPECT_DOUBLE_EQ(samples, 2 * inferences);  // batch 2
  double load_ms = report.at("load_ms");
  EXPECT_GE(load_ms, 0.0);
  EXPECT_LT(load_ms, 60000.0);
  // The process's peak: at least a megabyte (the executable itself), far below a terabyte.
  uint64_t peak_memory = report.at("peak_host_memory_bytes");
  EXPECT_GT(peak_memory, uint64_t(1) << 20);
  EXPECT_LT(peak_memory, uint64_t(1) << 40);
}

// An engine timed at batch 5 is benched and run at batch 5 unless --dim says otherwise.
TEST_F(KilnBenchCli, EngineDefaultsToItsTunedDims) {
  ir::Graph graph =
      load_model(std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/mlp/mlp_fp32.onnx");
  passes::assign_precisions(graph, {Precision::FP32}, false);  // x: float32 [batch, 16]
  engine::BuildConfig config;
  config.tuned_input_dims["x"] = {5, 16};
  engine::EngineHeader header;
  header.gpu_architecture = "sm_90";  // as a GPU build writes it; the CPU runs any engine
  std::filesystem::path engine_file = folder_ / "tuned.kiln";
  engine::write_engine(engine_file, graph, config, header);
  std::string common = " --backend cpu --iterations 1 --warmup 0 --json";
  KilnResult tuned = run_kiln("bench " + engine_file.string() + common, folder_);
  ASSERT_EQ(tuned.status, 0) << tuned.err;
  EXPECT_EQ(nlohmann::json::parse(tuned.out).at("inputs").at("x").at("dims"),
            nlohmann::json::array({5, 16}));
  KilnResult given = run_kiln("bench " + engine_file.string() + common + " --dim batch=2", folder_);
  ASSERT_EQ(given.status, 0) << given.err;
  EXPECT_EQ(nlohmann::json::parse(given.out).at("inputs").at("x").at("dims"),
            nlohmann::json::array({2, 16}));
}

TEST_F(KilnBenchCli, TableNamesBackendAndPercentiles) {
  KilnResult result =
      run_kiln("bench " + kExampleModel + " --backend cpu --iterations 2 --warmup 0", folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("backend cpu"));
  EXPECT_THAT(result.out, HasSubstr("median"));
  EXPECT_THAT(result.out, HasSubstr("p99"));
  EXPECT_THAT(result.out, HasSubstr("samples/s (batch 2)"));
}

TEST_F(KilnBenchCli, BadCountsAndBackendsAreUsageErrors) {
  EXPECT_EQ(run_kiln("bench " + kExampleModel + " --iterations 0", folder_).status, 2);
  EXPECT_EQ(run_kiln("bench " + kExampleModel + " --backend tpu", folder_).status, 2);
  EXPECT_EQ(run_kiln("run " + kExampleModel + " --backend tpu", folder_).status, 2);
}

// Without a GPU (or without CUDA in this build) --backend cuda exits 1 saying why; with a
// GPU it runs there.
TEST_F(KilnBenchCli, CudaBackendNeedsAGpu) {
  for (const std::string& command :
       {"bench " + kExampleModel + " --backend cuda --iterations 3 --warmup 1 --json",
        "run " + kExampleModel + " --backend cuda --json"}) {
    KilnResult result = run_kiln(command, folder_);
    if (result.err.find("built without CUDA") != std::string::npos) {
      EXPECT_EQ(result.status, 1) << command;
    } else if (gpu_present()) {
      ASSERT_EQ(result.status, 0) << command << '\n' << result.err;
      EXPECT_EQ(nlohmann::json::parse(result.out).at("backend"), "cuda") << command;
    } else {
      EXPECT_EQ(result.status, 1) << command;
      EXPECT_THAT(result.err, HasSubstr("kiln: error: backend 'cuda' needs a GPU")) << command;
      EXPECT_EQ(result.out, "") << command;
    }
  }
  // The default picks the GPU only where one is usable.
  KilnResult default_backend = run_kiln("run " + kExampleModel + " --json", folder_);
  ASSERT_EQ(default_backend.status, 0) << default_backend.err;
  std::string chosen = nlohmann::json::parse(default_backend.out).at("backend");
  if (!gpu_present()) {
    EXPECT_EQ(chosen, "cpu");
  }
}

}  // namespace
}  // namespace kiln
