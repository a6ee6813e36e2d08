// Runs the built `kiln` executable through build → inspect → run on an engine file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace kiln {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kKilnBinary = std::filesystem::path(KILN_BINARY_DIR) / "kiln";
const std::string kResnet =
    std::string(KILN_SOURCE_DIR) + "/tests/models/fixtures/resnet/resnet_fp32.onnx";

struct CommandResult {
  int status;
  std::string out;
  std::string err;
};

CommandResult run_kiln_in(const std::string& arguments, const std::filesystem::path& folder) {
  std::filesystem::path out = folder / "stdout.txt", err = folder / "stderr.txt";
  std::string command =
      kKilnBinary.string() + " " + arguments + " >" + out.string() + " 2>" + err.string();
  int raw = std::system(command.c_str());
  auto slurp = [](const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
}

class KilnBuildCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kKilnBinary)) << kKilnBinary << " is missing";
    folder_ = std::filesystem::temp_directory_path() /
              ("kiln_build_cli_" +
               std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
               std::to_string(::getpid()));
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::filesystem::path folder_;
};

TEST_F(KilnBuildCli, BuildInspectRun) {
  std::string engine = (folder_ / "resnet.kiln").string();
  CommandResult build = run_kiln_in("build " + kResnet +
                                        " --precision fp32,bf16 --layer-precision Conv=fp32 -o " +
                                        engine, folder_);
  ASSERT_EQ(build.status, 0) << build.err;
  EXPECT_THAT(build.out, HasSubstr("built " + engine));
  EXPECT_THAT(build.out, HasSubstr("fp32"));
  EXPECT_THAT(build.out, HasSubstr("bytes"));
  ASSERT_TRUE(std::filesystem::exists(engine));

  CommandResult inspect = run_kiln_in("inspect --json " + engine, folder_);
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

  CommandResult text = run_kiln_in("inspect " + engine, folder_);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("constraint Conv=fp32"));
  EXPECT_THAT(text.out, HasSubstr("fp32  Conv  "));

  CommandResult run = run_kiln_in("run --json " + engine, folder_);
  ASSERT_EQ(run.status, 0) << run.err;
  nlohmann::json ran = nlohmann::json::parse(run.out);
  EXPECT_EQ(ran["precisions"], "fp32,bf16");
  ASSERT_FALSE(ran["outputs"].empty());
}

TEST_F(KilnBuildCli, BadLayerPrecisionIsAUsageError) {
  CommandResult result = run_kiln_in(
      "build " + kResnet + " --layer-precision Conv=fp33 -o " + (folder_ / "x.kiln").string(),
      folder_);
  EXPECT_EQ(result.status, 2);
  EXPECT_THAT(result.err, HasSubstr("fp33"));
}

TEST_F(KilnBuildCli, CorruptEngineIsAModelError) {
  std::string engine = (folder_ / "bad.kiln").string();
  std::ofstream(engine) << "KILNENG";  // the magic without its terminating zero
  CommandResult result = run_kiln_in("run " + engine, folder_);
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("corrupt or truncated"));
}

}  // namespace
}  // namespace kiln
