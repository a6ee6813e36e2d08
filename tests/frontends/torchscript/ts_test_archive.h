// Test helper: a fixture .pt archive's entries in memory, edited and written back as zip
// bytes with libzip (for hostile, truncated and malformed-archive tests).
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace kiln::torchscript::testing {

struct Entries {
  std::map<std::string, std::string> files;  // full entry name → bytes

  static Entries read(const std::filesystem::path& path);
  std::string& at(const std::string& suffix);  // the entry ending with `suffix`; throws if none
  void erase(const std::string& suffix);
  std::string write() const;  // zip bytes
};

std::filesystem::path fixture(const std::string& model, const std::string& file);

}  // namespace kiln::torchscript::testing
