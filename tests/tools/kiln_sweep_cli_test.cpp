// Runs the built `kiln sweep` on the CPU: every precision configuration listed, fp32's error 0
// and the others finite, a recommendation within --max-error, JSON, and bad arguments.
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

const std::string kMlpFolder = std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/mlp/";
const std::string kMlpFp32 = kMlpFolder + "mlp_fp32.onnx";  // x: float32 [batch, 16]
const std::string kMlpBf16 = kMlpFolder + "mlp_bf16.onnx";  // the same with bfloat16 tensors
const std::string kFastCpu = " --backend cpu --iterations 3 --warmup 1";

class KilnSweepCli : public testing_cli::KilnCliTest {
 protected:
  nlohmann::json sweep_json(const std::string& arguments) {
    KilnResult result = run_kiln("sweep " + arguments + kFastCpu + " --json", folder_);
    EXPECT_EQ(result.status, 0) << result.err;
    return nlohmann::json::parse(result.out);
  }
};

std::vector<std::string> config_names(const nlohmann::json& report) {
  std::vector<std::string> names;
  for (const nlohmann::json& config : report.at("configs")) names.push_back(config.at("name"));
  return names;
}

TEST_F(KilnSweepCli, TableListsEveryConfigurationAndRecommends) {
  KilnResult result = run_kiln("sweep " + kMlpFp32 + kFastCpu, folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  for (const char* config : {"\nfp32 ", "\nfp32,tf32 ", "\nfp32,fp16 ", "\nfp32,bf16 "}) {
    EXPECT_THAT(result.out, HasSubstr(config));
  }
  // A model without narrow tensors of its own gains nothing from --strongly-typed.
  EXPECT_THAT(result.out, ::testing::Not(HasSubstr("strongly-typed")));
  EXPECT_THAT(result.out, HasSubstr("speed-up"));
  EXPECT_THAT(result.out, HasSubstr("\nrecommended: "));
  EXPECT_THAT(result.out, HasSubstr("fastest within --max-error 0.01\n"));
  EXPECT_THAT(result.err, HasSubstr("sweep 1/4 fp32"));  // progress per configuration
  EXPECT_THAT(result.err, HasSubstr("sweep 4/4 fp32,bf16"));
}

// --config narrows the sweep; fp32 runs first as the reference even when not named.
TEST_F(KilnSweepCli, ConfigChoosesConfigurationsAndKeepsTheReference) {
  nlohmann::json report = sweep_json(kMlpBf16 + " --config strongly-typed --config fp32,bf16");
  EXPECT_EQ(config_names(report),
            (std::vector<std::string>{"fp32", "fp32,bf16", "strongly-typed"}));
  KilnResult bad = run_kiln("sweep " + kMlpFp32 + kFastCpu + " --config fp32,bf17", folder_);
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.err, HasSubstr("--config fp32,bf17: not a configuration (valid: fp32, "
                                 "fp32,tf32, fp32,fp16, fp32,bf16)"));
}

TEST_F(KilnSweepCli, JsonErrorsAgainstFp32) {
  nlohmann::json report = sweep_json(kMlpBf16);
  EXPECT_EQ(report.at("backend"), "cpu");
  EXPECT_EQ(config_names(report), (std::vector<std::string>{"fp32", "fp32,tf32", "fp32,fp16",
                                                            "fp32,bf16", "strongly-typed"}));
  for (const nlohmann::json& config : report.at("configs")) {
    SCOPED_TRACE(config.dump());
    ASSERT_TRUE(config.at("error").is_number());  // NaN would be null
    double error = config.at("error"), median = config.at("median_ms");
    EXPECT_TRUE(std::isfinite(error));
    EXPECT_GE(error, 0.0);
    EXPECT_GT(median, 0.0);
    EXPECT_FALSE(config.at("layers").empty());
  }
  const nlohmann::json& fp32 = report.at("configs").at(0);
  EXPECT_EQ(fp32.at("error"), 0.0);
  EXPECT_EQ(fp32.at("speedup"), 1.0);
  EXPECT_EQ(fp32.at("layers"), nlohmann::json({{"fp32", 4}}));
  EXPECT_EQ(report.at("configs").at(3).at("layers"), nlohmann::json({{"bf16", 4}}));
}

TEST_F(KilnSweepCli, NarrowPrecisionsHaveErrorOnAnFp32Model) {
  nlohmann::json report = sweep_json(kMlpFp32);
  for (size_t i = 1; i < report.at("configs").size(); ++i) {
    double error = report.at("configs").at(i).at("error");
    EXPECT_GT(error, 0.0) << report.at("configs").at(i).at("name");
    EXPECT_LT(error, 0.05) << report.at("configs").at(i).at("name");
  }
}

// The recommendation is the fastest configuration whose error is within the bound.
TEST_F(KilnSweepCli, RecommendationRespectsMaxError) {
  nlohmann::json report = sweep_json(kMlpFp32 + " --max-error 1e-2");
  std::string best;
  double best_ms = 0;
  for (const nlohmann::json& config : report.at("configs")) {
    double error = config.at("error"), median = config.at("median_ms");
    EXPECT_EQ(config.at("within_max_error").get<bool>(), error <= 1e-2);
    if (error <= 1e-2 && (best.empty() || median < best_ms)) {
      best = config.at("name");
      best_ms = median;
    }
  }
  EXPECT_EQ(report.at("recommended"), best);

  // Every narrow precision errs more than this on the fp32 model: only fp32 remains.
  report = sweep_json(kMlpFp32 + " --max-error 1e-9");
  EXPECT_EQ(report.at("recommended"), "fp32");
  EXPECT_THAT(report.at("recommendation").get<std::string>(),
              ::testing::StartsWith("recommended: fp32 ("));
  EXPECT_THAT(report.at("recommendation").get<std::string>(),
              HasSubstr("fastest within --max-error 1e-09"));
}

// Given inputs replace the random ones: the seed then changes nothing.
TEST_F(KilnSweepCli, GivenInputsAreUsed) {
  std::string inputs = " --input " + kMlpFolder + "mlp_fp32_inputs.safetensors";
  nlohmann::json first = sweep_json(kMlpFp32 + inputs + " --seed 1");
  nlohmann::json second = sweep_json(kMlpFp32 + inputs + " --seed 2");
  nlohmann::json random = sweep_json(kMlpFp32 + " --seed 1");
  for (size_t i = 1; i < first.at("configs").size(); ++i) {
    double error = first.at("configs").at(i).at("error");
    EXPECT_EQ(error, second.at("configs").at(i).at("error").get<double>());
    EXPECT_NE(error, random.at("configs").at(i).at("error").get<double>());
  }
}

TEST_F(KilnSweepCli, BadArgumentsAreUsageErrors) {
  KilnResult result = run_kiln("sweep " + kMlpFp32 + " --max-error -1", folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("--max-error"));
  result = run_kiln("sweep " + kMlpFp32 + " --dim batch", folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("NAME=SIZE"));
  result = run_kiln("sweep " + kMlpFp32 + " --iterations 0", folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("--iterations"));
  result = run_kiln("sweep " + (folder_ / "model.kiln").string(), folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("not an engine"));
}

}  // namespace
}  // namespace kiln
