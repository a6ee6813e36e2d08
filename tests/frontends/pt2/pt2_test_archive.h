// Test helper: the entries of a .pt2 fixture in memory, edited and written back as a new
// zip archive with libzip (for malformed-archive tests).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::pt2::testing {

struct ArchiveEntries {
  std::map<std::string, std::string> files;  // full entry name → bytes

  static ArchiveEntries read(const std::filesystem::path& path);
  // The entry whose name ends with `suffix` ("models/model.json"); throws if none.
  std::string& at(const std::string& suffix);
  nlohmann::json json(const std::string& suffix);
  void set_json(const std::string& suffix, const nlohmann::json& value);
  void erase(const std::string& suffix);
  // Moves every entry from `old_root` to `new_root` ("mlp_fp32/" → "renamed/").
  void rename_root(const std::string& old_root, const std::string& new_root);
  // The archive as zip bytes.
  std::string write() const;
};

std::filesystem::path fixture_path(const std::string& model, const std::string& file);
std::string read_file_bytes(const std::filesystem::path& path);

}  // namespace kiln::pt2::testing
