// Runs the built `kiln` executable through build → inspect → run on an engine file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/run_kiln.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using testing_cli::KilnResult;
using testing_cli::run_kiln;

const std::string kResnet =
    std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/resnet/resnet_fp32.onnx";

class KilnBuildCli : public testing_cli::KilnCliTest {};

TEST_F(KilnBuildCli, BuildInspectRun) {
  std::string engine = (folder_ / "resnet.kiln").string();
  KilnResult build = run_kiln(
      "build " + kResnet + " --precision fp32,bf16 --layer-precision Conv=fp32 -o " + engine,
      folder_);
  ASSERT_EQ(build.status, 0) << build.err;
  EXPECT_THAT(build.out, HasSubstr("built " + engine));
  EXPECT_THAT(build.out, HasSubstr("fp32"));
  EXPECT_THAT(build.out, HasSubstr("bytes"));
  ASSERT_TRUE(std::filesystem::exists(engine));

  KilnResult inspect = run_kiln("inspect --json " + engine, folder_);
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  nlohmann::json report = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(report["precisions"], "fp32,bf16");
  EXPECT_EQ(report["gpu_architecture"], "none");
  EXPECT_EQ(report["layer_precisions"]["Conv"], "fp32");
  int convs = 0, bf16_layers = 0;
  for (const auto& layer : report["layers"]) {
    if (layer["op"] == "Conv") {
      ++convs;
      EXPECT_EQ(layer["precision"], "fp32") << layer["name"];
    }
    bf16_layers += layer["precision"] == "bf16";
  }
  EXPECT_GT(convs, 0);
  EXPECT_GT(bf16_layers, 0);  // the rest still chose bf16
  // What loading cost: a positive time well under a minute, and a peak above the engine's
  // own size (its bytes are mapped and checksummed) but far below a terabyte.
  double load_ms = report.at("load_ms");
  EXPECT_GT(load_ms, 0.0);
  EXPECT_LT(load_ms, 60000.0);
  uint64_t peak_memory = report.at("peak_host_memory_bytes");
  EXPECT_GT(peak_memory, std::filesystem::file_size(engine));
  EXPECT_LT(peak_memory, uint64_t(1) << 40);

  KilnResult text = run_kiln("inspect " + engine, folder_);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("constraint Conv=fp32"));
  EXPECT_THAT(text.out, HasSubstr("fp32  Conv  "));
  EXPECT_THAT(text.out, HasSubstr("loaded in "));
  EXPECT_THAT(text.out, HasSubstr("peak host memory "));

  KilnResult run = run_kiln("run --json " + engine, folder_);
  ASSERT_EQ(run.status, 0) << run.err;
  nlohmann::json ran = nlohmann::json::parse(run.out);
  EXPECT_EQ(ran["precisions"], "fp32,bf16");
  ASSERT_FALSE(ran["outputs"].empty());
}

// `--dim NAME=MIN:OPT:MAX`: the engine keeps the range (inspect shows it), runs any size in it
// and refuses others naming the dim; a --dim naming no symbol of the model is an error.
TEST_F(KilnBuildCli, DimRangesAreKeptAndEnforced) {
  const std::string bert =
      std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/bert/bert_fp32.onnx";
  std::string engine = (folder_ / "bert.kiln").string();
  KilnResult build =
      run_kiln("build " + bert + " --backend cpu --dim batch=1:2:4 -q -o " + engine, folder_);
  ASSERT_EQ(build.status, 0) << build.err;
  KilnResult inspect = run_kiln("inspect --json " + engine, folder_);
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  nlohmann::json report = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(report["dim_ranges"]["batch"]["min"], 1);
  EXPECT_EQ(report["dim_ranges"]["batch"]["max"], 4);
  EXPECT_THAT(run_kiln("inspect " + engine, folder_).out, HasSubstr("accepts batch in 1..4"));

  for (int batch : {1, 3, 4}) {
    KilnResult run =
        run_kiln("run " + engine + " --backend cpu --dim batch=" + std::to_string(batch), folder_);
    EXPECT_EQ(run.status, 0) << batch << ": " << run.err;
  }
  KilnResult outside = run_kiln("run " + engine + " --backend cpu --dim batch=5", folder_);
  EXPECT_NE(outside.status, 0);
  EXPECT_THAT(outside.err, HasSubstr("dim 'batch' is 5, outside its range 1..4"));

  KilnResult unknown =
      run_kiln("build " + bert + " --backend cpu --dim seq=1:2:4 -o " + engine, folder_);
  EXPECT_NE(unknown.status, 0);
  EXPECT_THAT(unknown.err, HasSubstr("no symbolic dim of that name (theirs: batch)"));
  KilnResult bad = run_kiln("build " + bert + " --dim batch=4:2:8 -o " + engine, folder_);
  EXPECT_EQ(bad.status, 2);
  EXPECT_THAT(bad.err, HasSubstr("MIN <= OPT <= MAX"));
}

// A .pt2's range constraints are the engine's default range; a wider --dim range is refused.
TEST_F(KilnBuildCli, DeclaredPt2RangesAreTheDefault) {
  const std::string mlp = std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/mlp/mlp_fp32.pt2";
  std::string engine = (folder_ / "mlp.kiln").string();
  KilnResult build = run_kiln("build " + mlp + " --backend cpu -q -o " + engine, folder_);
  ASSERT_EQ(build.status, 0) << build.err;
  nlohmann::json report = nlohmann::json::parse(run_kiln("inspect --json " + engine, folder_).out);
  ASSERT_EQ(report["dim_ranges"].size(), 1u) << report["dim_ranges"];
  const auto& [symbol, range] = *report["dim_ranges"].items().begin();
  EXPECT_EQ(range["min"], 1);  // torch.export's 2 (0 and 1 specialized away) taken as 1
  EXPECT_EQ(range["max"], 64);
  KilnResult wider = run_kiln(
      "build " + mlp + " --backend cpu --dim " + symbol + "=1:2:128 -o " + engine, folder_);
  EXPECT_NE(wider.status, 0);
  EXPECT_THAT(wider.err, HasSubstr("goes beyond the model's declared 1..64"));
}

TEST_F(KilnBuildCli, BadLayerPrecisionIsAUsageError) {
  KilnResult result = run_kiln(
      "build " + kResnet + " --layer-precision Conv=fp33 -o " + (folder_ / "x.kiln").string(),
      folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("fp33"));
}

TEST_F(KilnBuildCli, CorruptEngineIsAModelError) {
  std::string engine = (folder_ / "bad.kiln").string();
  std::ofstream(engine) << "KILNENG";  // the magic without its terminating zero
  KilnResult result = run_kiln("run " + engine, folder_);
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("corrupt or truncated"));
}

}  // namespace
}  // namespace kiln
