// Fixture paths, manifest.json and PyTorch's reference outputs (see fixtures.h).
#include "test_support/fixtures.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace kiln::test_support {

std::filesystem::path fixtures_folder() {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures";
}

std::filesystem::path fixture_path(const std::string& model, const std::string& file) {
  return fixtures_folder() / model / file;
}

std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

bool FixtureEntry::was_made(const std::string& format) const {
  return std::find(made.begin(), made.end(), format) != made.end();
}

std::string FixtureEntry::failure(const std::string& format) const {
  auto found = failed.find(format);
  return found == failed.end() ? std::string() : found->second;
}

std::vector<FixtureEntry> read_fixture_manifest() {
  std::filesystem::path path = fixtures_folder() / "manifest.json";
  nlohmann::json manifest = nlohmann::json::parse(read_file_bytes(path));
  std::vector<FixtureEntry> entries;
  for (const nlohmann::json& entry : manifest.at("fixtures")) {
    if (entry.contains("error")) {
      throw std::runtime_error(path.string() + ": model '" + entry.at("model").get<std::string>() +
                               "' failed to export: " + entry.at("error").get<std::string>());
    }
    entries.push_back({entry.at("model"), entry.at("dtype"), entry.at("inputs"), entry.at("made"),
                       entry.at("failed")});
  }
  return entries;
}

FixtureReference FixtureReference::load(const std::filesystem::path& folder,
                                        const std::string& stem) {
  return {read_safetensors(folder / (stem + "_inputs.safetensors")),
          read_safetensors(folder / (stem + "_outputs.safetensors")).at("output_0")};
}

double FixtureReference::error_of(const std::filesystem::path& model,
                                  const std::set<Precision>& precisions,
                                  bool strongly_typed) const {
  CpuSession session(load_model(model), precisions, strongly_typed);
  auto outputs = session.run(inputs);
  EXPECT_EQ(outputs.size(), 1u);
  const Tensor& result = outputs.begin()->second;
  EXPECT_EQ(result.dims(), output.dims());
  EXPECT_EQ(result.dtype(), output.dtype());
  return normalized_error(result, output);
}

}  // namespace kiln::test_support
