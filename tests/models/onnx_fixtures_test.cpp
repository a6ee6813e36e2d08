// Models exported by real PyTorch (torch.onnx.export, dynamo) run on the CPU reference and
// compared with PyTorch's own outputs (tests/models/make_fixtures.py made both).
#include <gtest/gtest.h>

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "core/tensor_io.h"
#include "kiln/kiln.h"
#include "model_tolerances.h"
#include "test_support/fixtures.h"

namespace kiln {
namespace {

using test_support::FixtureReference;

struct OnnxFixture {
  std::string model;        // folder under tests/models/fixtures
  std::string stored_type;  // "fp32" or "bf16": the dtype the model was saved in
  std::string variant;      // "" (default opset) or "_opset23" (ONNX Attention)
  std::string skip_reason;  // non-empty when the exporter failed for this fixture
};

std::string fixture_name(const testing::TestParamInfo<OnnxFixture>& info) {
  return info.param.model + "_" + info.param.stored_type + info.param.variant;
}

std::filesystem::path fixture_folder(const OnnxFixture& fixture) {
  return test_support::fixtures_folder() / fixture.model;
}

class OnnxFixtureTest : public testing::TestWithParam<OnnxFixture> {
 protected:
  void SetUp() override {
    const OnnxFixture& fixture = GetParam();
    if (!fixture.skip_reason.empty()) GTEST_SKIP() << "export failed: " << fixture.skip_reason;
    std::string stem = fixture.model + "_" + fixture.stored_type;
    model_path_ = fixture_folder(fixture) / (stem + fixture.variant + ".onnx");
    ASSERT_TRUE(std::filesystem::exists(model_path_)) << model_path_;
    reference_ = FixtureReference::load(fixture_folder(fixture), stem);
  }

  double error_with(const std::set<Precision>& precisions, bool strongly_typed) {
    return reference_.error_of(model_path_, precisions, strongly_typed);
  }

  std::filesystem::path model_path_;
  FixtureReference reference_;
};

TEST_P(OnnxFixtureTest, MatchesPyTorch) {
  if (GetParam().stored_type == "fp32") {
    double fp32_error = error_with({Precision::FP32}, false);
    EXPECT_LE(fp32_error, kFp32Tolerance) << "fp32 normalized error " << fp32_error;
    double bf16_error = error_with({Precision::FP32, Precision::BF16}, false);
    EXPECT_LE(bf16_error, kBf16Tolerance) << "{fp32,bf16} normalized error " << bf16_error;
    std::ostringstream errors;
    errors << std::scientific << std::setprecision(2) << fp32_error << " " << bf16_error;
    RecordProperty("fp32_bf16_errors", errors.str());
  } else {
    // A model stored in bf16, run as stored and with the builder free to choose.
    double typed_error = error_with({Precision::BF16}, true);
    EXPECT_LE(typed_error, kBf16Tolerance) << "strongly typed normalized error " << typed_error;
    double mixed_error = error_with({Precision::FP32, Precision::BF16}, false);
    EXPECT_LE(mixed_error, kBf16Tolerance) << "{fp32,bf16} normalized error " << mixed_error;
  }
}

// Every model/dtype in manifest.json, at the default opset and, where it was exported so,
// at opset 23; those whose export failed are kept with the message so that they show up as
// skipped.
std::vector<OnnxFixture> all_fixtures() {
  std::vector<OnnxFixture> fixtures;
  for (const test_support::FixtureEntry& entry : test_support::read_fixture_manifest()) {
    fixtures.push_back({entry.model, entry.stored_type, "", entry.failure("onnx")});
    if (entry.was_made("onnx_opset23") || !entry.failure("onnx_opset23").empty()) {
      fixtures.push_back(
          {entry.model, entry.stored_type, "_opset23", entry.failure("onnx_opset23")});
    }
  }
  return fixtures;
}

INSTANTIATE_TEST_SUITE_P(PyTorchExports, OnnxFixtureTest, testing::ValuesIn(all_fixtures()),
                         fixture_name);

}  // namespace
}  // namespace kiln
