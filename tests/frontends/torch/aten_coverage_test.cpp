// Every ATen target that full-size ResNet-50, MobileNetV3-Large, ViT-B/16, BERT-base and
// GPT-2 export to (tests/models/fixtures/op_coverage.json, both dialects), and every target
// the TorchScript table names, has a converter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "frontends/pt2/pt2_importer.h"
#include "frontends/torch/aten_ops.h"
#include "frontends/torchscript/torch_schemas.h"

namespace kiln::torch {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string joined;
  for (const std::string& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

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
    // Custom ops of libraries whose models Kiln converts (transformers' opaque grouped
    // product, which torch.export records where PyTorch has no grouped kernel).
    bool library_op = target == "transformers.grouped_mm_fallback.default";
    EXPECT_TRUE(aten || python_operator || library_op) << target;
  }
  EXPECT_NE(find_aten_converter("aten.relu_.default"), nullptr);  // in-place variants
  EXPECT_EQ(find_aten_converter("aten.relu"), nullptr);
}

// The TorchScript table (torch.* function → ATen overloads) names only targets the shared ATen
// table converts; a row pointing elsewhere would fail only when a model calls it.
TEST(AtenCoverage, EveryTorchScriptOverloadHasAConverter) {
  std::vector<std::string> missing;
  size_t checked = 0;
  for (const std::string& function : torchscript::torch_functions()) {
    for (const torchscript::TorchOverload& overload :
         *torchscript::find_torch_overloads(function)) {
      ++checked;
      if (find_aten_converter(overload.target) == nullptr) {
        missing.push_back(function + " -> " + overload.target);
      }
    }
  }
  EXPECT_GT(checked, 50u);
  EXPECT_TRUE(missing.empty())
      << "rows of src/frontends/torchscript/torch_schemas.cpp whose target has no converter in "
         "the ATen table (src/frontends/torch/aten_*.cpp): "
      << ::testing::PrintToString(missing) << ". Fix the target's spelling or add the converter.";
}

// The reverse: every ATen target the shared table converts is reachable from TorchScript
// (torch.exp(x) in a traced archive finds aten.exp.default), except the targets only
// torch.export's graphs hold (decomposed internals, symbolic-size and assertion ops, Python
// operators) and in-place spellings (their rows name the functional target).
TEST(AtenCoverage, EveryConverterIsReachableFromTorchScript) {
  std::set<std::string> reachable;
  for (const std::string& function : torchscript::torch_functions()) {
    for (const torchscript::TorchOverload& overload :
         *torchscript::find_torch_overloads(function)) {
      reachable.insert(overload.target);
    }
  }
  // Only in torch.export graphs, or (contiguous, detach, clone) passed through by the
  // TorchScript interpreter before the table is consulted.
  const std::set<std::string> not_in_table = {
      "aten._adaptive_avg_pool2d.default", "aten._assert_scalar.default",
      "aten._assert_tensor_metadata.default", "aten._log_softmax.default",
      "aten._native_batch_norm_legit.default", "aten._native_batch_norm_legit.no_stats",
      "aten._native_batch_norm_legit_no_training.default", "aten._softmax.default",
      "aten._to_copy.default", "aten._unsafe_view.default", "aten.alias.default",
      "aten.clone.default", "aten.contiguous.default", "aten.detach.default",
      "aten.lift_fresh_copy.default", "aten.max_pool2d_with_indices.default",
      "aten.native_batch_norm.default", "aten.native_dropout.default",
      "aten.native_group_norm.default", "aten.native_layer_norm.default",
      "aten.scalar_tensor.default", "aten.sym_constrain_range_for_size.default",
      "aten.sym_size.int",
      // TorchScript's interpreter reads sizes itself (size, dim, numel of a known shape)
      "aten.numel.default", "aten.sym_numel.default",
      // a traced model calls torch._grouped_mm instead
      "transformers.grouped_mm_fallback.default"};
  for (const std::string& target : not_in_table) {
    EXPECT_NE(find_aten_converter(target), nullptr) << target << " is listed but not converted";
  }
  std::vector<std::string> missing;
  for (const std::string& target : aten_targets()) {
    std::string op = target.substr(0, target.rfind('.'));
    bool in_place = op.ends_with("_") && !op.ends_with("__");
    if (target.starts_with("operator.") || in_place || not_in_table.count(target) ||
        reachable.count(target)) {
      continue;
    }
    missing.push_back(target);
  }
  EXPECT_TRUE(missing.empty())
      << "ATen targets with a converter but no row in src/frontends/torchscript/torch_schemas.cpp "
         "(add the torch.* function with the target's schema argument names): "
      << join(missing, ", ");
}

TEST(AtenCoverage, NormalizesEveryTargetSpelling) {
  EXPECT_EQ(pt2::normalize_target("torch.ops.aten.add.Tensor"), "aten.add.Tensor");
  EXPECT_EQ(pt2::normalize_target("_operator.mul"), "operator.mul");
  EXPECT_EQ(pt2::normalize_target("<built-in function getitem>"), "operator.getitem");
  EXPECT_EQ(pt2::normalize_target("aten.linear.default"), "aten.linear.default");
}

}  // namespace
}  // namespace kiln::torch
