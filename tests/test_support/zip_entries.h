// A zip archive's entries in memory, edited and written back as zip bytes with libzip: how
// the .pt2 and TorchScript tests make truncated, malformed and hostile archives from fixtures.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace kiln::test_support {

struct ZipEntries {
  std::map<std::string, std::string> files;  // full entry name → bytes

  static ZipEntries read(const std::filesystem::path& path);
  // The entry named `suffix` or ending in "/" + `suffix` ("models/model.json", "data.pkl"),
  // whatever the archive's root folder; throws std::runtime_error if there is none.
  std::string& at(const std::string& suffix);
  nlohmann::json json(const std::string& suffix);
  void set_json(const std::string& suffix, const nlohmann::json& value);
  void erase(const std::string& suffix);  // throws std::runtime_error if there is none
  // Moves every entry from `old_root` to `new_root` ("mlp_fp32/" → "renamed/").
  void rename_root(const std::string& old_root, const std::string& new_root);
  // The archive as zip bytes, every entry stored uncompressed as PyTorch writes them.
  std::string write() const;
};

}  // namespace kiln::test_support
