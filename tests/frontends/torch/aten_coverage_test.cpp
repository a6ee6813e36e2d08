// Every ATen target that full-size ResNet-50, MobileNetV3-Large, ViT-B/16, BERT-base and
// GPT-2 export to (tests/models/fixtures/op_coverage.json, both dialects) has a converter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "frontends/pt2/pt2_importer.h"
#include "frontends/torch/aten_ops.h"

namespace kiln::torch {
namespace {

TEST(AtenCoverage, FullSizeModelsNeedNoMissingOps) {
  std::ifstream file(std::filesystem::path(KILN_SOURCE_DIR) /
                     "tests/models/fixtures/op_coverage.json");
  nlohmann::json coverage = nlohmann::json::parse(file);
  size_t checked = 0;
  std::vector<std::string> missing;
  for (const auto& [model, lists] : coverage.items()) {
    for (const char* dialect : {"aten_training", "aten_core"}) {
      ASSERT_TRUE(lists.contains(dialect)) << model;
      for (const auto& raw : lists.at(dialect)) {
        std::string target = pt2::normalize_target(raw.get<std::string>());
        ++checked;
        if (find_aten_converter(target) == nullptr) missing.push_back(model + ": " + target);
      }
    }
  }
  EXPECT_GT(checked, 100u);
  EXPECT_TRUE(missing.empty()) << ::testing::PrintToString(missing);
}

TEST(AtenCoverage, TargetsAreSortedAndSpelledUniformly) {
  std::vector<std::string> targets = aten_targets();
  EXPECT_TRUE(std::is_sorted(targets.begin(), targets.end()));
  for (const std::string& target : targets) {
    bool aten = target.starts_with("aten.") && std::count(target.begin(), target.end(), '.') == 2;
    bool python_operator = target.starts_with("operator.");
    EXPECT_TRUE(aten || python_operator) << target;
  }
  EXPECT_NE(find_aten_converter("aten.relu_.default"), nullptr);  // in-place variants
  EXPECT_EQ(find_aten_converter("aten.relu"), nullptr);
}

TEST(AtenCoverage, NormalizesEveryTargetSpelling) {
  EXPECT_EQ(pt2::normalize_target("torch.ops.aten.add.Tensor"), "aten.add.Tensor");
  EXPECT_EQ(pt2::normalize_target("_operator.mul"), "operator.mul");
  EXPECT_EQ(pt2::normalize_target("<built-in function getitem>"), "operator.getitem");
  EXPECT_EQ(pt2::normalize_target("aten.linear.default"), "aten.linear.default");
}

}  // namespace
}  // namespace kiln::torch
