// torch.export archives written by real PyTorch 2.11 (tests/models/make_fixtures.py): each
// imports with every op supported, verifies, and runs on the CPU reference within the
// stated tolerance of PyTorch's own outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "core/tensor_io.h"
#include "frontends/pt2/pt2_importer.h"
#include "ir/verifier.h"
#include "kiln/kiln.h"
#include "models/model_tolerances.h"
#include "passes/passes.h"
#include "test_support/fixtures.h"

namespace kiln {
namespace {

using test_support::FixtureReference;
using test_support::fixtures_folder;

struct Pt2Fixture {
  std::string model;        // folder under tests/models/fixtures
  std::string stored_type;  // "fp32" or "bf16"
  std::string dialect;      // "" (training IR) or "_core" (after run_decompositions)
  std::vector<std::string> inputs;
  std::string skip_reason;  // non-empty when the exporter failed for this fixture
};

void PrintTo(const Pt2Fixture& fixture, std::ostream* out) {
  *out << fixture.model << "_" << fixture.stored_type << fixture.dialect;
}

// Every model/dtype in manifest.json, in both dialects; those whose .pt2 export failed are
// kept with the exporter's message so that they show up as skipped.
std::vector<Pt2Fixture> all_fixtures() {
  std::vector<Pt2Fixture> fixtures;
  for (const test_support::FixtureEntry& entry : test_support::read_fixture_manifest()) {
    Pt2Fixture fixture{entry.model, entry.stored_type, "", entry.inputs, entry.failure("pt2")};
    fixtures.push_back(fixture);
    fixture.dialect = "_core";
    fixtures.push_back(fixture);
  }
  return fixtures;
}

std::string fixture_name(const testing::TestParamInfo<Pt2Fixture>& info) {
  return info.param.model + "_" + info.param.stored_type + info.param.dialect;
}

class Pt2FixtureTest : public testing::TestWithParam<Pt2Fixture> {
 protected:
  void SetUp() override {
    const Pt2Fixture& fixture = GetParam();
    std::string stem = fixture.model + "_" + fixture.stored_type;
    std::filesystem::path folder = fixtures_folder() / fixture.model;
    model_path_ = folder / (stem + fixture.dialect + ".pt2");
    // A failed export may still have written the training-IR archive (gpt2 failed in
    // run_decompositions): test what exists.
    if (!fixture.skip_reason.empty() && !std::filesystem::exists(model_path_)) {
      GTEST_SKIP() << "export failed: " << fixture.skip_reason;
    }
    ASSERT_TRUE(std::filesystem::exists(model_path_)) << model_path_;
    reference_ = FixtureReference::load(folder, stem);
  }

  double error_with(const std::set<Precision>& precisions, bool strongly_typed) {
    return reference_.error_of(model_path_, precisions, strongly_typed);
  }

  std::filesystem::path model_path_;
  FixtureReference reference_;
};

TEST_P(Pt2FixtureTest, ImportsAndVerifies) {
  pt2::Pt2ImportResult result = pt2::import_pt2_model(model_path_);
  ir::verify(result.graph);
  std::vector<std::string> input_names;
  for (const ir::Value* input : result.graph.inputs()) input_names.push_back(input->name);
  EXPECT_EQ(input_names, GetParam().inputs);
  ASSERT_EQ(result.graph.outputs().size(), 1u);
  EXPECT_EQ(result.info.schema_major, 8);
  // The batch dim is dynamic in every fixture: a named symbol with its range [1, 64].
  const ir::Dim& batch = result.graph.inputs().front()->shape[0];
  ASSERT_TRUE(batch.is_symbolic()) << result.graph.inputs().front()->shape.to_string();
  ASSERT_TRUE(result.info.symbol_ranges.count(batch.symbol)) << batch.symbol;
  EXPECT_EQ(result.info.symbol_ranges.at(batch.symbol).min, 1);
  EXPECT_EQ(result.info.symbol_ranges.at(batch.symbol).max, 64);
  std::string expected_verifier = GetParam().dialect.empty() ? "TRAINING" : "ATEN";
  EXPECT_EQ(result.info.verifiers, std::vector<std::string>{expected_verifier});
}

TEST_P(Pt2FixtureTest, MatchesPyTorch) {
  std::string label = fixture_name({GetParam(), 0});
  if (GetParam().stored_type == "fp32") {
    double fp32_error = error_with({Precision::FP32}, false);
    EXPECT_LE(fp32_error, kFp32Tolerance) << "fp32 normalized error " << fp32_error;
    double mixed_error = error_with({Precision::FP32, Precision::BF16}, false);
    EXPECT_LE(mixed_error, kBf16Tolerance) << "{fp32,bf16} normalized error " << mixed_error;
    std::cout << "[pt2 error] " << label << " fp32 " << fp32_error << " {fp32,bf16} " << mixed_error
              << "\n";
    RecordProperty("fp32_error", std::to_string(fp32_error));
    RecordProperty("bf16_error", std::to_string(mixed_error));
  } else {
    double typed_error = error_with({Precision::BF16}, true);
    EXPECT_LE(typed_error, kBf16Tolerance) << "strongly typed normalized error " << typed_error;
    double mixed_error = error_with({Precision::FP32, Precision::BF16}, false);
    EXPECT_LE(mixed_error, kBf16Tolerance) << "{fp32,bf16} normalized error " << mixed_error;
    std::cout << "[pt2 error] " << label << " typed " << typed_error << " {fp32,bf16} "
              << mixed_error << "\n";
    RecordProperty("typed_error", std::to_string(typed_error));
    RecordProperty("bf16_error", std::to_string(mixed_error));
  }
}

std::vector<std::string> ops_of(const std::string& model, const std::string& file) {
  ir::Graph graph = pt2::import_pt2_file(fixtures_folder() / model / file);
  std::vector<std::string> ops;
  for (const ir::Node* node : graph.nodes()) ops.push_back(node->op);
  return ops;
}

bool has_op(const std::vector<std::string>& ops, const std::string& op) {
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

// The training IR's layers arrive as the IR's layers, not as their decompositions.
TEST(Pt2HighLevelOps, LayersStayLayers) {
  EXPECT_EQ(ops_of("mlp", "mlp_fp32.pt2"),
            (std::vector<std::string>{"Gemm", "LayerNormalization", "Gelu", "Gemm"}));
  auto encoder = ops_of("encoder", "encoder_bf16.pt2");
  EXPECT_TRUE(has_op(encoder, "Attention") && has_op(encoder, "LayerNormalization"));
  EXPECT_FALSE(has_op(encoder, "Softmax"));
  auto resnet = ops_of("resnet", "resnet_fp32.pt2");
  for (const char* op : {"Conv", "BatchNormalization", "MaxPool", "GlobalAveragePool", "Gemm"}) {
    EXPECT_TRUE(has_op(resnet, op)) << op;
  }
  auto mobilenet = ops_of("mobilenet", "mobilenet_fp32.pt2");
  EXPECT_TRUE(has_op(mobilenet, "HardSwish") && has_op(mobilenet, "HardSigmoid"));
}

// Each node says where it came from: its module and the last frame of its stack trace.
TEST(Pt2HighLevelOps, NodesCarryTheirPythonSource) {
  ir::Graph graph = pt2::import_pt2_file(fixtures_folder() / "mlp" / "mlp_fp32.pt2");
  const std::string& source = graph.nodes().front()->source;
  EXPECT_NE(source.find("linear at fc1 (Linear)"), std::string::npos) << source;
  EXPECT_NE(source.find("return F.linear(input, self.weight, self.bias)"), std::string::npos)
      << source;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Pt2FixtureTest, testing::ValuesIn(all_fixtures()), fixture_name);

}  // namespace
}  // namespace kiln
