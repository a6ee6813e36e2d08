// TorchScript archives traced by real PyTorch 2.11 (tests/models/make_fixtures.py): each
// imports, verifies, and runs on the CPU reference within the stated tolerance of
// PyTorch's own outputs, in FP32 and in BF16.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "core/tensor_io.h"
#include "frontends/torchscript/torchscript_importer.h"
#include "ir/verifier.h"
#include "kiln/kiln.h"
#include "models/model_tolerances.h"
#include "passes/passes.h"
#include "test_support/fixtures.h"

namespace kiln {
namespace {

using test_support::FixtureReference;
using test_support::fixtures_folder;

struct TsFixture {
  std::string model;
  std::string stored_type;  // "fp32" or "bf16"
  std::vector<std::string> inputs;
  std::string skip_reason;
};

void PrintTo(const TsFixture& fixture, std::ostream* out) {
  *out << fixture.model << "_" << fixture.stored_type;
}

// Every model/dtype in manifest.json; those whose trace failed are kept with the message so
// that they show up as skipped.
std::vector<TsFixture> all_fixtures() {
  std::vector<TsFixture> fixtures;
  for (const test_support::FixtureEntry& entry : test_support::read_fixture_manifest()) {
    fixtures.push_back(
        {entry.model, entry.stored_type, entry.inputs, entry.failure("torchscript")});
  }
  return fixtures;
}

std::string fixture_name(const testing::TestParamInfo<TsFixture>& info) {
  return info.param.model + "_" + info.param.stored_type;
}

class TorchScriptFixtureTest : public testing::TestWithParam<TsFixture> {
 protected:
  void SetUp() override {
    const TsFixture& fixture = GetParam();
    if (!fixture.skip_reason.empty()) GTEST_SKIP() << "trace failed: " << fixture.skip_reason;
    std::string stem = fixture.model + "_" + fixture.stored_type;
    std::filesystem::path folder = fixtures_folder() / fixture.model;
    model_path_ = folder / (stem + ".pt");
    ASSERT_TRUE(std::filesystem::exists(model_path_)) << model_path_;
    reference_ = FixtureReference::load(folder, stem);
  }

  double error_with(const std::set<Precision>& precisions, bool strongly_typed) {
    return reference_.error_of(model_path_, precisions, strongly_typed);
  }

  std::filesystem::path model_path_;
  FixtureReference reference_;
};

TEST_P(TorchScriptFixtureTest, ImportsAndVerifies) {
  ir::Graph graph = torchscript::import_torchscript_file(model_path_);
  ir::verify(graph);
  ASSERT_EQ(graph.inputs().size(), GetParam().inputs.size());
  ASSERT_EQ(graph.outputs().size(), 1u);
  // Weights keep the stored dtype: a bf16 archive's weights are bf16 constants.
  DType stored = GetParam().stored_type == "bf16" ? DType::BFloat16 : DType::Float32;
  bool saw_weight = false;
  for (const ir::Value* value : graph.values()) {
    if (value->is_constant() && value->name.ends_with("weight")) {
      EXPECT_EQ(value->dtype, stored) << value->name;
      saw_weight = true;
    }
  }
  EXPECT_TRUE(saw_weight);
}

TEST_P(TorchScriptFixtureTest, MatchesPyTorch) {
  std::string label = fixture_name({GetParam(), 0});
  if (GetParam().stored_type == "fp32") {
    double fp32_error = error_with({Precision::FP32}, false);
    EXPECT_LE(fp32_error, kFp32Tolerance) << "fp32 normalized error " << fp32_error;
    double mixed_error = error_with({Precision::FP32, Precision::BF16}, false);
    EXPECT_LE(mixed_error, kBf16Tolerance) << "{fp32,bf16} normalized error " << mixed_error;
    std::cout << "[torchscript error] " << label << " fp32 " << fp32_error << " {fp32,bf16} "
              << mixed_error << "\n";
    RecordProperty("fp32_error", std::to_string(fp32_error));
    RecordProperty("bf16_error", std::to_string(mixed_error));
  } else {
    double typed_error = error_with({Precision::BF16}, true);
    EXPECT_LE(typed_error, kBf16Tolerance) << "strongly typed normalized error " << typed_error;
    std::cout << "[torchscript error] " << label << " bf16 typed " << typed_error << "\n";
    RecordProperty("typed_error", std::to_string(typed_error));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchScriptFixtureTest, testing::ValuesIn(all_fixtures()),
                         fixture_name);

}  // namespace
}  // namespace kiln
