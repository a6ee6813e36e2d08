// Reading and writing whole zip archives with libzip, for the malformed-archive tests.
#include "pt2_test_archive.h"

#include <unistd.h>
#include <zip.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiln::pt2::testing {

std::filesystem::path fixture_path(const std::string& model, const std::string& file) {
  return std::filesystem::path(KILN_SOURCE_DIR) / "tests/models/fixtures" / model / file;
}

std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

ArchiveEntries ArchiveEntries::read(const std::filesystem::path& path) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (archive == nullptr) throw std::runtime_error("cannot open " + path.string());
  ArchiveEntries entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_stat_t stat;
    zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &stat);
    std::string bytes(stat.size, '\0');
    zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(i), 0);
    zip_fread(file, bytes.data(), stat.size);
    zip_fclose(file);
    entries.files[stat.name] = bytes;
  }
  zip_discard(archive);
  return entries;
}

std::string& ArchiveEntries::at(const std::string& suffix) {
  for (auto& [name, bytes] : files) {
    if (name.size() >= suffix.size() && name.ends_with(suffix)) return bytes;
  }
  throw std::runtime_error("no entry ending in " + suffix);
}

nlohmann::json ArchiveEntries::json(const std::string& suffix) {
  return nlohmann::json::parse(at(suffix));
}

void ArchiveEntries::set_json(const std::string& suffix, const nlohmann::json& value) {
  at(suffix) = value.dump();
}

void ArchiveEntries::erase(const std::string& suffix) {
  for (auto it = files.begin(); it != files.end(); ++it) {
    if (it->first.ends_with(suffix)) {
      files.erase(it);
      return;
    }
  }
  throw std::runtime_error("no entry ending in " + suffix);
}

void ArchiveEntries::rename_root(const std::string& old_root, const std::string& new_root) {
  std::map<std::string, std::string> renamed;
  for (auto& [name, bytes] : files) {
    renamed[name.starts_with(old_root) ? new_root + name.substr(old_root.size()) : name] = bytes;
  }
  files = std::move(renamed);
}

std::string ArchiveEntries::write() const {
  // libzip writes archives to files; a per-process temporary keeps parallel tests apart.
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("kiln_pt2_test_" + std::to_string(getpid()) + ".zip");
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (archive == nullptr) throw std::runtime_error("cannot create " + path.string());
  for (const auto& [name, bytes] : files) {
    zip_source_t* source = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE);
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) throw std::runtime_error("cannot write " + path.string());
  std::string result = read_file_bytes(path);
  std::filesystem::remove(path);
  return result;
}

}  // namespace kiln::pt2::testing
