// Full-size architectures as PyTorch exports them (tests/models/make_full_size_archives.py:
// torchvision ResNet-50, MobileNetV3-Large, ViT-B/16; Hugging Face BERT-base, GPT-2; exported
// with torch.export (both dialects) and torch.jit.trace; weight
// values replaced by constants so the archives stay small). Each must load with no
// unsupported op, verify, and run end to end on the CPU reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "kiln/kiln.h"

namespace kiln {
namespace {

std::filesystem::path full_size_folder() {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/full_size";
}

std::vector<std::string> archives_with_extension(const std::string& extension) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(full_size_folder())) {
    if (entry.path().extension() == extension) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class FullSizeModel : public testing::TestWithParam<std::string> {};

TEST_P(FullSizeModel, LoadsWithNoUnsupportedOpAndRuns) {
  // load_model throws Unsupported listing every unsupported op, so loading is the check.
  ir::Graph graph = load_model(full_size_folder() / GetParam());
  ASSERT_FALSE(graph.inputs().empty());
  ASSERT_EQ(graph.outputs().size(), 1u);
  CpuSession session(std::move(graph), {Precision::FP32}, false);
  auto outputs = session.run(make_random_inputs(session.graph(), 1));
  ASSERT_EQ(outputs.size(), 1u);
  const Tensor& output = outputs.begin()->second;
  EXPECT_GT(output.numel(), 0);
  for (double value : output.to_double_vector()) ASSERT_TRUE(std::isfinite(value));
}

INSTANTIATE_TEST_SUITE_P(TorchExport, FullSizeModel,
                         testing::ValuesIn(archives_with_extension(".pt2")), test_name);
INSTANTIATE_TEST_SUITE_P(TorchScript, FullSizeModel,
                         testing::ValuesIn(archives_with_extension(".pt")), test_name);

}  // namespace
}  // namespace kiln
