// Runs the built `kiln` executable: exit statuses, messages and the files it writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/tensor_io.h"
#include "tools/run_kiln.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using testing_cli::KilnResult;
using testing_cli::run_kiln;

const std::string kExampleModel =
    std::string(KILN_SOURCE_DIR) + "/tests/models/example/example.onnx";

class KilnCli : public testing_cli::KilnCliTest {};

TEST_F(KilnCli, RunWritesOutputsAndSummaries) {
  std::string outputs = (folder_ / "out").string();
  KilnResult result = run_kiln("run " + kExampleModel + " --seed 3 --output-dir " + outputs +
                                   " --save-inputs " + (folder_ / "in.safetensors").string(),
                               folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("output softmax  float32 [2, 3]"));
  EXPECT_THAT(result.out, HasSubstr("ms"));
  Tensor softmax = read_npy(folder_ / "out" / "softmax.npy");
  ASSERT_EQ(softmax.dims(), Dims({2, 3}));
  std::vector<double> values = softmax.to_double_vector();
  EXPECT_NEAR(values[0] + values[1] + values[2], 1.0, 1e-6);  // softmax rows sum to one
  EXPECT_EQ(read_safetensors(folder_ / "in.safetensors").at("x").dims(), Dims({2, 4}));

  // Same input read back, in bf16, written as safetensors, compared against fp32.
  KilnResult bf16 =
      run_kiln("run " + kExampleModel + " --input " + (folder_ / "in.safetensors").string() +
                   " -p fp32,bf16 --output-format safetensors --json --output-dir " +
                   (folder_ / "bf16").string(),
               folder_);
  ASSERT_EQ(bf16.status, 0) << bf16.err;
  EXPECT_THAT(bf16.out, HasSubstr("\"precisions\": \"fp32,bf16\""));
  EXPECT_THAT(bf16.out, HasSubstr("\"source\": \"" + (folder_ / "in.safetensors").string()));
  Tensor lowered = read_safetensors(folder_ / "bf16" / "outputs.safetensors").at("softmax");
  EXPECT_LT(normalized_error(lowered, softmax), 2e-2);

  KilnResult compare =
      run_kiln("compare " + (folder_ / "bf16" / "outputs.safetensors").string() + " " +
                   (folder_ / "bf16" / "outputs.safetensors").string() + " --json",
               folder_);
  ASSERT_EQ(compare.status, 0) << compare.err;
  EXPECT_THAT(compare.out, HasSubstr("\"normalized_error\": 0.0"));
}

TEST_F(KilnCli, InspectListsTheInterface) {
  KilnResult result = run_kiln("inspect " + kExampleModel, folder_);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("x  float32 [2, 4]"));
  EXPECT_THAT(result.out, HasSubstr("softmax  float32 [2, 3]"));
  EXPECT_THAT(result.out, HasSubstr("unsupported  none"));
}

TEST_F(KilnCli, BadArgumentsExitWithStatusTwo) {
  KilnResult flag = run_kiln("run " + kExampleModel + " --no-such-flag", folder_);
  EXPECT_EQ(flag.status, 2);
  EXPECT_THAT(flag.err, HasSubstr("kiln: error: "));
  EXPECT_THAT(flag.err, HasSubstr("--no-such-flag"));
  KilnResult precision = run_kiln("run " + kExampleModel + " --precision fp33", folder_);
  EXPECT_EQ(precision.status, 2);
  EXPECT_THAT(precision.err, HasSubstr("kiln: error: unknown precision 'fp33'"));
  KilnResult none = run_kiln("", folder_);
  EXPECT_EQ(none.status, 2);
}

TEST_F(KilnCli, ModelErrorsExitWithStatusOne) {
  KilnResult missing = run_kiln("run " + (folder_ / "missing.onnx").string(), folder_);
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.err, HasSubstr("kiln: error: model file"));
  std::ofstream(folder_ / "junk.onnx") << "this is not protobuf";
  KilnResult junk = run_kiln("run " + (folder_ / "junk.onnx").string(), folder_);
  EXPECT_EQ(junk.status, 1);
  EXPECT_THAT(junk.err, HasSubstr("kiln: error: "));
  EXPECT_EQ(std::count(junk.err.begin(), junk.err.end(), '\n'), 1) << junk.err;  // one line
  KilnResult unknown = run_kiln("inspect model.tflite", folder_);
  EXPECT_EQ(unknown.status, 1);
  EXPECT_THAT(unknown.err, HasSubstr("unknown model format '.tflite'"));
}

TEST_F(KilnCli, VersionAndHelp) {
  KilnResult version = run_kiln("--version", folder_);
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.out, HasSubstr("kiln 0."));
  KilnResult help = run_kiln("run --help", folder_);
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("--precision"));
}

}  // namespace
}  // namespace kiln
