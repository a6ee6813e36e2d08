// Runs the built `kiln debug-precision`: the top K layers by error growth against fp32, their
// names usable by `kiln build --layer-precision`, its agreement with `kiln sweep`, JSON, and
// bad arguments.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "tools/run_kiln.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using testing_cli::KilnResult;
using testing_cli::run_kiln;

const std::string kMlpFp32 =
    std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/mlp/mlp_fp32.onnx";  // 4 layers

class KilnDebugPrecisionCli : public testing_cli::KilnCliTest {
 protected:
  nlohmann::json debug_json(const std::string& arguments) {
    KilnResult result =
        run_kiln("debug-precision " + kMlpFp32 + " " + arguments + " --json", folder_);
    EXPECT_EQ(result.status, 0) << result.err;
    return nlohmann::json::parse(result.out);
  }
};

TEST_F(KilnDebugPrecisionCli, JsonListsTopLayersByGrowth) {
  nlohmann::json report = debug_json("-p bf16 --top 3");
  EXPECT_EQ(report.at("precisions"), "bf16");
  EXPECT_EQ(report.at("backend"), "cpu");
  EXPECT_EQ(report.at("layers_compared"), 4);
  const nlohmann::json& layers = report.at("layers");
  ASSERT_EQ(layers.size(), 3u);
  double previous = INFINITY;
  for (const nlohmann::json& layer : layers) {
    SCOPED_TRACE(layer.dump());
    ASSERT_TRUE(layer.at("error").is_number() && layer.at("growth").is_number());
    double error = layer.at("error"), growth = layer.at("growth");
    EXPECT_TRUE(std::isfinite(error));
    EXPECT_GT(error, 0.0);  // bf16 rounding shows in every layer
    EXPECT_LT(error, 0.05);
    EXPECT_LE(growth, error);  // growth subtracts the inputs' error
    EXPECT_LE(growth, previous);
    previous = growth;
    EXPECT_EQ(layer.at("precision"), "bf16");
    EXPECT_FALSE(layer.at("name").get<std::string>().empty());
  }
  double output_error = report.at("output_error");
  EXPECT_GT(output_error, 0.0);
}

TEST_F(KilnDebugPrecisionCli, Fp32AgainstFp32HasNoError) {
  nlohmann::json report = debug_json("-p fp32");
  EXPECT_EQ(report.at("output_error"), 0.0);
  for (const nlohmann::json& layer : report.at("layers")) {
    EXPECT_EQ(layer.at("error"), 0.0) << layer.dump();
    EXPECT_EQ(layer.at("growth"), 0.0) << layer.dump();
  }
}

TEST_F(KilnDebugPrecisionCli, TableEndsWithPinHint) {
  KilnResult result =
      run_kiln("debug-precision " + kMlpFp32 + " --precision fp32,fp16 --top 2", folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("CPU reference"));
  EXPECT_THAT(result.out, HasSubstr("(2 of 4)"));
  EXPECT_THAT(result.out, HasSubstr("output error"));
  EXPECT_THAT(result.out, HasSubstr("growth"));
  EXPECT_THAT(result.out, ::testing::EndsWith(
                              "pin a layer with: kiln build MODEL --layer-precision NAME=fp32\n"));
}

// The layer it names first is one `kiln build --layer-precision` accepts.
TEST_F(KilnDebugPrecisionCli, TopLayerCanBePinned) {
  nlohmann::json report = debug_json("-p bf16 --top 1");
  std::string name = report.at("layers").at(0).at("name");
  std::string engine = (folder_ / "pinned.kiln").string();
  KilnResult result = run_kiln("build " + kMlpFp32 + " -p bf16 --backend cpu --layer-precision " +
                                   name + "=fp32 -o " + engine + " -q",
                               folder_);
  EXPECT_EQ(result.status, 0) << result.err;
}

// Both use the builder's heuristic on the CPU reference with the same random inputs.
TEST_F(KilnDebugPrecisionCli, OutputErrorAgreesWithSweep) {
  nlohmann::json debug = debug_json("-p fp32,bf16 --seed 3");
  KilnResult result = run_kiln(
      "sweep " + kMlpFp32 + " --backend cpu --iterations 1 --warmup 0 --seed 3 --json", folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  nlohmann::json sweep = nlohmann::json::parse(result.out);
  double debug_error = debug.at("output_error"),
         sweep_error = sweep.at("configs").at(3).at("error");
  EXPECT_EQ(sweep.at("configs").at(3).at("name"), "fp32,bf16");
  EXPECT_GT(sweep_error, 0.0);
  EXPECT_NEAR(debug_error, sweep_error, 1e-12);
}

TEST_F(KilnDebugPrecisionCli, BadArgumentsAreUsageErrors) {
  KilnResult result = run_kiln("debug-precision " + kMlpFp32, folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("--precision is required"));
  result = run_kiln("debug-precision " + kMlpFp32 + " -p fp33", folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("unknown precision 'fp33'"));
  result = run_kiln("debug-precision " + kMlpFp32 + " -p bf16 --top 0", folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("--top"));
}

}  // namespace
}  // namespace kiln
